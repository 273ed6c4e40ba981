"""The one status report (``services/status.py``): what each number counts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from syndication.core import feeds
from syndication.core.subscribers import Event
from syndication.services import status
from syndication.services.digests import approval
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import BounceEvent, Delivery, JobRun
from tests.support.builders import AFTER_WEEK
from tests.support.outbox import PERIOD, queue_demo_digest

LIST = "weekly-city"


def event(report_key: str, kind: str, digest_id: int, subscriber_id: int) -> BounceEvent:
    return BounceEvent(
        report_key=report_key,
        created_at=AFTER_WEEK,
        source="smtp",
        kind=kind,
        digest_id=digest_id,
        subscriber_id=subscriber_id,
        report=b"",
    )


def test_an_empty_store(settings: Settings, engine: Engine) -> None:
    report = status.service_status(settings, engine)
    missing = len(feeds.expected_paths(settings))
    assert report.feeds == status.FeedStatus(built_to=0, store_at=0, missing_files=missing)
    assert report.feeds.behind == missing  # no feed file yet: readers get 404s
    assert report.outbox.backlog == 0 and report.outbox.oldest_queued_since is None
    assert (report.digests, report.lists, report.jobs, report.sources) == ([], {}, [], [])
    assert report.digest_states == {}
    assert report.articles_by_status == {"published": 0, "retracted": 0}
    assert (report.intake_backlog, report.bounce_events, report.growth) == (0, {}, {})
    assert status.service_status(settings, engine, look_at_files=False).feeds.missing_files == 0


def test_a_held_digest_is_held_not_queued_everywhere(settings: Settings, engine: Engine) -> None:
    queue_demo_digest(settings, engine, 3)
    ready = status.service_status(settings, engine)
    assert (ready.outbox.queued, ready.outbox.held, ready.outbox.sending) == (3, 0, 0)
    assert ready.outbox.oldest_queued_since == AFTER_WEEK
    approval.hold(settings, engine, LIST, PERIOD, "op@example.org", AFTER_WEEK)
    held = status.service_status(settings, engine)
    assert (held.outbox.queued, held.outbox.held, held.outbox.backlog) == (0, 3, 3)
    assert held.outbox.oldest_queued_since is None  # nothing waits for a sender
    assert held.deliveries == {"queued": 3}
    (row,) = held.digests
    assert (row.list_slug, row.period_key, row.state, row.deliveries) == (
        LIST,
        PERIOD,
        "held",
        {"queued": 3},
    )
    assert held.digest_states == {"held": 1}
    health = status.health_status(settings, engine)
    assert (health.outbox, health.feeds) == (held.outbox, held.feeds)
    assert status.outbox_backlog(engine) == 3
    assert status.outbox(engine) == held.outbox
    with db.write_session(engine) as session:
        session.execute(update(Delivery).values(status="sending"))
    assert status.service_status(settings, engine).outbox.sending == 3


def test_bounced_counts_each_reader_once_whatever_the_kinds(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 3)
    (digest_id,) = [row.id for row in status.recent_digests(engine, 10)]
    ids = status_ids(engine)
    with db.write_session(engine) as session:
        session.add(event("a1", "soft", digest_id, ids[0]))
        session.add(event("a2", "hard", digest_id, ids[0]))  # the same reader, later
        session.add(event("b1", "blocked", digest_id, ids[1]))
        session.add(event("c1", "complaint", digest_id, ids[2]))
        session.add(event("c2", "complaint", digest_id, ids[2]))  # reported twice
    (row,) = status.service_status(settings, engine).digests
    assert row.bounce_events == {"soft": 1, "hard": 1, "blocked": 1, "complaint": 1}
    assert (row.bounced, row.complained) == (2, 1)
    assert status.recent_digests(engine, 10) == [row]
    assert status.digest_report(engine, LIST, PERIOD) == row
    assert status.digest_report(engine, LIST, "2026-11-23") is None
    assert status.service_status(settings, engine).bounce_events == {
        "soft": 1,
        "hard": 1,
        "blocked": 1,
        "complaint": 2,
    }


def status_ids(engine: Engine) -> list[int]:
    with db.read_session(engine) as session:
        return [subscribers.find_subscriber(session, f"reader{i}@example.org").id for i in range(3)]


def test_former_readers_count_per_list_as_unsubscribed_or_complained(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 4)
    first, second, third = status_ids(engine)
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "reader0@example.org", "", ["weekly-international"], confirmed=True,
            now=AFTER_WEEK,
        )  # fmt: skip
        subscribers.unsubscribe(session, first, AFTER_WEEK, LIST)  # still on the other list
        subscribers.unsubscribe(session, second, AFTER_WEEK)  # left every list
        subscribers.suppress(
            session, "reader2@example.org", "complaint", AFTER_WEEK, Event.COMPLAINT
        )
        subscribers.unsubscribe(session, third, AFTER_WEEK)  # as a complaint does
    report = status.service_status(settings, engine, growth=True)
    assert report.lists[LIST] == {"active": 1, "unsubscribed": 2, "complained": 1}
    assert report.lists["weekly-international"] == {"active": 1}
    # The chart counts active members only: its last point is the list's active count.
    assert report.growth[LIST][-1][1] == report.lists[LIST]["active"]


def test_jobs_show_their_last_run_and_last_success(settings: Settings, engine: Engine) -> None:
    start = AFTER_WEEK
    with db.write_session(engine) as session:
        session.add(
            JobRun(job_id="poll", started_at=start, finished_at=start, ok=True, summary="3 new")
        )
        later = start + timedelta(minutes=5)
        session.add(
            JobRun(job_id="poll", started_at=later, finished_at=later, ok=False, error="503")
        )
        session.add(
            JobRun(
                job_id="digest:weekly-city",
                started_at=start,
                finished_at=start,
                ok=True,
                skipped=True,
                summary="past max_digest_delay",
            )
        )
    report = status.service_status(settings, engine, look_at_files=False)
    digest, poll = report.jobs
    assert (poll.job_id, poll.last_ok, poll.last_error, poll.last_success_at) == (
        "poll",
        False,
        "503",
        start,
    )
    assert (poll.next_run, poll.scheduled, poll.last_finished_at) == (None, False, later)
    assert digest.last_skipped and digest.last_summary == "past max_digest_delay"
    health = status.health_status(settings, engine)
    assert health.last_poll == status.LastRun(later, False)


def test_failed_and_waiting_bounce_reports_degrade_health(
    settings: Settings, engine: Engine
) -> None:
    # Issue 25: a report whose processing raised is kept as failed and the queue goes on;
    # the operator's surfaces count it, and /healthz says "degraded" until it is dealt with.
    from syndication.services import bounces
    from syndication.store import bounces as bounce_store

    def stored(at: timedelta) -> int:
        return bounces.accept(
            engine,
            b"Subject: x\r\n\r\nnot a bounce\r\n",
            source="smtp",
            sender="",
            recipients=["bounces@news.example.org"],
            now=AFTER_WEEK + at,
        )

    broken, waiting = stored(timedelta(0)), stored(timedelta(minutes=1))
    with db.write_session(engine) as session:
        assert bounce_store.fail(session, broken, "RecursionError: too deep", AFTER_WEEK)
    report = status.service_status(settings, engine)
    health = status.health_status(settings, engine)
    expected = status.IntakeCounts(1, 1, AFTER_WEEK + timedelta(minutes=1))
    assert report.intake == health.intake == expected
    soon = AFTER_WEEK + timedelta(minutes=5)
    assert status.health_problems(health, soon) == [
        "1 bounce reports failed to process; 'syndication status' lists them"
    ]
    late = AFTER_WEEK + timedelta(hours=1)
    assert status.health_problems(health, late)[1].startswith("bounce reports wait since ")
    assert waiting


def test_a_digest_with_every_delivery_settled_is_finished(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 3)
    assert status.service_status(settings, engine).digest_states == {"ready": 1}
    with db.write_session(engine) as session:
        session.execute(update(Delivery).values(status="sent"))
    report = status.service_status(settings, engine)
    (row,) = report.digests
    assert (row.state, row.deliveries) == ("finished", {"sent": 3})
    assert report.digest_states == {"finished": 1}
    assert "finished" in status.DIGEST_STATES
    # A cancelled digest keeps its word, whatever its counts.
    with db.write_session(engine) as session:
        session.execute(update(Delivery).where(Delivery.id == 1).values(status="queued"))
    approval.cancel(settings, engine, LIST, PERIOD, "op@example.org", AFTER_WEEK)
    report = status.service_status(settings, engine)
    assert report.digest_states == {"cancelled": 1} and report.digests[0].state == "cancelled"
