"""Subscribers: addresses, their lists, consent and suppression.

Parsing (addresses, CSV rows) is pure; the functions that take a ``Session`` are the
store's side of the concept and leave transactions to the caller.

Consent is double opt-in: a new address is ``pending`` until its owner follows the
confirmation link, unless the operator attests prior consent (``confirmed=True``). An
address on the suppression list (hard bounce, complaint) is never added again.
"""

from __future__ import annotations

import csv
import re
import secrets
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syndication.core.addresses import AddressError, normalise_address
from syndication.errors import NotFoundError, RecordError
from syndication.store.models import Subscriber, Subscription, Suppression
from syndication.store.upsert import upsert

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


# Cells a spreadsheet takes for a formula (OWASP "CSV Injection"): a name from the public
# form such as =HYPERLINK(...) must reach the operator's spreadsheet as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` for a CSV export: a leading ``'`` before a formula character, so that
    spreadsheets show it as text (and :func:`from_spreadsheet` takes it off again)."""
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def from_spreadsheet(cell: str) -> str:
    """The value :func:`spreadsheet_safe` protected, so an export imports back unchanged."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


PUBLIC_NAME_LIMIT = 60
# What makes a "name" an advert: a scheme, www., an address, markup, or a host name
# (letters, a dot, two or more letters, no space: "evil.example", "bit.ly/x").
_LINK_IN_NAME = re.compile(r"(?i)://|www\.|@|[<>]|[a-z0-9-]\.[a-z]{2,}\b")


def public_name(raw: str) -> str:
    """A display name typed into a public form: short, plain, no links.

    The name goes into mail to whatever address was typed next to it (the confirmation),
    so a stranger could use the form to mail a link to anyone. Names are limited to
    :data:`PUBLIC_NAME_LIMIT` characters and may not hold a URL, host name, address or
    markup; :class:`RecordError` says so.
    """
    name = clean_name(raw)
    if len(name) > PUBLIC_NAME_LIMIT:
        raise RecordError("name", f"at most {PUBLIC_NAME_LIMIT} characters, please")
    if _LINK_IN_NAME.search(name):
        raise RecordError("name", "a name cannot contain a web or e-mail address")
    return name


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


class DecodedLines:
    """UTF-8 lines from raw ones, decoded one at a time (a leading BOM dropped).

    A line that is not UTF-8 is passed on with replacement characters and its number is
    remembered in ``bad``, so the CSV row it belongs to is rejected with its line number
    while the rows around it are kept; decoding the whole file at once stopped an import
    part-way at the first bad byte (issue 15 item 15).
    """

    def __init__(self, raw: Iterable[bytes]) -> None:
        self.raw = raw
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self.raw, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[number] = f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})"
                yield line.decode("utf-8", "replace")


def read_subscriber_csv(
    lines: Iterable[str], known_lists: Collection[str], bad_lines: Mapping[int, str] | None = None
) -> Iterator[tuple[int, SubscriberRow | RecordError]]:
    """Yield ``(line number, row or error)`` for each data row of an ``email,name,lists`` CSV.

    The header must be exactly ``email,name,lists``; a file without it is refused as a
    whole (a row error at line 1), since its columns cannot be trusted. ``bad_lines``
    (line number to reason, see :class:`DecodedLines`) rejects the rows spanning them.
    """
    bad = bad_lines if bad_lines is not None else {}
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    if 1 in bad:
        yield 1, RecordError("", bad[1])
        return
    if [h.strip().lower() for h in header] != CSV_HEADER:
        yield reader.line_num, RecordError("", f"the header must be {','.join(CSV_HEADER)}")
        return
    while True:
        first = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RecordError("", f"malformed CSV: {exc}")
            continue
        broken = [bad[n] for n in range(first, reader.line_num + 1) if n in bad]
        if broken:
            yield reader.line_num, RecordError("", broken[0])
            continue
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != 3:
            yield reader.line_num, RecordError("", f"expected 3 columns, found {len(fields)}")
            continue
        try:
            row = SubscriberRow(
                normalise_email(from_spreadsheet(fields[0].strip())),
                clean_name(from_spreadsheet(fields[1])),
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
        try:
            # A savepoint: two sign-ups of one new address at once (PostgreSQL) must not
            # end in a unique violation; the second waits for the first, then updates it.
            with session.begin_nested():
                session.add(subscriber)
        except IntegrityError:
            subscriber = session.execute(
                select(Subscriber).where(Subscriber.email == email).with_for_update()
            ).scalar_one()
            created = False
    if subscriber.status in ("bounced", "complained"):
        raise RecordError("email", f"{email} is {subscriber.status} and is not re-added")
    # What the pending request was before this call, to tell whether it changed.
    before = (subscriber.name, set(subscriber_lists(session, subscriber.id)))
    if name.strip():
        subscriber.name = clean_name(name)
    needs_confirmation = False
    if subscriber.status in ("pending", "unsubscribed"):
        if confirmed:
            subscriber.status, subscriber.confirmed_at = "active", now
            subscriber.request_nonce = None
        else:
            changed = (
                created
                or subscriber.status == "unsubscribed"
                or subscriber.request_nonce is None
                or subscriber.name != before[0]
                or not set(lists) <= before[1]
            )
            if changed:
                # A new request: links mailed for the previous one stop working, and the
                # owner gets a mail naming what this one asks for.
                subscriber.request_nonce = new_request_nonce()
                needs_confirmation = True
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


def new_request_nonce() -> str:
    """A fresh name for one sign-up request (what a confirmation link is bound to)."""
    return secrets.token_urlsafe(16)


def confirm_subscriber(session: Session, subscriber_id: int, request: str, now: datetime) -> bool:
    """Activate a pending subscriber if ``request`` is its current sign-up request.

    True when the subscriber is now active through that request (also when the same link
    is followed again). False when the link belongs to a request that has since been
    replaced (someone re-submitted the address with other lists or another name), or the
    subscriber has left, bounced or complained: such a link changes nothing.
    Links from before requests were named (``request == ""``) still confirm a pending
    record nobody has changed since.
    """
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if request != (subscriber.request_nonce or ""):
        return False
    if subscriber.status == "pending":
        subscriber.status, subscriber.confirmed_at, subscriber.updated_at = "active", now, now
    return subscriber.status == "active"


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
    # Any confirmation link mailed before is dead from now on.
    subscriber.request_nonce = None
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
        subscriber.request_nonce = None


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


# -- the public form and the preferences page ------------------------------------------


def record_signup(
    session: Session, email: str, name: str, lists: Sequence[str], now: datetime
) -> int | None:
    """Record a sign-up from the public form; the id to mail a confirmation to, or ``None``.

    A new, pending or unsubscribed address becomes ``pending`` with ``lists``. An active
    one keeps its lists and name (a stranger must not change them; the owner uses the
    preferences link in every digest); one that bounced, complained or is suppressed is
    left alone. The form answers the same either way.
    """
    status = session.execute(
        select(Subscriber.status).where(Subscriber.email == email)
    ).scalar_one_or_none()
    if status is not None and status not in ("pending", "unsubscribed"):
        return None
    try:
        result = add_subscriber(session, email, name, lists, confirmed=False, now=now)
    except RecordError:
        return None
    return result.subscriber_id if result.status == "pending" else None


@dataclass(frozen=True)
class Preferences:
    email: str
    name: str
    status: str
    lists: list[str]


def load_preferences(session: Session, subscriber_id: int) -> Preferences:
    """A subscriber's address, name, status and lists; :class:`NotFoundError` if gone."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    return Preferences(
        subscriber.email,
        subscriber.name,
        subscriber.status,
        subscriber_lists(session, subscriber_id),
    )


def save_preferences(
    session: Session,
    subscriber_id: int,
    *,
    leave: bool,
    chosen: Sequence[str],
    known: Collection[str],
    name: str,
    now: datetime,
) -> None:
    """Apply the preferences form. Choosing no list is the same as leaving everything.

    An unsubscribed subscriber who picks lists again is active again: the preferences
    link came to their mailbox, which is the consent double opt-in asks for. Bounced or
    complained addresses keep their status. Unknown list slugs are ignored.
    """
    lists = [slug for slug in dict.fromkeys(chosen) if slug in known]
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if leave or not lists:
        unsubscribe(session, subscriber_id, now)
        return
    subscriber.name = clean_name(name)
    set_lists(session, subscriber_id, lists, now)
    if subscriber.status == "unsubscribed":
        subscriber.status, subscriber.confirmed_at = "active", now
    subscriber.updated_at = now
