"""Builders for tests that need a compiled digest in the outbox."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from syndication.services.digests import compiling
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import subscribers
from tests.support.builders import AFTER_WEEK, import_demo_articles

WEEK = date(2026, 11, 18)
PERIOD = "2026-11-16"


def add_readers(engine: Engine, count: int, list_slug: str = "weekly-city") -> list[int]:
    """``count`` confirmed subscribers of ``list_slug``; returns their ids."""
    ids = []
    with db.write_session(engine) as session:
        for i in range(count):
            result = subscribers.add_subscriber(
                session,
                f"reader{i}@example.org",
                f"Reader {i}",
                [list_slug],
                confirmed=True,
                now=AFTER_WEEK,
            )
            ids.append(result.subscriber_id)
    return ids


def queue_demo_digest(
    settings: Settings, engine: Engine, readers: int, list_slug: str = "weekly-city"
) -> compiling.CompileReport:
    """Demo articles, ``readers`` subscribers and the week of 2026-11-16 compiled."""
    import_demo_articles(settings, engine)
    add_readers(engine, readers, list_slug)
    report = compiling.compile_digest(settings, engine, list_slug, WEEK, AFTER_WEEK)
    assert report.created and report.period_key == PERIOD
    return report
