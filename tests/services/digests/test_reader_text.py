"""Characters that must never reach a reader, through every way articles come in, to the
digest (issue 26 item 7).

Bidi overrides (U+202A-U+202E, which turn "gpj.exe" into "exe.jpg" on screen), ESC, DEL
and the other C0/C1 controls are removed where articles enter the store
(core/articles.py), so a digest carries each title exactly as stored. Each way in is
taken for real: the import the push API runs (lines parsed in this process), the file
import the CLI runs (parsed in a worker process), a JSON Lines source and a feed source
polled over HTTP; then the week's digest is compiled and its HTML and text read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from syndication.services.article_files import import_articles_file
from syndication.services.articles import import_articles
from syndication.services.digests import compiling
from syndication.services.sources import poll_sources
from syndication.settings import Settings, SourceSettings
from syndication.store import database as db
from syndication.store.models import Article, Digest
from tests.support.builders import AFTER_WEEK, article_json
from tests.support.http import Answer, Request, serve

UNSAFE = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]")
TITLE = "Price list \u202egpj.exe\u202c out\x1b[31m now\x7f, \x85 and \u202ddone"
CLEAN = "Price list gpj.exe out[31m now,  and done"
# XML 1.0 cannot carry ESC at all, not even as a reference: a feed brings the rest, and
# feedparser reads U+0085 as windows-1252's byte 0x85, an ellipsis, before we see it.
FEED_TITLE = "Price list \u202egpj.exe\u202c out now\x7f, \x85 and \u202ddone"
FEED_CLEAN = "Price list gpj.exe out now, \u2026 and done"


def line() -> str:
    data = article_json(
        "hostile-1",
        title=TITLE,
        summary=f"Summary: {TITLE}",
        published_at="2026-11-18T10:00:00+09:00",
        topics=["culture"],
    )
    return json.dumps(data, ensure_ascii=False)


def by_api(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    topics = {t.slug for t in settings.topics}
    report = import_articles(
        engine, [line().encode()], source="api", known_topics=topics, now=lambda: AFTER_WEEK
    )
    assert report.counts.inserted == 1


def by_cli_file(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(line() + "\n", encoding="utf-8")
    report = import_articles_file(settings, lambda: engine, str(path), lambda _r: None)
    assert report.counts.inserted == 1


def by_jsonl_source(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(line() + "\n", encoding="utf-8")
    source = SourceSettings("export", "jsonl", str(path))
    [report] = poll_sources(_with(settings, source), engine, now=lambda: AFTER_WEEK)
    assert report.inserted == 1, report.rejections


def by_feed_source(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Upstream</title>'
        "<id>urn:upstream</id><updated>2026-11-18T01:00:00Z</updated>"
        f"<entry><id>urn:entry:1</id><title>{FEED_TITLE}</title>"
        '<link href="https://upstream.example.org/1"/>'
        "<updated>2026-11-18T01:00:00Z</updated><published>2026-11-18T01:00:00Z</published>"
        f'<category term="culture"/><summary>Summary: {FEED_TITLE}</summary></entry></feed>'
    )

    def answer(request: Request) -> Answer:
        return Answer(200, {"Content-Type": "application/atom+xml"}, atom.encode("utf-8"))

    with serve(answer) as server:
        source = SourceSettings(
            "upstream", "feed", f"{server.url}/atom.xml", (("culture", "culture"),)
        )
        [report] = poll_sources(_with(settings, source), engine, now=lambda: AFTER_WEEK)
    assert report.inserted == 1, report.rejections


def _with(settings: Settings, source: SourceSettings) -> Settings:
    return replace(settings, sources=(source,))


WAYS_IN: dict[str, Callable[[Settings, Engine, Path], None]] = {
    "api": by_api,
    "cli-file": by_cli_file,
    "jsonl-source": by_jsonl_source,
    "feed-source": by_feed_source,
}


@pytest.mark.parametrize("way", list(WAYS_IN))
def test_no_bidi_override_or_control_character_reaches_a_digest(
    settings: Settings, engine: Engine, tmp_path: Path, way: str
) -> None:
    WAYS_IN[way](settings, engine, tmp_path)
    clean = FEED_CLEAN if way == "feed-source" else CLEAN
    with db.read_session(engine) as session:
        [(title, summary)] = session.execute(select(Article.title, Article.summary)).all()
    assert (title, summary) == (clean, f"Summary: {clean}")
    report = compiling.compile_digest(
        settings, engine, "weekly-city", date(2026, 11, 18), AFTER_WEEK
    )
    assert report.created
    with db.read_session(engine) as session:
        [(html, text, subject)] = session.execute(
            select(Digest.html, Digest.text, Digest.subject)
        ).all()
    for part, content in (("HTML", html), ("text", text), ("subject", subject)):
        found = UNSAFE.search(content)
        assert found is None, f"the digest's {part} holds {found.group()!r} ({way})"
    # The text part wraps at 72 and its lines collapse runs of spaces: compare the words.
    assert " ".join(clean.split()) in " ".join(text.split())
    assert " ".join(clean.split()) in " ".join(html.split())
