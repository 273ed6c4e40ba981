"""Subscribers: the one home of their use cases, each one transaction.

Signing up (the public form, ``subscribers add``), confirming, the preferences page,
unsubscribing, the console's suppress and restore, the export, and the console's search
and history; importing files is :mod:`syndication.services.subscriber_imports`'s. What each
event does to a subscriber is the lifecycle table's (:mod:`syndication.core.subscribers`),
which the store carries out.

Every way in (the form, ``subscribers add``, an import) first asks
:func:`syndication.services.privacy.refuse_if_erased` whether the address was erased or
expired, and names where it comes from for the consent record (:mod:`syndication.store.consent`).

A confirmation mail is queued in the transactional outbox in the transaction that makes
the sign-up request, then tried once at once and retried by the ``deliver`` job
(:mod:`syndication.services.transactional`); its renderers are only imported when one is
sent: the web app imports this module to serve every page.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from typing import IO, TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from syndication.clock import utc_now
from syndication.core import privacy, subscriber_csv
from syndication.core.audit import SYSTEM, Actor
from syndication.core.privacy import ConsentSource
from syndication.core.subscribers import Event, normalise_email, public_name
from syndication.errors import InputError, NotFoundError, RecordError, SyndicationError
from syndication.services.privacy import refuse_if_erased
from syndication.settings import Settings
from syndication.store import audit, bounces, mail_outbox, subscriber_queries, subscribers
from syndication.store import database as db
from syndication.store.models import SUBSCRIBER_STATUSES, Subscriber
from syndication.store.subscriber_queries import SubscriberFilter as SubscriberFilter
from syndication.store.subscriber_queries import SubscriberHistory as SubscriberHistory
from syndication.store.subscriber_queries import SubscriberRow as SubscriberRow
from syndication.store.subscribers import AddResult as AddResult
from syndication.store.subscribers import Preferences as Preferences

if TYPE_CHECKING:
    from syndication.services.transactional import MailResult


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


def sign_up(
    settings: Settings,
    engine: Engine,
    form: SignUp,
    now: datetime,
    client: str = "",
    may_mail: Callable[[str], bool] = lambda _address: True,
) -> int | None:
    """Record a sign-up and, in the same transaction, queue its confirmation mail;
    returns the mail's id, or ``None`` when nothing is to be mailed.

    ``may_mail(address)`` is asked only when a mail would be queued (the web's limit of
    confirmation mails per address). The answer to the visitor is the same either way
    (see the lifecycle table's sign-up row): the form must not tell who subscribes, nor
    that an address was erased. ``client`` (the visitor's IP address) goes in the
    consent record.
    """
    source = ConsentSource(privacy.WEB_FORM, f"{settings.site.base_url}/", client)
    with db.write_session(engine) as session:
        try:
            refuse_if_erased(session, settings.secret_key, form.email, Event.SIGN_UP)
        except RecordError:
            return None
        subscriber_id = subscribers.record_signup(
            session, form.email, form.name, form.lists, now, source=source, locale=form.locale
        )
        if subscriber_id is None or not may_mail(form.email):
            return None
        return queue_confirmation(session, subscriber_id, now)


def queue_confirmation(session: Session, subscriber_id: int, now: datetime) -> int:
    """Queue the confirmation mail of the subscriber's current sign-up request in the
    transactional outbox (:mod:`syndication.services.transactional`); returns its id."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    return mail_outbox.enqueue(
        session,
        "confirm",
        subscriber.email,
        now,
        subscriber_id=subscriber_id,
        request=subscriber.request_nonce or "",
    )


def send_mail_now(settings: Settings, engine: Engine, mail_id: int, now: datetime) -> MailResult:
    """Try one queued mail at once (:func:`syndication.services.transactional.send_now`)."""
    # Imported here: the renderers it needs are not loaded to serve a page or a feed.
    from syndication.services.transactional import send_now

    return send_now(settings, engine, mail_id, lambda: now)


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


def add_subscriber(
    settings: Settings,
    engine: Engine,
    email: str,
    lists: list[str],
    name: str,
    *,
    confirmed: bool,
    by: str = "an operator",
    language: str = "",
    actor: Actor | None = None,
) -> AddResult:
    """Add one address to ``lists`` (see :func:`subscribers.add_subscriber`); ``by``
    names the operator in the consent record; ``language`` the reader's languages
    (``ko``, ``ko,en``) when given."""
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
    event = Event.ADD_CONFIRMED if confirmed else Event.ADD
    source = ConsentSource(
        privacy.COMMAND_LINE, f"subscribers add{' --confirmed' * confirmed} by {by}"
    )
    try:
        with db.write_session(engine) as session:
            refuse_if_erased(session, settings.secret_key, email, event)
            result = subscribers.add_subscriber(
                session,
                email,
                name,
                lists,
                confirmed=confirmed,
                now=now,
                source=source,
                locale=locale,
            )
            mail_id = (
                queue_confirmation(session, result.subscriber_id, now)
                if result.needs_confirmation
                else None
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
    if mail_id is not None:
        sent = send_mail_now(settings, engine, mail_id, now)
        if sent.status != "sent":
            raise SyndicationError(
                f"{normalise_email(email)}: {result.status}; the confirmation mail is "
                f"queued but not sent yet ({sent.error or sent.status}); the scheduler's "
                "deliver job (or 'syndication send') retries it"
            )
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
    """Undo a bounce, complaint or suppression for one address; returns the new status
    (``"not subscribed"`` for an address that was on the suppression list with no
    subscriber record, as ``subscribers suppress --from`` lists them)."""
    address = normalise_email(email)
    with db.write_session(engine) as session:
        before = session.scalar(select(Subscriber.status).where(Subscriber.email == address))
        try:
            restored = bounces.restore(session, email, now)
        except NotFoundError:
            if not subscribers.lift_suppression(session, address):
                raise
            audit.record(
                session,
                actor or SYSTEM,
                "suppression-lift",
                "address",
                address,
                now,
                "taken off the suppression list (no subscriber record)",
            )
            return "not subscribed"
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


def export_subscribers(
    engine: Engine,
    out: IO[str],
    *,
    actor: Actor | None = None,
    where: SubscriberFilter | None = None,
) -> int:
    """Write every subscriber as CSV (:data:`subscriber_csv.EXPORT_HEADER`:
    ``email,name,lists,status,created_at,confirmed_at,language``, what ``subscribers
    import`` reads back), then the suppressed addresses with no record (status
    ``suppressed``); returns how many rows. ``where`` narrows it as the console's filter
    does (the same query; then the suppressed addresses with no record, which are no
    subscribers, are left out). An export is an audit record of ``actor`` (a copy of the
    mailing list left the store) naming the filter."""
    db.require_current_schema(engine)
    where = where or SubscriberFilter()
    writer = csv.writer(out, lineterminator="\n")
    count = -1  # the header is no subscriber
    for row in _export_rows(engine, where):
        writer.writerow(row)
        count += 1
    with db.write_session(engine) as session:
        audit.record(
            session,
            actor or SYSTEM,
            "subscribers-export",
            "export",
            "subscribers",
            utc_now(),
            f"{count} subscribers" + (f" ({_said(where)})" if where.narrows else ""),
        )
    return count


def _export_rows(engine: Engine, where: SubscriberFilter) -> Iterator[list[str]]:
    """What both exports write (the command's and the console's): the header, then each
    row of ``where`` with formula cells made inert (:func:`subscriber_csv.spreadsheet_safe`)."""
    yield list(subscriber_csv.EXPORT_HEADER)
    with db.read_session(engine) as session:
        for row in subscriber_queries.export_rows(session, where):
            yield [subscriber_csv.spreadsheet_safe(cell) for cell in row]


def _said(where: SubscriberFilter) -> str:
    parts = [("list", where.list_slug), ("status", where.status), ("q", where.query)]
    return "&".join(f"{name}={value}" for name, value in parts if value)


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


def export_csv(engine: Engine, where: SubscriberFilter) -> Iterator[str]:
    """The subscribers matching ``where`` (the console page's filter, read by the same
    query as :func:`page`) as CSV (:data:`subscriber_csv.EXPORT_HEADER`), a chunk at a
    time; with an empty filter everything ``syndication subscribers export`` writes."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    for row in _export_rows(engine, where):
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
