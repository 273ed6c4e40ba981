"""The status report's queries (``store/status.py``) on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from syndication.core.articles import ArticleRecord
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import job_runs, status
from syndication.store.models import BounceIntake, JobRun

MakeArticle = Callable[..., ArticleRecord]


def write(engine: Engine, records: list[ArticleRecord], now: datetime) -> None:
    with db.write_session(engine) as session:
        store.write_articles(session, records, now)


def test_summary_counts(engine: Engine, make_article: MakeArticle, now: datetime) -> None:
    write(
        engine,
        [
            make_article("a", topics=("culture",)),
            make_article("b", topics=("culture", "economy")),
            make_article("c", status="retracted", topics=("economy",)),
        ],
        now,
    )
    with db.read_connection(engine) as connection:
        summary = status.store_summary(connection)
    assert (summary.articles, summary.published, summary.retracted) == (3, 2, 1)
    assert summary.change_seq == 3
    counts = {t.slug: (t.published, t.retracted) for t in summary.topics}
    assert counts["culture"] == (2, 0)
    assert counts["economy"] == (1, 1)
    assert counts["transport"] == (0, 0)
    assert summary.newest_published == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_feed_counters_read_the_watermark_and_the_store(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    with db.read_connection(engine) as connection:
        assert status.feed_counters(connection) == status.FeedCounters(0, 0)
    write(engine, [make_article("a"), make_article("b")], now)
    with db.write_session(engine) as session:
        store.write_counter(session, store.FEEDS_BUILT, 1)
    with db.read_connection(engine) as connection:
        assert status.feed_counters(connection) == status.FeedCounters(built_to=1, store_at=2)


def test_intake_backlog_counts_the_reports_not_yet_processed(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        for state in ("queued", "queued", "done"):
            session.add(
                BounceIntake(
                    received_at=now,
                    source="smtp",
                    envelope_sender="",
                    envelope_recipients="",
                    data=b"",
                    state=state,
                    note="",
                )
            )
    with db.read_connection(engine) as connection:
        assert status.intake_backlog(connection) == 2


def test_latest_run_per_job_is_one_query_for_every_reader(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        for minutes, job, ok in ((0, "poll", True), (5, "poll", False), (1, "deliver", True)):
            at = now + timedelta(minutes=minutes)
            session.add(
                JobRun(job_id=job, started_at=at, finished_at=at, ok=ok, summary="", error="")
            )
    with db.read_connection(engine) as connection:
        latest = job_runs.latest_runs(connection)
        successes = job_runs.last_successes(connection)
    assert {job: run.ok for job, run in latest.items()} == {"poll": False, "deliver": True}
    assert {job: run.ok for job, run in job_runs.last_runs(engine).items()} == {
        "poll": False,
        "deliver": True,
    }
    assert successes == {"poll": now, "deliver": now + timedelta(minutes=1)}
    assert all(at.tzinfo is UTC for at in successes.values())
    assert job_runs.stored_jobs(engine) == []
