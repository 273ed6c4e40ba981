"""The sources job's state in the store: one row per source (cursor, memo, back-off).

Functions take a Session; :mod:`syndication.services.sources` owns the transactions.
Core queries on :mod:`syndication.store.tables`, no ORM import: ``status`` lists the
sources (:func:`load_sources`, on a Connection) without loading ``sqlalchemy.orm``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, insert, select, update

from syndication.store import tables

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATES = tables.source_states
ALIASES = tables.article_aliases
ARTICLES = tables.articles


@dataclass(frozen=True)
class SourceStatus:
    """A source's row as plain data (``status`` shows it; polls start from it)."""

    name: str
    kind: str
    cursor: str
    memo: dict[str, Any]
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_full_at: datetime | None
    last_result: str
    last_error: str
    failures: int
    next_attempt_at: datetime | None


def load_source(session: Session, name: str) -> SourceStatus | None:
    row = session.execute(select(STATES).where(STATES.c.name == name)).first()
    return None if row is None else _status(row)


def load_sources(connection: Connection) -> list[SourceStatus]:
    return [_status(row) for row in connection.execute(select(STATES).order_by(STATES.c.name))]


def _lock(session: Session, name: str, kind: str) -> int:
    """Take the source's row for update (made if missing, its kind set); returns its
    failures in a row so far."""
    row = session.execute(select(STATES).where(STATES.c.name == name).with_for_update()).first()
    if row is None:
        session.execute(
            insert(STATES).values(
                name=name,
                kind=kind,
                cursor="",
                memo="{}",
                failures=0,
                last_result="",
                last_error="",
            )
        )
        return 0
    if row.kind != kind:
        session.execute(update(STATES).where(STATES.c.name == name).values(kind=kind))
    return int(row.failures or 0)


def save_progress(
    session: Session, name: str, kind: str, cursor: str | None, memo: dict[str, Any] | None
) -> None:
    """Store a new cursor and/or memo (in the transaction that wrote what they cover)."""
    _lock(session, name, kind)
    values: dict[str, str] = {}
    if cursor is not None:
        values["cursor"] = cursor
    if memo is not None:
        values["memo"] = json.dumps(memo, sort_keys=True)
    if values:
        session.execute(update(STATES).where(STATES.c.name == name).values(**values))


def record_poll(
    session: Session,
    name: str,
    kind: str,
    *,
    now: datetime,
    ok: bool,
    result: str,
    error: str = "",
    next_attempt_at: datetime | None = None,
    full: bool = False,
) -> int:
    """Record how a poll ended; returns the number of failures in a row (0 on success)."""
    failures = _lock(session, name, kind)
    values: dict[str, Any] = {"last_poll_at": now, "last_result": result, "last_error": error}
    if ok:
        failures = 0
        values.update(last_success_at=now, failures=0, next_attempt_at=None)
        if full:
            values["last_full_at"] = now
    else:
        failures += 1
        values.update(failures=failures, next_attempt_at=next_attempt_at)
    session.execute(update(STATES).where(STATES.c.name == name).values(**values))
    return failures


def published_ids(session: Session, prefix: str) -> set[str]:
    """Source ids starting with ``prefix`` of articles that are not retracted."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return set(
        session.scalars(
            select(ARTICLES.c.source_id).where(
                ARTICLES.c.source_id.like(f"{escaped}%", escape="\\"),
                ARTICLES.c.status == "published",
            )
        )
    )


def _status(row: Row[Any]) -> SourceStatus:
    try:
        memo = json.loads(row.memo or "{}")
    except ValueError:
        memo = {}
    return SourceStatus(
        name=row.name,
        kind=row.kind,
        cursor=row.cursor,
        memo=memo if isinstance(memo, dict) else {},
        last_poll_at=row.last_poll_at,
        last_success_at=row.last_success_at,
        last_full_at=row.last_full_at,
        last_result=row.last_result,
        last_error=row.last_error,
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
    )


def published_among(session: Session, source_ids: Collection[str]) -> set[str]:
    """Those of ``source_ids`` whose articles are in the store and not retracted."""
    if not source_ids:
        return set()
    return set(
        session.scalars(
            select(ARTICLES.c.source_id).where(
                ARTICLES.c.source_id.in_(list(source_ids)), ARTICLES.c.status == "published"
            )
        )
    )


def aliases_of(session: Session, source_ids: Collection[str]) -> dict[str, str]:
    """Those of ``source_ids`` recorded as aliases, each with the article it names."""
    if not source_ids:
        return {}
    rows = session.execute(
        select(ALIASES.c.source_id, ALIASES.c.article_source_id).where(
            ALIASES.c.source_id.in_(list(source_ids))
        )
    )
    return {alias: target for alias, target in rows}


def stored_ids(session: Session, source_ids: Collection[str]) -> set[str]:
    """Those of ``source_ids`` that are articles in the store (any status)."""
    if not source_ids:
        return set()
    return set(
        session.scalars(
            select(ARTICLES.c.source_id).where(ARTICLES.c.source_id.in_(list(source_ids)))
        )
    )


def articles_at(session: Session, urls: Collection[str], not_prefix: str) -> dict[str, str]:
    """The stored article (its source id, the oldest one if several) at each of ``urls``,
    among those whose source id does not start with ``not_prefix``."""
    if not urls:
        return {}
    rows = session.execute(
        select(ARTICLES.c.url, ARTICLES.c.source_id)
        .where(ARTICLES.c.url.in_(list(urls)))
        .order_by(ARTICLES.c.id.desc())
    )
    return {url: found for url, found in rows if not found.startswith(not_prefix)}


def add_aliases(session: Session, aliases: dict[str, str], now: datetime) -> None:
    """Record each ``alias: article source id`` pair not recorded yet."""
    known = aliases_of(session, aliases)
    new = [
        {"source_id": alias, "article_source_id": target, "created_at": now}
        for alias, target in sorted(aliases.items())
        if alias not in known
    ]
    if new:
        session.execute(insert(ALIASES), new)
