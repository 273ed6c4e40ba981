"""The web pages' reads and writes, on every backend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from syndication.store import database as db
from syndication.store import digests, subscribers
from syndication.store import subscribers as webstore


def test_record_signup_by_status(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        first = webstore.record_signup(session, "new@example.org", "Kim", ["weekly-city"], now)
        again = webstore.record_signup(session, "new@example.org", "", ["weekly-city"], now)
        assert first is not None and again == first
        nonce = subscribers.find_subscriber(session, "new@example.org").request_nonce
        assert nonce is not None
        assert subscribers.confirm_subscriber(session, first, nonce, now)
        assert (
            webstore.record_signup(session, "new@example.org", "X", ["weekly-international"], now)
            is None
        )
        subscribers.suppress(session, "gone@example.org", "550", now, "bounced")
        assert webstore.record_signup(session, "gone@example.org", "", ["weekly-city"], now) is None
        prefs = webstore.load_preferences(session, first)
    assert (prefs.status, prefs.name, prefs.lists) == ("active", "Kim", ["weekly-city"])


def test_save_preferences_ignores_unknown_lists(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        sid = subscribers.add_subscriber(
            session, "a@example.org", "", ["weekly-city"], confirmed=True, now=now
        ).subscriber_id
        webstore.save_preferences(
            session,
            sid,
            leave=False,
            chosen=["weekly-international", "bogus"],
            known=["weekly-city", "weekly-international"],
            name="Lee\r\nBcc: x@example.org",
            now=now,
        )
        prefs = webstore.load_preferences(session, sid)
    assert prefs.lists == ["weekly-international"]
    assert prefs.name == "Lee Bcc: x@example.org"


def test_public_copy_leaves_no_placeholder() -> None:
    html = "Hi %%SYNDICATION:NAME%% <a href='%%SYNDICATION:PREFERENCES_URL%%'>p</a> "
    html += "%%SYNDICATION:NEW%%"
    assert digests.public_copy(html, "https://n.example.org") == (
        "Hi there <a href='https://n.example.org/'>p</a> "
    )
