"""API keys for the push API as units of work: create, list, revoke, verify.

Each function opens its own transaction on the engine it is given; ``syndication
api-keys`` and the push API (:mod:`syndication.web.api`) call them alike. How a key is
made and stored (a random token, kept only as its SHA-256) is
:mod:`syndication.store.api_keys`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from syndication.store import api_keys as store
from syndication.store import database as db
from syndication.store.api_keys import KeyInfo as KeyInfo


def create_key(engine: Engine, name: str, now: datetime, *, source: str | None) -> str:
    """Make a key named ``name`` (a slug not in use) that may write and retract only the
    articles of ``source`` (ids ``<source>:…``), or any article when ``source`` is
    ``None`` (the caller asked for that in so many words: ``--any-source``). Returns the
    key itself, which is shown once and never stored."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        return store.create_key(session, name, now, source)


def list_keys(engine: Engine) -> list[KeyInfo]:
    """Every key by name, revoked ones included."""
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.list_keys(session)


def revoke_key(engine: Engine, name: str, now: datetime) -> bool:
    """Revoke ``name`` at once; False when it already was, a :class:`NotFoundError` when
    there is no such key."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        return store.revoke_key(session, name, now)


def verify_key(engine: Engine, key: str) -> KeyInfo | None:
    """The live key ``key`` (its name and scope), or ``None`` (unknown or revoked). One
    indexed look-up, no schema check: it runs on every API request."""
    with db.read_session(engine) as session:
        return store.live_key(session, key)
