from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine

from syndication.errors import NotFoundError, RecordError
from syndication.store import database as db
from syndication.store import status, subscribers
from syndication.store.subscribers import SubscriberRow, normalise_email, read_subscriber_csv

LISTS = {"weekly-city", "weekly-international"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Tom.OBrien@Example.COM ", "tom.obrien@example.com"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
    ],
)
def test_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plainaddress",
        "a@b",
        "a@@example.org",
        "a b@example.org",
        "a@example..org",
        "a@example.org\r\nBcc: x@evil.example",
        ".a@example.org",
    ],
)
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(RecordError):
        normalise_email(raw)


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


def test_double_opt_in_lifecycle(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        added = subscribers.add_subscriber(
            session, "Anna@Example.org", "Anna", ["weekly-city"], confirmed=False, now=now
        )
    assert (added.created, added.status, added.needs_confirmation) == (True, "pending", True)
    with db.write_session(engine) as session:
        again = subscribers.add_subscriber(
            session, "anna@example.org", "", ["weekly-international"], confirmed=False, now=now
        )
        # A new list makes a new request: it is mailed, and the first link stops working.
        assert (again.created, again.status, again.needs_confirmation) == (False, "pending", True)
        assert subscribers.subscriber_lists(session, added.subscriber_id) == [
            "weekly-city",
            "weekly-international",
        ]
    with db.write_session(engine) as session:
        record = subscribers.find_subscriber(session, "anna@example.org")
        assert record.request_nonce
        assert not subscribers.confirm_subscriber(session, added.subscriber_id, "stale", now)
        assert record.status == "pending"
        assert subscribers.confirm_subscriber(
            session, added.subscriber_id, record.request_nonce, now
        )
        assert record.status == "active"
        subscribers.unsubscribe(session, added.subscriber_id, now, "weekly-city")
        assert subscribers.find_subscriber(session, "anna@example.org").status == "active"
        subscribers.unsubscribe(session, added.subscriber_id, now, "weekly-international")
        assert subscribers.find_subscriber(session, "anna@example.org").status == "unsubscribed"
        # Twice is fine.
        subscribers.unsubscribe(session, added.subscriber_id, now)
    with db.write_session(engine) as session:
        back = subscribers.add_subscriber(
            session, "anna@example.org", "", ["weekly-city"], confirmed=False, now=now
        )
        assert (back.status, back.needs_confirmation) == ("pending", True)
        assert subscribers.find_subscriber(session, "anna@example.org").name == "Anna"


def test_suppressed_and_bounced_addresses_are_never_re_added(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "b@example.org", "B", ["weekly-city"], confirmed=True, now=now
        )
        subscribers.suppress(session, "b@example.org", "550 no such user", now, "bounced")
    with db.write_session(engine) as session:
        with pytest.raises(RecordError, match="suppression list"):
            subscribers.add_subscriber(
                session, "B@example.org", "", ["weekly-city"], confirmed=True, now=now
            )
    with db.read_session(engine) as session:
        assert subscribers.find_subscriber(session, "b@example.org").status == "bounced"
        with pytest.raises(NotFoundError):
            subscribers.find_subscriber(session, "nobody@example.org")


def test_export_and_counts(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "a@example.org", "A", ["weekly-city"], confirmed=True, now=now
        )
        subscribers.add_subscriber(
            session,
            "b@example.org",
            "B, Jr.",
            ["weekly-city", "weekly-international"],
            confirmed=False,
            now=now,
        )
    with db.read_session(engine) as session:
        assert list(subscribers.export_rows(session)) == [
            ("a@example.org", "A", "weekly-city", "active"),
            ("b@example.org", "B, Jr.", "weekly-city;weekly-international", "pending"),
        ]
        assert status.list_readers(session) == {
            "weekly-city": {"active": 1, "pending": 1},
            "weekly-international": {"pending": 1},
        }
