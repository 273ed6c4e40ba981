"""Subscribers in the store, on every backend: the lifecycle table carried out."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import Engine

from syndication.core.subscribers import Event
from syndication.errors import NotFoundError, RecordError
from syndication.store import database as db
from syndication.store import status, subscriber_queries, subscribers


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
        subscribers.suppress(session, "b@example.org", "550 no such user", now, Event.HARD_BOUNCE)
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
        at = now.isoformat()
        assert list(subscriber_queries.export_rows(session)) == [
            ("a@example.org", "A", "weekly-city", "active", at, at, "en"),
            (
                "b@example.org",
                "B, Jr.",
                "weekly-city;weekly-international",
                "pending",
                at,
                "",
                "en",
            ),
        ]
        assert status.list_readers(session.connection()) == {
            "weekly-city": {"active": 1, "pending": 1},
            "weekly-international": {"pending": 1},
        }


def test_record_signup_by_status(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        first = subscribers.record_signup(session, "new@example.org", "Kim", ["weekly-city"], now)
        again = subscribers.record_signup(session, "new@example.org", "", ["weekly-city"], now)
        assert first is not None and again == first
        nonce = subscribers.find_subscriber(session, "new@example.org").request_nonce
        assert nonce is not None
        assert subscribers.confirm_subscriber(session, first, nonce, now)
        other = ["weekly-international"]
        assert subscribers.record_signup(session, "new@example.org", "X", other, now) is None
        subscribers.suppress(session, "gone@example.org", "550", now, Event.HARD_BOUNCE)
        gone = subscribers.record_signup(session, "gone@example.org", "", ["weekly-city"], now)
        assert gone is None
        prefs = subscribers.load_preferences(session, first)
    assert (prefs.status, prefs.name, prefs.lists) == ("active", "Kim", ["weekly-city"])


def test_save_preferences_ignores_unknown_lists(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        sid = subscribers.add_subscriber(
            session, "a@example.org", "", ["weekly-city"], confirmed=True, now=now
        ).subscriber_id
        subscribers.save_preferences(
            session,
            sid,
            leave=False,
            chosen=["weekly-international", "bogus"],
            known=["weekly-city", "weekly-international"],
            name="Lee\r\nBcc: x@example.org",
            now=now,
        )
        prefs = subscribers.load_preferences(session, sid)
    assert prefs.lists == ["weekly-international"]
    assert prefs.name == "Lee Bcc: x@example.org"


def test_two_sign_ups_of_one_new_address_at_once_do_not_fail(engine: Engine, now: datetime) -> None:
    # On PostgreSQL the second insert was a unique violation and a 500 (issue 15 item 5).
    done: list[int | None] = []
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with db.write_session(engine) as session:
                done.append(
                    subscribers.record_signup(session, "same@example.org", "", ["weekly-city"], now)
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failed.append(exc)

    with db.write_session(engine) as session:
        first = subscribers.record_signup(session, "same@example.org", "", ["weekly-city"], now)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second one is now waiting on the first's row
    thread.join(30)
    assert not failed, failed
    assert done == [first]
    with db.read_session(engine) as session:
        assert subscribers.find_subscriber(session, "same@example.org").status == "pending"
