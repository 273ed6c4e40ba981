"""The store's side of bounces: the intake queue, bounce events, soft counts, suppression.

New home: ``syndication/store/bounces.py`` (issue 13's layout; it cannot live there while
``syndication/store.py`` is a module). Functions take a ``Session`` and leave the
transaction to the caller; what an event *does* is decided by
:func:`syndication.core.bounce_rules.decide`, applied here.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from syndication.core import bounce_reasons, bounce_rules
from syndication.core.bounce_mime import clean
from syndication.core.bounce_rules import Action
from syndication.core.subscribers import normalise_email, restore_event
from syndication.errors import NotFoundError
from syndication.store import subscribers
from syndication.store.models import (
    BounceEvent,
    BounceIntake,
    Delivery,
    Digest,
    SoftBounce,
    Subscriber,
)


@dataclass(frozen=True)
class Target:
    """Whom an event is about: a subscriber, and the delivery/digest when there is one."""

    subscriber_id: int
    email: str
    delivery_id: int | None = None
    digest_id: int | None = None
    # When the copy the report is about went out (a delivery's sent_at; for a mail
    # without a delivery row, the subscriber's last change, when it was requested).
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Event:
    """An event to record: the report's verdict and its evidence.

    ``verdict`` is what the rules (:func:`syndication.core.bounce_rules.action_for`) made
    of ``reason``; ``kind`` the label ``status`` counts (:func:`bounce_rules.kind_for`);
    ``action`` the DSN's own ``Action`` field.
    """

    report_key: str
    source: str
    kind: str
    verdict: Action
    reason: str = bounce_reasons.UNDEFINED
    evidence: str = ""
    status_code: str = ""
    action: str = ""
    diagnostic: str = ""
    recipient: str = ""
    report: bytes = b""


# -- the intake queue --------------------------------------------------------------------


def enqueue(
    session: Session,
    data: bytes,
    *,
    source: str,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
) -> int:
    """Store one arrived report (compressed) as ``queued``; returns its id."""
    row = BounceIntake(
        received_at=now,
        source=source,
        envelope_sender=clean(sender)[:300],
        envelope_recipients=clean(",".join(recipients))[:5000],
        data=zlib.compress(data, 6),
        state="queued",
        note="",
    )
    session.add(row)
    session.flush()
    return row.id


def queued_ids(session: Session, limit: int = 100) -> list[int]:
    return list(
        session.scalars(
            select(BounceIntake.id)
            .where(BounceIntake.state == "queued")
            .order_by(BounceIntake.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Stored:
    id: int
    source: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes


def claim(session: Session, intake_id: int) -> Stored | None:
    """The queued report ``intake_id``, locked for this transaction; None if taken or done."""
    stmt = select(BounceIntake).where(BounceIntake.id == intake_id, BounceIntake.state == "queued")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        return None
    recipients = tuple(r for r in row.envelope_recipients.split(",") if r)
    return Stored(row.id, row.source, row.envelope_sender, recipients, zlib.decompress(row.data))


def finish(session: Session, intake_id: int, state: str, note: str, now: datetime) -> None:
    """Mark a report processed: ``done``, ``ignored`` or ``failed`` with its note."""
    session.execute(
        update(BounceIntake)
        .where(BounceIntake.id == intake_id)
        .values(state=state, note=clean(note)[:2000], processed_at=now)
    )


def fail(session: Session, intake_id: int, error: str, now: datetime) -> bool:
    """Take a still-queued report out of the queue as ``failed`` with ``error`` (one line).

    Returns False when it is no longer queued (another worker finished it meanwhile).
    """
    one_line = " ".join(clean(error).split())[:2000]
    result = session.execute(
        update(BounceIntake)
        .where(BounceIntake.id == intake_id, BounceIntake.state == "queued")
        .values(state="failed", note=one_line, processed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def oldest_queued_at(session: Session) -> datetime | None:
    """When the oldest report still queued arrived (None: the queue is empty)."""
    return session.execute(
        select(func.min(BounceIntake.received_at)).where(BounceIntake.state == "queued")
    ).scalar_one()


def unmatched_held(session: Session) -> int:
    """Reports held that are not (yet) known to be about a reader of ours: those processed
    and ``ignored`` (kept until pruned) and those still ``queued``. The intake's total
    bound on strangers' reports (``core/intake_limits.py``) counts these."""
    return int(
        session.execute(
            select(func.count())
            .select_from(BounceIntake)
            .where(BounceIntake.state.in_(("queued", "ignored")))
        ).scalar_one()
    )


def failed_count(session: Session) -> int:
    """Reports whose processing raised (``failed``)."""
    return int(
        session.execute(
            select(func.count()).select_from(BounceIntake).where(BounceIntake.state == "failed")
        ).scalar_one()
    )


@dataclass(frozen=True)
class FailedReport:
    id: int
    received_at: datetime
    source: str
    error: str


def failed_reports(session: Session, limit: int = 20) -> list[FailedReport]:
    """The most recent ``failed`` reports, newest first, with their one-line errors."""
    rows = session.execute(
        select(BounceIntake.id, BounceIntake.received_at, BounceIntake.source, BounceIntake.note)
        .where(BounceIntake.state == "failed")
        .order_by(BounceIntake.id.desc())
        .limit(limit)
    )
    return [FailedReport(int(r[0]), r[1], str(r[2]), str(r[3])) for r in rows]


# -- finding what a report is about ------------------------------------------------------


def delivery_target(session: Session, delivery_id: int) -> Target | None:
    row = session.execute(
        select(Delivery.id, Delivery.digest_id, Subscriber.id, Subscriber.email, Delivery.sent_at)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    return None if row is None else Target(row[2], row[3], row[0], row[1], row[4])


def delivery_list(session: Session, delivery_id: int) -> tuple[int, str, str] | None:
    """``(subscriber id, address, list slug)`` of a delivery, None if there is none."""
    row = session.execute(
        select(Subscriber.id, Subscriber.email, Digest.list_slug)
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .join(Digest, Digest.id == Delivery.digest_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def subscriber_target(session: Session, subscriber_id: int) -> Target | None:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    return Target(subscriber.id, subscriber.email, sent_at=subscriber.updated_at)


def message_id_target(session: Session, message_id: str, recipient: str) -> Target | None:
    """The delivery we really sent with ``message_id``, to ``recipient`` when one is named.

    Message-IDs are keyed (HMAC), so one that matches was written by us; the address check
    makes sure the report is about that copy's reader.
    """
    # A Message-ID we wrote has no control characters; PostgreSQL refuses NUL in a query.
    if not message_id or clean(message_id) != message_id:
        return None
    rows = session.execute(
        select(Delivery.id, Delivery.digest_id, Subscriber.id, Subscriber.email, Delivery.sent_at)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.message_id == message_id, Delivery.status.in_(("sent", "bounced")))
    ).all()
    for row in rows:
        if not recipient or row[3] == recipient:
            return Target(row[2], row[3], row[0], row[1], row[4])
    return None


# -- applying an event -------------------------------------------------------------------


def already_recorded(session: Session, report_key: str) -> bool:
    return (
        session.execute(select(BounceEvent.id).where(BounceEvent.report_key == report_key)).first()
        is not None
    )


def apply_event(
    session: Session, target: Target, event: Event, soft_limit: int, now: datetime
) -> str | None:
    """Record ``event`` about ``target`` and do what the rules say; returns the effect.

    Returns None, changing nothing, when the same report was recorded before.
    """
    if already_recorded(session, event.report_key):
        return None
    subscriber = session.get(Subscriber, target.subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError(f"subscriber {target.subscriber_id}: gone")
    streak = 0
    if event.verdict is Action.COUNT and target.digest_id is not None:
        if session.get(SoftBounce, (subscriber.id, target.digest_id)) is None:
            session.add(
                SoftBounce(subscriber_id=subscriber.id, digest_id=target.digest_id, created_at=now)
            )
            session.flush()
        streak = _soft_streak(session, subscriber.id, target.digest_id)
    decision = bounce_rules.decide(
        event.verdict, event.reason, subscriber.status, streak, soft_limit
    )
    if decision.event is not None:
        # The lifecycle table changes the status, the lists and the suppression list.
        detail = " ".join(p for p in (event.status_code, clean(event.diagnostic)[:300]) if p)
        subscribers.apply(
            session,
            subscriber,
            decision.event,
            now,
            reason=f"{event.reason} ({event.kind}): {detail}".strip(": "),
        )
    session.add(
        BounceEvent(
            report_key=clean(event.report_key)[:100],
            created_at=now,
            source=event.source,
            kind=event.kind,
            reason=event.reason[:32],
            evidence=clean(event.evidence)[:1000],
            status_code=clean(event.status_code)[:16],
            action=clean(event.action)[:20],
            diagnostic=clean(event.diagnostic)[:2000],
            recipient=clean(event.recipient or target.email)[:254],
            subscriber_id=subscriber.id,
            delivery_id=target.delivery_id,
            digest_id=target.digest_id,
            effect=decision.effect,
            report=zlib.compress(event.report, 6) if event.report else b"",
        )
    )
    session.flush()
    return decision.effect


def _soft_streak(session: Session, subscriber_id: int, digest_id: int) -> int:
    """The run of soft-bounced digests ending at ``digest_id`` (see ``bounce_rules``)."""
    upto = session.execute(select(Digest.period_end).where(Digest.id == digest_id)).scalar_one()
    sent = list(
        session.scalars(
            select(Digest.id)
            .join(Delivery, Delivery.digest_id == Digest.id)
            .where(
                Delivery.subscriber_id == subscriber_id,
                Delivery.status.in_(("sent", "bounced")),
                Digest.period_end <= upto,
            )
            .order_by(Digest.period_end.desc(), Digest.id.desc())
        )
    )
    if digest_id not in sent:
        sent.insert(0, digest_id)
    soft = set(
        session.scalars(
            select(SoftBounce.digest_id).where(SoftBounce.subscriber_id == subscriber_id)
        )
    )
    return bounce_rules.soft_streak(sent, soft)


def restore(session: Session, email: str, now: datetime) -> Subscriber:
    """Undo a bounce or complaint: off the suppression list, soft counts forgotten.

    The subscriber becomes ``active`` if it had confirmed, else ``pending``; lists a
    complaint removed stay removed (the reader left them; they can join again).
    """
    address = normalise_email(email)
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == address).with_for_update()
    ).scalar_one_or_none()
    if subscriber is None:
        raise NotFoundError(f"subscriber {address}: no such subscriber")
    session.execute(delete(SoftBounce).where(SoftBounce.subscriber_id == subscriber.id))
    previous = subscriber.status
    # Off the suppression list, and the status the lifecycle table gives back.
    subscribers.apply(session, subscriber, restore_event(subscriber.confirmed_at is not None), now)
    session.add(
        BounceEvent(
            report_key=f"restore:{subscriber.id}:{now.isoformat()}",
            created_at=now,
            source="operator",
            kind="restored",
            recipient=address,
            subscriber_id=subscriber.id,
            effect=f"restored by an operator: {previous} -> {subscriber.status}",
        )
    )
    return subscriber


# -- what status shows -------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune_reports` removed: intake rows deleted, raw copies emptied."""

    intake_deleted: int
    intake_emptied: int
    events_emptied: int


def prune_reports(session: Session, before: datetime) -> Pruned:
    """Remove raw reports that arrived before ``before``; events and verdicts stay.

    Processed intake rows (``done``, ``ignored``) go; ``failed`` ones keep their row and
    one-line error (the operator's count of failures) but lose the raw bytes; ``queued``
    ones are never touched (not yet processed). Events keep everything but their raw copy.
    """
    deleted = session.execute(
        delete(BounceIntake).where(
            BounceIntake.received_at < before, BounceIntake.state.in_(("done", "ignored"))
        )
    )
    emptied = session.execute(
        update(BounceIntake)
        .where(
            BounceIntake.received_at < before,
            BounceIntake.state == "failed",
            func.length(BounceIntake.data) > 0,
        )
        .values(data=b"")
    )
    events = session.execute(
        update(BounceEvent)
        .where(BounceEvent.created_at < before, func.length(BounceEvent.report) > 0)
        .values(report=b"")
    )
    return Pruned(
        int(getattr(deleted, "rowcount", 0)),
        int(getattr(emptied, "rowcount", 0)),
        int(getattr(events, "rowcount", 0)),
    )


def record_refusal(
    session: Session, delivery_id: int, error: str, soft_limit: int, now: datetime
) -> str | None:
    """The synchronous path: our SMTP server refused a delivery with a 5xx reply.

    The reply (``550 5.1.1 …``) is judged like a DSN's ``Diagnostic-Code`` and goes
    through the same rules; the key makes one event per delivery.
    """
    target = delivery_target(session, delivery_id)
    if target is None:
        return None
    # Our own SMTP client's refusal is the remote's reply to RCPT TO or to DATA.
    finding = bounce_reasons.judge(
        error,
        source="SMTP reply",
        after_data=bounce_reasons.refused_after_data(error),
        at_rcpt=bounce_reasons.refused_at_rcpt(error),
    )
    event = Event(
        report_key=f"smtp:{delivery_id}",
        source="smtp",
        kind=bounce_rules.kind_for(finding),
        verdict=bounce_rules.action_for(finding),
        reason=finding.reason,
        evidence=finding.evidence,
        status_code=bounce_reasons.enhanced_status(error),
        action="failed",
        diagnostic=error,
        recipient=target.email,
    )
    return apply_event(session, target, event, soft_limit, now)
