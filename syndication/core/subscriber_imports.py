"""Subscriber files to import (pure): which export a header is, and each row's history.

``subscribers import`` takes four shapes of CSV, told apart by the header alone:

- this tool's own columns in any order: ``email,name,lists`` (rows to add) and what
  ``subscribers export`` writes, ``email,name,lists,status,created_at,confirmed_at``;
- listmonk's subscriber export, ``uuid,email,name,attributes,status,created_at,updated_at``
  (statuses ``enabled``, ``disabled``, ``blocklisted``; a ``subscription_status`` column,
  ``unconfirmed``/``confirmed``/``unsubscribed``, is read where present);
- Mailchimp's audience export, one file per section: subscribed members, unsubscribed ones
  (``UNSUB_TIME``, ``UNSUB_REASON``...) and cleaned ones (``CLEAN_TIME``...), each with
  ``"Email Address"``, ``"First Name"``, ``"Last Name"``, ``OPTIN_TIME``, ``CONFIRM_TIME``.

Each row becomes an :class:`ImportRow` in our own vocabulary (a
:class:`~syndication.core.subscribers.Status`); the lifecycle table's import rows say what
it does to a subscriber. What a file does not say is not invented: a row is confirmed only
when the file says so, and an opt-in time is kept only when the file gives one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from syndication.core.subscriber_csv import (
    BARE_SUPPRESSION,
    EXPORT_HEADER,
    from_spreadsheet,
    parse_lists,
)
from syndication.core.subscribers import Status, clean_name, normalise_email
from syndication.errors import RecordError

OWN_COLUMNS = tuple(EXPORT_HEADER)
LISTMONK_COLUMNS = ("uuid", "email", "name", "attributes", "status", "created_at", "updated_at")
LISTMONK_STATUSES = ("enabled", "disabled", "blocklisted")
LISTMONK_SUBSCRIPTIONS = ("unconfirmed", "confirmed", "unsubscribed")

# The statuses an imported row puts on the suppression list.
SUPPRESSING = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)

_SHAPES_HELP = (
    "expected this tool's columns (email,name,lists, and from 'subscribers export' "
    "status,created_at,confirmed_at), listmonk's subscriber export "
    f"({','.join(LISTMONK_COLUMNS)}) or a Mailchimp audience export "
    '("Email Address","First Name","Last Name",...)'
)


@dataclass(frozen=True)
class ImportRow:
    """One valid row: who, which lists, and what the file says happened to them.

    ``said`` is the file's own word for a suppressing status (``listmonk blocklisted``),
    kept as the suppression's reason. ``record`` is False for an address this tool's
    export lists as ``suppressed`` with no subscriber record: it goes on the suppression
    list only (listed at ``created_at``).
    """

    email: str
    name: str
    lists: tuple[str, ...]
    status: Status = Status.PENDING
    opted_in_at: datetime | None = None
    created_at: datetime | None = None
    said: str = ""
    record: bool = True
    # The reader's languages as the file writes them (this tool's ``language`` column:
    # ``ko`` or ``ko,en``); checked against the newsroom's by the caller (issue 30).
    language: str = ""


class Source(StrEnum):
    """Which export a file is (its name in messages)."""

    OWN = "subscriber file in this tool's columns"
    LISTMONK = "listmonk export"
    MAILCHIMP_SUBSCRIBED = "Mailchimp export of subscribed members"
    MAILCHIMP_UNSUBSCRIBED = "Mailchimp export of unsubscribed members"
    MAILCHIMP_CLEANED = "Mailchimp export of cleaned members"


MAILCHIMP = (Source.MAILCHIMP_SUBSCRIBED, Source.MAILCHIMP_UNSUBSCRIBED, Source.MAILCHIMP_CLEANED)


@dataclass(frozen=True)
class Shape:
    """What a header is: which export, and where each column is."""

    source: Source
    columns: Mapping[str, int]  # lower-cased header name -> position
    width: int
    has_lists: bool

    def cell(self, fields: Sequence[str], column: str) -> str:
        at = self.columns.get(column)
        return "" if at is None else fields[at].strip()


def detect_shape(header: Sequence[str], default_lists: Sequence[str]) -> Shape:
    """The shape of a file from its header, or :class:`RecordError` naming the column.

    ``default_lists`` (``--list``) is for files that carry no list column (listmonk,
    Mailchimp); with one that does, each row names its own and ``--list`` is refused.
    """
    names = [h.strip().lower() for h in header]
    columns = {name: at for at, name in reversed(list(enumerate(names)))}
    if "email address" in columns:
        if "clean_time" in columns:
            source = Source.MAILCHIMP_CLEANED
        elif "unsub_time" in columns:
            source = Source.MAILCHIMP_UNSUBSCRIBED
        else:
            source = Source.MAILCHIMP_SUBSCRIBED
        shape = Shape(source, columns, len(names), False)
    elif {"uuid", "email", "status"} <= columns.keys():
        shape = Shape(Source.LISTMONK, columns, len(names), "lists" in columns)
    elif "email" in columns:
        for at, column in enumerate(names):
            if column not in OWN_COLUMNS:
                raise RecordError(
                    f"column {at + 1} ({header[at].strip()!r})",
                    f"not a column of this tool's files ({', '.join(OWN_COLUMNS)})",
                )
        shape = Shape(Source.OWN, columns, len(names), "lists" in columns)
    else:
        raise RecordError("", f"the header names no known export: {_SHAPES_HELP}")
    if shape.has_lists and default_lists:
        raise RecordError("--list", "the file has a lists column: each row names its own lists")
    # Mailchimp's unsubscribed and cleaned members only go on the suppression list.
    needs_lists = shape.source not in (Source.MAILCHIMP_UNSUBSCRIBED, Source.MAILCHIMP_CLEANED)
    if not shape.has_lists and not default_lists and needs_lists:
        raise RecordError(
            "--list", f"a {shape.source} names no list: say which list its rows join with --list"
        )
    return shape


def read_row(
    shape: Shape, fields: Sequence[str], known: Collection[str], default_lists: Sequence[str]
) -> ImportRow:
    """One data row of a file of ``shape``; :class:`RecordError` names the column."""
    if len(fields) != shape.width:
        raise RecordError("", f"expected {shape.width} columns, found {len(fields)}")
    if shape.source in MAILCHIMP:
        row = _mailchimp(shape, fields)
    elif shape.source is Source.LISTMONK:
        row = _listmonk(shape, fields)
    else:
        row = _own(shape, fields)
    raw_lists = shape.cell(fields, "lists") if shape.has_lists else ";".join(default_lists)
    if raw_lists or row.status in (Status.PENDING, Status.ACTIVE):
        lists = parse_lists(raw_lists, known)
    else:
        lists = ()
    return replace(row, lists=lists)


def read_import(
    records: Iterable[tuple[int, list[str] | RecordError]],
    known: Collection[str],
    default_lists: Sequence[str] = (),
) -> tuple[Shape | None, Iterator[tuple[int, ImportRow | RecordError]]]:
    """The shape of a file and its rows ``(line, row or error)``, from CSV records.

    ``records`` are :func:`~syndication.core.subscriber_csv.csv_records`; the first is the
    header. A header that is none of the shapes raises :class:`RecordError` (the file is
    refused as a whole: its columns cannot be trusted). ``None`` for an empty file.
    """
    records = iter(records)
    first = next(records, None)
    if first is None:
        return None, iter(())
    _, header = first
    if isinstance(header, RecordError):
        raise header
    for slug in default_lists:
        if slug not in known:
            choices = ", ".join(sorted(known))
            raise RecordError("--list", f"unknown list {slug!r} (lists: {choices})")
    shape = detect_shape(header, default_lists)

    def rows() -> Iterator[tuple[int, ImportRow | RecordError]]:
        for number, fields in records:
            if isinstance(fields, RecordError):
                yield number, fields
                continue
            try:
                yield number, read_row(shape, fields, known, default_lists)
            except RecordError as exc:
                yield number, exc

    return shape, rows()


# -- this tool's own files ----------------------------------------------------------------


def _own(shape: Shape, fields: Sequence[str]) -> ImportRow:
    def cell(column: str) -> str:
        return from_spreadsheet(shape.cell(fields, column))

    raw_status = cell("status").lower() or Status.PENDING.value
    if raw_status == BARE_SUPPRESSION:
        return ImportRow(
            normalise_email(cell("email")),
            "",
            (),
            Status.UNSUBSCRIBED,
            created_at=_iso_time("created_at", cell("created_at")),
            said="suppressed in this tool's export",
            record=False,
        )
    try:
        status = Status(raw_status)
    except ValueError:
        choices = ", ".join([*(s.value for s in Status), BARE_SUPPRESSION])
        raise RecordError("status", f"{raw_status!r} is not one of {choices}") from None
    return ImportRow(
        normalise_email(cell("email")),
        clean_name(cell("name")),
        (),
        status,
        opted_in_at=_iso_time("confirmed_at", cell("confirmed_at")),
        created_at=_iso_time("created_at", cell("created_at")),
        said=f"{status} in this tool's export" if status in SUPPRESSING else "",
        language=cell("language").strip(),
    )


def _iso_time(column: str, raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordError(column, f"{raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise RecordError(column, f"{raw!r} has no time zone (write +00:00 for UTC)")
    return value.astimezone(UTC)


# -- listmonk -----------------------------------------------------------------------------

# listmonk writes times with Go's time.Time.String(): "2024-03-05 10:11:12.345678 +0000 UTC"
# (nanoseconds at most, a numeric offset, then a zone abbreviation that may repeat it).
_GO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})(?: \S+)?"
)


def _listmonk_time(column: str, raw: str) -> datetime | None:
    if not raw:
        return None
    found = _GO_TIME.fullmatch(raw)
    if found is None:
        return _iso_time(column, raw)
    day, clock, fraction, sign, hours, minutes = found.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    zone = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0").ljust(6, "0")[:6])
    local = datetime.fromisoformat(f"{day}T{clock}").replace(microsecond=micro, tzinfo=zone)
    return local.astimezone(UTC)


def _listmonk(shape: Shape, fields: Sequence[str]) -> ImportRow:
    raw_status = shape.cell(fields, "status").lower()
    subscription = shape.cell(fields, "subscription_status").lower()
    if raw_status not in LISTMONK_STATUSES:
        choices = ", ".join(LISTMONK_STATUSES)
        raise RecordError("status", f"{raw_status!r} is not a listmonk status ({choices})")
    if subscription and subscription not in LISTMONK_SUBSCRIPTIONS:
        choices = ", ".join(LISTMONK_SUBSCRIPTIONS)
        raise RecordError(
            "subscription_status", f"{subscription!r} is not a listmonk subscription ({choices})"
        )
    if raw_status != "enabled":
        # Blocklisted is listmonk's "never mail". A disabled reader was taken off mail by
        # an operator there: as pending they would be sent a confirmation, so they are
        # suppressed too, and `subscribers restore` is the way back.
        status, said = Status.UNSUBSCRIBED, f"listmonk {raw_status}"
    elif subscription == "unsubscribed":
        status, said = Status.UNSUBSCRIBED, "listmonk subscription unsubscribed"
    elif subscription == "confirmed":
        status, said = Status.ACTIVE, ""
    else:
        # An unconfirmed subscription, or an export that does not say: not confirmed.
        status, said = Status.PENDING, ""
    return ImportRow(
        normalise_email(shape.cell(fields, "email")),
        clean_name(shape.cell(fields, "name")),
        (),
        status,
        created_at=_listmonk_time("created_at", shape.cell(fields, "created_at")),
        said=said,
    )


# -- Mailchimp ----------------------------------------------------------------------------


def _mailchimp_time(column: str, raw: str) -> datetime | None:
    """Mailchimp's export times, ``2024-01-02 10:00:00``, are in UTC (GMT), with no offset."""
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise RecordError(
            column, f"{raw!r} is not a Mailchimp time (YYYY-MM-DD HH:MM:SS)"
        ) from None


def _mailchimp(shape: Shape, fields: Sequence[str]) -> ImportRow:
    opted_in = _mailchimp_time("CONFIRM_TIME", shape.cell(fields, "confirm_time")) or (
        _mailchimp_time("OPTIN_TIME", shape.cell(fields, "optin_time"))
    )
    if shape.source is Source.MAILCHIMP_CLEANED:
        _mailchimp_time("CLEAN_TIME", shape.cell(fields, "clean_time"))
        status, said = Status.BOUNCED, "Mailchimp cleaned"
    elif shape.source is Source.MAILCHIMP_UNSUBSCRIBED:
        _mailchimp_time("UNSUB_TIME", shape.cell(fields, "unsub_time"))
        reason = shape.cell(fields, "unsub_reason")
        status = Status.UNSUBSCRIBED
        said = f"Mailchimp unsubscribed ({reason})" if reason else "Mailchimp unsubscribed"
    else:
        status, said = Status.ACTIVE, ""
    first, last = shape.cell(fields, "first name"), shape.cell(fields, "last name")
    return ImportRow(
        normalise_email(shape.cell(fields, "email address")),
        clean_name(f"{first} {last}"),
        (),
        status,
        opted_in_at=opted_in,
        said=said,
    )


# -- a bare suppression list --------------------------------------------------------------

_EMAIL_COLUMNS = ("email", "email address")


def read_suppression_list(
    records: Iterable[tuple[int, list[str] | RecordError]],
) -> Iterator[tuple[int, str | RecordError]]:
    """The addresses of a suppression list, ``(line, address or error)``.

    One address per line, or a CSV whose header has an ``email`` column (Mailchimp's
    ``Email Address`` too; the other columns are ignored). Blank lines are skipped; an
    invalid address is an error with its line, and reading goes on.
    """
    column: int | None = None
    first = True
    for number, fields in records:
        if isinstance(fields, RecordError):
            first = False
            yield number, fields
            continue
        if first:
            first = False
            names = [f.strip().lower() for f in fields]
            found = [at for at, name in enumerate(names) if name in _EMAIL_COLUMNS]
            if found:
                column = found[0]
                continue
        if column is None and len(fields) != 1:
            yield (
                number,
                RecordError(
                    "", "expected one address per line, or a CSV whose header has an email column"
                ),
            )
            continue
        try:
            yield number, normalise_email(fields[column or 0].strip())
        except IndexError:
            yield number, RecordError("email", "no value in the email column")
        except RecordError as exc:
            yield number, exc
