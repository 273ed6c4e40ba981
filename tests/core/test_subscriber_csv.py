"""Subscriber CSV rows: checked one by one, with their line numbers; spreadsheet cells."""

from __future__ import annotations

import pytest

from syndication.core.subscriber_csv import (
    DecodedLines,
    SubscriberRow,
    from_spreadsheet,
    read_subscriber_csv,
    spreadsheet_safe,
)
from syndication.errors import RecordError

LISTS = {"weekly-city", "weekly-international"}


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
    results = list(read_subscriber_csv(text.splitlines(keepends=True), LISTS))
    good = [(n, r) for n, r in results if isinstance(r, SubscriberRow)]
    bad = [(n, str(r)) for n, r in results if isinstance(r, RecordError)]
    assert good == [
        (
            2,
            SubscriberRow("anna@example.org", "Anna Berg", ("weekly-city", "weekly-international")),
        ),
        (4, SubscriberRow("lopez@example.org", "López, María", ("weekly-international",))),
        (10, SubscriberRow("kim@example.com", "김민지", ("weekly-city",))),
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
    results = list(read_subscriber_csv(["anna@example.org,Anna,weekly-city\n"], LISTS))
    assert len(results) == 1
    assert "header must be email,name,lists" in str(results[0][1])


def test_a_line_that_is_not_utf8_costs_only_its_row() -> None:
    raw = [
        b"\xef\xbb\xbfemail,name,lists\n",
        b"a@example.org,A,weekly-city\n",
        b"b@example.org,\xff,weekly-city\n",
        b"c@example.org,C,weekly-city\n",
    ]
    lines = DecodedLines(raw)
    results = list(read_subscriber_csv(lines, LISTS, lines.bad))
    assert [(n, isinstance(r, SubscriberRow)) for n, r in results] == [
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


def test_an_optional_language_column_names_the_readers_languages() -> None:
    text = (
        "email,name,lists,language\n"
        "a@example.org,A,weekly-city,ko\n"
        "b@example.org,B,weekly-city,\n"
        'c@example.org,C,weekly-city,"ko-KR, en"\n'
        "d@example.org,D,weekly-city,fr\n"
        "e@example.org,E,weekly-city,korean\n"
        "f@example.org,F,weekly-city\n"
    )
    results = list(read_subscriber_csv(text.splitlines(keepends=True), LISTS, None, ("en", "ko")))
    assert [(n, r.locale) for n, r in results if isinstance(r, SubscriberRow)] == [
        (2, "ko"),
        (3, ""),
        (4, "ko,en"),
    ]
    assert [(n, str(r)) for n, r in results if isinstance(r, RecordError)] == [
        (5, "language: 'fr' is not one of this newsroom's languages (en, ko)"),
        (
            6,
            "language: 'korean' is not a BCP 47 language tag (RFC 5646): write e.g. 'en', "
            "'ko', 'zh-Hant' or 'en-GB'",
        ),
        (7, "expected 4 columns, found 3"),
    ]


def test_the_exports_header_is_read_and_its_status_ignored() -> None:
    text = "email,name,lists,status,language\na@example.org,A,weekly-city,bounced,ko\n"
    ((line, row),) = read_subscriber_csv(text.splitlines(keepends=True), LISTS, None, ("en", "ko"))
    assert (line, row) == (2, SubscriberRow("a@example.org", "A", ("weekly-city",), "ko"))
