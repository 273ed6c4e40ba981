"""What the console and /metrics read: the service's state in a few queries.

Everything here reads; actions go through the services. Functions take a :class:`Session`
and return plain frozen dataclasses, so templates and the metrics collector never touch
the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from syndication.store.articles import current_change_seq, read_counter
from syndication.store.models import (
    SENDABLE_DIGEST_STATES,
    Article,
    BounceEvent,
    Delivery,
    Digest,
    DigestState,
    JobRun,
    Subscriber,
    Subscription,
    Suppression,
)
from syndication.store.sources import SourceStatus, load_sources

FEEDS_COUNTER = "feeds_built"  # the feed build's watermark (see jobs.FEEDS_BUILT)


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    last_started_at: datetime | None
    last_ok: bool | None
    last_summary: str
    last_error: str
    last_success_at: datetime | None


@dataclass(frozen=True)
class DigestRow:
    id: int
    list_slug: str
    period_key: str
    subject: str
    created_at: datetime
    state: str
    deliveries: dict[str, int]
    complained: int


@dataclass(frozen=True)
class Overview:
    """The dashboard's and the metrics' numbers at one moment."""

    articles: dict[str, int]
    feeds_built_to: int
    store_at: int
    outbox_queued: int
    outbox_held: int
    outbox_sending: int
    oldest_queued_since: datetime | None
    deliveries: dict[str, int]
    subscribers: dict[str, dict[str, int]]
    jobs: list[JobStatus]
    digests: list[DigestRow]
    digest_states: dict[str, int]
    sources: list[SourceStatus]
    bounce_events: dict[str, int]

    @property
    def feeds_behind(self) -> int:
        return max(0, self.store_at - self.feeds_built_to)


def overview(session: Session, digest_limit: int = 10) -> Overview:
    """Every number the dashboard shows; ``digest_limit`` newest digests with funnels."""
    articles = {
        str(s): int(n)
        for s, n in session.execute(select(Article.status, func.count()).group_by(Article.status))
    }
    stopped_ids = set(
        session.scalars(
            select(DigestState.digest_id).where(DigestState.state.not_in(SENDABLE_DIGEST_STATES))
        )
    )
    queued = held = sending = 0
    deliveries: dict[str, int] = {}
    for digest_id, status, count in session.execute(
        select(Delivery.digest_id, Delivery.status, func.count()).group_by(
            Delivery.digest_id, Delivery.status
        )
    ):
        deliveries[status] = deliveries.get(status, 0) + int(count)
        if status == "queued":
            if digest_id in stopped_ids:
                held += int(count)
            else:
                queued += int(count)
        elif status == "sending":
            sending += int(count)
    oldest_stmt = (
        select(func.min(Digest.created_at))
        .join(Delivery, Delivery.digest_id == Digest.id)
        .where(Delivery.status == "queued")
    )
    if stopped_ids:
        oldest_stmt = oldest_stmt.where(Digest.id.not_in(stopped_ids))
    oldest = _aware(session.scalar(oldest_stmt))
    subscribers: dict[str, dict[str, int]] = {}
    for slug, status, count in session.execute(
        select(Subscription.list_slug, Subscriber.status, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .group_by(Subscription.list_slug, Subscriber.status)
    ):
        subscribers.setdefault(str(slug), {})[str(status)] = int(count)
    states = {
        str(s): int(n)
        for s, n in session.execute(
            select(DigestState.state, func.count()).group_by(DigestState.state)
        )
    }
    total_digests = int(session.scalar(select(func.count()).select_from(Digest)) or 0)
    states["ready"] = states.get("ready", 0) + total_digests - sum(states.values())
    return Overview(
        articles=articles,
        feeds_built_to=read_counter(session, FEEDS_COUNTER),
        store_at=current_change_seq(session),
        outbox_queued=queued,
        outbox_held=held,
        outbox_sending=sending,
        oldest_queued_since=oldest,
        deliveries=deliveries,
        subscribers=subscribers,
        jobs=job_statuses(session),
        digests=recent_digests(session, digest_limit),
        digest_states=states,
        sources=load_sources(session),
        bounce_events={
            str(kind): int(n)
            for kind, n in session.execute(
                select(BounceEvent.kind, func.count()).group_by(BounceEvent.kind)
            )
        },
    )


def job_statuses(session: Session) -> list[JobStatus]:
    """Each job's last run and last success (from ``job_runs``)."""
    last = select(JobRun.job_id, func.max(JobRun.id).label("id")).group_by(JobRun.job_id).subquery()
    runs = {r.job_id: r for r in session.scalars(select(JobRun).join(last, JobRun.id == last.c.id))}
    successes: dict[str, datetime | None] = {
        str(job_id): at
        for job_id, at in session.execute(
            select(JobRun.job_id, func.max(JobRun.finished_at))
            .where(JobRun.ok.is_(True))
            .group_by(JobRun.job_id)
        )
    }
    return [
        JobStatus(
            job_id=job_id,
            last_started_at=run.started_at,
            last_ok=run.ok,
            last_summary=run.summary,
            last_error=run.error,
            last_success_at=_aware(successes.get(job_id)),
        )
        for job_id, run in sorted(runs.items())
    ]


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite's aggregate skips the column type


def recent_digests(session: Session, limit: int, list_slug: str | None = None) -> list[DigestRow]:
    """The newest digests, each with its deliveries by status (its funnel)."""
    stmt = select(Digest).order_by(Digest.period_key.desc(), Digest.list_slug).limit(limit)
    if list_slug:
        stmt = stmt.where(Digest.list_slug == list_slug)
    digests = list(session.scalars(stmt))
    ids = [d.id for d in digests]
    counts: dict[int, dict[str, int]] = {}
    complained: dict[int, int] = {}
    states: dict[int, str] = {}
    if ids:
        for digest_id, status, count in session.execute(
            select(Delivery.digest_id, Delivery.status, func.count())
            .where(Delivery.digest_id.in_(ids))
            .group_by(Delivery.digest_id, Delivery.status)
        ):
            counts.setdefault(digest_id, {})[status] = int(count)
        # Complaints (RFC 5965 reports) about each digest, from the bounce intake.
        for complained_id, count in session.execute(
            select(BounceEvent.digest_id, func.count(func.distinct(BounceEvent.subscriber_id)))
            .where(BounceEvent.digest_id.in_(ids), BounceEvent.kind == "complaint")
            .group_by(BounceEvent.digest_id)
        ):
            if complained_id is not None:
                complained[int(complained_id)] = int(count)
        states = {
            int(digest_id): str(state)
            for digest_id, state in session.execute(
                select(DigestState.digest_id, DigestState.state).where(
                    DigestState.digest_id.in_(ids)
                )
            )
        }
    return [
        DigestRow(
            d.id,
            d.list_slug,
            d.period_key,
            d.subject,
            d.created_at,
            states.get(d.id, "ready"),
            counts.get(d.id, {}),
            complained.get(d.id, 0),
        )
        for d in digests
    ]


def subscriber_growth(session: Session) -> dict[str, list[tuple[datetime, int]]]:
    """Per list, its current subscriptions counted up by the time each began.

    The store keeps no history of departures, so this is how today's members joined over
    time, not how many there were on each day.
    """
    series: dict[str, list[tuple[datetime, int]]] = {}
    for slug, created in session.execute(
        select(Subscription.list_slug, Subscription.created_at).order_by(
            Subscription.list_slug, Subscription.created_at
        )
    ):
        points = series.setdefault(str(slug), [])
        points.append((created, len(points) + 1))
    return series


# -- subscribers ----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class SubscriberHistory:
    subscriber: SubscriberRow
    deliveries: list[DeliveryEvent]
    suppression_reason: str
    suppressed_at: datetime | None
    bounces: list[BounceRow]


def search_subscribers(session: Session, query: str, limit: int = 50) -> list[SubscriberRow]:
    """Subscribers whose address or name contains ``query`` (any case), by address."""
    stmt = select(Subscriber).order_by(Subscriber.email).limit(limit)
    needle = query.strip().lower()
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Subscriber.email).like(pattern, escape="\\"),
                func.lower(Subscriber.name).like(pattern, escape="\\"),
            )
        )
    found = list(session.scalars(stmt))
    return [_row(session, s) for s in found]


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
        BounceRow(e.created_at, e.kind, e.source, e.status_code, e.diagnostic, e.effect)
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


# -- articles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    id: int
    source_id: str
    title: str
    url: str
    published_at: datetime
    status: str
    retraction_reason: str


def search_articles(session: Session, query: str, limit: int = 50) -> list[ArticleRow]:
    """Newest first; ``query`` matches the title or the source id (any case)."""
    stmt = select(Article).order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    needle = query.strip().lower()
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Article.title).like(pattern, escape="\\"),
                func.lower(Article.source_id).like(pattern, escape="\\"),
            )
        )
    return [
        ArticleRow(a.id, a.source_id, a.title, a.url, a.published_at, a.status, a.retraction_reason)
        for a in session.scalars(stmt)
    ]


def article_source_id(session: Session, article_id: int) -> str | None:
    return session.scalar(select(Article.source_id).where(Article.id == article_id))


def digest_deliveries(
    session: Session, digest_id: int, statuses: Sequence[str] = (), limit: int = 200
) -> list[tuple[str, str, int, str]]:
    """``(email, status, attempts, last_error)`` of a digest's deliveries, by address."""
    stmt = (
        select(Subscriber.email, Delivery.status, Delivery.attempts, Delivery.last_error)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.digest_id == digest_id)
        .order_by(Subscriber.email)
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(Delivery.status.in_(statuses))
    return [(str(e), str(s), int(a), str(x)) for e, s, a, x in session.execute(stmt)]
