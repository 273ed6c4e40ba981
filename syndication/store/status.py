"""The service's state as stored: what ``status``, ``/healthz``, the console and ``/metrics`` read.

Everything here reads. Functions take a :class:`Session` and return plain frozen
dataclasses or dicts, so templates and the metrics collector never touch the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from syndication.store import bounces as bounce_store
from syndication.store import outbox
from syndication.store.articles import FEEDS_BUILT, current_change_seq, read_counter
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
)
from syndication.store.sources import SourceStatus, load_sources


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
        feeds_built_to=read_counter(session, FEEDS_BUILT),
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
    session.execute(text("SELECT 1"))
    built = read_counter(session, FEEDS_BUILT)
    current = current_change_seq(session)
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
