"""What the web pages read and write. Functions take a ``Session``; the caller
(:mod:`syndication.web.app`) owns the transaction, as the job layer does elsewhere."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from syndication.core.mime import NAME_FALLBACK
from syndication.core.placeholders import PLACEHOLDER_RE
from syndication.errors import NotFoundError, RecordError
from syndication.store import articles as store
from syndication.store import outbox, subscribers
from syndication.store.models import Digest, JobRun, Subscriber

FEEDS_COUNTER = "feeds_built"


def record_signup(
    session: Session, email: str, name: str, lists: Sequence[str], now: datetime
) -> int | None:
    """Record a sign-up from the public form; the id to mail a confirmation to, or ``None``.

    A new, pending or unsubscribed address becomes ``pending`` with ``lists``. An active
    one keeps its lists and name (a stranger must not change them; the owner uses the
    preferences link in every digest); one that bounced, complained or is suppressed is
    left alone. The form answers the same either way.
    """
    status = session.execute(
        select(Subscriber.status).where(Subscriber.email == email)
    ).scalar_one_or_none()
    if status is not None and status not in ("pending", "unsubscribed"):
        return None
    try:
        result = subscribers.add_subscriber(session, email, name, lists, confirmed=False, now=now)
    except RecordError:
        return None
    return result.subscriber_id if result.status == "pending" else None


@dataclass(frozen=True)
class Preferences:
    email: str
    name: str
    status: str
    lists: list[str]


def load_preferences(session: Session, subscriber_id: int) -> Preferences:
    """A subscriber's address, name, status and lists; :class:`NotFoundError` if gone."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    return Preferences(
        subscriber.email,
        subscriber.name,
        subscriber.status,
        subscribers.subscriber_lists(session, subscriber_id),
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
) -> None:
    """Apply the preferences form. Choosing no list is the same as leaving everything.

    An unsubscribed subscriber who picks lists again is active again: the preferences
    link came to their mailbox, which is the consent double opt-in asks for. Bounced or
    complained addresses keep their status. Unknown list slugs are ignored.
    """
    lists = [slug for slug in dict.fromkeys(chosen) if slug in known]
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFoundError("this subscription no longer exists")
    if leave or not lists:
        subscribers.unsubscribe(session, subscriber_id, now)
        return
    subscriber.name = subscribers.clean_name(name)
    subscribers.set_lists(session, subscriber_id, lists, now)
    if subscriber.status == "unsubscribed":
        subscriber.status, subscriber.confirmed_at = "active", now
    subscriber.updated_at = now


def digest_index(session: Session) -> list[tuple[str, str, str]]:
    """``(list slug, period key, subject)`` of every stored digest, newest first."""
    rows = session.execute(
        select(Digest.list_slug, Digest.period_key, Digest.subject).order_by(
            Digest.period_key.desc(), Digest.list_slug
        )
    )
    return [(slug, period, subject) for slug, period, subject in rows]


def digest_html(session: Session, list_slug: str, period_key: str) -> str | None:
    return session.execute(
        select(Digest.html).where(Digest.list_slug == list_slug, Digest.period_key == period_key)
    ).scalar_one_or_none()


def public_copy(html: str, base_url: str) -> str:
    """A stored digest as the public archive shows it: per-recipient placeholders neutral.

    The renderer leaves ``%%SYNDICATION:NAME%%`` and friends for the sender to fill per
    recipient; on the web there is no recipient, so the greeting is the mail's own
    fallback ("Hello there,") and the unsubscribe and preferences links lead to the home
    page.
    """
    neutral = {
        "NAME": NAME_FALLBACK,
        "ADDRESS": "you",
        "UNSUBSCRIBE_URL": f"{base_url}/",
        "PREFERENCES_URL": f"{base_url}/",
        "CONFIRM_URL": f"{base_url}/",
    }
    return PLACEHOLDER_RE.sub(lambda m: neutral.get(m.group(1), ""), html)


def health(session: Session, missing_files: int = 0) -> dict[str, object]:
    """What ``/healthz`` reports beyond "the database answered".

    ``feeds``: the change number the feed files reflect (the feed job's ``feeds_built``
    watermark), the store's newest change number, and how many changes the feeds are
    behind; a number that keeps growing means the feed job is not running.
    ``missing_files`` (the feed files a build always writes that are absent, counted by
    the caller, which owns the file system) counts as behind too: readers get 404s.
    ``last_poll``: when the scheduler's poll job last finished (ISO 8601, UTC), whether
    it succeeded, or ``None`` when no scheduler has run yet.
    ``outbox_backlog``: deliveries queued or in flight.
    ``bounce_intake_backlog``: bounce reports stored but not yet processed; one that keeps
    growing means ``bounces serve`` stopped processing.
    """
    from syndication.store import bounces as bounce_store

    session.execute(text("SELECT 1"))
    built = store.read_counter(session, FEEDS_COUNTER)
    current = store.current_change_seq(session)
    poll = session.scalars(
        select(JobRun).where(JobRun.job_id == "poll").order_by(JobRun.id.desc()).limit(1)
    ).first()
    return {
        "feeds": {
            "built_to": built,
            "store_at": current,
            "behind": max(0, current - built) + missing_files,
            "missing_files": missing_files,
        },
        "last_poll": None
        if poll is None
        else {"finished_at": poll.finished_at.isoformat(), "ok": poll.ok},
        "outbox_backlog": outbox.pending_count(session),
        "bounce_intake_backlog": bounce_store.backlog(session),
    }
