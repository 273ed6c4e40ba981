"""Console users as units of work: add, list, remove, set a password, sign in and out.

Each function opens its own transaction on the engine it is given; the CLI and the web app
call them alike. Argon2 hashing runs outside any transaction (it takes a good fraction of
a second on purpose), so a sign-in never holds a database lock while it hashes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from syndication.core.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from syndication.store import database as db
from syndication.store import users as store

# The rules and shapes the CLI and the console need, from their one home in the store:
# who a session belongs to, how long a lock-out lasts, the form of a user's address and
# the roles there are.
from syndication.store.users import LOCKOUT_WINDOW as LOCKOUT_WINDOW
from syndication.store.users import SignedIn as SignedIn
from syndication.store.users import UserInfo as UserInfo
from syndication.store.users import check_role as check_role
from syndication.store.users import normalise_user_email as normalise_user_email


def add_user(engine: Engine, email: str, role: str, password: str, now: datetime) -> UserInfo:
    """Create a console user with an Argon2id hash of ``password``."""
    db.require_current_schema(engine)
    address = store.normalise_user_email(email)
    store.check_role(role)
    hashed = hash_password(check_new_password(password))
    with db.write_session(engine) as session:
        user_id = store.add_user(session, address, role, hashed, now)
    return UserInfo(user_id, address, role, now)


def list_users(engine: Engine) -> list[UserInfo]:
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.list_users(session)


def remove_user(engine: Engine, email: str) -> None:
    """Delete a user; every session of theirs ends with it."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        store.remove_user(session, store.normalise_user_email(email))


def set_password(engine: Engine, email: str, password: str, now: datetime) -> None:
    """Give a user a new password; their open sessions end."""
    db.require_current_schema(engine)
    hashed = hash_password(check_new_password(password))
    with db.write_session(engine) as session:
        store.set_password_hash(session, store.normalise_user_email(email), hashed, now)


class LoginOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown address or wrong password: the same answer for both
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    session_id: str = ""


def sign_in(engine: Engine, email: str, password: str, client: str, now: datetime) -> LoginResult:
    """Check a sign-in; on success a new session whose id goes into the cookie.

    More than :data:`~syndication.store.users.LOCKOUT_FAILURES` failures for the address
    or for the client in the window lock both out, right password or not, until the
    window has passed.
    """
    address = email.strip().lower()[:254]
    with db.read_session(engine) as session:
        if store.locked_out(session, address, client, now):
            return LoginResult(LoginOutcome.LOCKED)
        found = store.password_hash_of(session, address)
    if not verify_password(found[1] if found else None, password) or found is None:
        with db.write_session(engine) as session:
            store.record_failure(session, address, client, now)
        return LoginResult(LoginOutcome.WRONG)
    user_id, stored = found
    rehashed = hash_password(password) if needs_rehash(stored) else None
    with db.write_session(engine) as session:
        if rehashed is not None:
            store.set_password_hash(session, address, rehashed, now)
        session_id = store.start_session(session, user_id, now)
    return LoginResult(LoginOutcome.OK, session_id)


def signed_in(engine: Engine, session_id: str, now: datetime) -> SignedIn | None:
    """The user behind a session cookie, or ``None`` (see :func:`store.resume_session`)."""
    with db.write_session(engine) as session:
        return store.resume_session(session, session_id, now)


def sign_out(engine: Engine, session_id: str) -> None:
    with db.write_session(engine) as session:
        store.end_session(session, session_id)
