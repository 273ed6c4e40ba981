"""Subscribers as CSV (pure): reading ``email,name,lists`` rows; cells safe for spreadsheets.

An optional ``language`` column gives the reader's languages (``ko``, or ``"ko,en"`` in
order; each one of ``[languages] available``; empty: the primary). The export's own
header, ``email,name,lists,status,language``, is read too (its ``status`` is not: a reader's
status comes from their consent, not from a file), so an export imports back.

Reading takes lines (bytes decoded one at a time by :class:`DecodedLines`) and yields each
row or its error with the line number; the caller opens the file and writes the store.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from syndication.core.reader_languages import parse_preferences, store_preferences
from syndication.core.subscribers import clean_name, normalise_email
from syndication.errors import RecordError

CSV_HEADER = ["email", "name", "lists"]
# The headers an import accepts, and what the export writes (the last one).
HEADERS = (CSV_HEADER, [*CSV_HEADER, "language"], [*CSV_HEADER, "status", "language"])
EXPORT_HEADER = HEADERS[-1]

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


@dataclass(frozen=True)
class SubscriberRow:
    """One valid CSV row."""

    email: str
    name: str
    lists: tuple[str, ...]
    locale: str = ""  # the reader's languages as stored ("ko,en"); "" for none given


def parse_lists(raw: str, known_lists: Collection[str]) -> tuple[str, ...]:
    """The ``;``-separated list slugs of a row, each once; :class:`RecordError` if unknown."""
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


def parse_language(raw: str, languages: Sequence[str]) -> str:
    """A ``language`` cell as stored in ``subscribers.locale`` (``""`` when empty);
    :class:`RecordError` for a tag that is not one of ``languages``."""
    try:
        tags = parse_preferences(raw, languages) if languages else []
    except ValueError as exc:
        raise RecordError("language", str(exc).removeprefix("language: ")) from None
    return store_preferences(tags, languages[0]) if tags else ""


def read_subscriber_csv(
    lines: Iterable[str],
    known_lists: Collection[str],
    bad_lines: Mapping[int, str] | None = None,
    languages: Sequence[str] = (),
) -> Iterator[tuple[int, SubscriberRow | RecordError]]:
    """Yield ``(line number, row or error)`` for each data row of an ``email,name,lists`` CSV.

    The header must be one of :data:`HEADERS` (``email,name,lists``, optionally with
    ``language``, or the export's); a file without one is refused as a whole (a row
    error at line 1), since its columns cannot be trusted. ``bad_lines`` (line number to
    reason, see :class:`DecodedLines`) rejects the rows spanning them. ``languages``: the
    newsroom's, which a ``language`` cell must name.
    """
    bad = bad_lines if bad_lines is not None else {}
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    if 1 in bad:
        yield 1, RecordError("", bad[1])
        return
    columns = [h.strip().lower() for h in header]
    if columns not in HEADERS:
        yield (
            reader.line_num,
            RecordError(
                "", f"the header must be {','.join(CSV_HEADER)} (and optionally ,language)"
            ),
        )
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
        if len(fields) != len(columns):
            yield (
                reader.line_num,
                RecordError("", f"expected {len(columns)} columns, found {len(fields)}"),
            )
            continue
        try:
            row = SubscriberRow(
                normalise_email(from_spreadsheet(fields[0].strip())),
                clean_name(from_spreadsheet(fields[1])),
                parse_lists(fields[2], known_lists),
                parse_language(fields[-1], languages) if columns[-1] == "language" else "",
            )
        except RecordError as exc:
            yield reader.line_num, exc
            continue
        yield reader.line_num, row
