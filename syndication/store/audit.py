"""The audit log's rows: one written beside each operator action, read back by filter.

:func:`record` is called by the service performing an action, inside its transaction, so
an action and its record commit or roll back together. Functions take a :class:`Session`;
the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from syndication.core.audit import Actor
from syndication.store.models import AuditEvent

# Kept within the columns' sizes: a long file path or reason must not fail the action.
_SIZES = {"who": 254, "client": 100, "key": 254}


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    source: str
    client: str
    action: str
    subject_kind: str
    subject_key: str
    detail: str


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page and its export narrow by; empty fields match everything.
    ``since`` is inclusive, ``until`` exclusive (aware UTC)."""

    actor: str = ""
    action: str = ""
    source: str = ""
    subject_kind: str = ""
    subject_key: str = ""
    since: datetime | None = None
    until: datetime | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_key: str,
    now: datetime,
    detail: str = "",
) -> None:
    """Add one audit row in the caller's transaction."""
    session.add(
        AuditEvent(
            at=now,
            actor=actor.who[: _SIZES["who"]],
            source=actor.source,
            client=actor.client[: _SIZES["client"]],
            action=action,
            subject_kind=subject_kind,
            subject_key=subject_key[: _SIZES["key"]],
            detail=detail,
        )
    )


def _filtered(stmt: Select[Any], where: AuditFilter) -> Select[Any]:
    if where.actor:
        stmt = stmt.where(AuditEvent.actor == where.actor)
    if where.action:
        stmt = stmt.where(AuditEvent.action == where.action)
    if where.source:
        stmt = stmt.where(AuditEvent.source == where.source)
    if where.subject_kind:
        stmt = stmt.where(AuditEvent.subject_kind == where.subject_kind)
    if where.subject_key:
        stmt = stmt.where(AuditEvent.subject_key == where.subject_key)
    if where.since is not None:
        stmt = stmt.where(AuditEvent.at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AuditEvent.at < where.until)
    return stmt


def _row(e: AuditEvent) -> AuditRow:
    return AuditRow(
        e.id, e.at, e.actor, e.source, e.client, e.action, e.subject_kind, e.subject_key, e.detail
    )


def count(session: Session, where: AuditFilter) -> int:
    stmt = _filtered(select(func.count()).select_from(AuditEvent), where)
    return int(session.scalar(stmt) or 0)


def page(session: Session, where: AuditFilter, limit: int, offset: int = 0) -> list[AuditRow]:
    """Newest first."""
    stmt = _filtered(select(AuditEvent), where)
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return [_row(e) for e in session.scalars(stmt).all()]


def every(session: Session, where: AuditFilter) -> Iterator[AuditRow]:
    """Every matching row, oldest first (the export), fetched in chunks."""
    stmt = _filtered(select(AuditEvent), where).order_by(AuditEvent.at, AuditEvent.id)
    for event in session.scalars(stmt.execution_options(yield_per=1000)):
        yield _row(event)
