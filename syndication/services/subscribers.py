"""Subscribers: the one home of their use cases, each one transaction.

Signing up (the public form, ``subscribers add``, a CSV import), confirming, the
preferences page, unsubscribing, the console's suppress and restore, the export, and the
console's search and history. What each event does to a subscriber is the lifecycle
table's (:mod:`syndication.core.subscribers`), which the store carries out; reading CSV is
pure (:mod:`syndication.core.subscriber_csv`) and the file is opened here.

The confirmation mail is sent after its transaction commits, and its renderers are only
imported when one is sent: the web app imports this module to serve every page.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from syndication.clock import utc_now
from syndication.core import subscriber_csv
from syndication.core.audit import SYSTEM, Actor
from syndication.core.subscribers import normalise_email, public_name
from syndication.errors import InputError, NotFoundError, RecordError, SyndicationError
from syndication.settings import Settings
from syndication.store import audit, bounces, subscriber_queries, subscribers
from syndication.store import database as db
from syndication.store.models import SUBSCRIBER_STATUSES, Subscriber
from syndication.store.subscriber_queries import SubscriberFilter as SubscriberFilter
from syndication.store.subscriber_queries import SubscriberHistory as SubscriberHistory
from syndication.store.subscriber_queries import SubscriberRow as SubscriberRow
from syndication.store.subscribers import AddResult as AddResult
from syndication.store.subscribers import Preferences as Preferences

if TYPE_CHECKING:
    from syndication.services.articles import Rejection


# -- the public form ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    """A checked sign-up from the public form."""

    email: str
    name: str
    lists: list[str]


def read_sign_up(settings: Settings, email: str, name: str, requested: Sequence[str]) -> SignUp:
    """The form's fields checked: :class:`RecordError` with a reason for the visitor.

    Unknown list slugs are dropped; at least one known list must remain.
    """
    known = {ml.slug for ml in settings.lists}
    chosen = [slug for slug in dict.fromkeys(requested) if slug in known]
    checked = SignUp(normalise_email(email), public_name(name), chosen)
    if not chosen:
        raise RecordError("lists", "Choose at least one list.")
    return checked


def sign_up(engine: Engine, form: SignUp, now: datetime) -> int | None:
    """Record a sign-up; the subscriber to mail a confirmation to, or ``None``.

    The answer to the visitor is the same either way (see the lifecycle table's sign-up
    row): the form must not tell who subscribes.
    """
    with db.write_session(engine) as session:
        return subscribers.record_signup(session, form.email, form.name, form.lists, now)


def mail_confirmation(
    settings: Settings, engine: Engine, subscriber_id: int, now: datetime
) -> None:
    """Send the confirmation mail for the subscriber's current sign-up request."""
    # Imported here: the renderers it needs are not loaded to serve a page or a feed.
    from syndication.services.delivery import send_confirmation

    send_confirmation(settings, engine, subscriber_id, now)


# -- the links in our mail ----------------------------------------------------------------


def confirm(engine: Engine, subscriber_id: int, request: str, now: datetime) -> bool:
    """Follow a confirmation link (see :func:`subscribers.confirm_subscriber`)."""
    with db.write_session(engine) as session:
        return subscribers.confirm_subscriber(session, subscriber_id, request, now)


def leave(engine: Engine, subscriber_id: int, list_slug: str, now: datetime) -> None:
    """An unsubscribe link or RFC 8058 one-click: leave ``list_slug`` (or every list with
    ``""``); honoured at once, also when repeated or when the subscriber is gone."""
    with db.write_session(engine) as session:
        subscribers.unsubscribe(session, subscriber_id, now, list_slug)


def load_preferences(engine: Engine, subscriber_id: int) -> Preferences:
    """A subscriber's address, name, status and lists; :class:`NotFoundError` if gone."""
    with db.read_session(engine) as session:
        return subscribers.load_preferences(session, subscriber_id)


def save_preferences(
    settings: Settings,
    engine: Engine,
    subscriber_id: int,
    *,
    leave: bool,
    chosen: Sequence[str],
    name: str,
    now: datetime,
) -> None:
    """Apply the preferences form (see :func:`subscribers.save_preferences`)."""
    with db.write_session(engine) as session:
        subscribers.save_preferences(
            session,
            subscriber_id,
            leave=leave,
            chosen=chosen,
            known=[ml.slug for ml in settings.lists],
            name=name,
            now=now,
        )


# -- the CLI and CSV ----------------------------------------------------------------------


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
    actor: Actor | None = None,
) -> SubscriberImportReport:
    """Import ``email,name,lists`` CSV rows; bad rows are reported and skipped.

    New addresses are ``pending`` and are sent the confirmation mail (after their batch
    is committed), unless ``confirmed`` says the operator holds their consent already.
    Each batch is an audit record of ``actor`` in the batch's transaction (its lines and
    counts).
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
        rows = subscriber_csv.read_subscriber_csv(lines, known, lines.bad)
        while batch := list(itertools.islice(rows, batch_size)):
            now = utc_now()
            with db.write_session(engine) as session:
                before = (report.added, report.updated, report.rejected)
                to_confirm = _import_batch(
                    session, path, batch, confirmed, report, on_rejection, now
                )
                added, updated, rejected = (
                    report.added - before[0],
                    report.updated - before[1],
                    report.rejected - before[2],
                )
                audit.record(
                    session,
                    actor or SYSTEM,
                    "subscribers-import",
                    "import",
                    path,
                    now,
                    f"lines {batch[0][0]}-{batch[-1][0]}: {added} added, {updated} updated, "
                    f"{rejected} rejected" + (" (confirmed by the operator)" if confirmed else ""),
                )
            for subscriber_id in to_confirm:
                mail_confirmation(settings, engine, subscriber_id, now)
                report.confirmations += 1
    return report


def _import_batch(
    session: Session,
    path: str,
    batch: list[tuple[int, subscriber_csv.SubscriberRow | RecordError]],
    confirmed: bool,
    report: SubscriberImportReport,
    on_rejection: Callable[[Rejection], None],
    now: datetime,
) -> list[int]:
    """Add one batch of rows; the subscribers to send a confirmation mail to."""
    from syndication.services.articles import Rejection

    to_confirm: list[int] = []
    for line, row in batch:
        try:
            if isinstance(row, RecordError):
                raise row
            result = subscribers.add_subscriber(
                session, row.email, row.name, row.lists, confirmed=confirmed, now=now
            )
        except RecordError as exc:
            rejection = Rejection(path, line, exc.field, exc.reason)
            report.rejected += 1
            report.rejections.append(rejection)
            on_rejection(rejection)
            continue
        if result.created:
            report.added += 1
        else:
            report.updated += 1
        if result.needs_confirmation:
            to_confirm.append(result.subscriber_id)
    return to_confirm


def add_subscriber(
    settings: Settings,
    engine: Engine,
    email: str,
    lists: list[str],
    name: str,
    *,
    confirmed: bool,
    actor: Actor | None = None,
) -> AddResult:
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
            audit.record(
                session,
                actor or SYSTEM,
                "subscriber-add",
                "subscriber",
                str(result.subscriber_id),
                now,
                f"{normalise_email(email)} to {', '.join(lists)}: {result.status}"
                + (" (confirmed by the operator)" if confirmed else ""),
            )
    except RecordError as exc:
        raise InputError(f"{email}: {exc.reason}") from exc
    if result.needs_confirmation:
        mail_confirmation(settings, engine, result.subscriber_id, now)
    return result


def remove_subscriber(engine: Engine, email: str, *, actor: Actor | None = None) -> None:
    """Unsubscribe an address from every list at once (the row is kept, for the record)."""
    db.require_current_schema(engine)
    now = utc_now()
    with db.write_session(engine) as session:
        subscriber = subscribers.find_subscriber(session, email)
        before = subscriber.status
        subscribers.unsubscribe(session, subscriber.id, now)
        _record(session, actor, "subscriber-unsubscribe", subscriber, before, now)


def restore_address(
    engine: Engine, email: str, now: datetime, *, actor: Actor | None = None
) -> str:
    """Undo a bounce, complaint or suppression for one address; returns the new status."""
    with db.write_session(engine) as session:
        before = session.scalar(
            select(Subscriber.status).where(Subscriber.email == normalise_email(email))
        )
        restored = bounces.restore(session, email, now)
        _record(session, actor, "subscriber-restore", restored, before or "", now)
        return restored.status


def _record(
    session: Session,
    actor: Actor | None,
    action: str,
    subscriber: Subscriber,
    before: str,
    now: datetime,
) -> None:
    """The audit record of an action on one subscriber: their address, status before and
    after (the row's key is their id, so it follows a changed address)."""
    audit.record(
        session,
        actor or SYSTEM,
        action,
        "subscriber",
        str(subscriber.id),
        now,
        f"{subscriber.email}: {before} -> {subscriber.status}",
    )


def export_subscribers(engine: Engine, out: IO[str], *, actor: Actor | None = None) -> int:
    """Write every subscriber as CSV ``email,name,lists,status``; returns how many. An
    export is an audit record of ``actor`` (a copy of the mailing list left the store)."""
    db.require_current_schema(engine)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*subscriber_csv.CSV_HEADER, "status"])
    count = 0
    with db.read_session(engine) as session:
        for row in subscriber_queries.export_rows(session):
            writer.writerow([subscriber_csv.spreadsheet_safe(cell) for cell in row])
            count += 1
    with db.write_session(engine) as session:
        audit.record(
            session,
            actor or SYSTEM,
            "subscribers-export",
            "export",
            "subscribers",
            utc_now(),
            f"{count} subscribers",
        )
    return count


# -- the console --------------------------------------------------------------------------


STATUSES = SUBSCRIBER_STATUSES


@dataclass(frozen=True)
class SubscriberPage:
    rows: list[SubscriberRow]
    total: int


def page(engine: Engine, where: SubscriberFilter, limit: int, offset: int = 0) -> SubscriberPage:
    """One page of the subscribers matching ``where`` (by address) and how many match in
    all, read in one transaction so the two agree. A first page that is not full is every
    match: then the count costs no second pass (a search for one reader, on SQLite a scan)."""
    with db.read_session(engine) as session:
        rows = subscriber_queries.subscriber_page(session, where, limit, offset)
        if offset == 0 and len(rows) < limit:
            return SubscriberPage(rows, len(rows))
        return SubscriberPage(rows, subscriber_queries.count_subscribers(session, where))


def history(engine: Engine, subscriber_id: int) -> SubscriberHistory | None:
    """A subscriber, their lists, every delivery to them and why they are suppressed."""
    with db.read_session(engine) as session:
        return subscriber_queries.subscriber_history(session, subscriber_id)


def _subscriber(session: Session, subscriber_id: int) -> Subscriber:
    found = session.get(Subscriber, subscriber_id, with_for_update=True)
    if found is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    return found


def unsubscribe(
    engine: Engine, subscriber_id: int, now: datetime, *, actor: Actor | None = None
) -> str:
    """Take a subscriber off every list (as their own unsubscribe link would)."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        before = found.status
        subscribers.unsubscribe(session, subscriber_id, now)
        _record(session, actor, "subscriber-unsubscribe", found, before, now)
        return found.email


def suppress(engine: Engine, subscriber_id: int, by: Actor | str, now: datetime) -> str:
    """Never mail this address again: on the suppression list, marked unsubscribed
    (unless it had bounced or complained; the lifecycle table's operator suppress)."""
    actor = by if isinstance(by, Actor) else Actor.system(by)
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        before = found.status
        subscribers.suppress(session, found.email, f"suppressed by {actor.label}", now)
        _record(session, actor, "subscriber-suppress", found, before, now)
        return found.email


RESTORABLE = ("bounced", "complained")


class NothingToRestore(SyndicationError):
    """Restore asked for a reader with no bounce, complaint or suppression to undo."""


def restore(
    engine: Engine, subscriber_id: int, now: datetime, *, actor: Actor | None = None
) -> str:
    """Undo a bounce, complaint or suppression, as ``syndication subscribers restore``
    does (one implementation: :func:`syndication.store.bounces.restore`).

    Refused (:class:`NothingToRestore`) for a reader who is neither bounced, complained
    nor suppressed: the console must not report a restore that changed nothing."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        if found.status not in RESTORABLE and not subscribers.is_suppressed(session, found.email):
            raise NothingToRestore(
                f"{found.email}: nothing to restore (the reader is {found.status}, "
                "with no bounce, complaint or suppression in force)"
            )
        before = found.status
        bounces.restore(session, found.email, now)
        _record(session, actor, "subscriber-restore", found, before, now)
        return found.email


def export_csv(engine: Engine) -> Iterator[str]:
    """Every subscriber as CSV (``email,name,lists,status``), a chunk at a time, as
    ``syndication subscribers export`` writes it."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*subscriber_csv.CSV_HEADER, "status"])
    with db.read_session(engine) as session:
        for row in subscriber_queries.export_rows(session):
            # The same protection as `subscribers export` (formula cells made inert).
            writer.writerow([subscriber_csv.spreadsheet_safe(v) for v in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
