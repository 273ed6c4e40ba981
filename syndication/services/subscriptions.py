"""Subscriber units of work: CSV import, add, remove, export."""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from syndication.clock import utc_now
from syndication.core import subscriber_csv
from syndication.errors import InputError, RecordError
from syndication.services.articles import Rejection
from syndication.services.delivery import (
    send_confirmation,
)
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import subscribers

log = logging.getLogger(__name__)


@dataclass
class SubscriberImportReport:
    added: int = 0
    updated: int = 0
    rejected: int = 0
    confirmations: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.rejected} rejected, "
            f"{self.confirmations} confirmation mails sent"
        )


def import_subscribers_file(
    settings: Settings,
    engine: Engine,
    path: str,
    *,
    confirmed: bool,
    on_rejection: Callable[[Rejection], None],
    batch_size: int = 500,
) -> SubscriberImportReport:
    """Import ``email,name,lists`` CSV rows; bad rows are reported and skipped.

    New addresses are ``pending`` and are sent the confirmation mail (after their batch
    is committed), unless ``confirmed`` says the operator holds their consent already.
    """
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    report = SubscriberImportReport()
    source = Path(path)
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc

    def reject(line: int, error: RecordError) -> None:
        rejection = Rejection(path, line, error.field, error.reason)
        report.rejected += 1
        report.rejections.append(rejection)
        on_rejection(rejection)

    with handle:
        # Bytes decoded line by line: one bad byte costs its row, not the rest of the file.
        lines = subscriber_csv.DecodedLines(handle)
        rows = subscriber_csv.read_subscriber_csv(lines, known, lines.bad)
        while True:
            batch = list(itertools.islice(rows, batch_size))
            if not batch:
                break
            to_confirm: list[int] = []
            now = utc_now()
            with db.write_session(engine) as session:
                for line, row in batch:
                    if isinstance(row, RecordError):
                        reject(line, row)
                        continue
                    try:
                        result = subscribers.add_subscriber(
                            session,
                            row.email,
                            row.name,
                            row.lists,
                            confirmed=confirmed,
                            now=now,
                        )
                    except RecordError as exc:
                        reject(line, exc)
                        continue
                    if result.created:
                        report.added += 1
                    else:
                        report.updated += 1
                    if result.needs_confirmation:
                        to_confirm.append(result.subscriber_id)
            for subscriber_id in to_confirm:
                send_confirmation(settings, engine, subscriber_id, now)
                report.confirmations += 1
    return report


def add_subscriber(
    settings: Settings,
    engine: Engine,
    email: str,
    lists: list[str],
    name: str,
    *,
    confirmed: bool,
) -> subscribers.AddResult:
    """Add one address to ``lists`` (see :func:`subscribers.add_subscriber`)."""
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    unknown = [slug for slug in lists if slug not in known]
    if unknown or not lists:
        choices = ", ".join(sorted(known))
        raise InputError(
            f"--list: unknown list {unknown[0]!r} (lists: {choices})"
            if unknown
            else f"--list: name at least one list ({choices})"
        )
    now = utc_now()
    try:
        with db.write_session(engine) as session:
            result = subscribers.add_subscriber(
                session, email, name, lists, confirmed=confirmed, now=now
            )
    except RecordError as exc:
        raise InputError(f"{email}: {exc.reason}") from exc
    if result.needs_confirmation:
        send_confirmation(settings, engine, result.subscriber_id, now)
    return result


def remove_subscriber(engine: Engine, email: str) -> None:
    """Unsubscribe an address from every list at once (the row is kept, for the record)."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        subscriber = subscribers.find_subscriber(session, email)
        subscribers.unsubscribe(session, subscriber.id, utc_now())


def export_subscribers(engine: Engine, out: IO[str]) -> int:
    """Write every subscriber as CSV ``email,name,lists,status``; returns how many."""
    db.require_current_schema(engine)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*subscriber_csv.CSV_HEADER, "status"])
    count = 0
    with db.read_session(engine) as session:
        for row in subscribers.export_rows(session):
            writer.writerow([subscriber_csv.spreadsheet_safe(cell) for cell in row])
            count += 1
    return count
