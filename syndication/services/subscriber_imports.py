"""Importing subscriber files: exports with their history, and bare suppression lists.

``subscribers import`` reads this tool's own files, listmonk's and Mailchimp's exports
(:mod:`syndication.core.subscriber_imports` tells them apart and reads each row, purely);
:func:`import_row` is the one place that decides what a row does to an address, through
the lifecycle table's import rows. ``subscribers suppress --from`` lists addresses on the
suppression list. Files are read in batches, each batch one transaction; a bad row is
reported with its line and the rows beside it are kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.clock import utc_now
from syndication.core import privacy, subscriber_csv, subscriber_imports
from syndication.core.audit import SYSTEM, Actor
from syndication.core.privacy import ConsentSource
from syndication.core.subscribers import import_event
from syndication.errors import InputError, RecordError
from syndication.services.privacy import is_erased, refuse_if_erased
from syndication.services.subscribers import AddResult, queue_confirmation
from syndication.settings import Settings
from syndication.store import audit, subscribers
from syndication.store import database as db

if TYPE_CHECKING:
    from syndication.services.articles import Rejection


@dataclass
class SubscriberImportReport:
    added: int = 0
    updated: int = 0
    rejected: int = 0
    confirmations: int = 0  # sent now
    queued: int = 0  # queued (sent now, or by the deliver job's retries)
    suppressed: int = 0
    shape: str = ""
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def summary(self) -> str:
        waiting = self.queued - self.confirmations
        later = f", {waiting} queued to retry" if waiting > 0 else ""
        text = (
            f"{self.added} added, {self.updated} updated, {self.rejected} rejected, "
            f"{self.confirmations} confirmation mails sent{later}"
        )
        return f"{text}, {self.suppressed} on the suppression list" if self.suppressed else text


def import_subscribers_file(
    settings: Settings,
    engine: Engine,
    path: str,
    *,
    confirmed: bool,
    on_rejection: Callable[[Rejection], None],
    lists: Sequence[str] = (),
    batch_size: int = 500,
    now: Callable[[], datetime] = utc_now,
    actor: Actor | None = None,
) -> SubscriberImportReport:
    """Import a subscriber CSV with its history; bad rows are reported and skipped.

    The file is this tool's own (``email,name,lists``, or what ``subscribers export``
    writes), a listmonk or a Mailchimp export (:mod:`syndication.core.subscriber_imports`
    tells them apart by the header; ``lists`` names the lists for the exports that carry
    none). What each row does is :func:`import_row`'s. Rows the file does not mark
    confirmed are ``pending`` and sent the confirmation mail (after their batch is
    committed), unless ``confirmed`` says the operator holds their consent already.
    :class:`InputError` for a file that cannot be read or whose header is none of these.
    """
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    report = SubscriberImportReport()
    try:
        handle = Path(path).open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        # Bytes decoded line by line: one bad byte costs its row, not the rest of the file.
        lines = subscriber_csv.DecodedLines(handle)
        records = subscriber_csv.csv_records(lines, lines.bad)
        try:
            shape, rows = subscriber_imports.read_import(records, known, lists)
        except RecordError as exc:
            raise InputError(f"{path}:1: {exc}") from exc
        report.shape = str(shape.source) if shape else "empty file"
        while batch := list(itertools.islice(rows, batch_size)):
            at = now()
            with db.write_session(engine) as session:
                before = (report.added, report.updated, report.rejected, report.suppressed)
                to_confirm = _import_batch(
                    session, settings, path, batch, confirmed, report, on_rejection, at
                )
                # Each batch is an audit record of ``actor`` in the batch's transaction.
                audit.record(
                    session,
                    actor or SYSTEM,
                    "subscribers-import",
                    "import",
                    path,
                    at,
                    f"lines {batch[0][0]}-{batch[-1][0]}: "
                    f"{report.added - before[0]} added, {report.updated - before[1]} updated, "
                    f"{report.rejected - before[2]} rejected, "
                    f"{report.suppressed - before[3]} on the suppression list"
                    + (" (confirmed by the operator)" if confirmed else ""),
                )
                # Queued in the batch's transaction: a crash loses no confirmation.
                for subscriber_id in to_confirm:
                    queue_confirmation(session, subscriber_id, at)
                report.queued += len(to_confirm)
    if report.queued:
        # Sent once after the last batch; what the server did not take stays queued for
        # the deliver job's retries (syndication.services.transactional).
        from syndication.services.transactional import send_queued

        report.confirmations = send_queued(settings, engine, now)
    return report


def import_row(
    session: Session,
    row: subscriber_imports.ImportRow,
    *,
    confirmed: bool,
    source: str,
    now: datetime,
    secret_key: str,
    consent: ConsentSource | None = None,
    languages: Sequence[str] = (),
) -> AddResult | None:
    """What one imported row does: the one place an import decides about an address.

    The row's status gives the lifecycle table's event
    (:func:`syndication.core.subscribers.import_event`): confirmed stays confirmed with
    the file's opt-in time; unsubscribed, bounced and complained go on the suppression
    list (``source`` and the file's own word kept as the reason), where no later import
    or sign-up brings the address back; a row not marked confirmed is an add. A refused
    row raises :class:`RecordError`: a confirmed row for a suppressed address, or any
    row for an address erased at the person's request (``subscribers erase``: only a
    keyed hash of it is kept, and no import stores it again). ``None`` for an address
    put on the suppression list alone (an exported ``suppressed`` row with no record).
    """
    event = import_event(row.status, confirmed=confirmed)
    refuse_if_erased(session, secret_key, row.email, event)
    reason = f"imported from {source}: {row.said}" if row.said else f"imported from {source}"
    if not row.record:
        subscribers.suppress(session, row.email, reason, row.created_at or now)
        return None
    return subscribers.import_subscriber(
        session,
        row.email,
        row.name,
        row.lists,
        event,
        now,
        reason=reason,
        consented_at=row.opted_in_at,
        created_at=row.created_at,
        source=consent,
        locale=subscriber_csv.parse_language(row.language, languages),
    )


def _import_batch(
    session: Session,
    settings: Settings,
    path: str,
    batch: list[tuple[int, subscriber_imports.ImportRow | RecordError]],
    confirmed: bool,
    report: SubscriberImportReport,
    on_rejection: Callable[[Rejection], None],
    now: datetime,
) -> list[int]:
    """Import one batch of rows; the subscribers to send a confirmation mail to."""
    from syndication.services.articles import Rejection

    to_confirm: list[int] = []
    source = Path(path).name
    consent = ConsentSource(
        privacy.IMPORT, f"{source}, {'--confirmed' if confirmed else 'double opt-in'}"
    )
    for line, row in batch:
        try:
            if isinstance(row, RecordError):
                raise row
            result = import_row(
                session,
                row,
                confirmed=confirmed,
                source=f"{source} line {line}",
                now=now,
                secret_key=settings.secret_key,
                consent=consent,
                languages=settings.languages.available,
            )
        except RecordError as exc:
            rejection = Rejection(path, line, exc.field, exc.reason)
            report.rejected += 1
            report.rejections.append(rejection)
            on_rejection(rejection)
            continue
        if result is None:
            report.suppressed += 1
            continue
        if result.created:
            report.added += 1
        else:
            report.updated += 1
        if result.status in subscriber_imports.SUPPRESSING:
            report.suppressed += 1
        if result.needs_confirmation:
            to_confirm.append(result.subscriber_id)
    return to_confirm


@dataclass
class SuppressionReport:
    listed: int = 0
    already: int = 0
    rejected: int = 0

    @property
    def summary(self) -> str:
        return (
            f"{self.listed} put on the suppression list, {self.already} already on it, "
            f"{self.rejected} rejected"
        )


def suppress_from_file(
    settings: Settings,
    engine: Engine,
    path: str,
    *,
    by: str,
    on_rejection: Callable[[Rejection], None],
    batch_size: int = 500,
    now: Callable[[], datetime] = utc_now,
) -> SuppressionReport:
    """Put every address of a suppression list file on the suppression list.

    One address per line, or a CSV with an ``email`` column
    (:func:`subscriber_imports.read_suppression_list`). Safe to repeat: an address already
    listed keeps its first reason. A subscriber with a record takes the operator suppress
    of the lifecycle table. Invalid lines are reported with their numbers; the valid ones
    are kept, a transaction per batch.
    """
    from syndication.services.articles import Rejection

    db.require_current_schema(engine)
    report = SuppressionReport()
    try:
        handle = Path(path).open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    reason = f"suppression list {Path(path).name}, imported by {by}"
    with handle:
        lines = subscriber_csv.DecodedLines(handle)
        addresses = subscriber_imports.read_suppression_list(
            subscriber_csv.csv_records(lines, lines.bad)
        )
        while batch := list(itertools.islice(addresses, batch_size)):
            with db.write_session(engine) as session:
                at = now()
                for line, address in batch:
                    if isinstance(address, RecordError):
                        rejection = Rejection(path, line, address.field, address.reason)
                        report.rejected += 1
                        on_rejection(rejection)
                    elif subscribers.is_suppressed(session, address) or is_erased(
                        session, settings.secret_key, address
                    ):
                        # An erased address is barred by its keyed hash already: it is
                        # not written down again.
                        report.already += 1
                    else:
                        subscribers.suppress(session, address, reason, at)
                        report.listed += 1
    return report
