"""Subscribers as CSV (pure): records with their line numbers; cells safe for spreadsheets.

An optional ``language`` column gives the reader's languages (``ko``, or ``"ko,en"`` in
order; each one of ``[languages] available``; empty: the primary): :func:`parse_language`.

Reading takes lines (bytes decoded one at a time by :class:`DecodedLines`) and yields each
record or its error with the line number; what the columns mean is
:mod:`syndication.core.subscriber_imports`'s, and the caller opens the file and writes the
store.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from syndication.core.reader_languages import parse_preferences, store_preferences
from syndication.errors import RecordError

# What `subscribers export` writes (and `subscribers import` reads back).
EXPORT_HEADER = ["email", "name", "lists", "status", "created_at", "confirmed_at", "language"]
# The export's status for an address on the suppression list with no subscriber record
# (its created_at: when it was listed).
BARE_SUPPRESSION = "suppressed"

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


def csv_records(
    lines: Iterable[str], bad_lines: Mapping[int, str] | None = None
) -> Iterator[tuple[int, list[str] | RecordError]]:
    """Yield ``(line number, fields or error)`` for each CSV record, the header first.

    Blank records are skipped; a malformed one, or one spanning a line that
    :class:`DecodedLines` could not decode (``bad_lines``), is an error with its line
    number, and reading goes on with the next.
    """
    bad = bad_lines if bad_lines is not None else {}
    reader = csv.reader(lines)
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
        yield reader.line_num, fields
