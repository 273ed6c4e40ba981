"""Console users in the database: sessions that end, failures that lock out."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from syndication.errors import InputError
from syndication.services import users as service
from syndication.store import database as db
from syndication.store import users
from syndication.store.models import UserSession


def test_sessions_are_stored_hashed_and_end_when_idle_for_12_hours(
    engine: Engine, now: datetime
) -> None:
    with db.write_session(engine) as session:
        user_id = users.add_user(session, "op@example.org", "operator", "hash", now)
        session_id = users.start_session(session, user_id, now)
    with db.read_session(engine) as session:
        stored = list(session.scalars(select(UserSession.id_hash)))
    assert stored and session_id not in stored
    later = now + timedelta(hours=11, minutes=59)
    with db.write_session(engine) as session:
        who = users.resume_session(session, session_id, later)
    assert who is not None and (who.email, who.role) == ("op@example.org", "operator")
    # The request at 11:59 moved the idle clock on: 12 h after it, the session is gone.
    with db.write_session(engine) as session:
        assert users.resume_session(session, session_id, later + timedelta(hours=11)) is not None
        assert users.resume_session(session, session_id, later + timedelta(hours=23)) is None
    with db.read_session(engine) as session:
        assert users.session_count(session, "op@example.org") == 0


def test_removing_a_user_or_changing_the_password_ends_their_sessions(
    engine: Engine, now: datetime
) -> None:
    with db.write_session(engine) as session:
        user_id = users.add_user(session, "op@example.org", "operator", "hash", now)
        first = users.start_session(session, user_id, now)
        users.set_password_hash(session, "op@example.org", "hash2", now)
        assert users.resume_session(session, first, now) is None
        second = users.start_session(session, user_id, now)
        users.remove_user(session, "op@example.org")
        assert users.resume_session(session, second, now) is None
        with pytest.raises(Exception, match="no such user"):
            users.remove_user(session, "op@example.org")


def test_five_failures_lock_the_account_and_thirty_the_client_for_15_minutes(
    engine: Engine, now: datetime
) -> None:
    def attempt(email: str, client: str, at: datetime = now) -> users.Attempt:
        with db.write_session(engine) as session:
            return users.take_attempt(session, email, client, at)

    taken = [attempt("op@example.org", f"10.0.0.{i}") for i in range(5)]
    assert [a.failures for a in taken] == [1, 2, 3, 4, 5] and not any(a.locked for a in taken)
    assert attempt("op@example.org", "10.9.9.9").locked, "the account, from anywhere"
    # The same client is not locked for another account: one office, one typist locked.
    assert not attempt("other@example.org", "10.0.0.1").locked
    for i in range(users.CLIENT_FAILURES):
        assert not attempt(f"x{i}@example.org", "10.1.1.1").locked
    assert attempt("new@example.org", "10.1.1.1").locked, "the client's cap, over accounts"
    later = now + timedelta(minutes=15)
    assert not attempt("op@example.org", "10.1.1.1", later).locked
    # A right password forgets its attempt; unlock forgets them all.
    with db.write_session(engine) as session:
        users.forget_attempt(session, taken[0].failure_id)
        assert users.clear_failures(session, "op@example.org") == 4 + 1


def test_service_refuses_weak_passwords_and_duplicate_users(engine: Engine, now: datetime) -> None:
    with pytest.raises(InputError, match="at least 12 characters"):
        service.add_user(engine, "op@example.org", "operator", "short", now)
    with pytest.raises(InputError, match="role 'admin'"):
        service.add_user(engine, "op@example.org", "admin", "long enough password", now)
    service.add_user(engine, "Op@Example.org", "operator", "long enough password", now)
    with pytest.raises(InputError, match="already a user"):
        service.add_user(engine, "op@example.org", "viewer", "long enough password", now)
    ok = service.sign_in(engine, "OP@example.org ", "long enough password", "1.2.3.4", now)
    assert ok.outcome is service.LoginOutcome.OK and ok.session_id
    bad = service.sign_in(engine, "op@example.org", "wrong password!!", "1.2.3.4", now)
    unknown = service.sign_in(engine, "nobody@example.org", "wrong password!!", "1.2.3.4", now)
    assert bad == unknown == service.LoginResult(service.LoginOutcome.WRONG)
