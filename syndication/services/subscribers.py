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

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.clock import utc_now
from syndication.core import subscriber_csv
from syndication.core.subscribers import normalise_email, public_name
from syndication.errors import InputError, NotFoundError, RecordError, SyndicationError
from syndication.settings import Settings
from syndication.store import bounces, subscriber_queries, subscribers
from syndication.store import database as db
from syndication.store.models import Subscriber
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
    locale: str = ""  # the reader's languages as stored; "" keeps the default


def read_sign_up(
    settings: Settings, email: str, name: str, requested: Sequence[str], language: str = ""
) -> SignUp:
    """The form's fields checked: :class:`RecordError` with a reason for the visitor.

    Unknown list slugs are dropped; at least one known list must remain. ``language``
    must be one of ``[languages] available`` (by BCP 47 lookup) when given.
    """
    known = {ml.slug for ml in settings.lists}
    chosen = [slug for slug in dict.fromkeys(requested) if slug in known]
    checked = SignUp(normalise_email(email), public_name(name), chosen)
    if not chosen:
        raise RecordError("lists", "Choose at least one list.")
    locale = _checked_locale(settings, language)
    return SignUp(checked.email, checked.name, chosen, locale)


def _checked_locale(settings: Settings, raw: str) -> str:
    """``raw`` (``"ko"``, ``"ko,en"``) as stored in ``subscribers.locale``, ``""`` for no
    choice; :class:`RecordError` for a tag the newsroom does not offer (as a CSV cell)."""
    return subscriber_csv.parse_language(raw, settings.languages.available)


def sign_up(engine: Engine, form: SignUp, now: datetime) -> int | None:
    """Record a sign-up; the subscriber to mail a confirmation to, or ``None``.

    The answer to the visitor is the same either way (see the lifecycle table's sign-up
    row): the form must not tell who subscribes.
    """
    with db.write_session(engine) as session:
        return subscribers.record_signup(
            session, form.email, form.name, form.lists, now, form.locale
        )


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


def reader_locale(engine: Engine, subscriber_id: int) -> str:
    """A subscriber's languages as stored (``"ko,en"``), ``""`` when gone: what the pages
    behind a link in their mail are written in."""
    with db.read_session(engine) as session:
        return subscribers.subscriber_locale(session, subscriber_id)


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
    language: str = "",
) -> None:
    """Apply the preferences form (see :func:`subscribers.save_preferences`). A language
    the newsroom does not offer (only a forged form sends one) leaves the reader's as is."""
    try:
        locale = _checked_locale(settings, language)
    except RecordError:
        locale = ""
    with db.write_session(engine) as session:
        subscribers.save_preferences(
            session,
            subscriber_id,
            leave=leave,
            chosen=chosen,
            known=[ml.slug for ml in settings.lists],
            name=name,
            now=now,
            locale=locale,
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
) -> SubscriberImportReport:
    """Import ``email,name,lists`` CSV rows; bad rows are reported and skipped.

    New addresses are ``pending`` and are sent the confirmation mail (after their batch
    is committed), unless ``confirmed`` says the operator holds their consent already.
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
        rows = subscriber_csv.read_subscriber_csv(
            lines, known, lines.bad, settings.languages.available
        )
        while batch := list(itertools.islice(rows, batch_size)):
            now = utc_now()
            with db.write_session(engine) as session:
                to_confirm = _import_batch(
                    session, path, batch, confirmed, report, on_rejection, now
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
                session,
                row.email,
                row.name,
                row.lists,
                confirmed=confirmed,
                now=now,
                locale=row.locale,
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
    language: str = "",
) -> AddResult:
    """Add one address to ``lists`` (see :func:`subscribers.add_subscriber`), with the
    reader's languages when ``language`` names them (``ko``, ``ko,en``)."""
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    unknown = [slug for slug in lists if slug not in known]
    choices = ", ".join(sorted(known))
    if not lists:
        raise InputError(f"--list: name at least one list ({choices})")
    if unknown:
        # A named thing that does not exist: exit 1, as for every command (README, The CLI).
        raise NotFoundError(f"--list: unknown list {unknown[0]!r} (lists: {choices})")
    try:
        locale = _checked_locale(settings, language)
    except RecordError as exc:
        raise InputError(f"--language: {exc.reason}") from None
    now = utc_now()
    try:
        with db.write_session(engine) as session:
            result = subscribers.add_subscriber(
                session, email, name, lists, confirmed=confirmed, now=now, locale=locale
            )
    except RecordError as exc:
        raise InputError(f"{email}: {exc.reason}") from exc
    if result.needs_confirmation:
        mail_confirmation(settings, engine, result.subscriber_id, now)
    return result


def remove_subscriber(engine: Engine, email: str) -> None:
    """Unsubscribe an address from every list at once (the row is kept, for the record)."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        subscriber = subscribers.find_subscriber(session, email)
        subscribers.unsubscribe(session, subscriber.id, utc_now())


def restore_address(engine: Engine, email: str, now: datetime) -> str:
    """Undo a bounce, complaint or suppression for one address; returns the new status."""
    with db.write_session(engine) as session:
        return bounces.restore(session, email, now).status


def export_subscribers(engine: Engine, out: IO[str]) -> int:
    """Write every subscriber as CSV ``email,name,lists,status,language``; returns how
    many."""
    db.require_current_schema(engine)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(subscriber_csv.EXPORT_HEADER)
    count = 0
    with db.read_session(engine) as session:
        for row in subscriber_queries.export_rows(session):
            writer.writerow([subscriber_csv.spreadsheet_safe(cell) for cell in row])
            count += 1
    return count


# -- the console --------------------------------------------------------------------------


def search(engine: Engine, query: str) -> list[SubscriberRow]:
    """Subscribers whose address or name contains ``query`` (any case), by address."""
    with db.read_session(engine) as session:
        return subscriber_queries.search_subscribers(session, query)


def history(engine: Engine, subscriber_id: int) -> SubscriberHistory | None:
    """A subscriber, their lists, every delivery to them and why they are suppressed."""
    with db.read_session(engine) as session:
        return subscriber_queries.subscriber_history(session, subscriber_id)


def _subscriber(session: Session, subscriber_id: int) -> Subscriber:
    found = session.get(Subscriber, subscriber_id, with_for_update=True)
    if found is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    return found


def unsubscribe(engine: Engine, subscriber_id: int, now: datetime) -> str:
    """Take a subscriber off every list (as their own unsubscribe link would)."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        subscribers.unsubscribe(session, subscriber_id, now)
        return found.email


def suppress(engine: Engine, subscriber_id: int, by: str, now: datetime) -> str:
    """Never mail this address again: on the suppression list, marked unsubscribed
    (unless it had bounced or complained; the lifecycle table's operator suppress)."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        subscribers.suppress(session, found.email, f"suppressed by {by}", now)
        return found.email


RESTORABLE = ("bounced", "complained")


class NothingToRestore(SyndicationError):
    """Restore asked for a reader with no bounce, complaint or suppression to undo."""


def restore(engine: Engine, subscriber_id: int, now: datetime) -> str:
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
        bounces.restore(session, found.email, now)
        return found.email


def export_csv(engine: Engine) -> Iterator[str]:
    """Every subscriber as CSV (``email,name,lists,status,language``), a chunk at a time,
    as ``syndication subscribers export`` writes it."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow(subscriber_csv.EXPORT_HEADER)
    with db.read_session(engine) as session:
        for row in subscriber_queries.export_rows(session):
            # The same protection as `subscribers export` (formula cells made inert).
            writer.writerow([subscriber_csv.spreadsheet_safe(v) for v in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
