"""The audit log (issue 28): reading it for the console, exporting it, and recording the
few actions that have no transaction of their own to ride in (a test send, an export).

Every other action is recorded by the service that performs it, in the action's own
transaction (:func:`syndication.store.audit.record`): unsubscribe, suppress, restore,
retract, digest state changes, sign-ins, failures and locks, user changes, imports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import StringIO

from sqlalchemy import Engine

from syndication.core.audit import Actor
from syndication.core.subscriber_csv import spreadsheet_safe
from syndication.store import audit as store
from syndication.store import database as db
from syndication.store.audit import AuditFilter as AuditFilter
from syndication.store.audit import AuditRow as AuditRow

CSV_HEADER = (
    "at",
    "actor",
    "source",
    "client",
    "action",
    "subject_kind",
    "subject_key",
    "detail",
)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int


def record(
    engine: Engine,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_key: str,
    now: datetime,
    detail: str = "",
) -> None:
    """Record an action that wrote nothing else (a test send, an export), in a
    transaction of its own."""
    with db.write_session(engine) as session:
        store.record(session, actor, action, subject_kind, subject_key, now, detail)


def events(engine: Engine, where: AuditFilter, limit: int, offset: int = 0) -> AuditPage:
    """One page of the audit log, newest first, and how many rows match in all."""
    with db.read_session(engine) as session:
        return AuditPage(store.page(session, where, limit, offset), store.count(session, where))


def about(engine: Engine, subject_kind: str, subject_key: str, limit: int = 100) -> list[AuditRow]:
    """The newest actions on one thing (a subscriber, a digest, an article)."""
    where = AuditFilter(subject_kind=subject_kind, subject_key=subject_key)
    with db.read_session(engine) as session:
        return store.page(session, where, limit)


def export_csv(engine: Engine, where: AuditFilter) -> Iterator[str]:
    """The matching rows as CSV (:data:`CSV_HEADER`), oldest first, a chunk at a time;
    times in UTC (ISO 8601), cells that a spreadsheet would run made inert."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    with db.read_session(engine) as session:
        for row in store.every(session, where):
            writer.writerow(
                [
                    row.at.isoformat(),
                    *(
                        spreadsheet_safe(value)
                        for value in (
                            row.actor,
                            row.source,
                            row.client,
                            row.action,
                            row.subject_kind,
                            row.subject_key,
                            row.detail,
                        )
                    ),
                ]
            )
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
