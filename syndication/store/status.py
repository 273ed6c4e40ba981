"""The store's side of the status report: every count ``status``, ``/healthz``, the console
and ``/metrics`` show, each read by exactly one function here.

Everything here reads, with Core queries on :mod:`syndication.store.tables` over a
:class:`Connection` (a session's ``session.connection()`` will do), never the ORM: the
``status`` command's start-up does not pay for ``sqlalchemy.orm`` (issue 24). Functions
return plain frozen dataclasses or dicts; :mod:`syndication.services.status` puts them
together into the one report every surface reads, so a number shown in two places is the
same number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, not_, or_, select

from syndication.core.deliveries import UNSETTLED, digest_state
from syndication.store import tables
from syndication.store.tables import ARTICLE_CHANGES, FEEDS_BUILT, SENDABLE_DIGEST_STATES

# What a bounce event of these kinds means for a digest: its copy did not reach the reader
# (refused at sending, or reported later by a DSN). "complaint" is counted on its own.
BOUNCED_KINDS = ("hard", "soft", "blocked")
COMPLAINT = "complaint"


@dataclass(frozen=True)
class FeedCounters:
    """The change number the feed files reflect (the feed job's watermark) and the store's."""

    built_to: int
    store_at: int


def feed_counters(connection: Connection) -> FeedCounters:
    rows = connection.execute(
        select(tables.counters.c.name, tables.counters.c.value).where(
            tables.counters.c.name.in_((FEEDS_BUILT, ARTICLE_CHANGES))
        )
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


def store_summary(connection: Connection, change_seq: int | None = None) -> StoreSummary:
    """The articles: by status, per topic, the newest times, the change sequence
    (``change_seq`` when the caller read it already with :func:`feed_counters`)."""
    by_status = {
        status: count
        for status, count in connection.execute(
            select(tables.articles.c.status, func.count()).group_by(tables.articles.c.status)
        )
    }
    newest_published, newest_updated = connection.execute(
        select(func.max(tables.articles.c.published_at), func.max(tables.articles.c.updated_at))
    ).one()
    per_topic = connection.execute(
        select(
            tables.topics.c.slug,
            tables.topics.c.name,
            tables.articles.c.status,
            func.count(tables.article_topics.c.article_id),
        )
        .select_from(tables.topics)
        .outerjoin(tables.article_topics, tables.article_topics.c.topic_id == tables.topics.c.id)
        .outerjoin(tables.articles, tables.articles.c.id == tables.article_topics.c.article_id)
        .group_by(tables.topics.c.slug, tables.topics.c.name, tables.articles.c.status)
        .order_by(tables.topics.c.slug)
    )
    topics: dict[str, dict[str, Any]] = {}
    for slug, name, status, count in per_topic:
        entry = topics.setdefault(slug, {"name": name, "published": 0, "retracted": 0})
        if status is not None:
            entry[status] = count
    # max() over a TypeDecorator column comes back raw on SQLite: normalise it.
    to_utc = tables.articles.c.published_at.type.process_result_value  # type: ignore[attr-defined]
    dialect = connection.dialect
    published = int(by_status.get("published", 0))
    retracted = int(by_status.get("retracted", 0))
    return StoreSummary(
        articles=published + retracted,
        published=published,
        retracted=retracted,
        change_seq=feed_counters(connection).store_at if change_seq is None else change_seq,
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


def intake_counts(connection: Connection) -> IntakeCounts:
    """The intake's queue in one query: queued and failed reports, the oldest queued."""
    queued = tables.bounce_intake.c.state == "queued"
    backlog, failed, oldest = connection.execute(
        select(
            func.count().filter(queued),
            func.count().filter(tables.bounce_intake.c.state == "failed"),
            func.min(tables.bounce_intake.c.received_at).filter(queued),
        )
    ).one()
    return IntakeCounts(int(backlog or 0), int(failed or 0), _aware(_as_datetime(oldest)))


def intake_backlog(connection: Connection) -> int:
    """Bounce reports stored but not yet processed."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(tables.bounce_intake)
            .where(tables.bounce_intake.c.state == "queued")
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


def outbox_counts(connection: Connection) -> OutboxCounts:
    """The unsettled deliveries, queued split into waiting for a sender and held.

    Only ``queued`` and ``sending`` rows are read (through the status index), so
    ``/healthz`` stays cheap however many deliveries were ever sent.
    """
    stopped = select(tables.digest_states.c.digest_id).where(
        tables.digest_states.c.state.not_in(SENDABLE_DIGEST_STATES)
    )
    is_held = tables.deliveries.c.digest_id.in_(stopped)
    counts = {"queued": 0, "held": 0, "sending": 0}
    for status, on_hold, count in connection.execute(
        select(tables.deliveries.c.status, is_held.label("on_hold"), func.count())
        .where(tables.deliveries.c.status.in_(("queued", "sending")))
        .group_by(tables.deliveries.c.status, "on_hold")
    ):
        key = "held" if status == "queued" and on_hold else str(status)
        counts[key] += int(count)
    oldest = connection.scalar(
        select(func.min(tables.digests.c.created_at))
        .join(tables.deliveries, tables.deliveries.c.digest_id == tables.digests.c.id)
        .where(tables.deliveries.c.status == "queued", not_(is_held))
    )
    return OutboxCounts(
        counts["queued"], counts["held"], counts["sending"], oldest_queued_since=_aware(oldest)
    )


def deliveries_by_status(connection: Connection) -> dict[str, int]:
    """Every delivery ever queued, by status."""
    return {
        str(status): int(count)
        for status, count in connection.execute(
            select(tables.deliveries.c.status, func.count()).group_by(tables.deliveries.c.status)
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
    connection: Connection,
    limit: int | None = None,
    list_slug: str | None = None,
    period_key: str | None = None,
) -> list[DigestRow]:
    """The newest digests (all when ``limit`` is None), newest period first; only
    ``list_slug``'s, and only the one of ``period_key``, when given."""
    stmt = select(
        tables.digests.c.id,
        tables.digests.c.list_slug,
        tables.digests.c.period_key,
        tables.digests.c.subject,
    )
    stmt = stmt.add_columns(tables.digests.c.created_at).order_by(
        tables.digests.c.period_key.desc(), tables.digests.c.list_slug
    )
    if list_slug:
        stmt = stmt.where(tables.digests.c.list_slug == list_slug)
    if period_key:
        stmt = stmt.where(tables.digests.c.period_key == period_key)
    if limit is not None:
        stmt = stmt.limit(limit)
    digests = list(connection.execute(stmt))
    if not digests:
        return []
    ids = [int(d.id) for d in digests]
    counts: dict[int, dict[str, int]] = {}
    for digest_id, status, count in connection.execute(
        select(tables.deliveries.c.digest_id, tables.deliveries.c.status, func.count())
        .where(tables.deliveries.c.digest_id.in_(ids))
        .group_by(tables.deliveries.c.digest_id, tables.deliveries.c.status)
    ):
        counts.setdefault(int(digest_id), {})[str(status)] = int(count)
    states = {
        int(digest_id): str(state)
        for digest_id, state in connection.execute(
            select(tables.digest_states.c.digest_id, tables.digest_states.c.state).where(
                tables.digest_states.c.digest_id.in_(ids)
            )
        )
    }
    returns = _returns(connection, ids)
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


def _returns(
    connection: Connection, ids: Iterable[int]
) -> dict[int, tuple[dict[str, int], int, int]]:
    """Per digest: readers with bounce events by kind, readers bounced, readers who
    complained (each reader once per number)."""
    readers: dict[int, dict[str, set[int]]] = {}
    for digest_id, subscriber_id, kind in connection.execute(
        select(
            tables.bounce_events.c.digest_id,
            tables.bounce_events.c.subscriber_id,
            tables.bounce_events.c.kind,
        )
        .where(tables.bounce_events.c.digest_id.in_(list(ids)))
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


def list_readers(connection: Connection) -> dict[str, dict[str, int]]:
    """Per list, its readers by status.

    Members (a subscription row) count under their subscriber status. Leaving a list
    deletes the subscription, so former readers are found through what they were sent:
    anyone with a delivery of the list's digests who is no longer a member counts as
    ``complained`` if they complained, else as ``unsubscribed`` (they left the list, by
    the unsubscribe link, the preferences page or an operator). Someone who left before
    any digest reached them left no trace and is not counted.
    """
    result: dict[str, dict[str, int]] = {}
    for slug, status, count in connection.execute(
        select(tables.subscriptions.c.list_slug, tables.subscribers.c.status, func.count())
        .join(tables.subscribers, tables.subscribers.c.id == tables.subscriptions.c.subscriber_id)
        .group_by(tables.subscriptions.c.list_slug, tables.subscribers.c.status)
    ):
        by_status = result.setdefault(str(slug), {})
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
    member = (
        select(tables.subscriptions.c.subscriber_id)
        .where(
            tables.subscriptions.c.subscriber_id == tables.deliveries.c.subscriber_id,
            tables.subscriptions.c.list_slug == tables.digests.c.list_slug,
        )
        .exists()
    )
    for slug, status, count in connection.execute(
        select(
            tables.digests.c.list_slug,
            tables.subscribers.c.status,
            func.count(func.distinct(tables.subscribers.c.id)),
        )
        .join(tables.deliveries, tables.deliveries.c.digest_id == tables.digests.c.id)
        .join(tables.subscribers, tables.subscribers.c.id == tables.deliveries.c.subscriber_id)
        .where(~member)
        .group_by(tables.digests.c.list_slug, tables.subscribers.c.status)
    ):
        left = "complained" if status == "complained" else "unsubscribed"
        by_status = result.setdefault(str(slug), {})
        by_status[left] = by_status.get(left, 0) + int(count)
    return result


def digest_states(connection: Connection) -> dict[str, int]:
    """Digests by the state they show (:func:`syndication.core.deliveries.digest_state`):
    a digest without a state row is ``ready``, one with every delivery settled
    ``finished``."""
    state = func.coalesce(tables.digest_states.c.state, "ready")
    per_digest = (
        select(
            tables.digests.c.id.label("digest_id"),
            state.label("state"),
            func.count(tables.deliveries.c.id).label("total"),
            func.count(tables.deliveries.c.id)
            .filter(tables.deliveries.c.status.in_(UNSETTLED))
            .label("unsent"),
        )
        .outerjoin(tables.digest_states, tables.digest_states.c.digest_id == tables.digests.c.id)
        .outerjoin(tables.deliveries, tables.deliveries.c.digest_id == tables.digests.c.id)
        .group_by(tables.digests.c.id, state)
    )
    result: dict[str, int] = {}
    for row in connection.execute(per_digest):
        # The rule needs only how many there are and how many are unsettled.
        counts = {"settled": int(row.total) - int(row.unsent), "queued": int(row.unsent)}
        shown = digest_state(str(row.state), counts)
        result[shown] = result.get(shown, 0) + 1
    return result


def bounce_events(connection: Connection) -> dict[str, int]:
    """Every bounce event recorded, by kind (restores by an operator included)."""
    return {
        str(kind): int(n)
        for kind, n in connection.execute(
            select(tables.bounce_events.c.kind, func.count()).group_by(tables.bounce_events.c.kind)
        )
    }


def subscriber_growth(connection: Connection) -> dict[str, list[tuple[datetime, int]]]:
    """Per list, its active members counted up by the time each joined.

    The store keeps no history of departures, so this is how today's active members
    joined over time (its last point is the list's ``active`` count), not how many there
    were on each day. Pending and bounced members are left out: they get no digest.
    """
    series: dict[str, list[tuple[datetime, int]]] = {}
    for slug, created in connection.execute(
        select(tables.subscriptions.c.list_slug, tables.subscriptions.c.created_at)
        .join(tables.subscribers, tables.subscribers.c.id == tables.subscriptions.c.subscriber_id)
        .where(tables.subscribers.c.status == "active")
        .order_by(tables.subscriptions.c.list_slug, tables.subscriptions.c.created_at)
    ):
        points = series.setdefault(str(slug), [])
        points.append((created, len(points) + 1))
    return series


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite's aggregate skips the column type


def reason_counts(connection: Connection, since: datetime | None = None) -> dict[str, int]:
    """Bounce events by reason (``undefined`` among them), since ``since`` when given."""
    stmt = select(tables.bounce_events.c.reason, func.count()).where(
        tables.bounce_events.c.source != "operator"
    )
    if since is not None:
        stmt = stmt.where(tables.bounce_events.c.created_at >= since)
    rows = connection.execute(stmt.group_by(tables.bounce_events.c.reason))
    return {str(reason or "(before reasons)"): int(count) for reason, count in rows}


# -- transactional mail (store/mail_outbox.py's rows) ------------------------------------

# A mail older than this and still unsent makes ``/healthz`` say "degraded".
LATE = timedelta(minutes=10)
# How far back ``status`` counts the mails it gave up on.
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class MailCounts:
    """Transactional mail and the readers it is for, as every status surface shows them.

    ``awaiting_confirmation``: subscribers who signed up and have not confirmed;
    ``queued``: mails not yet handed over (waiting, or being sent now);
    ``retrying``: those of them that failed at least once (``last_error`` says why);
    ``gave_up``: mails given up on (``failed``) or refused (``bounced``) in the last
    :data:`RECENT`; ``oldest_queued_at``: when the oldest unsent mail was queued.
    """

    awaiting_confirmation: int
    queued: int
    retrying: int
    gave_up: int
    oldest_queued_at: datetime | None
    last_error: str


def mail_counts(connection: Connection, now: datetime) -> MailCounts:
    """The counts of :class:`MailCounts`, in a few indexed reads."""
    mail = tables.transactional_mails.c
    unsent = mail.status.in_(("queued", "sending"))
    queued, retrying = connection.execute(
        select(func.count(), func.count().filter(mail.last_error != "")).where(unsent)
    ).one()
    oldest = connection.scalar(
        select(mail.created_at).where(unsent).order_by(mail.created_at).limit(1)
    )
    gave_up = connection.scalar(
        select(func.count()).where(
            mail.status.in_(("failed", "bounced")), mail.created_at >= now - RECENT
        )
    )
    last_error = connection.scalar(
        select(mail.last_error)
        .where(or_(unsent, mail.status.in_(("failed", "bounced"))), mail.last_error != "")
        .order_by(mail.id.desc())
        .limit(1)
    )
    pending = connection.scalar(
        select(func.count())
        .select_from(tables.subscribers)
        .where(tables.subscribers.c.status == "pending")
    )
    return MailCounts(
        awaiting_confirmation=int(pending or 0),
        queued=int(queued or 0),
        retrying=int(retrying or 0),
        gave_up=int(gave_up or 0),
        oldest_queued_at=oldest,
        last_error=last_error or "",
    )


@dataclass(frozen=True)
class UnsentMail:
    """A transactional mail not sent: queued, retrying, or given up on."""

    kind: str
    email: str
    status: str
    attempts: int
    created_at: datetime
    last_error: str


def unsent_mails(connection: Connection, limit: int = 50) -> list[UnsentMail]:
    """The newest mails not sent (queued, retrying, given up), for the console."""
    mail = tables.transactional_mails.c
    rows = connection.execute(
        select(mail.kind, mail.email, mail.status, mail.attempts, mail.created_at, mail.last_error)
        .where(mail.status.in_(("queued", "sending", "failed", "bounced")))
        .order_by(mail.id.desc())
        .limit(limit)
    )
    return [UnsentMail(*row) for row in rows]
