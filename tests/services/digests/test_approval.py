"""Hold, resume, cancel, approve and test-send a digest; what the outbox does with each."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta
from email import policy

import pytest
from sqlalchemy import Engine, func, select

from syndication.edges.transport import MemoryTransport
from syndication.services import delivery
from syndication.services.digests import approval
from syndication.services.digests.approval import ApprovalError
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import outbox
from syndication.store.models import Delivery
from tests.support.builders import AFTER_WEEK
from tests.support.outbox import (
    PERIOD,
    queue_demo_digest,
)

LIST = "weekly-city"


def send_all(settings: Settings, engine: Engine, at: datetime = AFTER_WEEK) -> list[str]:
    """Run the sender (what ``send`` and the scheduler run); the recipients it mailed."""
    sink = MemoryTransport()
    delivery.send_digests(
        settings, engine, workers=1, now=lambda: at, transport_factory=lambda: sink
    )
    return sorted(e.recipient for e in sink.sent)


def statuses(engine: Engine) -> dict[str, int]:
    with db.read_session(engine) as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {str(status): int(count) for status, count in rows}


def send_some(engine: Engine, count: int) -> list[str]:
    """Settle ``count`` rows as sent, as a sender stopped half-way would have."""
    with db.write_session(engine) as session:
        claimed = outbox.claim_batch(
            session, "w1", AFTER_WEEK, timedelta(minutes=2), count, "claim-1"
        )
        outbox.settle(
            session,
            "claim-1",
            [outbox.Outcome(c.delivery_id, "sent", c.email, "<m@x>") for c in claimed],
            AFTER_WEEK,
        )
    return [c.email for c in claimed]


def test_hold_stops_the_sender_and_resume_sends_exactly_the_rest(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 5)
    first = send_some(engine, 2)
    held = approval.hold(settings, engine, LIST, PERIOD, "op@example.org", AFTER_WEEK)
    assert (held.before, held.after) == ("ready", "held")
    assert held.deliveries == {"sent": 2, "queued": 3}
    assert send_all(settings, engine) == []
    with db.read_session(engine) as session:
        assert outbox.pending_count(session, AFTER_WEEK) == 0
    resumed = approval.resume(settings, engine, LIST, PERIOD, "op@example.org", AFTER_WEEK)
    assert resumed.after == "ready"
    rest = send_all(settings, engine)
    assert sorted(first + rest) == [f"reader{i}@example.org" for i in range(5)]
    assert not set(first) & set(rest)
    assert statuses(engine) == {"sent": 5}


def test_a_held_digest_is_not_taken_even_when_its_lease_runs_out(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 2)
    with db.write_session(engine) as session:
        claimed = outbox.claim_batch(session, "w1", AFTER_WEEK, timedelta(minutes=2), 10, "c")
        assert len(claimed) == 2
    approval.hold(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)
    # The first sender died; its leases have long run out, yet nobody takes the rows.
    assert send_all(settings, engine, AFTER_WEEK + timedelta(hours=1)) == []
    assert statuses(engine) == {"sending": 2}


def test_cancel_skips_what_was_not_sent_and_cannot_be_undone(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 4)
    send_some(engine, 1)
    result = approval.cancel(settings, engine, LIST, PERIOD, "op@example.org", AFTER_WEEK)
    assert (result.after, result.skipped) == ("cancelled", 3)
    assert statuses(engine) == {"sent": 1, "skipped": 3}
    assert send_all(settings, engine) == []
    for action in (approval.resume, approval.hold, approval.approve):
        with pytest.raises(ApprovalError, match="cancelled; it can never be sent"):
            action(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)


def manual(settings: Settings) -> Settings:
    lists = tuple(
        replace(ml, approval="manual") if ml.slug == LIST else ml for ml in settings.lists
    )
    return replace(settings, lists=lists)


def test_a_manual_list_compiles_held_and_goes_out_only_when_approved(
    settings: Settings, engine: Engine
) -> None:
    settings = manual(settings)
    report = queue_demo_digest(settings, engine, 3)
    assert report.queued == 3
    assert approval.digest_status(engine, LIST, PERIOD).state == "held"
    assert send_all(settings, engine) == []
    with pytest.raises(ApprovalError, match="needs approval and this digest was never approved"):
        approval.resume(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)
    soon = approval.digest_status(engine, LIST, PERIOD).period_end + timedelta(hours=1)
    result = approval.approve(settings, engine, LIST, PERIOD, "op@example.org", soon)
    assert (result.before, result.after) == ("held", "approved")
    status = approval.digest_status(engine, LIST, PERIOD)
    assert (status.approved_by, status.approved_at) == ("op@example.org", soon)
    # Holding and resuming an approved digest keeps it approved.
    approval.hold(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)
    assert approval.resume(settings, engine, LIST, PERIOD, "op", AFTER_WEEK).after == "approved"
    assert len(send_all(settings, engine)) == 3
    # Once everything is sent there is nothing left to hold.
    with pytest.raises(ApprovalError, match="finished .*nothing left to hold"):
        approval.hold(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)


def test_approval_after_max_digest_delay_is_refused(settings: Settings, engine: Engine) -> None:
    settings = manual(settings)
    queue_demo_digest(settings, engine, 1)
    period_end = approval.digest_status(engine, LIST, PERIOD).period_end
    late = period_end + settings.scheduler.max_digest_delay + timedelta(minutes=1)
    with pytest.raises(ApprovalError, match="past max_digest_delay .*a stale digest"):
        approval.approve(settings, engine, LIST, PERIOD, "op", late)
    assert approval.digest_status(engine, LIST, PERIOD).state == "held"
    assert send_all(settings, engine, late) == []


def test_unknown_digest_is_named(settings: Settings, engine: Engine) -> None:
    from syndication.errors import NotFoundError

    with pytest.raises(NotFoundError, match="weekly-city 2026-11-16: no such digest"):
        approval.hold(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)


def test_send_test_is_one_marked_message_that_the_outbox_does_not_see(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 2)
    approval.hold(settings, engine, LIST, PERIOD, "op", AFTER_WEEK)
    before = statuses(engine)
    sink = MemoryTransport()
    sent = approval.test_send(
        settings, engine, LIST, PERIOD, "editor@example.org", AFTER_WEEK, sink
    )
    assert (sent.status, sent.error) == ("sent", "")
    assert [e.recipient for e in sink.sent] == ["editor@example.org"]
    message = email.message_from_bytes(sink.sent[0].message, policy=policy.default)
    assert str(message["subject"]).startswith("[TEST] ")
    assert message["message-id"] == sent.message_id
    assert statuses(engine) == before
    with pytest.raises(Exception, match="test address"):
        approval.test_send(settings, engine, LIST, PERIOD, "not an address", AFTER_WEEK, sink)
