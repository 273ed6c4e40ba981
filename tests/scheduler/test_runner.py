"""The scheduler's logic in-process: period arithmetic, catch-up, jobs, the job store.

Time is injected here; the real processes and the real clock are in
``test_scheduler_process.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.util import ref_to_obj
from sqlalchemy import Engine, func, select

from syndication.core import digests as digest
from syndication.core.articles import ArticleRecord
from syndication.core.deliveries import Outcome
from syndication.scheduler import jobs as scheduled
from syndication.scheduler import runner as scheduling
from syndication.services import feeds as feed_service
from syndication.services import job_runs as job_run_service
from syndication.services import status as status_service
from syndication.settings import (
    BounceSettings,
    ImapSettings,
    SchedulerSettings,
    Settings,
    SourceSettings,
)
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import job_runs, mail_outbox, subscribers
from syndication.store.models import Delivery, Digest, JobRun, Subscriber, TransactionalMail
from tests.support.processes import syndication

ArticleFactory = Callable[..., ArticleRecord]
WEEKLY = "0 8 * * mon"
NEW_YORK = ZoneInfo("America/New_York")
SEOUL = ZoneInfo("Asia/Seoul")
DAY = timedelta(days=1)


# -- jobs against a database --------------------------------------------------------------

WEEK = digest.period_for_date(WEEKLY, SEOUL, date(2026, 11, 18))  # 2026-11-16 .. 2026-11-23


@pytest.fixture
def filled(engine: Engine, make_article: ArticleFactory) -> Engine:
    """Two articles in the week of 2026-11-16 and one subscriber on each list."""
    records = [
        make_article("smg-env", topics=("environment",), published_at=WEEK.start + DAY),
        make_article("smg-intl", published_at=WEEK.start + 2 * DAY),
    ]
    with db.write_session(engine) as session:
        store.write_articles(session, records, WEEK.start)
        subscribers.add_subscriber(
            session,
            "reader@example.org",
            "Reader",
            ["weekly-city", "weekly-international"],
            confirmed=True,
            now=WEEK.start,
        )
    return engine


def configure(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Engine, now: datetime
) -> threading.Event:
    """Set the jobs' runtime for this test; it is put back afterwards."""
    monkeypatch.setattr(scheduled, "_runtime", None)
    stop = threading.Event()
    scheduled.configure(settings, engine, stop, lambda: now)
    return stop


def runs(engine: Engine, job_id: str) -> list[JobRun]:
    with db.read_session(engine) as session:
        return list(session.scalars(select(JobRun).where(JobRun.job_id == job_id)))


def test_catch_up_compiles_a_period_that_ended_during_downtime_once(
    settings: Settings, filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, settings, filled, WEEK.end + timedelta(hours=5))
    scheduling.catch_up(settings)
    scheduling.catch_up(settings)
    with db.read_session(filled) as session:
        digests = session.execute(select(Digest.list_slug, Digest.period_key)).all()
        queued = session.scalar(select(func.count()).select_from(Delivery))
    assert sorted(digests) == [
        ("weekly-city", "2026-11-16"),
        ("weekly-international", "2026-11-16"),
    ]
    assert queued == 2
    city = runs(filled, "digest:weekly-city")
    assert [r.ok for r in city] == [True, True]
    assert city[0].summary == "2026-11-16: compiled, 1 articles, 1 deliveries queued"
    assert city[1].summary == "2026-11-16: already compiled"


def test_catch_up_skips_a_period_past_max_digest_delay_and_says_so(
    settings: Settings, filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(settings, scheduler=SchedulerSettings(max_digest_delay=timedelta(hours=6)))
    configure(monkeypatch, settings, filled, WEEK.end + timedelta(hours=7))
    scheduling.catch_up(settings)
    with db.read_session(filled) as session:
        assert session.scalar(select(func.count()).select_from(Digest)) == 0
    (run,) = runs(filled, "digest:weekly-city")
    assert run.ok and run.skipped
    assert run.summary == (
        "2026-11-16: skipped; the period ended 7.0 h ago, past max_digest_delay (6 h)"
    )
    assert job_runs.last_runs(filled)["digest:weekly-city"].skipped


def test_many_missed_periods_give_at_most_the_latest_digest(
    settings: Settings, filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Down for three weeks: the one period that just ended may go out, never the backlog.
    settings = replace(settings, scheduler=SchedulerSettings(max_digest_delay=timedelta(days=30)))
    configure(monkeypatch, settings, filled, WEEK.end + 21 * DAY + timedelta(hours=1))
    scheduling.catch_up(settings)
    with db.read_session(filled) as session:
        assert session.scalar(select(func.count()).select_from(Digest)) == 0
    assert runs(filled, "digest:weekly-city")[0].summary.endswith("no digest")


def test_poll_sees_a_backdated_article(
    settings: Settings,
    engine: Engine,
    make_article: ArticleFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, settings, engine, WEEK.end)
    with db.write_session(engine) as session:
        store.write_articles(session, [make_article("smg-1")], WEEK.start)
    scheduled.poll()
    scheduled.poll()
    backdated = make_article("smg-old", published_at=datetime(2019, 5, 2, 3, tzinfo=UTC))
    with db.write_session(engine) as session:
        store.write_articles(session, [backdated], WEEK.end)
    scheduled.poll()
    first, idle, after = runs(engine, "poll")
    assert first.summary.startswith("rebuilt all, ")
    assert idle.summary.startswith("feeds up to date")
    assert after.summary.startswith("rebuilt all, international-relations:")
    archive = settings.feeds.dir / "international-relations" / "archive" / "2019-05.atom"
    assert "smg-old" in archive.read_text(encoding="utf-8")


def test_a_job_that_raises_is_recorded_and_runs_again(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, settings, engine, WEEK.end)
    real = feed_service.build_feeds

    def broken(*args: object, **kwargs: object) -> feed_service.FeedBuildReport:
        raise OSError("disk full")

    monkeypatch.setattr(feed_service, "build_feeds", broken)
    scheduled.poll()  # logged and recorded, not raised
    monkeypatch.setattr(feed_service, "build_feeds", real)
    scheduled.poll()
    failed, ok = runs(engine, "poll")
    assert not failed.ok and failed.error == "OSError: disk full"
    assert ok.ok and ok.summary.startswith("rebuilt all")


def test_the_retention_job_deletes_what_privacy_keeps_only_for_a_while(
    settings: Settings,
    filled: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with db.write_session(filled) as session:
        for address, at in (("stale@example.org", 31), ("fresh@example.org", 5)):
            subscribers.add_subscriber(
                session, address, "", ["weekly-city"], confirmed=False, now=WEEK.end - at * DAY
            )
    # Test mails: one sent 31 days ago, one 29 days ago, one queued 40 days ago whose
    # sender never came; only the first goes ([privacy] transactional_mail_days = 30).
    mails = {}
    for address, at in (("old@example.org", 31), ("new@example.org", 29), ("q@example.org", 40)):
        sent_at = WEEK.end - at * DAY
        with db.write_session(filled) as session:
            mails[address] = mail_outbox.enqueue(session, "test", address, sent_at)
            if address != "q@example.org":
                mail_outbox.claim_batch(session, "w", sent_at, DAY, 1, address, mails[address])
                mail_outbox.settle(
                    session, address, [Outcome(mails[address], "sent", address)], sent_at
                )
    configure(monkeypatch, settings, filled, WEEK.end)
    with caplog.at_level(logging.INFO, logger=scheduled.__name__):
        scheduled.retention()
    [run] = runs(filled, "retention")
    assert run.ok, run.error
    assert run.summary == (
        "1 pending sign-ups never confirmed, 0 unsubscribed records and 1 settled "
        "transactional mails deleted"
    )
    [line] = [r for r in caplog.records if r.getMessage().startswith("job retention")]
    assert (line.pending_deleted, line.mails_deleted) == (1, 1)  # type: ignore[attr-defined]
    # `syndication status` and the console's job table show that line as the last result.
    report = status_service.service_status(settings, filled, look_at_files=False, now=WEEK.end)
    [shown] = [job for job in report.jobs if job.job_id == "retention"]
    assert (shown.last_ok, shown.last_summary) == (True, run.summary)
    with db.read_session(filled) as session:
        left = set(session.scalars(select(Subscriber.email)))
        mails_left = set(session.scalars(select(TransactionalMail.email)))
    assert left == {"reader@example.org", "fresh@example.org"}
    assert mails_left == {"new@example.org", "q@example.org"}


def test_deliver_sends_what_the_digest_queued(
    settings: Settings, filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, settings, filled, WEEK.end + timedelta(hours=1))
    scheduling.catch_up(settings)
    scheduled.deliver()
    scheduled.deliver()
    first, second = runs(filled, "deliver")
    assert first.summary == "sent 2, retry later 0, bounced 0"
    assert second.summary == "sent 0, retry later 0, bounced 0"
    assert len(list(settings.mail.outbox_dir.rglob("*.eml"))) == 2


# -- the persistent job store -------------------------------------------------------------


def every_job(settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` with every optional job switched on: ``[[sources]]`` and ``[bounces.imap]``."""
    export = tmp_path / "export.jsonl"
    export.write_text("", encoding="utf-8")
    return replace(
        settings,
        sources=(SourceSettings("export", "jsonl", str(export)),),
        bounces=BounceSettings(imap=ImapSettings(host="127.0.0.1", username="bounces")),
    )


def test_every_job_registers_with_a_reference_that_resolves(
    settings: Settings, tmp_path: Path
) -> None:
    # APScheduler resolves a job's "module:function" when the job is added, and the
    # persistent store keeps only that reference: each one must name a real function.
    scheduler = BlockingScheduler(timezone=settings.site.tz)
    scheduling.register_jobs(scheduler, every_job(settings, tmp_path))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "sources",
        "poll",
        "digest:weekly-city",
        "digest:weekly-international",
        "deliver",
        "bounces",
        "prune",
        "retention",
    }
    for job in jobs.values():
        assert ref_to_obj(job.func_ref) is job.func
        assert job.func.__module__ == "syndication.scheduler.jobs", job.id


def start_and_stop(settings: Settings) -> None:
    """Start a real scheduler, paused, so that its jobs are written to the store."""
    scheduler = scheduling.build_scheduler(settings)
    thread = threading.Thread(target=scheduler.start, kwargs={"paused": True})
    thread.start()
    deadline = time.monotonic() + 10
    while not scheduler.running and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.shutdown(wait=True)
    thread.join(timeout=10)


def test_jobs_are_stored_rescheduled_and_removed_with_their_list(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    start_and_stop(settings)
    stored = {job.job_id: job.next_run for job in job_runs.stored_jobs(engine)}
    assert set(stored) == {
        "poll",
        "deliver",
        "prune",
        "retention",
        "digest:weekly-city",
        "digest:weekly-international",
    }
    prune = stored["prune"]
    assert prune is not None and prune.astimezone(SEOUL).strftime("%H:%M") == "03:17"
    retention = stored["retention"]
    assert retention is not None and retention.astimezone(SEOUL).strftime("%H:%M") == "03:27"
    monday = stored["digest:weekly-city"]
    assert monday is not None and monday.astimezone(SEOUL).strftime("%a %H:%M") == "Mon 08:00"

    city = settings.mailing_list("weekly-city")
    changed = replace(settings, lists=(replace(city, schedule="30 17 * * fri"),))
    assert scheduling.remove_stale_jobs(changed, engine) == ["digest:weekly-international"]
    start_and_stop(changed)
    stored = {job.job_id: job.next_run for job in job_runs.stored_jobs(engine)}
    assert set(stored) == {"poll", "deliver", "prune", "retention", "digest:weekly-city"}
    friday = stored["digest:weekly-city"]
    assert friday is not None and friday.astimezone(SEOUL).strftime("%a %H:%M") == "Fri 17:30"


def test_status_lists_next_runs_and_last_results(
    settings: Settings, filled: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = replace(settings, scheduler=SchedulerSettings(max_digest_delay=timedelta(hours=1)))
    configure(monkeypatch, settings, filled, WEEK.end + timedelta(hours=2))
    start_and_stop(settings)
    scheduling.catch_up(settings)
    result = syndication("status", cwd=tmp_path, database_url=settings.database.url)
    assert result.returncode == 0, result.stderr
    output = result.stdout
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert "next 2026-" in lines["poll"] and "never ran" in lines["poll"]
    assert "next " in lines["digest:weekly-city"] and "Mon" not in lines["digest:weekly-city"]
    assert "SKIPPED" in lines["digest:weekly-city"]
    assert "past max_digest_delay (1 h)" in lines["digest:weekly-city"]


def test_job_history_is_kept_for_a_fortnight_per_job(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, settings, engine, WEEK.end)
    scheduled.poll()
    scheduled.deliver()
    configure(monkeypatch, settings, engine, WEEK.end + job_run_service.HISTORY + DAY)
    scheduled.poll()
    assert [r.started_at for r in runs(engine, "poll")] == [
        WEEK.end + job_run_service.HISTORY + DAY
    ]
    assert len(runs(engine, "deliver")) == 1  # another job's history is its own


class StopAfterWaits(threading.Event):
    """A stop event that sets itself after ``waits`` waits: retries without real sleeps."""

    def __init__(self, waits: int) -> None:
        super().__init__()
        self.waits = waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits -= 1
        if self.waits <= 0:
            self.set()
        return self.is_set()


def test_a_database_that_stays_away_is_logged_once_not_every_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from syndication.edges.locks import leader_lock

    # Nothing listens on port 9 of loopback: every attempt fails at once.
    lock = leader_lock("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2")
    stop = StopAfterWaits(5)
    with caplog.at_level("INFO", logger="syndication.scheduler.runner"):
        assert scheduling._become_leader(lock, stop) is False
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "cannot reach the database for the scheduler lock" in warnings[0].getMessage()


def test_an_outage_says_when_it_starts_and_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    seconds = iter([100.0, 142.0])
    outage = scheduling.Outage(now=lambda: next(seconds))
    with caplog.at_level("INFO", logger="syndication.scheduler.runner"):
        outage.answered()  # nothing was away: nothing to say
        for _ in range(40):
            outage.failed(ConnectionError("refused"))
        outage.answered()
        outage.answered()
    assert [r.getMessage() for r in caplog.records] == [
        "cannot reach the database for the scheduler lock: refused; "
        "retrying quietly until it answers",
        "the database answers again after 42 s",
    ]
