"""The store's side of the status report: every count ``status``, ``/healthz``, the console
and ``/metrics`` show, each read by exactly one function here.

Everything here reads. Functions take a :class:`Session` and return plain frozen
dataclasses or dicts; :mod:`syndication.services.status` puts them together into the one
report every surface reads, so a number shown in two places is the same number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from syndication.core.deliveries import UNSETTLED, digest_state
from syndication.store.models import (
    ARTICLE_CHANGES,
    FEEDS_BUILT,
    SENDABLE_DIGEST_STATES,
    Article,
    BounceEvent,
    BounceIntake,
    Counter,
    Delivery,
    Digest,
    DigestState,
    Subscriber,
    Subscription,
    TopicRow,
    article_topics,
)

# What a bounce event of these kinds means for a digest: its copy did not reach the reader
# (refused at sending, or reported later by a DSN). "complaint" is counted on its own.
BOUNCED_KINDS = ("hard", "soft", "blocked")
COMPLAINT = "complaint"


@dataclass(frozen=True)
class FeedCounters:
    """The change number the feed files reflect (the feed job's watermark) and the store's."""

    built_to: int
    store_at: int


def feed_counters(session: Session) -> FeedCounters:
    rows = session.execute(
        select(Counter.name, Counter.value).where(Counter.name.in_((FEEDS_BUILT, ARTICLE_CHANGES)))
    )
    counters = {str(name): int(value) for name, value in rows}
    return FeedCounters(counters.get(FEEDS_BUILT, 0), max(0, counters.get(ARTICLE_CHANGES, 0)))


@dataclass(frozen=True)
class TopicCount:
    slug: str
    name: str
    published: int
    retracted: int


@dataclass(frozen=True)
class StoreSummary:
    articles: int
    published: int
    retracted: int
    change_seq: int
    newest_published: datetime | None
    newest_updated: datetime | None
    topics: tuple[TopicCount, ...]


def store_summary(session: Session, change_seq: int | None = None) -> StoreSummary:
    """The articles: by status, per topic, the newest times, the change sequence
    (``change_seq`` when the caller read it already with :func:`feed_counters`)."""
    by_status = {
        status: count
        for status, count in session.execute(
            select(Article.status, func.count()).group_by(Article.status)
        )
    }
    newest_published, newest_updated = session.execute(
        select(func.max(Article.published_at), func.max(Article.updated_at))
    ).one()
    per_topic = session.execute(
        select(
            TopicRow.slug, TopicRow.name, Article.status, func.count(article_topics.c.article_id)
        )
        .select_from(TopicRow)
        .outerjoin(article_topics, article_topics.c.topic_id == TopicRow.id)
        .outerjoin(Article, Article.id == article_topics.c.article_id)
        .group_by(TopicRow.slug, TopicRow.name, Article.status)
        .order_by(TopicRow.slug)
    )
    topics: dict[str, dict[str, Any]] = {}
    for slug, name, status, count in per_topic:
        entry = topics.setdefault(slug, {"name": name, "published": 0, "retracted": 0})
        if status is not None:
            entry[status] = count
    # max() over a TypeDecorator column comes back raw on SQLite: normalise it.
    to_utc = Article.__table__.c.published_at.type.process_result_value  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect
    published = int(by_status.get("published", 0))
    retracted = int(by_status.get("retracted", 0))
    return StoreSummary(
        articles=published + retracted,
        published=published,
        retracted=retracted,
        change_seq=feed_counters(session).store_at if change_seq is None else change_seq,
        newest_published=to_utc(_as_datetime(newest_published), dialect),
        newest_updated=to_utc(_as_datetime(newest_updated), dialect),
        topics=tuple(
            TopicCount(slug, e["name"], e["published"], e["retracted"])
            for slug, e in topics.items()
        ),
    )


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class IntakeCounts:
    """The bounce intake: reports waiting (and since when), reports whose processing failed."""

    backlog: int
    failed: int
    oldest_queued_at: datetime | None


def intake_counts(session: Session) -> IntakeCounts:
    """The intake's queue in one query: queued and failed reports, the oldest queued."""
    queued = BounceIntake.state == "queued"
    backlog, failed, oldest = session.execute(
        select(
            func.count().filter(queued),
            func.count().filter(BounceIntake.state == "failed"),
            func.min(BounceIntake.received_at).filter(queued),
        )
    ).one()
    return IntakeCounts(int(backlog or 0), int(failed or 0), _aware(_as_datetime(oldest)))


def intake_backlog(session: Session) -> int:
    """Bounce reports stored but not yet processed."""
    return int(
        session.execute(
            select(func.count()).select_from(BounceIntake).where(BounceIntake.state == "queued")
        ).scalar_one()
    )


@dataclass(frozen=True)
class OutboxCounts:
    """Deliveries not yet settled.

    ``queued`` waits for a sender; ``held`` is queued but waits on a held (or cancelled)
    digest, so no sender takes it; ``sending`` is claimed by a sender now. The three never
    overlap: the backlog (everything still to go out) is their sum.
    """

    queued: int
    held: int
    sending: int
    oldest_queued_since: datetime | None

    @property
    def backlog(self) -> int:
        return self.queued + self.held + self.sending


def outbox_counts(session: Session) -> OutboxCounts:
    """The unsettled deliveries, queued split into waiting for a sender and held.

    Only ``queued`` and ``sending`` rows are read (through the status index), so
    ``/healthz`` stays cheap however many deliveries were ever sent.
    """
    stopped = select(DigestState.digest_id).where(DigestState.state.not_in(SENDABLE_DIGEST_STATES))
    is_held = Delivery.digest_id.in_(stopped)
    counts = {"queued": 0, "held": 0, "sending": 0}
    for status, on_hold, count in session.execute(
        select(Delivery.status, is_held.label("on_hold"), func.count())
        .where(Delivery.status.in_(("queued", "sending")))
        .group_by(Delivery.status, "on_hold")
    ):
        key = "held" if status == "queued" and on_hold else str(status)
        counts[key] += int(count)
    oldest = session.scalar(
        select(func.min(Digest.created_at))
        .join(Delivery, Delivery.digest_id == Digest.id)
        .where(Delivery.status == "queued", not_(is_held))
    )
    return OutboxCounts(
        counts["queued"], counts["held"], counts["sending"], oldest_queued_since=_aware(oldest)
    )


def deliveries_by_status(session: Session) -> dict[str, int]:
    """Every delivery ever queued, by status."""
    return {
        str(status): int(count)
        for status, count in session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
    }


@dataclass(frozen=True)
class DigestRow:
    """A digest, its state, its deliveries by status, and what came back about it.

    ``bounce_events``: readers with a bounce recorded against this digest, per kind (each
    reader once per kind); ``bounced``: readers whose copy bounced, of any kind, each once:
    refused by our SMTP server at sending (those deliveries are also ``bounced`` in
    ``deliveries``) or reported later by a DSN (those stay ``sent``). ``complained``:
    readers who reported it as spam.
    """

    id: int
    list_slug: str
    period_key: str
    subject: str
    created_at: datetime
    state: str
    deliveries: dict[str, int]
    bounce_events: dict[str, int] = field(default_factory=dict)
    bounced: int = 0
    complained: int = 0


def digest_rows(
    session: Session,
    limit: int | None = None,
    list_slug: str | None = None,
    period_key: str | None = None,
) -> list[DigestRow]:
    """The newest digests (all when ``limit`` is None), newest period first; only
    ``list_slug``'s, and only the one of ``period_key``, when given."""
    stmt = select(Digest.id, Digest.list_slug, Digest.period_key, Digest.subject)
    stmt = stmt.add_columns(Digest.created_at).order_by(Digest.period_key.desc(), Digest.list_slug)
    if list_slug:
        stmt = stmt.where(Digest.list_slug == list_slug)
    if period_key:
        stmt = stmt.where(Digest.period_key == period_key)
    if limit is not None:
        stmt = stmt.limit(limit)
    digests = list(session.execute(stmt))
    if not digests:
        return []
    ids = [int(d.id) for d in digests]
    counts: dict[int, dict[str, int]] = {}
    for digest_id, status, count in session.execute(
        select(Delivery.digest_id, Delivery.status, func.count())
        .where(Delivery.digest_id.in_(ids))
        .group_by(Delivery.digest_id, Delivery.status)
    ):
        counts.setdefault(int(digest_id), {})[str(status)] = int(count)
    states = {
        int(digest_id): str(state)
        for digest_id, state in session.execute(
            select(DigestState.digest_id, DigestState.state).where(DigestState.digest_id.in_(ids))
        )
    }
    returns = _returns(session, ids)
    nothing: tuple[dict[str, int], int, int] = ({}, 0, 0)
    return [
        DigestRow(
            id=int(d.id),
            list_slug=str(d.list_slug),
            period_key=str(d.period_key),
            subject=str(d.subject),
            created_at=d.created_at,
            state=digest_state(states.get(int(d.id), "ready"), counts.get(int(d.id), {})),
            deliveries=counts.get(int(d.id), {}),
            bounce_events=returns.get(int(d.id), nothing)[0],
            bounced=returns.get(int(d.id), nothing)[1],
            complained=returns.get(int(d.id), nothing)[2],
        )
        for d in digests
    ]


def _returns(session: Session, ids: Iterable[int]) -> dict[int, tuple[dict[str, int], int, int]]:
    """Per digest: readers with bounce events by kind, readers bounced, readers who
    complained (each reader once per number)."""
    readers: dict[int, dict[str, set[int]]] = {}
    for digest_id, subscriber_id, kind in session.execute(
        select(BounceEvent.digest_id, BounceEvent.subscriber_id, BounceEvent.kind)
        .where(BounceEvent.digest_id.in_(list(ids)))
        .distinct()
    ):
        if digest_id is None:
            continue
        key = subscriber_id if subscriber_id is not None else -1
        readers.setdefault(int(digest_id), {}).setdefault(str(kind), set()).add(key)
    result: dict[int, tuple[dict[str, int], int, int]] = {}
    for digest_id, by_kind in readers.items():
        bounced: set[int] = set()
        for kind in BOUNCED_KINDS:
            bounced |= by_kind.get(kind, set())
        result[digest_id] = (
            {kind: len(who) for kind, who in by_kind.items()},
            len(bounced),
            len(by_kind.get(COMPLAINT, set())),
        )
    return result


def list_readers(session: Session) -> dict[str, dict[str, int]]:
    """Per list, its readers by status.

    Members (a subscription row) count under their subscriber status. Leaving a list
    deletes the subscription, so former readers are found through what they were sent:
    anyone with a delivery of the list's digests who is no longer a member counts as
    ``complained`` if they complained, else as ``unsubscribed`` (they left the list, by
    the unsubscribe link, the preferences page or an operator). Someone who left before
    any digest reached them left no trace and is not counted.
    """
    result: dict[str, dict[str, int]] = {}
    for slug, status, count in session.execute(
        select(Subscription.list_slug, Subscriber.status, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .group_by(Subscription.list_slug, Subscriber.status)
    ):
        by_status = result.setdefault(str(slug), {})
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
    member = (
        select(Subscription.subscriber_id)
        .where(
            Subscription.subscriber_id == Delivery.subscriber_id,
            Subscription.list_slug == Digest.list_slug,
        )
        .exists()
    )
    for slug, status, count in session.execute(
        select(Digest.list_slug, Subscriber.status, func.count(func.distinct(Subscriber.id)))
        .join(Delivery, Delivery.digest_id == Digest.id)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(~member)
        .group_by(Digest.list_slug, Subscriber.status)
    ):
        left = "complained" if status == "complained" else "unsubscribed"
        by_status = result.setdefault(str(slug), {})
        by_status[left] = by_status.get(left, 0) + int(count)
    return result


def digest_states(session: Session) -> dict[str, int]:
    """Digests by the state they show (:func:`syndication.core.deliveries.digest_state`):
    a digest without a state row is ``ready``, one with every delivery settled
    ``finished``."""
    state = func.coalesce(DigestState.state, "ready")
    per_digest = (
        select(
            Digest.id.label("digest_id"),
            state.label("state"),
            func.count(Delivery.id).label("total"),
            func.count(Delivery.id).filter(Delivery.status.in_(UNSETTLED)).label("unsent"),
        )
        .outerjoin(DigestState, DigestState.digest_id == Digest.id)
        .outerjoin(Delivery, Delivery.digest_id == Digest.id)
        .group_by(Digest.id, state)
    )
    result: dict[str, int] = {}
    for row in session.execute(per_digest):
        # The rule needs only how many there are and how many are unsettled.
        counts = {"settled": int(row.total) - int(row.unsent), "queued": int(row.unsent)}
        shown = digest_state(str(row.state), counts)
        result[shown] = result.get(shown, 0) + 1
    return result


def bounce_events(session: Session) -> dict[str, int]:
    """Every bounce event recorded, by kind (restores by an operator included)."""
    return {
        str(kind): int(n)
        for kind, n in session.execute(
            select(BounceEvent.kind, func.count()).group_by(BounceEvent.kind)
        )
    }


def subscriber_growth(session: Session) -> dict[str, list[tuple[datetime, int]]]:
    """Per list, its active members counted up by the time each joined.

    The store keeps no history of departures, so this is how today's active members
    joined over time (its last point is the list's ``active`` count), not how many there
    were on each day. Pending and bounced members are left out: they get no digest.
    """
    series: dict[str, list[tuple[datetime, int]]] = {}
    for slug, created in session.execute(
        select(Subscription.list_slug, Subscription.created_at)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.status == "active")
        .order_by(Subscription.list_slug, Subscription.created_at)
    ):
        points = series.setdefault(str(slug), [])
        points.append((created, len(points) + 1))
    return series


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite's aggregate skips the column type


def reason_counts(session: Session, since: datetime | None = None) -> dict[str, int]:
    """Bounce events by reason (``undefined`` among them), since ``since`` when given."""
    stmt = select(BounceEvent.reason, func.count()).where(BounceEvent.source != "operator")
    if since is not None:
        stmt = stmt.where(BounceEvent.created_at >= since)
    rows = session.execute(stmt.group_by(BounceEvent.reason))
    return {str(reason or "(before reasons)"): int(count) for reason, count in rows}
