"""Compiling digests: once per (list, period), and the due rule the scheduler asks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from syndication.errors import NotFoundError, SyndicationError
from syndication.services.digests import compiling
from syndication.settings import SchedulerSettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.outbox import add_readers


@pytest.fixture
def demo_store(settings: Settings, engine: Engine) -> Engine:
    import_demo_articles(settings, engine)
    return engine


def test_compile_stores_once_and_queues_active_subscribers(
    settings: Settings, demo_store: Engine
) -> None:
    add_readers(demo_store, 3)
    with db.write_session(demo_store) as session:
        subscribers.add_subscriber(
            session, "pending@example.org", "", ["weekly-city"], confirmed=False, now=AFTER_WEEK
        )
    report = compiling.compile_digest(
        settings, demo_store, "weekly-city", date(2026, 11, 18), AFTER_WEEK
    )
    assert (report.period_key, report.articles, report.created, report.queued) == (
        "2026-11-16",
        12,
        True,
        3,
    )
    again = compiling.compile_digest(
        settings, demo_store, "weekly-city", date(2026, 11, 18), AFTER_WEEK
    )
    assert (again.created, again.queued) == (False, 0)
    empty = compiling.compile_digest(
        settings, demo_store, "weekly-city", date(2025, 1, 8), AFTER_WEEK
    )
    assert empty.empty and not empty.created
    with pytest.raises(SyndicationError, match="compile it after it has ended"):
        compiling.compile_digest(
            settings, demo_store, "weekly-city", date(2026, 11, 25), AFTER_WEEK
        )
    with pytest.raises(NotFoundError, match="list 'weekly-sport'"):
        compiling.compile_digest(settings, demo_store, "weekly-sport", None, AFTER_WEEK)
    latest = compiling.compile_digest(settings, demo_store, "weekly-city", None, AFTER_WEEK)
    assert latest.period_key == "2026-11-16" and not latest.created


def test_compile_due_compiles_the_latest_period_once(
    settings: Settings, demo_store: Engine
) -> None:
    add_readers(demo_store, 2)
    # An hour after the week of 2026-11-16 ended (Monday 08:00 in Seoul): within 24 h.
    now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    due = compiling.compile_due(settings, demo_store, "weekly-city", now)
    assert due.period_key == "2026-11-16" and not due.skipped
    assert due.decision.late_by == timedelta(hours=1)
    assert due.compiled is not None
    assert (due.compiled.created, due.compiled.queued) == (True, 2)
    again = compiling.compile_due(settings, demo_store, "weekly-city", now)
    assert again.compiled is not None and not again.compiled.created


def test_compile_due_skips_a_stale_period_unless_it_was_compiled(
    settings: Settings, demo_store: Engine
) -> None:
    compiling.compile_digest(settings, demo_store, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
    strict = replace(settings, scheduler=SchedulerSettings(max_digest_delay=timedelta(minutes=30)))
    skipped = compiling.compile_due(strict, demo_store, "weekly-international", AFTER_WEEK)
    assert skipped.skipped and skipped.max_delay == timedelta(minutes=30)
    assert not skipped.decision.due
    # The one "already compiled" check: a stale period that has its digest says so.
    compiled = compiling.compile_due(strict, demo_store, "weekly-city", AFTER_WEEK)
    assert not compiled.skipped
    assert compiled.compiled is not None and not compiled.compiled.created
    assert compiled.compiled.articles == 12


def test_compile_digests_compiles_every_list(settings: Settings, demo_store: Engine) -> None:
    reports = compiling.compile_digests(settings, demo_store, None, date(2026, 11, 18), AFTER_WEEK)
    assert [(r.list_slug, r.period_key) for r in reports] == [
        (the_list.slug, "2026-11-16") for the_list in settings.lists
    ]
    assert all(r.created for r in reports)
