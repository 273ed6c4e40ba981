"""Consent records in the store: one row per sign-up request and how it was confirmed.

Written beside the lifecycle's transitions (:mod:`syndication.store.subscribers` calls
these when a transition makes a request or records consent), so that the console can show
for each subscriber when and how they signed up, to which lists, from which client, and
which confirmation made them a reader (GDPR art. 7(1), PIPA art. 22). The rows go with
their subscriber (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syndication.core import privacy
from syndication.core.privacy import ConsentSource
from syndication.store.models import ConsentRecord, Subscriber


@dataclass(frozen=True)
class ConsentRow:
    """A consent record as the console and the export show it."""

    requested_at: datetime
    method: str
    origin: str
    lists: str
    client_ip: str
    request_nonce: str
    confirmed_at: datetime | None
    confirmation: str


def record_entry(
    session: Session,
    subscriber: Subscriber,
    source: ConsentSource,
    lists: Sequence[str],
    now: datetime,
    *,
    attested: bool,
) -> None:
    """Record a sign-up or add: a request to confirm, or consent the operator attests.

    A request already recorded (the form sent again for the same pending request) is
    not recorded twice.
    """
    nonce = subscriber.request_nonce or ""
    if not attested:
        if not nonce or _find(session, subscriber.id, nonce) is not None:
            return
    session.add(
        ConsentRecord(
            subscriber_id=subscriber.id,
            requested_at=now,
            method=source.method[:20],
            origin=source.origin,
            lists=";".join(lists),
            client_ip=source.client_ip[:64],
            request_nonce="" if attested else nonce,
            confirmed_at=now if attested else None,
            confirmation=privacy.BY_OPERATOR if attested else "",
        )
    )


def record_confirmation(
    session: Session,
    subscriber: Subscriber,
    request: str,
    lists: Sequence[str],
    now: datetime,
    *,
    by_link: bool,
) -> None:
    """Consent was given: the link of request ``request`` was followed (``by_link``), or
    lists were chosen again on the preferences page. Stamp the request's record, or make
    one (a request from before records were kept, or the preferences page)."""
    how = privacy.BY_LINK if by_link else privacy.BY_PREFERENCES
    found = _find(session, subscriber.id, request) if by_link and request else None
    if found is not None and found.confirmed_at is None:
        session.execute(
            update(ConsentRecord)
            .where(ConsentRecord.id == found.id)
            .values(confirmed_at=now, confirmation=how)
        )
        return
    session.add(
        ConsentRecord(
            subscriber_id=subscriber.id,
            requested_at=now,
            method=privacy.UNRECORDED if by_link else privacy.PREFERENCES,
            origin="",
            lists=";".join(lists),
            client_ip="",
            request_nonce=request if by_link else "",
            confirmed_at=now,
            confirmation=how,
        )
    )


def _find(session: Session, subscriber_id: int, nonce: str) -> ConsentRecord | None:
    return session.execute(
        select(ConsentRecord).where(
            ConsentRecord.subscriber_id == subscriber_id, ConsentRecord.request_nonce == nonce
        )
    ).scalar_one_or_none()


def consent_rows(session: Session, subscriber_id: int) -> list[ConsentRow]:
    """A subscriber's consent records, newest first."""
    return [
        ConsentRow(
            r.requested_at,
            r.method,
            r.origin,
            r.lists,
            r.client_ip,
            r.request_nonce,
            r.confirmed_at,
            r.confirmation,
        )
        for r in session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.subscriber_id == subscriber_id)
            .order_by(ConsentRecord.requested_at.desc(), ConsentRecord.id.desc())
        )
    ]
