"""Subscriber CSV records: checked one by one, with their line numbers; spreadsheet cells."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from syndication.core.subscriber_csv import (
    DecodedLines,
    csv_records,
    from_spreadsheet,
    parse_language,
    spreadsheet_safe,
)
from syndication.core.subscriber_imports import ImportRow, read_import
from syndication.errors import RecordError

LISTS = {"weekly-city", "weekly-international"}


def rows_of(
    lines: Iterable[str], bad: Mapping[int, str] | None = None
) -> list[tuple[int, ImportRow | RecordError]]:
    _, rows = read_import(csv_records(lines, bad), LISTS)
    return list(rows)


def test_csv_rows_are_checked_one_by_one() -> None:
    text = (
        "email,name,lists\n"
        "anna@example.org,Anna Berg,weekly-city;weekly-international\n"
        "not-an-address,Bad,weekly-city\n"
        '"lopez@example.org","López, María",weekly-international\n'
        "x@example.org,X,weekly-sports\n"
        "y@example.org,Y\n"
        "\n"
        "z@example.org,Z,\n"
        'kim@example.com,"김민지\u0007\r\n",weekly-city\n'
    )
    results = rows_of(text.splitlines(keepends=True))
    good = [(n, r) for n, r in results if isinstance(r, ImportRow)]
    bad = [(n, str(r)) for n, r in results if isinstance(r, RecordError)]
    assert good == [
        (
            2,
            ImportRow("anna@example.org", "Anna Berg", ("weekly-city", "weekly-international")),
        ),
        (4, ImportRow("lopez@example.org", "López, María", ("weekly-international",))),
        (10, ImportRow("kim@example.com", "김민지", ("weekly-city",))),
    ]
    assert bad == [
        (
            3,
            "email: 'not-an-address' is not a valid e-mail address: "
            "An email address must have an @-sign.",
        ),
        (5, "lists: unknown list 'weekly-sports'"),
        (6, "expected 3 columns, found 2"),
        (8, "lists: at least one list is required"),
    ]


def test_csv_without_the_header_is_refused_whole() -> None:
    with pytest.raises(RecordError, match="the header names no known export: expected"):
        rows_of(["anna@example.org,Anna,weekly-city\n"])


def test_a_line_that_is_not_utf8_costs_only_its_row() -> None:
    raw = [
        b"\xef\xbb\xbfemail,name,lists\n",
        b"a@example.org,A,weekly-city\n",
        b"b@example.org,\xff,weekly-city\n",
        b"c@example.org,C,weekly-city\n",
    ]
    lines = DecodedLines(raw)
    results = rows_of(lines, lines.bad)
    assert [(n, isinstance(r, ImportRow)) for n, r in results] == [
        (2, True),
        (3, False),
        (4, True),
    ]
    assert "not UTF-8 text" in str(results[1][1])


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+1", "-dash", "@at", "\tx", "plain", ""])
def test_spreadsheet_escaping_round_trips(cell: str) -> None:
    safe = spreadsheet_safe(cell)
    assert not safe.startswith(("=", "+", "-", "@", "\t"))
    assert from_spreadsheet(safe) == cell


def test_a_language_cell_is_stored_as_the_readers_languages_in_order() -> None:
    languages = ("en", "ko")
    assert parse_language("ko", languages) == "ko"
    assert parse_language("", languages) == ""
    assert parse_language("ko-KR, en", languages) == "ko,en"
    with pytest.raises(RecordError, match="'fr' is not one of this newsroom's languages"):
        parse_language("fr", languages)
    with pytest.raises(RecordError, match="'korean' is not a BCP 47 language tag"):
        parse_language("korean", languages)


def test_an_optional_language_column_is_read_with_the_row() -> None:
    text = (
        "email,name,lists,language\na@example.org,A,weekly-city,ko\nb@example.org,B,weekly-city,\n"
    )
    _, rows = read_import(csv_records(text.splitlines(keepends=True)), LISTS)
    assert [(n, r.language) for n, r in rows if isinstance(r, ImportRow)] == [(2, "ko"), (3, "")]
