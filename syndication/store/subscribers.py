"""Subscribers in the store: addresses, their lists, consent and the suppression list.

Functions take a ``Session`` and leave transactions to the caller. What an event does to
a subscriber is decided by the lifecycle table, :func:`syndication.core.subscribers.after`;
:func:`apply` carries a :class:`~syndication.core.subscribers.Transition` out and nothing
here decides a state on its own. A transition that makes a sign-up request or records
consent also writes its consent record (:mod:`syndication.store.consent`) when the caller
says where the request came from. Parsing addresses and CSV rows is pure and lives in
``core`` (:mod:`syndication.core.subscribers`, :mod:`syndication.core.subscriber_csv`).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syndication.core import subscribers as lifecycle
from syndication.core.privacy import ConsentSource
from syndication.core.reader_languages import store_preferences, stored_preferences
from syndication.core.subscribers import (
    Event,
    Lists,
    Mail,
    Name,
    Request,
    Transition,
    Verdict,
    clean_name,
    normalise_email,
)
from syndication.errors import NotFoundError, RecordError
from syndication.store import consent
from syndication.store.models import Subscriber, Subscription, Suppression
from syndication.store.upsert import upsert


@dataclass(frozen=True)
class AddResult:
    """What adding an address did. ``needs_confirmation``: send the confirmation mail."""

    subscriber_id: int
    created: bool
    status: str
    needs_confirmation: bool


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(Suppression, email) is not None


def find_subscriber(session: Session, email: str) -> Subscriber:
    address = normalise_email(email)
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == address)
    ).scalar_one_or_none()
    if subscriber is None:
        raise NotFoundError(f"subscriber {address}: no such subscriber")
    return subscriber


def subscriber_lists(session: Session, subscriber_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Subscription.list_slug)
            .where(Subscription.subscriber_id == subscriber_id)
            .order_by(Subscription.list_slug)
        )
    )


def subscriber_locale(session: Session, subscriber_id: int) -> str:
    """A subscriber's languages as stored (``"ko,en"``); ``""`` when the row is gone."""
    locale = session.scalar(select(Subscriber.locale).where(Subscriber.id == subscriber_id))
    return locale or ""


def new_request_nonce() -> str:
    """A fresh name for one sign-up request (what a confirmation link is bound to)."""
    return secrets.token_urlsafe(16)


# -- carrying out a transition ------------------------------------------------------------


def apply(
    session: Session,
    subscriber: Subscriber,
    event: Event,
    now: datetime,
    *,
    lists: Sequence[str] = (),
    name: str = "",
    reason: str = "",
) -> Transition:
    """Look ``event`` up in the lifecycle table and do what it says to ``subscriber``.

    ``lists`` are the lists the event names (joined, chosen or left), ``name`` the name
    typed, ``reason`` why the address goes on the suppression list. An ignored or
    refused event changes nothing; the transition is returned for the caller to answer.
    """
    rule = lifecycle.after(subscriber.status, event)
    if rule.verdict is Verdict.APPLY:
        _carry_out(session, subscriber, rule, now, lists=lists, name=name, reason=reason)
    return rule


def _carry_out(
    session: Session,
    subscriber: Subscriber,
    rule: Transition,
    now: datetime,
    *,
    lists: Sequence[str],
    name: str,
    reason: str,
    consented_at: datetime | None = None,
) -> bool:
    """Apply one ``APPLY`` transition; True when it made a new sign-up request.

    ``consented_at`` is the opt-in time an imported file gives (see the table's ``c*``
    and ``k``); consent recorded by any other event is recorded now.
    """
    # What the pending request asked for before this event, to tell whether it changed.
    before = (
        (subscriber.name, set(subscriber_lists(session, subscriber.id)))
        if rule.request is Request.RENEW_IF_CHANGED
        else None
    )
    if rule.name is Name.SET or (rule.name is Name.IF_GIVEN and name.strip()):
        subscriber.name = clean_name(name)
    _change_lists(session, subscriber.id, rule.lists, lists, now)
    renewed = rule.request is Request.RENEW or (
        before is not None
        and (
            subscriber.request_nonce is None
            or subscriber.name != before[0]
            or not set(lists) <= before[1]
        )
    )
    if renewed:
        # A new request: links mailed for the previous one stop working, and the owner
        # gets a mail naming what this one asks for.
        subscriber.request_nonce = new_request_nonce()
    elif rule.request is Request.DROP:
        subscriber.request_nonce = None
    if rule.consent:
        subscriber.confirmed_at = consented_at or now
    elif rule.source_consent and consented_at is not None and subscriber.confirmed_at is None:
        subscriber.confirmed_at = consented_at
    if rule.suppression is lifecycle.Suppression.ADD:
        _add_suppression(session, subscriber.email, reason, now)
    elif rule.suppression is lifecycle.Suppression.LIFT:
        session.execute(delete(Suppression).where(Suppression.email == subscriber.email))
    assert rule.status is not None  # an APPLY row always names the state afterwards
    subscriber.status = rule.status.value
    subscriber.updated_at = now
    return renewed


def _change_lists(
    session: Session, subscriber_id: int, change: Lists, lists: Sequence[str], now: datetime
) -> None:
    if change is Lists.KEEP:
        return
    if change in (Lists.REPLACE, Lists.CLEAR):
        session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber_id))
    if change is Lists.LEAVE:
        session.execute(
            delete(Subscription).where(
                Subscription.subscriber_id == subscriber_id, Subscription.list_slug.in_(lists)
            )
        )
    if change in (Lists.ADD, Lists.REPLACE):
        upsert(
            session,
            Subscription.__table__,
            [{"subscriber_id": subscriber_id, "list_slug": s, "created_at": now} for s in lists],
            ["subscriber_id", "list_slug"],
            [],
        )


def _add_suppression(session: Session, address: str, reason: str, now: datetime) -> None:
    upsert(
        session,
        Suppression.__table__,
        [{"email": address, "reason": reason[:2000], "created_at": now}],
        ["email"],
        [],
    )


# -- signing up and adding ----------------------------------------------------------------


def add_subscriber(
    session: Session,
    email: str,
    name: str,
    lists: Sequence[str],
    *,
    confirmed: bool,
    now: datetime,
    source: ConsentSource | None = None,
    locale: str = "",
) -> AddResult:
    """Create or update a subscriber and subscribe it to ``lists`` (the CLI and CSV add).

    A new or previously unsubscribed address becomes ``pending`` (or ``active`` with
    ``confirmed``); an active one stays active and gains the lists. A suppressed address
    raises :class:`RecordError`; so does one that bounced or complained. ``source``
    (where the add comes from) goes in the consent record of a request it makes;
    ``locale`` (the reader's languages, ``"ko,en"``; checked by the caller) replaces
    theirs when given.
    """
    event = Event.ADD_CONFIRMED if confirmed else Event.ADD
    result = _enter(session, email, name, lists, event, now, source, locale=locale)
    assert result is not None  # an add is applied or refused, never ignored
    return result


def record_signup(
    session: Session,
    email: str,
    name: str,
    lists: Sequence[str],
    now: datetime,
    source: ConsentSource | None = None,
    locale: str = "",
) -> int | None:
    """Record a sign-up from the public form; the id to mail a confirmation to, or ``None``.

    A new, pending or unsubscribed address becomes ``pending`` with ``lists`` (and the
    languages ``locale``, when given). An active one keeps its lists, name and languages;
    one that bounced, complained or is suppressed is left alone (the table's sign-up row).
    The form answers the same either way.
    """
    result = _enter(session, email, name, lists, Event.SIGN_UP, now, source, locale=locale)
    return result.subscriber_id if result is not None and result.needs_confirmation else None


def import_subscriber(
    session: Session,
    email: str,
    name: str,
    lists: Sequence[str],
    event: Event,
    now: datetime,
    *,
    reason: str = "",
    consented_at: datetime | None = None,
    created_at: datetime | None = None,
    source: ConsentSource | None = None,
    locale: str = "",
) -> AddResult:
    """Carry out one imported row: ``event`` from :func:`lifecycle.import_event`.

    ``reason`` goes on the suppression list with an unsubscribe, bounce or complaint;
    ``consented_at`` and ``created_at`` are the times the file gives, kept on the record.
    A refused row raises :class:`RecordError`.
    """
    result = _enter(
        session,
        email,
        name,
        lists,
        event,
        now,
        source,
        reason=reason,
        consented_at=consented_at,
        created_at=created_at,
        locale=locale,
    )
    assert result is not None  # an import is applied or refused, never ignored
    return result


def _enter(
    session: Session,
    email: str,
    name: str,
    lists: Sequence[str],
    event: Event,
    now: datetime,
    source: ConsentSource | None = None,
    *,
    reason: str = "",
    consented_at: datetime | None = None,
    created_at: datetime | None = None,
    locale: str = "",
) -> AddResult | None:
    """A sign-up, add or import of ``email``: the result, ``None`` when ignored, or
    RecordError."""
    email = normalise_email(email)
    suppressed = is_suppressed(session, email)
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == email).with_for_update()
    ).scalar_one_or_none()
    rule = _admit(email, subscriber, event, suppressed)
    created = False
    if rule is not None and subscriber is None:
        subscriber, created = _insert(session, email, name, created_at or now, now, locale)
        if not created:  # signed up by someone else meanwhile: decide from what they left
            rule = _admit(email, subscriber, event, suppressed)
    if rule is None or subscriber is None:
        return None
    renewed = _carry_out(
        session,
        subscriber,
        rule,
        now,
        lists=lists,
        name=name,
        reason=reason,
        consented_at=consented_at,
    )
    if source is not None and (renewed or rule.consent):
        consent.record_entry(session, subscriber, source, lists, now, attested=rule.consent)
    needs_confirmation = rule.mail is Mail.YES or (rule.mail is Mail.IF_RENEWED and renewed)
    # A sign-up changes the languages only with the request it renews (the mailbox then
    # confirms it); an operator's add whenever it names them.
    if locale and (event is not Event.SIGN_UP or needs_confirmation):
        subscriber.locale = locale
    return AddResult(subscriber.id, created, subscriber.status, needs_confirmation)


def _admit(
    email: str, subscriber: Subscriber | None, event: Event, suppressed: bool
) -> Transition | None:
    """The transition to apply, ``None`` when the event is ignored; refused: RecordError."""
    rule = lifecycle.after(
        None if subscriber is None else subscriber.status, event, suppressed=suppressed
    )
    if rule.verdict is Verdict.REFUSE:
        raise RecordError("email", f"{email} {rule.reason}")
    return rule if rule.verdict is Verdict.APPLY else None


def _insert(
    session: Session, email: str, name: str, created_at: datetime, now: datetime, locale: str = ""
) -> tuple[Subscriber, bool]:
    """A new subscriber row (status set by the caller's transition), or the one that won.
    ``locale``: the reader's languages; none given, the column's old default ``en``
    (read as the primary language when the newsroom does not offer English)."""
    subscriber = Subscriber(
        email=email,
        name=clean_name(name),
        locale=locale or "en",
        status=lifecycle.Status.PENDING.value,
        created_at=created_at,
        updated_at=now,
    )
    try:
        # A savepoint: two sign-ups of one new address at once (PostgreSQL) must not end
        # in a unique violation; the second waits for the first, then updates it.
        with session.begin_nested():
            session.add(subscriber)
    except IntegrityError:
        found = session.execute(
            select(Subscriber).where(Subscriber.email == email).with_for_update()
        ).scalar_one()
        return found, False
    return subscriber, True


# -- confirming, leaving, suppressing -----------------------------------------------------


def confirm_subscriber(session: Session, subscriber_id: int, request: str, now: datetime) -> bool:
    """Activate a pending subscriber if ``request`` is its current sign-up request.

    True when the subscriber is now active through that request (also when the same link
    is followed again). False when the link belongs to a request that has since been
    replaced (someone re-submitted the address with other lists or another name), or the
    subscriber has left, bounced or complained: such a link changes nothing.
    Links from before requests were named (``request == ""``) still confirm a pending
    record nobody has changed since.
    """
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if request != (subscriber.request_nonce or ""):
        return False
    rule = apply(session, subscriber, Event.CONFIRM, now)
    if rule.verdict is Verdict.APPLY and rule.consent:
        lists = subscriber_lists(session, subscriber.id)
        consent.record_confirmation(session, subscriber, request, lists, now, by_link=True)
    return rule.verdict is not Verdict.REFUSE


def unsubscribe(
    session: Session, subscriber_id: int, now: datetime, list_slug: str = ""
) -> Subscriber | None:
    """Leave one list (``list_slug``) or every list; honoured at once, safe to repeat.

    Leaving the last list is unsubscribing. Returns ``None`` when the subscriber no
    longer exists (an old link), which callers treat as success.
    """
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        return None
    others = set(subscriber_lists(session, subscriber_id)) - {list_slug}
    if list_slug and others:
        apply(session, subscriber, Event.LEAVE_LIST, now, lists=[list_slug])
    else:
        apply(session, subscriber, Event.UNSUBSCRIBE, now)
    return subscriber


def lift_suppression(session: Session, email: str) -> bool:
    """Take an address with no subscriber record off the suppression list (an operator's
    restore); False when it was not on it."""
    return bool(
        session.execute(delete(Suppression).where(Suppression.email == email)).rowcount  # type: ignore[attr-defined]
    )


def suppress(
    session: Session, email: str, reason: str, now: datetime, event: Event = Event.SUPPRESS
) -> None:
    """Put an address on the suppression list and apply ``event`` to its subscriber.

    ``event`` is why: an operator's :attr:`~Event.SUPPRESS`, a hard bounce, a complaint.
    An address nobody subscribed with is listed all the same.
    """
    address = email.strip().lower()
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.email == address)
    ).scalar_one_or_none()
    if subscriber is not None:
        rule = apply(session, subscriber, event, now, reason=reason)
        if rule.verdict is Verdict.APPLY and rule.suppression is lifecycle.Suppression.ADD:
            return  # listed by the transition itself
    _add_suppression(session, address, reason, now)


# -- the preferences page --------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email: str
    name: str
    status: str
    lists: list[str]
    locale: str = "en"  # the reader's languages, ``"ko,en"`` (see core.reader_languages)


def load_preferences(session: Session, subscriber_id: int) -> Preferences:
    """A subscriber's address, name, status and lists; :class:`NotFoundError` if gone."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    return Preferences(
        subscriber.email,
        subscriber.name,
        subscriber.status,
        subscriber_lists(session, subscriber_id),
        subscriber.locale,
    )


def save_preferences(
    session: Session,
    subscriber_id: int,
    *,
    leave: bool,
    chosen: Sequence[str],
    known: Collection[str],
    name: str,
    now: datetime,
    locale: str = "",
) -> None:
    """Apply the preferences form. Choosing no list is the same as leaving everything.
    ``locale`` (checked by the caller), when given, goes first in the reader's languages;
    the others they had follow in their order (``ko,en`` choosing ``en`` is ``en,ko``).

    An unsubscribed subscriber who picks lists again is active again: the preferences
    link came to their mailbox, which is the consent double opt-in asks for. Bounced or
    complained addresses keep their status. Unknown list slugs are ignored.
    """
    lists = [slug for slug in dict.fromkeys(chosen) if slug in known]
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if locale:
        chosen = stored_preferences(locale)
        rest = [tag for tag in stored_preferences(subscriber.locale) if tag not in chosen]
        subscriber.locale = store_preferences(chosen + rest, chosen[0])
    if leave or not lists:
        apply(session, subscriber, Event.CHOOSE_NONE, now)
    else:
        rule = apply(session, subscriber, Event.CHOOSE_LISTS, now, lists=lists, name=name)
        if rule.verdict is Verdict.APPLY and rule.consent:
            consent.record_confirmation(session, subscriber, "", lists, now, by_link=False)
