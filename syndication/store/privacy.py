"""Everything the store holds about one person, to export it or to forget it.

The tables that can hold an address or point at a subscriber (store/models.py):
``subscribers`` (the record), ``subscriptions``, ``consent_records``, ``deliveries`` and
``soft_bounces`` (by subscriber id); ``suppressions`` (by address); ``bounce_events`` (by
subscriber id, by recipient, or naming the address in their evidence, and their stored
raw report); ``bounce_intake`` (the raw reports as they arrived, which name the address
inside, so they are read to find it); ``users`` and ``login_failures`` (a console
account, or sign-in attempts with that address). ``erased_addresses`` holds keyed hashes
only. A table added later that can hold an address belongs in this list: the erasure test
(tests/services/test_privacy.py) searches every text column of every table.

Addresses are compared in lower case: the service stores them so, but a report or a
sign-in attempt carries them as they were typed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, inspect, or_, select
from sqlalchemy.orm import Session

from syndication.store.models import (
    AuditEvent,
    BounceEvent,
    BounceIntake,
    ConsentRecord,
    Delivery,
    Digest,
    ErasedAddress,
    LoginFailure,
    SoftBounce,
    Subscriber,
    Subscription,
    Suppression,
    TransactionalMail,
    User,
)
from syndication.store.upsert import upsert

Row = dict[str, Any]


def plain(row: object) -> Row:
    """Every column of an ORM row, by column name."""
    mapper = inspect(row).mapper
    return {attr.columns[0].name: getattr(row, attr.key) for attr in mapper.column_attrs}


def unpack(data: bytes) -> bytes:
    """A stored report (zlib-compressed) as it arrived; b"" for an emptied one."""
    if not data:
        return b""
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


def _mentions(column: Any, address: str) -> ColumnElement[bool]:
    return func.lower(column).contains(address, autoescape=True)


@dataclass
class PersonRows:
    """The rows about one address, table by table (plain column dicts)."""

    subscriber: Row | None = None
    subscriptions: list[Row] = field(default_factory=list)
    consent_records: list[Row] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)
    soft_bounces: list[Row] = field(default_factory=list)
    suppression: Row | None = None
    bounce_events: list[Row] = field(default_factory=list)
    bounce_intake: list[Row] = field(default_factory=list)
    console_user: Row | None = None
    login_failures: list[Row] = field(default_factory=list)
    transactional_mails: list[Row] = field(default_factory=list)
    audit_events: list[Row] = field(default_factory=list)
    erased: Row | None = None


def find_subscriber(session: Session, address: str, lock: bool = False) -> Subscriber | None:
    # Stored addresses are canonical (lower case): the unique index answers.
    stmt = select(Subscriber).where(Subscriber.email == address)
    return session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def person_rows(session: Session, address: str, address_hash: str) -> PersonRows:
    """Everything held about ``address`` (lower case); ``address_hash`` its keyed hash."""
    found = PersonRows()
    subscriber = find_subscriber(session, address)
    sid = subscriber.id if subscriber is not None else None
    if subscriber is not None:
        found.subscriber = plain(subscriber)
        found.subscriptions = _all(session, Subscription, Subscription.subscriber_id == sid)
        found.consent_records = _all(session, ConsentRecord, ConsentRecord.subscriber_id == sid)
        found.soft_bounces = _all(session, SoftBounce, SoftBounce.subscriber_id == sid)
        for delivery, digest in session.execute(
            select(Delivery, Digest)
            .join(Digest, Digest.id == Delivery.digest_id)
            .where(Delivery.subscriber_id == sid)
            .order_by(Delivery.id)
        ):
            row = plain(delivery)
            row["digest"] = {
                "list": digest.list_slug,
                "period": digest.period_key,
                "subject": digest.subject,
            }
            found.deliveries.append(row)
    suppression = session.get(Suppression, address)  # stored lower-cased
    found.suppression = plain(suppression) if suppression is not None else None
    found.bounce_events = [plain(e) for e in _events(session, address, sid)]
    found.bounce_intake = [plain(r) for r in intake_about(session, address)]
    user = session.execute(
        select(User).where(func.lower(User.email) == address)
    ).scalar_one_or_none()
    if user is not None:
        found.console_user = plain(user)
    found.login_failures = _all(session, LoginFailure, func.lower(LoginFailure.email) == address)
    # Confirmation mails hang on the record; a console test send names only the address.
    found.transactional_mails = _all(
        session,
        TransactionalMail,
        or_(TransactionalMail.email == address, TransactionalMail.subscriber_id == sid)
        if sid is not None
        else TransactionalMail.email == address,
    )
    found.audit_events = [plain(e) for e in _audit_about(session, address, sid)]
    erased = session.get(ErasedAddress, address_hash)
    found.erased = plain(erased) if erased is not None else None
    return found


ERASED = "(erased)"


def _audit_about(session: Session, address: str, subscriber_id: int | None) -> list[AuditEvent]:
    """Operator actions about ``address``: on their record (by id), or naming the address
    as the subject, the actor (a failed sign-in typed it) or in the detail."""
    return _audit_naming(session, [address], [] if subscriber_id is None else [subscriber_id])


def _audit_naming(
    session: Session, addresses: Sequence[str], subscriber_ids: Sequence[int]
) -> list[AuditEvent]:
    about = [
        func.lower(AuditEvent.subject_key).in_(addresses),
        func.lower(AuditEvent.actor).in_(addresses),
        *(func.lower(AuditEvent.detail).contains(a, autoescape=True) for a in addresses),
    ]
    if subscriber_ids:
        about.append(
            (AuditEvent.subject_kind == "subscriber")
            & AuditEvent.subject_key.in_([str(i) for i in subscriber_ids])
        )
    return list(session.scalars(select(AuditEvent).where(or_(*about)).order_by(AuditEvent.id)))


def _strike_from_audit(
    session: Session, addresses: Sequence[str], subscriber_ids: Sequence[int]
) -> None:
    """The audit log keeps that an operator acted, not on whom: each address is struck
    out of the records that name it (subject, actor, detail); a record's id key stays,
    pointing at a record that is gone."""
    if not addresses:
        return
    for record in _audit_naming(session, addresses, subscriber_ids):
        for address in addresses:
            if record.subject_key.lower() == address:
                record.subject_key = ERASED
            if record.actor.lower() == address:
                record.actor = ERASED
            record.detail = _strike(record.detail, address)


def _all(session: Session, model: Any, where: ColumnElement[bool]) -> list[Row]:
    return [plain(r) for r in session.scalars(select(model).where(where))]


def _events(session: Session, address: str, subscriber_id: int | None) -> list[BounceEvent]:
    """Bounce events about the person: theirs by id or recipient, or naming the address."""
    about = [
        func.lower(BounceEvent.recipient) == address,
        _mentions(BounceEvent.diagnostic, address),
        _mentions(BounceEvent.evidence, address),
        _mentions(BounceEvent.effect, address),
    ]
    if subscriber_id is not None:
        about.append(BounceEvent.subscriber_id == subscriber_id)
    events = list(session.scalars(select(BounceEvent).where(or_(*about))))
    seen = {e.id for e in events}
    # A stored raw report may name the address where no column does (an event whose
    # subscriber was deleted earlier): those are read too.
    needle = address.encode()
    for event in session.scalars(
        select(BounceEvent).where(
            BounceEvent.subscriber_id.is_(None), func.length(BounceEvent.report) > 0
        )
    ):
        if event.id not in seen and needle in unpack(event.report).lower():
            events.append(event)
    return sorted(events, key=lambda e: e.id)


def intake_about(session: Session, address: str) -> Iterator[BounceIntake]:
    """Raw reports in the intake queue that name ``address`` (read one by one: they are
    compressed, and pruned after ``bounces.retention_days``, so there are few)."""
    needle = address.encode()
    for row in session.scalars(select(BounceIntake).order_by(BounceIntake.id)).yield_per(200):
        if (
            needle in unpack(row.data).lower()
            or address in row.envelope_recipients.lower()
            or address in row.envelope_sender.lower()
            or address in row.note.lower()
        ):
            yield row


def has_console_user(session: Session, address: str) -> bool:
    return (
        session.execute(select(User.id).where(func.lower(User.email) == address)).first()
        is not None
    )


@dataclass(frozen=True)
class Forgotten:
    """What :func:`forget` deleted, table by table."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def forget(session: Session, address: str, subscriber: Subscriber | None) -> Forgotten:
    """Delete every row about ``address`` (an erasure): the record and what hangs on it
    (lists, consent, deliveries, soft bounces), the suppression entry, bounce events found
    by subscriber, recipient or what their text or stored report says, the raw reports in
    the intake that name the address (each a scan of its table), and failed sign-ins with
    it. The caller decides what is kept instead (a keyed hash) and holds the transaction."""
    counts: dict[str, int] = {}
    # The audit log keeps that an operator acted, not on whom: the address is struck out
    # of each record about this person (the record's own id key stays, pointing nowhere).
    _strike_from_audit(session, [address], [subscriber.id] if subscriber is not None else [])
    events = _events(session, address, subscriber.id if subscriber is not None else None)
    counts["bounce_events"] = len(events)
    for event in events:
        session.delete(event)
    intake = list(intake_about(session, address))
    counts["bounce_intake"] = len(intake)
    for row in intake:
        session.delete(row)
    session.flush()
    for name, count in forget_records(
        session, [subscriber] if subscriber is not None else []
    ).items():
        counts[name] = counts.get(name, 0) + count
    # An address with no record may still be on the suppression list or in failed sign-ins.
    counts["suppressions"] = counts.get("suppressions", 0) + _delete(
        session, Suppression, Suppression.email == address
    )
    counts["login_failures"] = counts.get("login_failures", 0) + _delete(
        session, LoginFailure, func.lower(LoginFailure.email) == address
    )
    counts["transactional_mails"] = counts.get("transactional_mails", 0) + _delete(
        session, TransactionalMail, TransactionalMail.email == address
    )
    return Forgotten({k: v for k, v in counts.items() if v})


def _strike(text: str, address: str) -> str:
    """``text`` with every occurrence of ``address`` (in any case) replaced."""
    lowered, out, start = text.lower(), [], 0
    while (at := lowered.find(address, start)) >= 0:
        out += [text[start:at], ERASED]
        start = at + len(address)
    return "".join(out) + text[start:]


def forget_records(session: Session, batch: Sequence[Subscriber]) -> dict[str, int]:
    """Delete subscriber records and everything that hangs on them, a few statements for
    the whole batch (retention): lists, consent, deliveries, soft bounces, their bounce
    events (every event is recorded with its subscriber), their suppression entries and
    failed sign-ins with their addresses. Deleted rows by table."""
    if not batch:
        return {}
    ids = [s.id for s in batch]
    addresses = [s.email for s in batch]
    counts: dict[str, int] = {}
    for name, model in (
        ("bounce_events", BounceEvent),
        ("subscriptions", Subscription),
        ("consent_records", ConsentRecord),
        ("deliveries", Delivery),
        ("soft_bounces", SoftBounce),
        ("transactional_mails", TransactionalMail),
    ):
        counts[name] = _delete(session, model, model.subscriber_id.in_(ids))
    counts["suppressions"] = _delete(session, Suppression, Suppression.email.in_(addresses))
    counts["login_failures"] = _delete(session, LoginFailure, LoginFailure.email.in_(addresses))
    _strike_from_audit(session, addresses, ids)
    counts["subscribers"] = _delete(session, Subscriber, Subscriber.id.in_(ids))
    for subscriber in batch:
        session.expunge(subscriber)
    return counts


def suppressed_among(session: Session, addresses: Sequence[str]) -> set[str]:
    """Which of ``addresses`` are on the suppression list."""
    return set(session.scalars(select(Suppression.email).where(Suppression.email.in_(addresses))))


def _delete(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    result = session.execute(delete(model).where(where))
    return int(getattr(result, "rowcount", 0))


def erased_reason(session: Session, address_hash: str) -> str | None:
    """Why an address with this keyed hash must not come back, or None."""
    row = session.get(ErasedAddress, address_hash)
    return None if row is None else row.reason


def keep_hash(session: Session, address_hash: str, reason: str, now: datetime) -> None:
    """Remember an address by its keyed hash; an erasure outranks an expiry."""
    row = session.get(ErasedAddress, address_hash, with_for_update=True)
    if row is None:
        session.add(ErasedAddress(address_hash=address_hash, reason=reason, created_at=now))
    elif reason == "erased":
        row.reason = reason
    session.flush()


def keep_hashes(session: Session, hashes: Mapping[str, str], now: datetime) -> None:
    """Remember addresses by keyed hash (hash -> reason); a hash already kept stays as it
    is (retention never downgrades an erasure)."""
    upsert(
        session,
        ErasedAddress.__table__,
        [{"address_hash": h, "reason": r, "created_at": now} for h, r in hashes.items()],
        ["address_hash"],
        [],
    )


def expired(session: Session, status: str, before: datetime, limit: int) -> list[Subscriber]:
    """Up to ``limit`` subscribers in ``status`` whose record last changed before ``before``."""
    return list(
        session.scalars(
            select(Subscriber)
            .where(Subscriber.status == status, Subscriber.updated_at < before)
            .order_by(Subscriber.id)
            .limit(limit)
            .with_for_update()
        )
    )
