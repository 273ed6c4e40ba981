"""Subscribers: addresses, their lists, consent and suppression.

Parsing (addresses, CSV rows) is pure; the functions that take a ``Session`` are the
store's side of the concept and leave transactions to the caller.

Consent is double opt-in: a new address is ``pending`` until its owner follows the
confirmation link, unless the operator attests prior consent (``confirmed=True``). An
address on the suppression list (hard bounce, complaint) is never added again.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from syndication.core.addresses import AddressError, normalise_address
from syndication.errors import NotFoundError, RecordError
from syndication.store.articles import upsert
from syndication.store.models import Subscriber, Subscription, Suppression

CSV_HEADER = ["email", "name", "lists"]


def normalise_email(raw: str) -> str:
    """The canonical form of an address (trimmed, lower-case) or :class:`RecordError`."""
    try:
        return normalise_address(raw)
    except AddressError as exc:
        raise RecordError("email", str(exc)) from None


def clean_name(raw: str) -> str:
    """A display name safe to put in a header: control characters and CR/LF removed."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())[:200]


@dataclass(frozen=True)
class SubscriberRow:
    """One valid CSV row."""

    email: str
    name: str
    lists: tuple[str, ...]


def parse_lists(raw: str, known_lists: Collection[str]) -> tuple[str, ...]:
    lists = tuple(dict.fromkeys(part.strip() for part in raw.split(";") if part.strip()))
    if not lists:
        raise RecordError("lists", "at least one list is required")
    for slug in lists:
        if slug not in known_lists:
            raise RecordError("lists", f"unknown list {slug!r}")
    return lists


def read_subscriber_csv(
    lines: Iterable[str], known_lists: Collection[str]
) -> Iterator[tuple[int, SubscriberRow | RecordError]]:
    """Yield ``(line number, row or error)`` for each data row of an ``email,name,lists`` CSV.

    The header must be exactly ``email,name,lists``; a file without it is refused as a
    whole (a row error at line 1), since its columns cannot be trusted.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    if [h.strip().lower() for h in header] != CSV_HEADER:
        yield reader.line_num, RecordError("", f"the header must be {','.join(CSV_HEADER)}")
        return
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RecordError("", f"malformed CSV: {exc}")
            continue
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != 3:
            yield reader.line_num, RecordError("", f"expected 3 columns, found {len(fields)}")
            continue
        try:
            row = SubscriberRow(
                normalise_email(fields[0]),
                clean_name(fields[1]),
                parse_lists(fields[2], known_lists),
            )
        except RecordError as exc:
            yield reader.line_num, exc
            continue
        yield reader.line_num, row


# -- the store side --------------------------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    """What adding an address did. ``needs_confirmation``: send the confirmation mail."""

    subscriber_id: int
    created: bool
    status: str
    needs_confirmation: bool


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(Suppression, email) is not None


def add_subscriber(
    session: Session,
    email: str,
    name: str,
    lists: Sequence[str],
    *,
    confirmed: bool,
    now: datetime,
) -> AddResult:
    """Create or update a subscriber and subscribe it to ``lists``.

    A new or previously unsubscribed address becomes ``pending`` (or ``active`` with
    ``confirmed``); an active one stays active and gains the lists. A suppressed address
    raises :class:`RecordError`; so does one that bounced or complained.
    """
    email = normalise_email(email)
    if is_suppressed(session, email):
        raise RecordError("email", f"{email} is on the suppression list and is never re-added")
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == email).with_for_update()
    ).scalar_one_or_none()
    created = subscriber is None
    if subscriber is None:
        subscriber = Subscriber(
            email=email,
            name=clean_name(name),
            locale="en",
            status="pending",
            created_at=now,
            updated_at=now,
        )
        session.add(subscriber)
        session.flush()
    elif subscriber.status in ("bounced", "complained"):
        raise RecordError("email", f"{email} is {subscriber.status} and is not re-added")
    if name.strip():
        subscriber.name = clean_name(name)
    needs_confirmation = False
    if subscriber.status in ("pending", "unsubscribed"):
        if confirmed:
            subscriber.status, subscriber.confirmed_at = "active", now
        else:
            needs_confirmation = created or subscriber.status == "unsubscribed"
            subscriber.status = "pending"
    subscriber.updated_at = now
    upsert(
        session,
        Subscription.__table__,  # type: ignore[arg-type]
        [{"subscriber_id": subscriber.id, "list_slug": slug, "created_at": now} for slug in lists],
        ["subscriber_id", "list_slug"],
        [],
    )
    return AddResult(subscriber.id, created, subscriber.status, needs_confirmation)


def find_subscriber(session: Session, email: str) -> Subscriber:
    address = normalise_email(email)
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == address)
    ).scalar_one_or_none()
    if subscriber is None:
        raise NotFoundError(f"subscriber {address}: no such subscriber")
    return subscriber


def subscriber_lists(session: Session, subscriber_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Subscription.list_slug)
            .where(Subscription.subscriber_id == subscriber_id)
            .order_by(Subscription.list_slug)
        )
    )


def confirm_subscriber(session: Session, subscriber_id: int, now: datetime) -> Subscriber:
    """Activate a pending subscriber (idempotent for an active one)."""
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if subscriber.status == "pending":
        subscriber.status, subscriber.confirmed_at, subscriber.updated_at = "active", now, now
    return subscriber


def unsubscribe(
    session: Session, subscriber_id: int, now: datetime, list_slug: str = ""
) -> Subscriber | None:
    """Leave one list (``list_slug``) or every list; honoured at once, safe to repeat.

    Leaving the last list makes the subscriber ``unsubscribed``. Returns ``None`` when the
    subscriber no longer exists (an old link), which callers treat as success.
    """
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        return None
    stmt = delete(Subscription).where(Subscription.subscriber_id == subscriber_id)
    if list_slug:
        stmt = stmt.where(Subscription.list_slug == list_slug)
    session.execute(stmt)
    if not subscriber_lists(session, subscriber_id) and subscriber.status in ("pending", "active"):
        subscriber.status = "unsubscribed"
    subscriber.updated_at = now
    return subscriber


def set_lists(session: Session, subscriber_id: int, lists: Sequence[str], now: datetime) -> None:
    """Replace a subscriber's lists (the preferences page)."""
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber_id))
    upsert(
        session,
        Subscription.__table__,  # type: ignore[arg-type]
        [{"subscriber_id": subscriber_id, "list_slug": s, "created_at": now} for s in lists],
        ["subscriber_id", "list_slug"],
        [],
    )


def suppress(session: Session, email: str, reason: str, now: datetime, status: str) -> None:
    """Put an address on the suppression list and mark its subscriber ``status``."""
    address = email.strip().lower()
    upsert(
        session,
        Suppression.__table__,  # type: ignore[arg-type]
        [{"email": address, "reason": reason[:2000], "created_at": now}],
        ["email"],
        [],
    )
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == address)
    ).scalar_one_or_none()
    if subscriber is not None:
        subscriber.status, subscriber.updated_at = status, now


def export_rows(session: Session) -> Iterator[tuple[str, str, str, str]]:
    """``(email, name, lists, status)`` for every subscriber, by address."""
    lists: dict[int, list[str]] = {}
    for subscriber_id, slug in session.execute(
        select(Subscription.subscriber_id, Subscription.list_slug).order_by(
            Subscription.subscriber_id, Subscription.list_slug
        )
    ):
        lists.setdefault(subscriber_id, []).append(slug)
    for subscriber in session.scalars(select(Subscriber).order_by(Subscriber.email)):
        yield (
            subscriber.email,
            subscriber.name,
            ";".join(lists.get(subscriber.id, [])),
            subscriber.status,
        )


def list_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per list, how many subscribers are in each status."""
    result: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Subscription.list_slug, Subscriber.status, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .group_by(Subscription.list_slug, Subscriber.status)
    )
    for slug, status, count in rows:
        result.setdefault(slug, {})[status] = int(count)
    return result
