"""Console users as units of work: add, list, remove, set a password, unlock, sign in and
out.

Each function opens its own transaction on the engine it is given; the CLI and the web app
call them alike. Argon2 hashing runs outside any transaction (it takes a good fraction of
a second on purpose), so a sign-in never holds a database lock while it hashes.

A sign-in cannot be raced (issue 28, N4): its attempt is counted and checked in one
transaction under a lock per address *before* the password is checked
(:func:`syndication.store.users.take_attempt`), one Argon2 check runs at a time per
account in this process, and at most :data:`HASH_SLOTS` at once in the whole server (each
costs 64 MiB). So 40 simultaneous wrong guesses for one account cost
:data:`~syndication.store.users.LOCKOUT_FAILURES` checks, never more than two at a time.
Every sign-in, failure, refusal and lock is an audit record: a row of the audit log
(:mod:`syndication.store.audit`, written in the transaction that counts or forgets the
attempt) and a line of the ``syndication.audit`` log. So are user changes, by ``actor``.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.core.audit import SYSTEM, Actor
from syndication.core.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from syndication.store import audit as audit_log
from syndication.store import database as db
from syndication.store import users as store

# The rules and shapes the CLI and the console need, from their one home in the store:
# who a session belongs to, how long a lock-out lasts, the form of a user's address and
# the roles there are.
from syndication.store.users import CLIENT_FAILURES as CLIENT_FAILURES
from syndication.store.users import LOCKOUT_FAILURES as LOCKOUT_FAILURES
from syndication.store.users import LOCKOUT_WINDOW as LOCKOUT_WINDOW
from syndication.store.users import SignedIn as SignedIn
from syndication.store.users import UserInfo as UserInfo
from syndication.store.users import check_role as check_role
from syndication.store.users import normalise_user_email as normalise_user_email

audit = logging.getLogger("syndication.audit")

# Argon2 checks at once in this process (the server): each takes 64 MiB and a core for a
# few hundred ms; the machine this runs on has a few cores, and sign-ins are rare.
HASH_SLOTS = 2
_hashing = threading.BoundedSemaphore(HASH_SLOTS)


class _OnePerKey:
    """A lock per key (an address), kept only while someone holds or waits for it, so
    the table stays as small as the number of accounts being signed in to right now."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


_accounts = _OnePerKey()


@contextmanager
def _hash_slot() -> Iterator[None]:
    with _hashing:
        yield


def add_user(
    engine: Engine,
    email: str,
    role: str,
    password: str,
    now: datetime,
    *,
    actor: Actor | None = None,
) -> UserInfo:
    """Create a console user with an Argon2id hash of ``password``."""
    db.require_current_schema(engine)
    address = store.normalise_user_email(email)
    store.check_role(role)
    hashed = hash_password(check_new_password(password))
    with db.write_session(engine) as session:
        user_id = store.add_user(session, address, role, hashed, now)
        _record(session, actor, "user-add", address, now, f"role {role}")
    return UserInfo(user_id, address, role, now)


def list_users(engine: Engine) -> list[UserInfo]:
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.list_users(session)


def _record(
    session: Session,
    actor: Actor | None,
    action: str,
    address: str,
    now: datetime,
    detail: str = "",
) -> None:
    audit_log.record(session, actor or SYSTEM, action, "user", address, now, detail)


def remove_user(engine: Engine, email: str, now: datetime, *, actor: Actor | None = None) -> None:
    """Delete a user; every session of theirs ends with it."""
    db.require_current_schema(engine)
    address = store.normalise_user_email(email)
    with db.write_session(engine) as session:
        store.remove_user(session, address)
        _record(session, actor, "user-remove", address, now, "signed out everywhere")


def set_password(
    engine: Engine, email: str, password: str, now: datetime, *, actor: Actor | None = None
) -> None:
    """Give a user a new password; their open sessions end."""
    db.require_current_schema(engine)
    hashed = hash_password(check_new_password(password))
    address = store.normalise_user_email(email)
    with db.write_session(engine) as session:
        store.set_password_hash(session, address, hashed, now)
        store.clear_failures(session, address)
        _record(session, actor, "password-set", address, now, "sessions ended, lock lifted")
    audit.info("password set: user=%s (sign-in failures forgotten, sessions ended)", address)


def unlock(engine: Engine, email: str, by: Actor | str, now: datetime) -> int:
    """``users unlock``: forget a user's failed sign-ins, so they may sign in at once;
    returns how many were forgotten. A NotFoundError for an unknown user."""
    db.require_current_schema(engine)
    actor = by if isinstance(by, Actor) else Actor.system(by)
    address = store.normalise_user_email(email)
    with db.write_session(engine) as session:
        forgotten = store.unlock(session, address)
        _record(session, actor, "unlock", address, now, f"{forgotten} failed sign-ins forgotten")
    audit.info(
        "unlock: user=%s by=%s (%d failed sign-ins forgotten)", address, actor.label, forgotten
    )
    return forgotten


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

    :data:`LOCKOUT_FAILURES` failures for the account in the window lock it, from any
    client, right password or not, until the window has passed or ``users unlock``;
    :data:`CLIENT_FAILURES` failures from one client (over every account) refuse that
    client. See the module docstring for why this cannot be raced.
    """
    address = email.strip().lower()[:254]
    # The one who signs in is the address typed (known or not: a guess is worth a record).
    actor = Actor.console(address, client)
    with _accounts.hold(address):
        with db.write_session(engine) as session:
            attempt = store.take_attempt(session, address, client, now)
            if attempt.locked:
                _record(session, actor, "sign-in-refused", address, now, "locked")
        if attempt.locked:
            audit.warning("sign-in refused (locked): user=%s client=%s", address, client)
            return LoginResult(LoginOutcome.LOCKED)
        found = attempt.found
        with _hash_slot():
            right = verify_password(found[1] if found else None, password)
        if not right or found is None:
            audit.warning("sign-in failed: user=%s client=%s", address, client)
            # The attempt was counted as a failure before the check; its record follows.
            with db.write_session(engine) as session:
                why = "wrong password" if found else "no such user"
                _record(session, actor, "sign-in-failed", address, now, why)
                if attempt.failures == LOCKOUT_FAILURES:
                    _record(
                        session,
                        actor,
                        "lock",
                        address,
                        now,
                        f"after {attempt.failures} failed sign-ins; "
                        f"'syndication users unlock {address}' lifts it",
                    )
            if attempt.failures == LOCKOUT_FAILURES:
                audit.warning(
                    "lock: user=%s after %d failed sign-ins (last from %s); "
                    "'syndication users unlock %s' lifts it",
                    address,
                    attempt.failures,
                    client,
                    address,
                )
            return LoginResult(LoginOutcome.WRONG)
        user_id, stored = found
        if needs_rehash(stored):
            with _hash_slot():
                rehashed: str | None = hash_password(password)
        else:
            rehashed = None
        with db.write_session(engine) as session:
            store.forget_attempt(session, attempt.failure_id)
            if rehashed is not None:
                store.set_password_hash(session, address, rehashed, now)
            session_id = store.start_session(session, user_id, now)
            _record(session, actor, "sign-in", address, now)
    audit.info("sign-in: user=%s client=%s", address, client)
    return LoginResult(LoginOutcome.OK, session_id)


def signed_in(engine: Engine, session_id: str, now: datetime) -> SignedIn | None:
    """The user behind a session cookie, or ``None`` (see :func:`store.resume_session`)."""
    with db.write_session(engine) as session:
        return store.resume_session(session, session_id, now)


def sign_out(engine: Engine, session_id: str, now: datetime, *, actor: Actor | None = None) -> None:
    with db.write_session(engine) as session:
        store.end_session(session, session_id)
        if actor is not None:
            _record(session, actor, "sign-out", actor.who, now)
