"""Import shapes: this tool's export, listmonk's and Mailchimp's, told apart by the header."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndication.core.subscriber_csv import DecodedLines, csv_records
from syndication.core.subscriber_imports import (
    ImportRow,
    Source,
    read_import,
    read_suppression_list,
)
from syndication.core.subscribers import Status
from syndication.errors import RecordError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
LISTS = {"weekly-city", "weekly-international"}
P, A, U, B, C = Status


def read(
    lines: Sequence[str] | str, lists: Sequence[str] = ()
) -> tuple[Source | None, list[tuple[int, ImportRow | RecordError]]]:
    if isinstance(lines, str):
        with (FIXTURES / lines).open("rb") as handle:
            decoded = DecodedLines(handle)
            shape, rows = read_import(csv_records(decoded, decoded.bad), LISTS, lists)
            return (shape.source if shape else None), list(rows)
    shape, rows = read_import(csv_records(lines), LISTS, lists)
    return (shape.source if shape else None), list(rows)


def errors(rows: list[tuple[int, ImportRow | RecordError]]) -> list[tuple[int, str]]:
    return [(n, str(r)) for n, r in rows if isinstance(r, RecordError)]


def good(rows: list[tuple[int, ImportRow | RecordError]]) -> dict[str, ImportRow]:
    return {r.email: r for _, r in rows if isinstance(r, ImportRow)}


def test_this_tools_export_keeps_every_status_and_time() -> None:
    source, rows = read(
        [
            "email,name,lists,status,created_at,confirmed_at\n",
            "a@example.org,A,weekly-city,active,2026-01-02T03:04:05+00:00,"
            "2026-01-03T00:00:00+09:00\n",
            "p@example.org,'=P,weekly-city,pending,2026-01-02T03:04:05+00:00,\n",
            "u@example.org,U,,unsubscribed,2026-01-02T03:04:05+00:00,2026-01-02T03:04:05+00:00\n",
            "b@example.org,B,weekly-international,bounced,2026-01-02T03:04:05+00:00,\n",
            "c@example.org,C,,complained,2026-01-02T03:04:05+00:00,\n",
            "x@example.org,X,weekly-city,gone,2026-01-02T03:04:05+00:00,\n",
            "y@example.org,Y,weekly-city,active,2026-01-02 03:04:05,\n",
            "z@example.org,Z,,active,,\n",
            "s@example.org,,,suppressed,2026-01-02T03:04:05+00:00,\n",
        ]
    )
    assert source is Source.OWN
    found = good(rows)
    assert {e: r.status for e, r in found.items()} == {
        "s@example.org": U,
        "a@example.org": A,
        "p@example.org": P,
        "u@example.org": U,
        "b@example.org": B,
        "c@example.org": C,
    }
    assert found["a@example.org"].opted_in_at == datetime(2026, 1, 2, 15, tzinfo=UTC)
    assert found["a@example.org"].created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert found["p@example.org"].name == "=P"  # the export's spreadsheet quote taken off
    assert found["u@example.org"].lists == ()  # a suppressed row needs no list
    assert found["b@example.org"].lists == ("weekly-international",)
    # On the suppression list with no record: listed again, no record made.
    assert found["s@example.org"].record is False
    assert found["s@example.org"].created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert errors(rows) == [
        (
            7,
            "status: 'gone' is not one of pending, active, unsubscribed, bounced, complained, "
            "suppressed",
        ),
        (8, "created_at: '2026-01-02 03:04:05' has no time zone (write +00:00 for UTC)"),
        (9, "lists: at least one list is required"),
    ]


def test_listmonk_export_statuses() -> None:
    source, rows = read("listmonk_subscribers.csv", ["weekly-city"])
    assert source is Source.LISTMONK
    found = good(rows)
    assert found["anna.berg@example.org"] == ImportRow(
        "anna.berg@example.org",
        "Anna Berg",
        ("weekly-city",),
        P,  # enabled, but the export does not say the subscription was confirmed
        created_at=datetime(2024, 3, 5, 10, 11, 12, 345678, tzinfo=UTC),
    )
    assert found["minji.kim@example.com"].created_at == datetime(2023, 11, 20, tzinfo=UTC)
    blocked = found["left.long.ago@example.net"]
    assert (blocked.status, blocked.said) == (U, "listmonk blocklisted")
    assert (found["paused@example.org"].status, found["paused@example.org"].said) == (
        U,
        "listmonk disabled",
    )
    assert errors(rows) == [
        (
            6,
            "email: 'broken-address' is not a valid e-mail address: "
            "An email address must have an @-sign.",
        ),
        (7, "status: 'archived' is not a listmonk status (enabled, disabled, blocklisted)"),
    ]


def test_listmonk_subscription_status_where_present() -> None:
    source, rows = read("listmonk_list_subscriptions.csv", ["weekly-international"])
    assert source is Source.LISTMONK and not errors(rows)
    found = good(rows)
    assert found["anna.berg@example.org"].status is A
    assert found["minji.kim@example.com"].status is P
    gone = found["gone.from.list@example.org"]
    assert (gone.status, gone.said) == (U, "listmonk subscription unsubscribed")


def test_mailchimp_sections() -> None:
    source, rows = read("mailchimp_subscribed.csv", ["weekly-city"])
    assert source is Source.MAILCHIMP_SUBSCRIBED
    found = good(rows)
    one = found["reader.one@example.org"]
    assert (one.name, one.status, one.lists) == ("Reader One", A, ("weekly-city",))
    # The confirmation of a double opt-in, else the opt-in: Mailchimp's times are UTC.
    assert one.opted_in_at == datetime(2023, 2, 1, 8, 5, 30, tzinfo=UTC)
    assert found["reader.two@example.org"].opted_in_at == datetime(2023, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert errors(rows) == [
        (4, "CONFIRM_TIME: '04/03/2023 05:06' is not a Mailchimp time (YYYY-MM-DD HH:MM:SS)")
    ]

    source, rows = read("mailchimp_unsubscribed.csv")  # no --list: they are only suppressed
    assert source is Source.MAILCHIMP_UNSUBSCRIBED and not errors(rows)
    found = good(rows)
    left = found["left.us@example.org"]
    assert (left.status, left.lists, left.name) == (U, (), "Left Us")
    assert left.said == "Mailchimp unsubscribed (I no longer want to receive these emails)"
    assert left.opted_in_at == datetime(2022, 1, 1, 0, 1, tzinfo=UTC)
    assert found["admin.removed@example.org"].opted_in_at is None

    source, rows = read("mailchimp_cleaned.csv", ["weekly-city"])
    assert source is Source.MAILCHIMP_CLEANED
    [(_, cleaned)] = rows
    assert isinstance(cleaned, ImportRow)
    assert (cleaned.status, cleaned.said, cleaned.lists) == (
        B,
        "Mailchimp cleaned",
        ("weekly-city",),
    )


@pytest.mark.parametrize(
    ("header", "lists", "message"),
    [
        (
            "email,name,lists,state\n",
            (),
            "column 4 ('state'): not a column of this tool's files (email, name, lists, "
            "status, created_at, confirmed_at, language)",
        ),
        ("address,who\n", (), "the header names no known export: expected this tool's"),
        (
            "uuid,email,name,attributes,status,created_at,updated_at\n",
            (),
            "--list: a listmonk export names no list: say which list its rows join with --list",
        ),
        (
            '"Email Address","First Name","Last Name",MEMBER_RATING\n',
            (),
            "--list: a Mailchimp export of subscribed members names no list",
        ),
        (
            "email,name,lists\n",
            ("weekly-city",),
            "--list: the file has a lists column: each row names its own lists",
        ),
        (
            "uuid,email,name,attributes,status,created_at,updated_at\n",
            ("weekly-sport",),
            "--list: unknown list 'weekly-sport' (lists: weekly-city, weekly-international)",
        ),
    ],
)
def test_a_header_that_fits_no_shape_is_refused_naming_the_column(
    header: str, lists: tuple[str, ...], message: str
) -> None:
    with pytest.raises(RecordError) as refused:
        read([header, "a@example.org,A,weekly-city\n"], lists)
    assert str(refused.value).startswith(message)


def test_a_suppression_list_one_per_line_or_csv() -> None:
    with (FIXTURES / "suppression_list.txt").open("rb") as handle:
        decoded = DecodedLines(handle)
        found = [(n, str(a)) for n, a in read_suppression_list(csv_records(decoded, decoded.bad))]
    assert found == [
        (1, "blocked.one@example.org"),
        (3, "blocked.two@example.org"),
        (
            4,
            "email: 'not an address' is not a valid e-mail address: "
            "An email address must have an @-sign.",
        ),
        (5, "blocked.one@example.org"),
    ]
    as_csv = ["name,Email,reason\n", "A,a@example.org,left\n", "B,,x\n", "C,c@example.org\n"]
    assert [(n, str(a)) for n, a in read_suppression_list(csv_records(as_csv))] == [
        (2, "a@example.org"),
        (3, "email: missing"),
        (4, "c@example.org"),
    ]
