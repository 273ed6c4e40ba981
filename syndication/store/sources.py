"""The sources job's state in the store: one row per source (cursor, memo, back-off).

Functions take a Session; :mod:`syndication.services.sources` owns the transactions.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syndication.store.models import Article, ArticleAlias, SourceState


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
    row = session.get(SourceState, name)
    return None if row is None else _status(row)


def load_sources(session: Session) -> list[SourceStatus]:
    return [_status(row) for row in session.scalars(select(SourceState).order_by(SourceState.name))]


def _row(session: Session, name: str, kind: str) -> SourceState:
    row = session.get(SourceState, name, with_for_update=True)
    if row is None:
        row = SourceState(name=name, kind=kind, cursor="", memo="{}", failures=0)
        row.last_result, row.last_error = "", ""
        session.add(row)
    row.kind = kind
    return row


def save_progress(
    session: Session, name: str, kind: str, cursor: str | None, memo: dict[str, Any] | None
) -> None:
    """Store a new cursor and/or memo (in the transaction that wrote what they cover)."""
    row = _row(session, name, kind)
    if cursor is not None:
        row.cursor = cursor
    if memo is not None:
        row.memo = json.dumps(memo, sort_keys=True)
    session.flush()


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
    row = _row(session, name, kind)
    row.last_poll_at = now
    row.last_result = result
    row.last_error = error
    if ok:
        row.last_success_at = now
        row.failures = 0
        row.next_attempt_at = None
        if full:
            row.last_full_at = now
    else:
        row.failures = (row.failures or 0) + 1
        row.next_attempt_at = next_attempt_at
    session.flush()
    return row.failures


def published_ids(session: Session, prefix: str) -> set[str]:
    """Source ids starting with ``prefix`` of articles that are not retracted."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return set(
        session.scalars(
            select(Article.source_id).where(
                Article.source_id.like(f"{escaped}%", escape="\\"),
                Article.status == "published",
            )
        )
    )


def _status(row: SourceState) -> SourceStatus:
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
            select(Article.source_id).where(
                Article.source_id.in_(list(source_ids)), Article.status == "published"
            )
        )
    )


def aliases_of(session: Session, source_ids: Collection[str]) -> dict[str, str]:
    """Those of ``source_ids`` recorded as aliases, each with the article it names."""
    if not source_ids:
        return {}
    rows = session.execute(
        select(ArticleAlias.source_id, ArticleAlias.article_source_id).where(
            ArticleAlias.source_id.in_(list(source_ids))
        )
    )
    return {alias: target for alias, target in rows}


def stored_ids(session: Session, source_ids: Collection[str]) -> set[str]:
    """Those of ``source_ids`` that are articles in the store (any status)."""
    if not source_ids:
        return set()
    return set(
        session.scalars(select(Article.source_id).where(Article.source_id.in_(list(source_ids))))
    )


def articles_at(session: Session, urls: Collection[str], not_prefix: str) -> dict[str, str]:
    """The stored article (its source id, the oldest one if several) at each of ``urls``,
    among those whose source id does not start with ``not_prefix``."""
    if not urls:
        return {}
    rows = session.execute(
        select(Article.url, Article.source_id)
        .where(Article.url.in_(list(urls)))
        .order_by(Article.id.desc())
    )
    return {url: found for url, found in rows if not found.startswith(not_prefix)}


def add_aliases(session: Session, aliases: dict[str, str], now: datetime) -> None:
    """Record each ``alias: article source id`` pair not recorded yet."""
    known = aliases_of(session, aliases)
    for alias, target in sorted(aliases.items()):
        if alias not in known:
            session.add(ArticleAlias(source_id=alias, article_source_id=target, created_at=now))
    session.flush()
