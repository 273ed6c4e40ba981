from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from syndication.services.articles import Rejection, import_articles
from syndication.store import articles as store
from syndication.store import database as db
from tests.support.builders import JsonFactory

TOPICS = {"international-relations", "culture", "economy"}


def run(engine: Engine, lines: list[str | bytes], **kwargs: Any) -> Any:
    seen: list[Rejection] = []
    report = import_articles(
        engine,
        lines,
        source="news.jsonl",
        known_topics=TOPICS,
        now=lambda: datetime(2026, 11, 28, tzinfo=UTC),
        on_rejection=seen.append,
        **kwargs,
    )
    assert seen == report.rejections
    return report


def test_a_mixed_file_is_reported_exactly(engine: Engine, make_article_json: JsonFactory) -> None:
    first = [json.dumps(make_article_json(f"a{i}")) for i in range(4)]
    run(engine, list(first))
    lines: list[str | bytes] = [
        first[0],  # unchanged
        json.dumps(make_article_json("a1", title="Changed")),  # updated
        "",  # blank: skipped silently
        json.dumps(make_article_json("b1")),  # inserted
        '{"id": "broken"',  # malformed JSON
        json.dumps(make_article_json("b2", topics=["sports"])),  # unknown topic
        json.dumps(make_article_json("b3", published_at="2026-11-20T10:00:00")),  # naive
        b"\xff\xfe not utf-8\n",
        first[2],  # unchanged
        json.dumps(make_article_json("b4", url="ftp://example.org/x")),
        json.dumps(make_article_json("b5")),  # inserted
    ]
    report = run(engine, lines)
    assert report.summary == "2 inserted, 1 updated, 2 unchanged, 5 rejected"
    assert [str(r) for r in report.rejections] == [
        "news.jsonl:5: malformed JSON: Expecting ',' delimiter at column 16",
        "news.jsonl:6: topics: unknown topic 'sports'",
        "news.jsonl:7: published_at: '2026-11-20T10:00:00' has no UTC offset"
        " (write e.g. +09:00 or Z)",
        "news.jsonl:8: not UTF-8 text (invalid start byte at byte 0)",
        "news.jsonl:10: url: 'ftp://example.org/x' is not an absolute http(s) URL",
    ]
    with db.read_session(engine) as session:
        ids = sorted(a.source_id for a in store.load_articles(session))
    assert ids == ["a0", "a1", "a2", "a3", "b1", "b5"]


def test_batches_and_repeated_ids_within_a_batch(
    engine: Engine, make_article_json: JsonFactory
) -> None:
    lines: list[str | bytes] = [json.dumps(make_article_json(f"x{i}")) for i in range(7)]
    lines.insert(3, json.dumps(make_article_json("x1", title="Second version")))
    progress: list[int] = []
    report = run(engine, lines, batch_size=3, on_progress=progress.append)
    assert report.summary == "7 inserted, 1 updated, 0 unchanged, 0 rejected"
    assert progress[-1] == 8
    with db.read_session(engine) as session:
        titles = {a.source_id: a.title for a in store.load_articles(session)}
        assert titles["x1"] == "Second version"
        assert store.current_change_seq(session) == 8
