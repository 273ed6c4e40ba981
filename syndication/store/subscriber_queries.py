"""Subscribers as the console looks them up: a page of them by filter (search by address or
name, list, status, sign-up dates) with the count, one reader's history, and every
subscriber for the export.

Everything here reads and returns plain frozen dataclasses or tuples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from syndication.core.subscriber_csv import BARE_SUPPRESSION
from syndication.store.models import (
    BounceEvent,
    Delivery,
    Digest,
    Subscriber,
    Subscription,
    Suppression,
)
from syndication.store.search import contains


@dataclass(frozen=True)
class SubscriberRow:
    id: int
    email: str
    name: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    lists: tuple[str, ...]


@dataclass(frozen=True)
class DeliveryEvent:
    list_slug: str
    period_key: str
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str
    message_id: str


@dataclass(frozen=True)
class BounceRow:
    """A bounce, complaint or restore about a subscriber, with its evidence."""

    at: datetime
    kind: str
    source: str
    status_code: str
    diagnostic: str
    effect: str
    reason: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class SubscriberHistory:
    subscriber: SubscriberRow
    deliveries: list[DeliveryEvent]
    suppression_reason: str
    suppressed_at: datetime | None
    bounces: list[BounceRow]


@dataclass(frozen=True)
class SubscriberFilter:
    """What the console's subscribers page narrows by; empty fields match everyone.
    ``query``: part of an address or name (any case); ``since`` inclusive, ``until``
    exclusive, on the sign-up time (aware UTC)."""

    query: str = ""
    list_slug: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @property
    def narrows(self) -> bool:
        """Whether any field is set (an empty filter matches every subscriber)."""
        return self != SubscriberFilter()


def _where(stmt: Select[Any], where: SubscriberFilter) -> Select[Any]:
    matches = contains(
        where.query, Subscriber.email, Subscriber.name, lower_case=(Subscriber.email,)
    )
    if matches is not None:
        stmt = stmt.where(matches)
    if where.list_slug:
        stmt = stmt.where(
            exists().where(
                Subscription.subscriber_id == Subscriber.id,
                Subscription.list_slug == where.list_slug,
            )
        )
    if where.status:
        stmt = stmt.where(Subscriber.status == where.status)
    if where.since is not None:
        stmt = stmt.where(Subscriber.created_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(Subscriber.created_at < where.until)
    return stmt


def count_subscribers(session: Session, where: SubscriberFilter) -> int:
    """How many subscribers match ``where``."""
    stmt = _where(select(func.count()).select_from(Subscriber), where)
    return int(session.scalar(stmt) or 0)


def subscriber_page(
    session: Session, where: SubscriberFilter, limit: int, offset: int = 0
) -> list[SubscriberRow]:
    """One page of the subscribers matching ``where``, by address, with their lists (two
    queries, whatever the page's size)."""
    stmt = _where(select(Subscriber), where).order_by(Subscriber.email).limit(limit)
    found = list(session.scalars(stmt.offset(offset)).all())
    lists: dict[int, list[str]] = {}
    if found:
        for subscriber_id, slug in session.execute(
            select(Subscription.subscriber_id, Subscription.list_slug)
            .where(Subscription.subscriber_id.in_([s.id for s in found]))
            .order_by(Subscription.subscriber_id, Subscription.list_slug)
        ):
            lists.setdefault(subscriber_id, []).append(slug)
    return [
        SubscriberRow(
            s.id,
            s.email,
            s.name,
            s.status,
            s.created_at,
            s.confirmed_at,
            tuple(lists.get(s.id, ())),
        )
        for s in found
    ]


def _row(session: Session, subscriber: Subscriber) -> SubscriberRow:
    lists = tuple(
        session.scalars(
            select(Subscription.list_slug)
            .where(Subscription.subscriber_id == subscriber.id)
            .order_by(Subscription.list_slug)
        )
    )
    return SubscriberRow(
        subscriber.id,
        subscriber.email,
        subscriber.name,
        subscriber.status,
        subscriber.created_at,
        subscriber.confirmed_at,
        lists,
    )


def subscriber_history(session: Session, subscriber_id: int) -> SubscriberHistory | None:
    """A subscriber, their lists, every delivery to them and why they are suppressed."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    deliveries = [
        DeliveryEvent(slug, period, status, attempts, sent_at, error, mid)
        for slug, period, status, attempts, sent_at, error, mid in session.execute(
            select(
                Digest.list_slug,
                Digest.period_key,
                Delivery.status,
                Delivery.attempts,
                Delivery.sent_at,
                Delivery.last_error,
                Delivery.message_id,
            )
            .join(Digest, Digest.id == Delivery.digest_id)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Digest.period_key.desc(), Digest.list_slug)
        )
    ]
    suppression = session.get(Suppression, subscriber.email)
    bounces = [
        BounceRow(
            e.created_at,
            e.kind,
            e.source,
            e.status_code,
            e.diagnostic,
            e.effect,
            e.reason,
            e.evidence,
        )
        for e in session.scalars(
            select(BounceEvent)
            .where(BounceEvent.subscriber_id == subscriber_id)
            .order_by(BounceEvent.created_at.desc(), BounceEvent.id.desc())
        )
    ]
    return SubscriberHistory(
        _row(session, subscriber),
        deliveries,
        suppression.reason if suppression else "",
        suppression.created_at if suppression else None,
        bounces,
    )


def export_rows(
    session: Session, where: SubscriberFilter = SubscriberFilter()
) -> Iterator[tuple[str, str, str, str, str, str, str]]:
    """``(email, name, lists, status, created_at, confirmed_at, language)`` for every
    subscriber matching ``where`` (the console page's filter, :func:`_where`), by address;
    times in ISO 8601 with their offset (UTC), consent time blank if none; ``language``:
    their languages as stored (``"ko,en"``).

    Without a filter, then every address on the suppression list with no subscriber
    record, with the status ``suppressed`` and the time it was listed: a database moved by
    export and import keeps refusing them (issue 29). A filter names subscribers, so a
    filtered export holds only the subscribers it matches.
    """
    lists: dict[int, list[str]] = {}
    pairs = select(Subscription.subscriber_id, Subscription.list_slug)
    if where.narrows:
        pairs = pairs.where(Subscription.subscriber_id.in_(_where(select(Subscriber.id), where)))
    for subscriber_id, slug in session.execute(
        pairs.order_by(Subscription.subscriber_id, Subscription.list_slug)
    ):
        lists.setdefault(subscriber_id, []).append(slug)
    matching = _where(select(Subscriber), where).order_by(Subscriber.email)
    for subscriber in session.scalars(matching):
        yield (
            subscriber.email,
            subscriber.name,
            ";".join(lists.get(subscriber.id, [])),
            subscriber.status,
            subscriber.created_at.isoformat(),
            subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else "",
            subscriber.locale,
        )
    if where.narrows:
        return
    bare = ~exists().where(Subscriber.email == Suppression.email)
    for listed in session.scalars(select(Suppression).where(bare).order_by(Suppression.email)):
        yield (listed.email, "", "", BARE_SUPPRESSION, listed.created_at.isoformat(), "", "")
