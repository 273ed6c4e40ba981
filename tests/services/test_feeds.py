"""The feeds job against a real store (SQLite, and PostgreSQL when asked)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from sqlalchemy import Engine

from syndication import __version__
from syndication.core import entries as entry_model
from syndication.core import feeds
from syndication.core.articles import ArticleRecord
from syndication.edges.fragments import FILE_NAME as FRAGMENTS
from syndication.render import entries
from syndication.render import feeds as feedwriter
from syndication.services import feeds as feed_service
from syndication.settings import FeedSettings, LanguageSettings, Settings
from syndication.store import article_queries
from syndication.store import articles as store
from syndication.store import database as db
from tests.support.net import Hub, free_port

Make = Callable[..., ArticleRecord]
T0 = datetime(2026, 9, 3, 1, 0, tzinfo=UTC)


def write(engine: Engine, *records: ArticleRecord, now: datetime | None = None) -> None:
    with db.write_session(engine) as session:
        store.write_articles(session, list(records), now or datetime(2026, 11, 28, tzinfo=UTC))


def test_lost_feed_files_are_written_again_by_the_next_build(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    # Deleting feeds/ left every topic but the changed ones 404 (issue 15 item 13).
    seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    everything = mtimes(settings.feeds.dir).keys()
    (settings.feeds.dir / "index.opml").unlink()
    (settings.feeds.dir / "economy" / "rss.xml").unlink()
    assert feed_service.missing_feed_files(settings) == ["economy/rss.xml", "index.opml"]
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert {"economy/rss.xml", "index.opml"} <= set(report.changed)
    assert feed_service.missing_feed_files(settings) == []
    for path in sorted(settings.feeds.dir.rglob("*")):
        if path.is_file():
            path.unlink()
    feed_service.build_feeds(settings, engine, force_all=False)
    assert mtimes(settings.feeds.dir).keys() == everything


def seed(engine: Engine, make_article: Make) -> list[ArticleRecord]:
    """Twelve articles over three months in two topics (one in both)."""
    records = [
        make_article(
            f"smg-{i:02}",
            published_at=T0 + timedelta(days=7 * i),
            topics=("culture",) if i % 3 else ("culture", "economy"),
        )
        for i in range(12)
    ]
    write(engine, *records)
    return records


def mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def parse_file(path: Path) -> Any:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    return parsed


def tag(record: ArticleRecord) -> str:
    return f"tag:news.example.org,{record.published_at.date()}:{record.source_id}"


def url_to_path(settings: Settings, url: str) -> Path:
    prefix = settings.site.feeds_url + "/"
    assert url.startswith(prefix)
    return settings.feeds.dir / url[len(prefix) :]


def test_full_build_writes_the_layout_and_every_feed_parses(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    records = seed(engine, make_article)
    report = feed_service.build_feeds(settings, engine, force_all=False)
    root = settings.feeds.dir
    assert report.full and report.watermark == 12
    assert report.feeds == tuple(feeds.feed_keys(settings))
    for key in feeds.feed_keys(settings):
        for name in ("rss.xml", "atom.xml", "feed.json"):
            assert (root / key / name).is_file(), (key, name)
    assert sorted(p.name for p in (root / "culture" / "archive").glob("[!.]*")) == [
        "2026-09.atom",
        "2026-10.atom",
        "2026-11.atom",
    ]
    assert (root / "index.opml").is_file()
    for path in root.rglob("*"):
        if path.suffix in (".xml", ".atom"):
            parse_file(path)
    rss = parse_file(root / "culture" / "rss.xml")
    assert len(rss.entries) == 12
    economy = json.loads((root / "economy" / "feed.json").read_bytes())
    assert {item["id"] for item in economy["items"]} == {
        tag(r) for r in records if "economy" in r.topics
    }


def test_idle_rebuild_writes_nothing(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    before = mtimes(settings.feeds.dir)
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert report.changed == () and report.removed == () and report.feeds == ()
    forced = feed_service.build_feeds(settings, engine, force_all=True)
    assert forced.changed == ()  # byte-identical output: nothing rewritten even with --all
    assert mtimes(settings.feeds.dir) == before


def test_one_changed_article_rewrites_only_its_topics_and_all(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    edited = replace(records[4], title="A corrected title")  # culture only, October
    write(engine, edited)
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert report.feeds == ("all", "culture")
    assert set(report.changed) == {
        "all/rss.xml",
        "all/atom.xml",
        "all/feed.json",
        "all/archive/2026-10.atom",
        "culture/rss.xml",
        "culture/atom.xml",
        "culture/feed.json",
        "culture/archive/2026-10.atom",
    }
    # The edited article tops the Atom change log, with the same id.
    atom = parse_file(settings.feeds.dir / "culture" / "atom.xml")
    assert atom.entries[0].title == "A corrected title"
    assert atom.entries[0].id == f"tag:news.example.org,2026-10-01:{records[4].source_id}"


def test_incremental_builds_agree_with_a_full_build(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    """A new month, a topic change and an emptied month: --all afterwards changes nothing."""
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    write(engine, make_article("smg-dec", published_at=datetime(2026, 12, 5, tzinfo=UTC)))
    write(engine, replace(records[0], topics=("economy",)))  # culture loses September's first
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert "international-relations/archive/2026-12.atom" in report.changed
    assert "international-relations/archive/2026-11.atom" not in report.changed  # none there
    assert "all/archive/2026-11.atom" in report.changed  # its next-archive link moved
    full = feed_service.build_feeds(settings, engine, force_all=True)
    assert full.changed == () and full.removed == ()


def test_an_emptied_month_is_removed_and_its_neighbours_relinked(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    write(
        engine,
        make_article("a", published_at=datetime(2026, 9, 10, tzinfo=UTC), topics=("culture",)),
        make_article("b", published_at=datetime(2026, 10, 10, tzinfo=UTC), topics=("culture",)),
        make_article("c", published_at=datetime(2026, 11, 10, tzinfo=UTC), topics=("culture",)),
    )
    feed_service.build_feeds(settings, engine, force_all=False)
    # A corrected publication date empties October (an article leaving the topic would
    # not: its tombstone stays in October's archive, issue 26 item 3). The incremental
    # build knows the month it left (issue 26: only --all removed it there).
    corrected = datetime(2026, 11, 12, tzinfo=UTC)
    write(engine, make_article("b", published_at=corrected, topics=("culture",)))
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert "culture/archive/2026-10.atom" in report.removed
    assert "all/archive/2026-10.atom" in report.removed
    assert {"culture/archive/2026-09.atom", "culture/archive/2026-11.atom"} <= set(report.changed)
    full = feed_service.build_feeds(settings, engine, force_all=True)
    assert full.changed == () and full.removed == ()


def test_an_article_moved_to_another_month_leaves_the_old_months_archive(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    """Issue 26: an incremental build left an article whose publication date moved to
    another month in the old month's archive too, until a build with --all."""
    october = datetime(2026, 10, 10, tzinfo=UTC)
    write(
        engine,
        make_article("stays", published_at=october, topics=("culture",)),
        make_article("moves", published_at=october + timedelta(days=1), topics=("culture",)),
        make_article("later", published_at=datetime(2026, 11, 3, tzinfo=UTC), topics=("culture",)),
    )
    feed_service.build_feeds(settings, engine, force_all=False)
    corrected = datetime(2026, 11, 20, tzinfo=UTC)
    write(engine, make_article("moves", published_at=corrected, topics=("culture",)))
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert {"culture/archive/2026-10.atom", "all/archive/2026-10.atom"} <= set(report.changed)
    for key in ("culture", "all"):
        folder = settings.feeds.dir / key / "archive"
        october_ids = [e.id for e in parse_file(folder / "2026-10.atom").entries]
        november_ids = [e.id for e in parse_file(folder / "2026-11.atom").entries]
        assert [i.rsplit(":", 1)[1] for i in october_ids] == ["stays"], key
        assert [i.rsplit(":", 1)[1] for i in november_ids] == ["later", "moves"], key
    full = feed_service.build_feeds(settings, engine, force_all=True)
    assert full.changed == () and full.removed == ()
    # The mark is forgotten once built: the next change does not rebuild October.
    later = datetime(2026, 11, 4, tzinfo=UTC)
    write(engine, make_article("later", published_at=later, topics=("culture",)))
    assert (
        "culture/archive/2026-10.atom"
        not in feed_service.build_feeds(settings, engine, force_all=False).changed
    )


def test_following_prev_archive_from_atom_reaches_every_article(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    settings = replace(settings, feeds=replace(settings.feeds, entries=2))
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    for key in ("culture", "all"):
        seen: set[str] = set()
        document = parse_file(settings.feeds.dir / key / "atom.xml")
        visited = 0
        while True:
            seen.update(e.id for e in document.entries)
            prev = [ln.href for ln in document.feed.links if ln.rel == "prev-archive"]
            if not prev:
                break
            document = parse_file(url_to_path(settings, prev[0]))
            visited += 1
        expected = {tag(r) for r in records if key == "all" or key in r.topics}
        assert seen == expected
        assert visited == 3


def test_a_retraction_becomes_a_tombstone_and_leaves_rss_and_json(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    with db.write_session(engine) as session:
        store.retract_article(session, records[5].source_id, "Wrong figures.", T0 + timedelta(90))
    feed_service.build_feeds(settings, engine, force_all=False)
    ref = tag(records[5])
    root = settings.feeds.dir / "culture"
    for path in (root / "atom.xml", root / "archive" / "2026-10.atom"):
        text = path.read_text()
        assert f'<at:deleted-entry ref="{ref}"' in text, path
        assert "<at:comment>Wrong figures.</at:comment>" in text
        assert ref not in {e.id for e in parse_file(path).entries}
    assert ref not in {e.id for e in parse_file(root / "rss.xml").entries}
    assert ref not in (root / "feed.json").read_text()


def test_ids_stay_the_same_across_title_url_and_https_edits(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    original = make_article("smg-1", url="http://news.example.org/articles/old-slug")
    write(engine, original)
    feed_service.build_feeds(settings, engine, force_all=False)
    first = parse_file(settings.feeds.dir / "all" / "atom.xml").entries[0]
    edits = [
        replace(original, title="New title"),
        replace(original, url="http://news.example.org/articles/new-slug"),
        replace(original, url="https://news.example.org/articles/new-slug"),
    ]
    for number, edit in enumerate(edits, 1):
        write(engine, edit, now=datetime(2026, 11, 28, number, tzinfo=UTC))
        feed_service.build_feeds(settings, engine, force_all=False)
        for name in ("atom.xml", "rss.xml"):
            entries = parse_file(settings.feeds.dir / "all" / name).entries
            assert [e.id for e in entries] == [first.id], (edit, name)
    assert parse_file(settings.feeds.dir / "all" / "atom.xml").entries[0].updated > first.updated


@pytest.fixture
def hub_port() -> Iterator[int]:
    yield free_port()


def test_websub_hub_down_then_retried_at_the_next_build(
    settings: Settings, engine: Engine, make_article: Make, hub_port: int
) -> None:
    hub_url = f"http://127.0.0.1:{hub_port}/"
    settings = replace(settings, feeds=FeedSettings(dir=settings.feeds.dir, websub_hub=hub_url))
    write(engine, make_article("smg-1", topics=("culture",)))
    down = feed_service.build_feeds(settings, engine, force_all=False)
    assert down.changed and "hub unreachable" in down.websub_error and down.announced == ()
    rss = parse_file(settings.feeds.dir / "culture" / "rss.xml")
    assert {(ln.rel, ln.href) for ln in rss.feed.links} >= {("hub", hub_url)}

    hub = Hub(hub_port)
    try:
        retried = feed_service.build_feeds(settings, engine, force_all=False)  # idle, but pending
        assert retried.changed == () and retried.websub_error == ""
        announced = {q["hub.url"][0] for q in hub.requests}
        base = settings.site.feeds_url
        assert announced == {
            f"{base}/{key}/{name}"
            for key in feeds.feed_keys(settings)
            for name in ("rss.xml", "atom.xml", "feed.json")
        }
        hub.requests.clear()
        assert feed_service.build_feeds(settings, engine, force_all=False).announced == ()
        assert hub.requests == []

        write(engine, make_article("smg-2", topics=("economy",)))
        changed = feed_service.build_feeds(settings, engine, force_all=False)
        assert {q["hub.url"][0] for q in hub.requests} == {
            f"{base}/{key}/{name}"
            for key in ("all", "economy")
            for name in ("rss.xml", "atom.xml", "feed.json")
        }
        assert len(changed.announced) == 6
    finally:
        hub.close()


def test_an_empty_store_is_built_once_then_idle(settings: Settings, engine: Engine) -> None:
    first = feed_service.build_feeds(settings, engine, force_all=False)
    assert first.full and first.changed
    second = feed_service.build_feeds(settings, engine, force_all=False)
    assert not second.full and not second.changed and not second.feeds


class StopAfter(threading.Event):
    """A stop event that turns itself on after ``checks`` looks, as a SIGTERM mid-build."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.checks = checks

    def is_set(self) -> bool:
        self.checks -= 1
        return self.checks < 0


def test_a_shutdown_interrupts_a_build_and_the_next_build_redoes_it(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    # The poll job ignored SIGTERM for 90 s in a long build (issue 15 item 11).
    seed(engine, make_article)
    with pytest.raises(feed_service.BuildInterrupted, match="interrupted by a shutdown"):
        feed_service.build_feeds(settings, engine, force_all=False, stop=StopAfter(3))
    assert not settings.feeds.dir.exists() or not any(settings.feeds.dir.rglob("*.xml"))
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert report.full and feed_service.missing_feed_files(settings) == []


def test_correcting_published_at_keeps_the_id_the_article_was_minted_with(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    """Issue 14: the tag URI's date is minted once; a corrected publication time moves
    the article's dates, never its id, so no reader or partner sees a new article."""
    first = make_article("smg-moved", published_at=datetime(2026, 11, 19, 23, 30, tzinfo=UTC))
    write(engine, first)
    feed_service.build_feeds(settings, engine, force_all=False)
    minted = "tag:news.example.org,2026-11-19:smg-moved"
    assert [e.id for e in parse_file(settings.feeds.dir / "all" / "atom.xml").entries] == [minted]
    corrected = replace(
        first,
        published_at=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
    )
    write(engine, corrected, now=datetime(2026, 11, 29, tzinfo=UTC))
    feed_service.build_feeds(settings, engine, force_all=True)
    for name in ("atom.xml", "rss.xml"):
        entries = parse_file(settings.feeds.dir / "all" / name).entries
        assert [e.id for e in entries] == [minted], name
    items = json.loads((settings.feeds.dir / "all" / "feed.json").read_bytes())["items"]
    assert [i["id"] for i in items] == [minted]
    assert items[0]["date_published"] == "2026-11-21T02:00:00Z"


# -- entry fragments and streaming (issue 16) ---------------------------------------------


def published_files(root: Path) -> dict[str, bytes]:
    """Every published file under ``root`` (hidden files: sidecars, the cache, are not)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def cache_keys(settings: Settings) -> set[str]:
    with sqlite3.connect(settings.feeds.dir / FRAGMENTS) as cache:
        return {key for (key,) in cache.execute("SELECT key FROM fragments")}


def fresh_build(settings: Settings, engine: Engine, folder: Path) -> dict[str, bytes]:
    """What a full build writes into an empty folder (so with an empty cache)."""
    elsewhere = replace(settings, feeds=replace(settings.feeds, dir=folder))
    feed_service.build_feeds(elsewhere, engine, force_all=True)
    return published_files(folder)


def test_an_edit_renders_only_that_articles_fragments(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    before = cache_keys(settings)
    write(engine, replace(records[4], title="A corrected title"))
    feed_service.build_feeds(settings, engine, force_all=False)
    after = cache_keys(settings)
    added = after - before
    assert len(after) == len(before)  # the old versions' rows were replaced
    with db.read_session(engine) as session:
        (edited,) = [a for a in article_queries.load_articles(session) if a.source_id == "smg-04"]
    context = entry_model.entry_context(settings, f"{entries.VERSION} {__version__}")
    # Its Atom entry (archives, atom.xml), and RSS/JSON: it is among the newest entries.
    assert added == {
        entry_model.entry_key(context, edited, kind) for kind in ("atom", "rss", "json")
    }


def test_incremental_output_equals_a_full_rebuild_byte_for_byte(
    settings: Settings, engine: Engine, make_article: Make, tmp_path: Path
) -> None:
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    write(engine, replace(records[2], title="Edited <b>title</b>", body_html="<p>New.</p>"))
    write(engine, replace(records[5], topics=("economy",)))
    write(engine, make_article("smg-new", published_at=datetime(2027, 1, 2, tzinfo=UTC)))
    with db.write_session(engine) as session:
        store.retract_article(session, records[7].source_id, "Wrong date.", T0 + timedelta(99))
    feed_service.build_feeds(settings, engine, force_all=False)
    assert published_files(settings.feeds.dir) == fresh_build(settings, engine, tmp_path / "b")


def test_a_setting_that_shows_in_entries_invalidates_their_fragments(
    settings: Settings, engine: Engine, make_article: Make, tmp_path: Path
) -> None:
    seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    before = cache_keys(settings)
    renamed = tuple(replace(t, name=f"{t.name} (renamed)") for t in settings.topics)
    moved = replace(settings, topics=renamed, site=replace(settings.site, author="Press Office"))
    feed_service.build_feeds(moved, engine, force_all=True)
    after = cache_keys(settings)
    # Every entry under new keys, each in place of its old version: the cache holds one
    # version of each entry, so a settings change does not double it.
    assert not after & before and len(after) == len(before)
    built = published_files(settings.feeds.dir)
    assert b"Culture (renamed)" in built["all/archive/2026-09.atom"]
    assert built == fresh_build(moved, engine, tmp_path / "b")


def test_a_damaged_or_missing_fragment_is_rendered_again_never_served(
    settings: Settings, engine: Engine, make_article: Make, tmp_path: Path
) -> None:
    seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    expected = published_files(settings.feeds.dir)
    cache = settings.feeds.dir / FRAGMENTS
    with sqlite3.connect(cache) as db_file:
        db_file.execute("UPDATE fragments SET data = CAST('<entry>bad</entry>' AS BLOB)")
    feed_service.build_feeds(settings, engine, force_all=True)
    assert published_files(settings.feeds.dir) == expected
    with sqlite3.connect(cache) as db_file:
        db_file.execute("DELETE FROM fragments")
    feed_service.build_feeds(settings, engine, force_all=True)
    assert published_files(settings.feeds.dir) == expected
    cache.write_bytes(b"garbage")
    report = feed_service.build_feeds(settings, engine, force_all=True)
    assert report.changed == () and published_files(settings.feeds.dir) == expected


def test_a_full_build_streams_the_store_instead_of_loading_it(
    settings: Settings,
    engine: Engine,
    make_article: Make,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(engine, make_article)
    batches: list[str | None] = []
    streamed = article_queries.iter_articles

    def small_batches(session: Any, topic: str | None = None, *, batch: int = 500) -> Any:
        batches.append(topic)
        return streamed(session, topic, batch=2)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a full build loaded every article at once")

    monkeypatch.setattr(article_queries, "iter_articles", small_batches)
    monkeypatch.setattr(article_queries, "load_articles", refuse)
    report = feed_service.build_feeds(settings, engine, force_all=True)
    # One pass over the store serves every feed's archives (issue 16).
    assert batches == [None]
    assert "all/archive/2026-11.atom" in report.changed
    assert published_files(settings.feeds.dir) == fresh_build(settings, engine, tmp_path / "b")
    monkeypatch.undo()
    with db.read_session(engine) as session:
        everything = article_queries.load_articles(session)
        assert list(article_queries.iter_articles(session, batch=2)) == everything
        culture = article_queries.load_articles(session, "culture")
        assert list(article_queries.iter_articles(session, "culture", batch=3)) == culture


def test_a_full_build_writes_what_the_pure_feed_model_describes(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    # The full build reads the store once and hands each month to every feed's archives,
    # holding a feed's month until its next month with articles: here one topic skips
    # months, an article sits in two topics, and one is retracted. What it writes must
    # be what feeds.all_documents says each feed holds, given that feed's articles.
    months = [T0 + timedelta(days=31 * m) for m in range(6)]
    records = [
        make_article("smg-a", published_at=months[0], topics=("culture", "economy")),
        make_article("smg-b", published_at=months[1], topics=("culture",)),
        make_article("smg-c", published_at=months[3], topics=("economy",)),
        make_article("smg-d", published_at=months[3] + timedelta(hours=1), topics=("culture",)),
        make_article("smg-e", published_at=months[5], topics=("economy", "culture")),
        make_article("smg-f", published_at=months[5], topics=("culture",)),
    ]
    write(engine, *records)
    gone = replace(records[3], status="retracted", retraction_reason="Wrong date.")
    write(engine, gone, now=months[5] + timedelta(days=1))
    feed_service.build_feeds(settings, engine, force_all=True)
    tombstones = 0
    with db.read_session(engine) as session:
        for key in feeds.feed_keys(settings):
            topic = None if key == feeds.ALL else key
            articles = article_queries.load_articles(session, topic)
            documents = feeds.all_documents(settings, key, articles)
            archives = [d for d in documents if d.kind == feeds.ARCHIVE]
            assert len(archives) == len(
                {feeds.month_of(a.published_at, settings.site.tz) for a in articles}
            )
            for document in documents:
                path = settings.feeds.dir / document.path
                assert path.read_bytes() == feedwriter.render(document), document.path
                tombstones += len(document.tombstones)
    assert tombstones >= 2  # the retraction, in the archive of all and of culture


def tombstones_in(path: Path) -> dict[str, tuple[str, str]]:
    """The RFC 6721 tombstones of an Atom file: ``ref`` → (``when``, comment)."""
    found = {}
    for deleted in (
        etree.parse(str(path))
        .getroot()
        .iterfind("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
    ):
        comment = deleted.findtext("{http://purl.org/atompub/tombstones/1.0}comment") or ""
        found[deleted.get("ref")] = (deleted.get("when"), comment)
    return found


def test_an_article_moved_out_of_a_topic_leaves_a_tombstone_there(
    settings: Settings, engine: Engine, make_article: Make, tmp_path: Path
) -> None:
    # Issue 26 item 3: the entry vanished from the topic it left, and a partner mirroring
    # that topic kept it forever. RFC 6721: a tombstone with the same id tells them.
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    moved_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    moved = replace(records[4], topics=("economy",), updated_at=moved_at)  # culture, October
    write(engine, moved)
    report = feed_service.build_feeds(settings, engine, force_all=False)
    assert "culture/atom.xml" in report.changed
    assert "culture/archive/2026-10.atom" in report.changed
    ref = tag(records[4])
    culture = settings.feeds.dir / "culture"
    for path in (culture / "atom.xml", culture / "archive" / "2026-10.atom"):
        parsed = parse_file(path)
        assert ref not in {e.id for e in parsed.entries}, f"feedparser read {ref} in {path}"
        assert tombstones_in(path) == {ref: ("2026-12-01T09:30:00Z", "moved to Economy")}, path
    assert ref not in {e.id for e in parse_file(culture / "rss.xml").entries}
    assert ref not in (culture / "feed.json").read_text()
    # Where it went, it is an entry like any other; the whole site lost nothing.
    assert ref in {e.id for e in parse_file(settings.feeds.dir / "economy" / "atom.xml").entries}
    assert not tombstones_in(settings.feeds.dir / "all" / "atom.xml")
    # The incremental build wrote what a full build writes, and an idle one nothing.
    assert published_files(settings.feeds.dir) == fresh_build(settings, engine, tmp_path / "b")
    assert feed_service.build_feeds(settings, engine, force_all=True).changed == ()

    # Back in culture: an entry again, no tombstone.
    write(engine, replace(moved, topics=("economy", "culture"), updated_at=moved_at + timedelta(1)))
    feed_service.build_feeds(settings, engine, force_all=False)
    for path in (culture / "atom.xml", culture / "archive" / "2026-10.atom"):
        assert ref in {e.id for e in parse_file(path).entries}, path
        assert not tombstones_in(path), path
    assert feed_service.build_feeds(settings, engine, force_all=True).changed == ()


def test_a_month_left_with_only_a_departure_keeps_its_archive_and_links(
    settings: Settings, engine: Engine, make_article: Make, tmp_path: Path
) -> None:
    write(
        engine,
        make_article("a", published_at=datetime(2026, 9, 10, tzinfo=UTC), topics=("culture",)),
        make_article("b", published_at=datetime(2026, 10, 10, tzinfo=UTC), topics=("culture",)),
        make_article("c", published_at=datetime(2026, 11, 10, tzinfo=UTC), topics=("culture",)),
    )
    feed_service.build_feeds(settings, engine, force_all=False)
    write(
        engine,
        make_article(
            "b",
            published_at=datetime(2026, 10, 10, tzinfo=UTC),
            updated_at=datetime(2026, 12, 2, tzinfo=UTC),
            topics=("environment", "transport"),
        ),
    )
    report = feed_service.build_feeds(settings, engine, force_all=False)
    october = settings.feeds.dir / "culture" / "archive" / "2026-10.atom"
    assert report.removed == () and "culture/archive/2026-10.atom" in report.changed
    assert parse_file(october).entries == []
    ((_, comment),) = tombstones_in(october).values()
    assert comment == "moved to Environment and Transport"
    assert published_files(settings.feeds.dir) == fresh_build(settings, engine, tmp_path / "b")


def test_an_archive_month_nothing_left_stays_byte_stable(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    records = seed(engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    before = published_files(settings.feeds.dir)
    write(engine, replace(records[4], topics=("economy",)))  # October
    report = feed_service.build_feeds(settings, engine, force_all=False)
    after = published_files(settings.feeds.dir)
    untouched = [p for p in before if "2026-10" not in p and "/archive/" in p]
    assert untouched and all(before[p] == after[p] for p in untouched)
    assert not any("/archive/" in p and "2026-10" not in p for p in report.changed)


def test_each_entry_says_its_language_where_it_is_not_the_sites(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    # Issue 26 item 6: every entry was marked with the site's language.
    korean = make_article("smg-ko", title="서울 지하철 9호선 연장", language="ko")
    english = make_article("smg-en", published_at=korean.published_at - timedelta(hours=1))
    write(engine, korean, english)
    feed_service.build_feeds(settings, engine, force_all=False)
    root = settings.feeds.dir / "international-relations"
    for name in ("atom.xml", "archive/2026-11.atom", "rss.xml"):
        parsed = parse_file(root / name)
        # feedparser reads an Atom entry's xml:lang (inherited from the feed's when it has
        # none) as the language of its text, and RSS's dc:language as the item's.
        found = {
            e.id.rpartition(":")[2]: e.title_detail.language if name != "rss.xml" else e.language
            for e in parsed.entries
            if name != "rss.xml" or "language" in e
        }
        expected = {"smg-ko": "ko"} if name == "rss.xml" else {"smg-ko": "ko", "smg-en": "en"}
        assert found == expected, f"feedparser read {found} in {name}"
    assert parse_file(root / "rss.xml").feed.language == "en"
    items = json.loads((root / "feed.json").read_bytes())["items"]
    assert {i["id"].rpartition(":")[2]: i["language"] for i in items} == {
        "smg-ko": "ko",
        "smg-en": "en",
    }


# -- languages (issue 30) -------------------------------------------------------------------

LANGUAGES = LanguageSettings(
    available=("en", "ko", "ja"), names=(("ko", "한국어"), ("ja", "日本語"))
)


def multilingual_newsroom(
    settings: Settings, engine: Engine, make_article: Make
) -> tuple[Settings, dict[str, ArticleRecord]]:
    """One story in English with Korean and Japanese translations (the Japanese naming
    the Korean: a translation of a translation), an English-only story and one in a
    language the newsroom does not list."""
    settings = replace(settings, languages=LANGUAGES)
    at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    records = {
        # A month before its translations: their changes reach its archive month too.
        "story": make_article("smg-1", topics=("culture",), published_at=at - timedelta(days=21)),
        "ko": make_article(
            "smg-1-ko",
            title="서울 문화의 밤",
            topics=("culture",),
            language="ko",
            translation_of="smg-1",
            published_at=at + timedelta(hours=2),
        ),
        "ja": make_article(
            "smg-1-ja",
            title="ソウル文化の夜",
            topics=("culture",),
            language="ja",
            translation_of="smg-1-ko",
            published_at=at + timedelta(hours=3),
        ),
        "alone": make_article("smg-2", topics=("culture",), published_at=at + timedelta(hours=1)),
        "french": make_article(
            "smg-3", topics=("culture",), language="fr", published_at=at - timedelta(days=30)
        ),
    }
    write(engine, *records.values())
    return settings, records


def links_by_language(entry: Any) -> dict[str, str]:
    return {link.hreflang: link.href for link in entry.links if link.get("hreflang")}


def test_each_language_has_its_feeds_and_entries_link_their_translations(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    settings, records = multilingual_newsroom(settings, engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    root = settings.feeds.dir
    url = {key: record.url for key, record in records.items()}
    # Today's URLs stay the primary language's: English and what no language claims.
    english = parse_file(root / "culture" / "atom.xml")
    assert english.feed.language == "en"
    assert {e.id.rpartition(":")[2] for e in english.entries} == {"smg-1", "smg-2", "smg-3"}
    story = next(e for e in english.entries if e.id.endswith(":smg-1"))
    assert links_by_language(story) == {"ko": url["ko"], "ja": url["ja"]}
    for language, source, others in (
        ("ko", "smg-1-ko", {"en": url["story"], "ja": url["ja"]}),
        ("ja", "smg-1-ja", {"en": url["story"], "ko": url["ko"]}),
    ):
        for topic in ("culture", "all"):
            folder = root / language / topic
            atom, rss = parse_file(folder / "atom.xml"), parse_file(folder / "rss.xml")
            assert atom.feed.language == rss.feed.language == language
            assert atom.feed.title.endswith(f"({LANGUAGES.name(language)})")
            [entry] = atom.entries
            assert entry.id.endswith(f":{source}")
            assert entry.title_detail.language == language
            assert links_by_language(entry) == others
            [item] = rss.entries
            assert links_by_language(item) == others
            [json_item] = json.loads((folder / "feed.json").read_bytes())["items"]
            assert json_item["language"] == language
            assert {t["language"]: t["url"] for t in json_item["_translations"]} == others
            archive = parse_file(folder / "archive" / "2026-11.atom")
            assert [e.id.rpartition(":")[2] for e in archive.entries] == [source]
    # The story alone links nothing; the French article sits in the English archive.
    alone = next(e for e in english.entries if e.id.endswith(":smg-2"))
    assert links_by_language(alone) == {}
    assert (
        parse_file(root / "culture" / "archive" / "2026-10.atom").entries[0].id.endswith(":smg-3")
    )
    opml = etree.fromstring((root / "index.opml").read_bytes())
    groups = opml.findall("body/outline")
    assert [g.get("text") for g in groups] == ["English", "한국어", "日本語"]
    assert groups[1].find("outline/outline").get("xmlUrl").endswith("/feeds/ko/all/rss.xml")
    assert feed_service.missing_feed_files(settings) == []


def test_retracting_a_translation_tombstones_it_in_its_language_only(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    settings, records = multilingual_newsroom(settings, engine, make_article)
    feed_service.build_feeds(settings, engine, force_all=False)
    when = datetime(2026, 11, 25, tzinfo=UTC)
    with db.write_session(engine) as session:
        store.retract_article(session, "smg-1-ko", "Mistranslated.", when)
    feed_service.build_feeds(settings, engine, force_all=False)
    root = settings.feeds.dir

    def tombstones(path: Path) -> list[str]:
        tree = etree.parse(str(path))
        return [
            d.get("ref").rpartition(":")[2]
            for d in tree.iter("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
        ]

    for topic in ("culture", "all"):
        assert tombstones(root / "ko" / topic / "atom.xml") == ["smg-1-ko"]
        assert tombstones(root / "ko" / topic / "archive" / "2026-11.atom") == ["smg-1-ko"]
        assert parse_file(root / "ko" / topic / "atom.xml").entries == []
        for other in (root / topic, root / "ja" / topic):
            assert tombstones(other / "atom.xml") == []
            assert tombstones(other / "archive" / "2026-11.atom") == []
    # The other translations stop linking the retracted one (the incremental build saw
    # it through the group), and the build is the one a full build makes.
    story = next(
        e for e in parse_file(root / "culture" / "atom.xml").entries if e.id.endswith(":smg-1")
    )
    assert links_by_language(story) == {"ja": records["ja"].url}
    [japanese] = parse_file(root / "ja" / "culture" / "archive" / "2026-11.atom").entries
    assert links_by_language(japanese) == {"en": records["story"].url}
    incremental = published_files(root)
    full = replace(settings, feeds=replace(settings.feeds, dir=root.parent / "full"))
    feed_service.build_feeds(full, engine, force_all=True)
    assert published_files(full.feeds.dir) == incremental


def test_with_one_language_nothing_moves(
    settings: Settings, engine: Engine, make_article: Make
) -> None:
    # A newsroom with one language keeps one set of feeds: every article is in it,
    # whatever its language, and no language folder appears.
    korean = make_article("smg-ko", language="ko", topics=("culture",))
    write(engine, korean)
    feed_service.build_feeds(settings, engine, force_all=False)
    assert not (settings.feeds.dir / "ko").exists()
    [entry] = parse_file(settings.feeds.dir / "culture" / "atom.xml").entries
    assert entry.title_detail.language == "ko"
