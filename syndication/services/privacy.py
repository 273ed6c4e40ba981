"""Privacy (GDPR, Korea's PIPA): one person's data exported or erased, retention, consent.

- :func:`export_person`: everything the store holds about one address, as JSON-ready
  data (``syndication subscribers export-person``; GDPR art. 15 and 20, PIPA art. 35).
- :func:`erase_person`: deletes it all and keeps only the address's keyed hash
  (:func:`syndication.core.privacy.address_hash`), so that no later add, import or
  sign-up brings the address back (GDPR art. 17, PIPA art. 36).
- :func:`refuse_if_erased`: the one check that the public form, ``subscribers add`` and
  every import (and any future way in) make before an address without a record enters.
- :func:`apply_retention`: the scheduler's daily deletion of pending records never
  confirmed, of unsubscribed records and of settled transactional mails past
  ``[privacy]`` (GDPR art. 5(1)(e), PIPA art. 21); an unsubscribed one leaves its keyed
  hash.
- :func:`consent_history`: the consent records the console shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.core import privacy
from syndication.core.subscribers import Event, Status, normalise_email
from syndication.errors import InputError, RecordError, SyndicationError
from syndication.settings import Settings
from syndication.store import consent, mail_outbox
from syndication.store import database as db
from syndication.store import privacy as store
from syndication.store.consent import ConsentRow as ConsentRow

log = logging.getLogger(__name__)
RETENTION_BATCH = 200


def _address(email: str) -> str:
    try:
        return normalise_email(email)
    except RecordError as exc:
        raise InputError(f"{email!r}: {exc.reason}") from None


# -- the one admission check ------------------------------------------------------------


def refuse_if_erased(session: Session, secret_key: str, email: str, event: Event) -> None:
    """Refuse (:class:`RecordError` on ``email``) an address we hold only as a keyed hash.

    ``event`` is how it would enter: :attr:`Event.SIGN_UP` (the public form, which
    answers the same page either way and so catches the error), :attr:`Event.ADD` or
    :attr:`Event.ADD_CONFIRMED` (``subscribers add``, an import; an API that adds
    subscribers must call it too). An address that has a record again (a reader who
    signed up anew after their unsubscribed record expired) is the lifecycle table's to
    decide, not this check's.
    """
    address = normalise_email(email)
    reason = store.erased_reason(session, privacy.address_hash(secret_key, address))
    if reason is None or store.find_subscriber(session, address) is not None:
        return
    if event is Event.SIGN_UP and not privacy.blocks_sign_up(reason):
        return
    raise RecordError("email", privacy.refusal(address, reason))


def is_erased(session: Session, secret_key: str, email: str) -> bool:
    """Whether ``email`` is held only as a keyed hash (erased, or expired with a hash kept)
    and has no record again: a suppression list need not store it a second time."""
    address = normalise_email(email)
    reason = store.erased_reason(session, privacy.address_hash(secret_key, address))
    return reason is not None and store.find_subscriber(session, address) is None


# -- export ---------------------------------------------------------------------------------


def export_person(settings: Settings, engine: Engine, email: str, now: datetime) -> dict[str, Any]:
    """Everything held about ``email`` as JSON-ready data (times in UTC ISO 8601, raw
    reports as text), table by table; ``held`` is false when there is nothing."""
    db.require_current_schema(engine)
    address = _address(email)
    with db.read_session(engine) as session:
        rows = store.person_rows(
            session, address, privacy.address_hash(settings.secret_key, address)
        )
    if rows.console_user is not None:
        # A password hash is a credential, not information about the person.
        rows.console_user["password_hash"] = "(held; a scrypt hash, not exported)"
    data: dict[str, Any] = {
        "address": address,
        "exported_at": now,
        "subscriber": rows.subscriber,
        "lists": [r["list_slug"] for r in rows.subscriptions],
        "subscriptions": rows.subscriptions,
        "consent_records": rows.consent_records,
        "deliveries": rows.deliveries,
        "soft_bounces": rows.soft_bounces,
        "suppression": rows.suppression,
        "bounce_events": rows.bounce_events,
        "bounce_reports": rows.bounce_intake,
        "console_user": rows.console_user,
        "login_failures": rows.login_failures,
        "transactional_mails": rows.transactional_mails,
        "audit_events": rows.audit_events,
        "erased": rows.erased,
    }
    held = any(value for key, value in data.items() if key not in ("address", "exported_at"))
    data["held"] = held
    return {key: _json_ready(value) for key, value in data.items()}


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return store.unpack(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


# -- erasure ----------------------------------------------------------------------------


class ConsoleUserError(SyndicationError):
    """Erase was asked for an address that is also a console account."""


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase_person` did: rows deleted by table; whether a record existed."""

    address: str
    deleted: dict[str, int]

    @property
    def summary(self) -> str:
        if not self.deleted:
            return "nothing held; its keyed hash is kept, so no add or import takes it"
        rows = ", ".join(f"{table} {count}" for table, count in sorted(self.deleted.items()))
        return f"erased ({rows}); only its keyed hash is kept, so no add or import takes it"


def erase_person(settings: Settings, engine: Engine, email: str, now: datetime) -> Erasure:
    """Delete everything held about ``email`` in one transaction; keep its keyed hash.

    Refused (:class:`ConsoleUserError`) for a console account's address: removing a
    colleague's account is ``syndication users remove``, deliberately.
    """
    db.require_current_schema(engine)
    address = _address(email)
    digest = privacy.address_hash(settings.secret_key, address)
    with db.write_session(engine) as session:
        if store.has_console_user(session, address):
            raise ConsoleUserError(
                f"{address}: is a console account; remove it first "
                f"(syndication users remove {address}), then erase"
            )
        subscriber = store.find_subscriber(session, address, lock=True)
        forgotten = store.forget(session, address, subscriber)
        store.keep_hash(session, digest, privacy.ERASED, now)
    log.info("erased an address: %d rows deleted", forgotten.total)
    return Erasure(address, forgotten.counts)


# -- retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """What one retention run deleted."""

    pending: int
    unsubscribed: int
    mails: int

    @property
    def summary(self) -> str:
        return (
            f"{self.pending} pending sign-ups never confirmed, {self.unsubscribed} "
            f"unsubscribed records and {self.mails} settled transactional mails deleted"
        )


def apply_retention(settings: Settings, engine: Engine, now: datetime) -> Retention:
    """Delete pending records untouched for ``privacy.pending_days`` and unsubscribed ones
    for ``privacy.unsubscribed_days``, a batch per transaction; then the confirmation and
    test mails sent or given up more than ``privacy.transactional_mail_days`` ago (their
    outbox rows hold the address; queued ones are never touched).

    An unsubscribed record leaves its keyed hash (``suppressed`` when it was on the
    suppression list), so no add or import mails the address again; a pending one leaves
    one only if it had confirmed once (a reader who left and signed up again), since an
    address that never consented owes us no promise.
    """
    db.require_current_schema(engine)
    rules = settings.privacy
    pending = _expire(
        settings, engine, Status.PENDING, privacy.expiry(now, rules.pending_days), now
    )
    left = _expire(
        settings, engine, Status.UNSUBSCRIBED, privacy.expiry(now, rules.unsubscribed_days), now
    )
    with db.write_session(engine) as session:
        mails = mail_outbox.prune_settled(
            session, privacy.expiry(now, rules.transactional_mail_days)
        )
    return Retention(pending, left, mails)


def _expire(
    settings: Settings, engine: Engine, status: Status, before: datetime, now: datetime
) -> int:
    deleted = 0
    while True:
        with db.write_session(engine) as session:
            batch = store.expired(session, status.value, before, RETENTION_BATCH)
            suppressed = store.suppressed_among(session, [s.email for s in batch])
            hashes = {
                privacy.address_hash(settings.secret_key, s.email): (
                    privacy.SUPPRESSED if s.email in suppressed else privacy.UNSUBSCRIBED
                )
                for s in batch
                if status is Status.UNSUBSCRIBED
                or s.confirmed_at is not None
                or s.email in suppressed
            }
            store.forget_records(session, batch)
            store.keep_hashes(session, hashes, now)
        deleted += len(batch)
        if len(batch) < RETENTION_BATCH:
            return deleted


# -- the console ------------------------------------------------------------------------


def consent_history(engine: Engine, subscriber_id: int) -> list[ConsentRow]:
    """A subscriber's consent records, newest first (the console's subscriber page)."""
    with db.read_session(engine) as session:
        return consent.consent_rows(session, subscriber_id)
