"""The transactional outbox: mails a person is waiting for, sent like digest copies.

A confirmation mail is queued in the transaction that records the sign-up, a test send in
the one that asks for it; senders then claim, renew, settle and release these rows with
the same lease and claim-token rules as the digest outbox (:mod:`syndication.store.outbox`,
whose lease helpers serve both tables), so a crash loses none and a row is ``sent`` at
most once. Senders look here first at every claim: a reader waiting for a confirmation
does not wait behind a digest to 100,000 readers.

Retries come soon, since someone is waiting: 30 s, 1, 2, 4 … minutes, at most 30 apart.
A server that cannot be reached costs no attempt (the row is given back with the reason,
and the scheduler's ``deliver`` job tries again within its interval). A row still unsent
at its ``give_up_at`` (:data:`GIVE_UP_AFTER` after it was queued) is settled ``failed``
with why, and stays as the record. A confirmation whose request was replaced by a newer
one, or whose subscriber confirmed, left or was suppressed meanwhile, is ``skipped``. A
settled row (sent or not) carries ``settled_at`` and is deleted
``[privacy] transactional_mail_days`` later (:func:`prune_settled`, the scheduler's
``retention`` job): it holds an address.

What the status report counts of this outbox (:class:`syndication.store.status.MailCounts`)
is read in :mod:`syndication.store.status`, without the ORM this module uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from syndication.core.deliveries import Claimed, Outcome
from syndication.store.models import Subscriber, Suppression, TransactionalMail
from syndication.store.outbox import give_back, lock_in_id_order, mark_claimed, renew

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=24)
# The statuses no sender changes again; a row in one carries ``settled_at``.
SETTLED = ("sent", "failed", "bounced", "skipped")

Mail = TransactionalMail


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failed attempt, doubling, at most 30 minutes."""
    # The exponent stops growing once past the cap (a day of retries counts ~50).
    return min(LONGEST_RETRY, FIRST_RETRY * (1 << min(max(0, attempts - 1), 16)))


def enqueue(
    session: Session,
    kind: str,
    email: str,
    now: datetime,
    *,
    subscriber_id: int | None = None,
    request: str = "",
    digest_id: int | None = None,
) -> int:
    """Queue one mail, due at once; returns its id (in the caller's transaction)."""
    row = Mail(
        kind=kind,
        subscriber_id=subscriber_id,
        digest_id=digest_id,
        email=email,
        request=request,
        status="queued",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        give_up_at=now + GIVE_UP_AFTER,
        claimed_by="",
        claim_token="",
        last_error="",
        message_id="",
    )
    session.add(row)
    session.flush()
    return row.id


def _give_up(session: Session, now: datetime) -> None:
    """Settle ``failed`` every row past its ``give_up_at`` that no live sender holds."""
    late = and_(
        Mail.give_up_at <= now,
        or_(
            Mail.status == "queued",
            and_(Mail.status == "sending", Mail.lease_until < now),
        ),
    )
    hours = GIVE_UP_AFTER / timedelta(hours=1)
    session.execute(
        update(Mail)
        .where(late)
        .values(
            status="failed",
            settled_at=now,
            lease_until=None,
            claimed_by="",
            claim_token="",
            last_error=func.substr(
                f"gave up: not handed over within {hours:g} h; last error: " + Mail.last_error,
                1,
                2000,
            ),
        )
    )


def _pick(session: Session, now: datetime, limit: int, only: int | None) -> list[int]:
    """Up to ``limit`` due ids: leases that ran out first, then queued rows by due time."""
    due = or_(
        and_(Mail.status == "sending", Mail.lease_until < now),
        and_(Mail.status == "queued", Mail.next_attempt_at <= now),
    )
    query = select(Mail.id).where(due).order_by(Mail.status.desc(), Mail.next_attempt_at)
    if only is not None:
        query = query.where(Mail.id == only)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query.limit(limit)))


def claim_batch(
    session: Session,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    token: str,
    only: int | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due mails (or just mail ``only``) until ``now + lease``.

    Rows past their ``give_up_at`` are settled ``failed`` first. A confirmation whose
    request is no longer the subscriber's pending one, or whose address is suppressed, is
    settled ``skipped``: its link would no longer confirm anything.
    """
    _give_up(session, now)
    ids = _pick(session, now, limit, only)
    if not ids:
        return []
    suppressed = exists().where(Suppression.email == Mail.email)
    current = and_(
        Subscriber.status == "pending",
        Subscriber.request_nonce == Mail.request,
        ~suppressed,
    )
    rows = session.execute(
        select(
            Mail.id,
            Mail.kind,
            Mail.subscriber_id,
            Mail.email,
            Mail.attempts,
            func.coalesce(Subscriber.name, "").label("name"),
            or_(Mail.kind != "confirm", current).label("ok"),
        )
        .outerjoin(Subscriber, Subscriber.id == Mail.subscriber_id)
        .where(Mail.id.in_(ids))
        .order_by(Mail.id)
    ).all()
    stale = [r.id for r in rows if not r.ok]
    if stale:
        session.execute(
            update(Mail)
            .where(Mail.id.in_(stale))
            .values(
                status="skipped",
                settled_at=now,
                lease_until=None,
                claimed_by="",
                claim_token="",
                last_error="the sign-up request was replaced, confirmed or withdrawn",
            )
        )
    eligible = [r for r in rows if r.ok]
    mark_claimed(session, [r.id for r in eligible], now + lease, worker, token, Mail)
    # No digest id in the claim: an operator's hold stops a digest's copies, not a test
    # of it (the sender asks whether a claim's digest is stopped before each message).
    return [
        Claimed(
            r.id,
            0,
            r.subscriber_id or 0,
            r.email,
            r.name,
            r.attempts + 1,
            token,
            kind=r.kind,
        )
        for r in eligible
    ]


def renew_mails(session: Session, token: str, now: datetime, lease: timedelta) -> set[int]:
    """Extend the lease of the mails claim ``token`` still holds (see ``outbox.renew``)."""
    return renew(session, token, now, lease, Mail)


def settle(session: Session, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Record outcomes for the mails claim ``token`` still holds; others are left alone.

    ``sent`` keeps the Message-ID; ``released`` (the server could not be reached) goes
    back to the queue uncounted with the reason; ``retry`` (4xx, a dropped connection)
    is due again after :func:`retry_delay`, or ``failed`` if that is past ``give_up_at``;
    ``bounced`` (5xx) is final.
    """
    if not outcomes:
        return
    held = lock_in_id_order(
        session,
        and_(
            Mail.id.in_([o.delivery_id for o in outcomes]),
            Mail.status == "sending",
            Mail.claim_token == token,
        ),
        Mail,
    )
    rows = {row.id: row for row in session.scalars(select(Mail).where(Mail.id.in_(held)))}
    for outcome in outcomes:
        row = rows.get(outcome.delivery_id)
        if row is None:
            continue  # lost to another sender: not ours to settle
        error = outcome.error[:2000]
        if outcome.kind == "sent":
            row.status, row.sent_at, row.message_id = "sent", now, outcome.message_id
            row.last_error = ""
        elif outcome.kind == "released":
            row.status, row.attempts = "queued", row.attempts - 1
            row.last_error = error or row.last_error
        elif outcome.kind == "retry":
            due = now + retry_delay(outcome.attempts)
            row.next_attempt_at, row.last_error, row.status = due, error, "queued"
            if due >= row.give_up_at:
                row.status, row.last_error = "failed", f"gave up: {error}"[:2000]
        elif outcome.kind == "bounced":
            row.status, row.last_error, row.message_id = "bounced", error, outcome.message_id
        elif outcome.kind == "failed":
            row.status, row.last_error = "failed", error
        else:
            raise ValueError(f"unknown outcome {outcome.kind!r}")
        row.lease_until, row.claimed_by, row.claim_token = None, "", ""
        if row.status in SETTLED:
            row.settled_at = now


def release_worker(session: Session, worker: str) -> int:
    """Give back every mail ``worker`` holds (a clean shutdown); returns how many."""
    return len(give_back(session, worker, Mail))


def mail_status(session: Session, mail_id: int) -> tuple[str, str]:
    """A mail's status and last error."""
    row = session.get(Mail, mail_id)
    return ("gone", "") if row is None else (row.status, row.last_error)


def prune_settled(session: Session, before: datetime) -> int:
    """Delete the mails settled (sent, given up, bounced, skipped) before ``before``;
    returns how many. Queued and in-flight rows are never touched: they have no
    ``settled_at``."""
    result = session.execute(delete(Mail).where(Mail.status.in_(SETTLED), Mail.settled_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
