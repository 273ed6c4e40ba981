"""API keys for the push API: created once, stored as a hash, revocable.

A key is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is enough to
store it: hashing slowly (Argon2, as for passwords) protects low-entropy secrets against
guessing, which a 256-bit random key does not need, and a fast hash keeps every API
request one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syndication.errors import InputError, NotFoundError
from syndication.settings import SLUG_RE
from syndication.store.models import ApiKey

KEY_PREFIX = "syn_"


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: ``source`` is the one source it may write, ``None`` any source."""

    name: str
    created_at: datetime
    revoked_at: datetime | None
    source: str | None = None

    def may_write(self, article_id: str) -> bool:
        """Whether this key may write or retract the article ``article_id``: any article
        for an any-source key, else only ids ``<source>:…``."""
        return self.source is None or article_id.startswith(f"{self.source}:")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, now: datetime, source: str | None) -> str:
    """Make a key named ``name`` for ``source`` (``None``: any source); returns the key
    itself, which is never stored."""
    if not SLUG_RE.match(name):
        raise InputError(f"{name!r}: a key name is a slug (lower-case letters, digits, hyphens)")
    if source is not None and not SLUG_RE.match(source):
        raise InputError(
            f"{source!r}: a source name is a slug (lower-case letters, digits, hyphens)"
        )
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise InputError(f"{name!r}: a key with this name exists; revoke it or pick another name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=hash_key(key), created_at=now, source=source))
    session.flush()
    return key


def list_keys(session: Session) -> list[KeyInfo]:
    rows = session.scalars(select(ApiKey).order_by(ApiKey.name))
    return [KeyInfo(r.name, r.created_at, r.revoked_at, r.source) for r in rows]


def revoke_key(session: Session, name: str, now: datetime) -> bool:
    """Revoke ``name``; False when it already was. :class:`NotFoundError` if unknown."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFoundError(f"API key {name!r}: no such key (see 'syndication api-keys list')")
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def live_key(session: Session, key: str) -> KeyInfo | None:
    """The live key ``key``, or None (unknown or revoked)."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return KeyInfo(row.name, row.created_at, row.revoked_at, row.source)
