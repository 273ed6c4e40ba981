"""Console users, their server-side sessions and failed sign-ins.

A session is a row: the browser's cookie holds a random id, the row its SHA-256
(``id_hash``), so deleting rows ends sessions everywhere at once (sign-out, a removed
user, a changed password). Idle sessions end ``SESSION_IDLE`` after their last request.
Functions take a :class:`Session`; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from syndication.errors import InputError, NotFoundError
from syndication.store.models import USER_ROLES, LoginFailure, User, UserSession

SESSION_IDLE = timedelta(hours=12)
# Refresh ``last_seen_at`` at most this often, so a page view is not always a write.
TOUCH_EVERY = timedelta(minutes=5)
LOCKOUT_WINDOW = timedelta(minutes=15)
# An account is locked after this many failed sign-ins in the window, from anywhere.
LOCKOUT_FAILURES = 5
# A client (one address: an office behind NAT is one) is refused after this many failed
# sign-ins in the window, over every account: high enough that a few colleagues' typos
# lock nobody but the account typed wrong, low enough to stop guessing across accounts.
CLIENT_FAILURES = 30


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """Who a session belongs to, and the CSRF token its forms must carry."""

    user_id: int
    email: str
    role: str
    csrf_token: str


def normalise_user_email(raw: str) -> str:
    """An address in the form users are stored under (trimmed, lower case)."""
    email = raw.strip().lower()
    if not email or "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise InputError(f"{raw!r} is not an e-mail address")
    return email


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise InputError(f"role {role!r}: must be one of {', '.join(USER_ROLES)}")
    return role


def add_user(session: Session, email: str, role: str, password_hash: str, now: datetime) -> int:
    """Create a user; an :class:`InputError` if the address has one already."""
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InputError(f"{email}: already a user; use 'users set-password' to change it")
    user = User(
        email=email,
        role=check_role(role),
        password_hash=password_hash,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user.id


def list_users(session: Session) -> list[UserInfo]:
    return [
        UserInfo(u.id, u.email, u.role, u.created_at)
        for u in session.scalars(select(User).order_by(User.email))
    ]


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise NotFoundError(f"{email}: no such user (see 'syndication users list')")
    return user


def remove_user(session: Session, email: str) -> None:
    """Delete a user and every session of theirs (they are signed out at once)."""
    user = _user(session, email)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.delete(user)


def set_password_hash(session: Session, email: str, password_hash: str, now: datetime) -> None:
    """Replace a user's password; their sessions end, as after a suspected leak they must."""
    user = _user(session, email)
    user.password_hash, user.password_changed_at = password_hash, now
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def password_hash_of(session: Session, email: str) -> tuple[int, str] | None:
    """``(user id, stored hash)`` for a sign-in attempt, or ``None``."""
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == email)
    ).one_or_none()
    return None if row is None else (int(row.id), str(row.password_hash))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, user_id: int, now: datetime) -> str:
    """A new session for ``user_id``; returns the id for the cookie (not stored as such)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id_hash=_digest(session_id),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return session_id


def resume_session(session: Session, session_id: str, now: datetime) -> SignedIn | None:
    """Who holds ``session_id``, or ``None`` if it is unknown, ended or idle too long.

    An idle session is deleted here; a live one has its ``last_seen_at`` moved on.
    """
    if not session_id or len(session_id) > 200:
        return None
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id_hash == _digest(session_id))
    ).one_or_none()
    if row is None:
        return None
    user_session, user = row
    if now - user_session.last_seen_at >= SESSION_IDLE:
        session.delete(user_session)
        return None
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        user_session.last_seen_at = now
    return SignedIn(user.id, user.email, user.role, user_session.csrf_token)


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id_hash == _digest(session_id)))


def session_count(session: Session, email: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(UserSession)
            .join(User, User.id == UserSession.user_id)
            .where(User.email == email)
        )
        or 0
    )


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt taken (see :func:`take_attempt`): ``failure_id`` is its pending
    failure row (0 when refused as locked); ``failures``: the account's failures in the
    window, this one included; ``found``: ``(user id, stored hash)`` or None."""

    failure_id: int
    failures: int
    found: tuple[int, str] | None

    @property
    def locked(self) -> bool:
        return self.failure_id == 0


def _serialise(session: Session, email: str) -> None:
    """Let one sign-in attempt for ``email`` at a time count and check its failures.

    PostgreSQL: a transaction-scoped advisory lock keyed by the address. SQLite: the
    write transaction took the database's write lock already (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(b"syndication sign-in\0" + email.encode()).digest()
    (key,) = struct.unpack(">q", digest[:8])
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def take_attempt(session: Session, email: str, client: str, now: datetime) -> Attempt:
    """Count and check a sign-in attempt atomically, before any password is checked.

    Under a lock per address, read the failures of the window: at or over
    :data:`LOCKOUT_FAILURES` for the account, or :data:`CLIENT_FAILURES` for the client,
    the attempt is refused. Else a failure row is written now, *before* the password is
    checked (N4: concurrent guesses each read the count before any of them wrote it, and
    39 of 40 were checked); :func:`forget_attempt` deletes it if the password was right.
    """
    email, client = email[:254], client[:100]
    _serialise(session, email)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOCKOUT_WINDOW))
    since = now - LOCKOUT_WINDOW
    account = _failures(session, LoginFailure.email == email, since)
    by_client = _failures(session, LoginFailure.client == client, since)
    if account >= LOCKOUT_FAILURES or by_client >= CLIENT_FAILURES:
        return Attempt(0, account, None)
    failure = LoginFailure(email=email, client=client, at=now)
    session.add(failure)
    session.flush()
    return Attempt(int(failure.id), account + 1, password_hash_of(session, email))


def _failures(session: Session, condition: ColumnElement[bool], since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(LoginFailure).where(condition, LoginFailure.at > since)
        )
        or 0
    )


def forget_attempt(session: Session, failure_id: int) -> None:
    """The attempt's password was right: it is no failure."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == failure_id))


def clear_failures(session: Session, email: str) -> int:
    """Forget every failed sign-in for ``email`` (unlock it); returns how many."""
    result = session.execute(delete(LoginFailure).where(LoginFailure.email == email[:254]))
    return int(result.rowcount)  # type: ignore[attr-defined]


def unlock(session: Session, email: str) -> int:
    """``users unlock``: a NotFoundError for an unknown user, else :func:`clear_failures`."""
    _user(session, email)
    return clear_failures(session, email)
