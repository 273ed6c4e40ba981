"""The one status report: what ``syndication status``, ``/healthz``, the console's dashboard
and digest list, and ``/metrics`` show, read in one transaction, so that a number a user can
see in two places is the same number.

What each number means, once:

- **feeds behind**: article changes the feed files do not reflect yet, plus each feed
  file a build always writes that is missing (readers get a 404 for it).
- **outbox**: ``queued`` waits for a sender, ``held`` is queued behind a held digest (no
  sender takes it), ``sending`` is claimed now; the backlog is their sum.
- **bounced** (a digest): readers whose copy bounced, refused at sending or reported
  later, each counted once; ``bounce_events`` splits them by kind (hard, soft, blocked).
  The delivery status ``bounced`` is only the refusals at sending.
- **per list**: members by their status, and former readers (sent a digest of the list,
  no longer members) as ``unsubscribed`` or ``complained``.
- **transactional mail** (confirmations, test sends; issue 29): readers awaiting
  confirmation, mails queued and not yet handed over, those of them retrying after a
  failure, and those given up on or refused in the last 7 days
  (:class:`syndication.store.status.MailCounts`).

Commands import this module for ``status``; it keeps its imports light for the CLI's
start-up time (issue 24): the store's Core queries over one read-only connection
(:func:`syndication.store.database.read_connection`), never ``sqlalchemy.orm`` or the
mapped models, no renderers, no web or metrics libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from syndication.clock import utc_now
from syndication.core.deliveries import FINISHED
from syndication.services.job_runs import SCHEDULER_RUN
from syndication.services.language_status import LanguageCounts, language_counts
from syndication.store import database as db
from syndication.store import job_runs
from syndication.store import status as queries
from syndication.store.sources import SourceStatus as SourceStatus
from syndication.store.sources import load_sources
from syndication.store.status import DigestRow as DigestRow
from syndication.store.status import IntakeCounts as IntakeCounts
from syndication.store.status import MailCounts as MailCounts
from syndication.store.status import OutboxCounts as OutboxCounts
from syndication.store.status import StoreSummary as StoreSummary
from syndication.store.status import TopicCount as TopicCount
from syndication.store.status import UnsentMail as UnsentMail
from syndication.store.tables import DELIVERY_STATUSES as DELIVERY_STATUSES
from syndication.store.tables import DIGEST_STATES as STORED_DIGEST_STATES
from syndication.store.tables import SUBSCRIBER_STATUSES as SUBSCRIBER_STATUSES

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from syndication.settings import Settings

# The states a digest shows: those stored, and ``finished`` once every delivery is settled
# (computed here from the counts, never stored: see core.deliveries.digest_state).
DIGEST_STATES = (*STORED_DIGEST_STATES, FINISHED)

POLL_JOB = "poll"  # the scheduler's source and article poll; /healthz reports its last run


@dataclass(frozen=True)
class FeedStatus:
    """How far the feed files are behind the store (see the module docstring)."""

    built_to: int
    store_at: int
    missing_files: int

    @property
    def behind(self) -> int:
        return max(0, self.store_at - self.built_to) + self.missing_files


@dataclass(frozen=True)
class JobStatus:
    """A scheduled job: its next run from the job store, its last run and last success."""

    job_id: str
    next_run: datetime | None
    scheduled: bool
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_ok: bool | None
    last_skipped: bool
    last_summary: str
    last_error: str
    last_success_at: datetime | None


@dataclass(frozen=True)
class ServiceStatus:
    """Every number the status surfaces show, read at one moment."""

    articles: StoreSummary
    feeds: FeedStatus
    outbox: OutboxCounts
    deliveries: dict[str, int]
    digests: list[DigestRow]
    lists: dict[str, dict[str, int]]
    digest_states: dict[str, int]
    jobs: list[JobStatus]
    scheduler: JobStatus | None
    sources: list[SourceStatus]
    intake: IntakeCounts
    bounce_events: dict[str, int]
    bounce_reasons: dict[str, int]
    growth: dict[str, list[tuple[datetime, int]]]
    mail: MailCounts
    languages: LanguageCounts

    @property
    def intake_backlog(self) -> int:
        return self.intake.backlog

    @property
    def articles_by_status(self) -> dict[str, int]:
        return {"published": self.articles.published, "retracted": self.articles.retracted}


@dataclass(frozen=True)
class LastRun:
    finished_at: datetime
    ok: bool


@dataclass(frozen=True)
class HealthStatus:
    """What ``/healthz`` reports: a subset of :class:`ServiceStatus`, read the same way."""

    feeds: FeedStatus
    last_poll: LastRun | None
    outbox: OutboxCounts
    intake: IntakeCounts
    mail: MailCounts

    @property
    def intake_backlog(self) -> int:
        return self.intake.backlog


# A report waiting this long means nothing is processing the intake (``bounces serve`` or
# the IMAP job stopped): readers who left keep being mailed.
INTAKE_STALL = timedelta(minutes=15)


def health_problems(report: HealthStatus, now: datetime) -> list[str]:
    """What makes ``/healthz`` say "degraded" (issue 25): bounce reports whose processing
    failed, and a queue whose oldest report has waited past :data:`INTAKE_STALL`."""
    problems = []
    if report.intake.failed:
        problems.append(
            f"{report.intake.failed} bounce reports failed to process; "
            "'syndication status' lists them"
        )
    oldest = report.intake.oldest_queued_at
    if oldest is not None and now - oldest > INTAKE_STALL:
        problems.append(
            f"bounce reports wait since {oldest.isoformat()}: is 'bounces serve' processing?"
        )
    problems += mail_problems(report.mail, now)
    return problems


def mail_problems(counts: MailCounts, now: datetime) -> list[str]:
    """Transactional mail that readers wait for and do not get: one queued for longer
    than :data:`syndication.store.status.LATE`, or given up on lately."""
    problems = []
    oldest = counts.oldest_queued_at
    if oldest is not None and now - oldest > queries.LATE:
        why = f" (last error: {counts.last_error})" if counts.last_error else ""
        problems.append(
            f"{counts.queued} confirmation or test mails wait since {oldest.isoformat()}"
            f"{why}: is the mail server reachable and the scheduler's deliver job running?"
        )
    if counts.gave_up:
        problems.append(
            f"{counts.gave_up} confirmation or test mails given up in the last 7 days; "
            "the console's dashboard lists them"
        )
    return problems


def missing_feed_files(settings: Settings) -> list[str]:
    """Feed files a build always writes that are not on disk (lost, or not built yet)."""
    # The feed service owns the rule; imported here so that ``status`` does not load it.
    from syndication.services.feeds import missing_feed_files as missing

    return missing(settings)


def service_status(
    settings: Settings,
    engine: Engine,
    *,
    digest_limit: int | None = None,
    look_at_files: bool = True,
    growth: bool = False,
    now: datetime | None = None,
) -> ServiceStatus:
    """The report, read on one connection. ``digest_limit``: the newest digests with their
    counts (all when None); ``look_at_files``: count missing feed files as behind (the
    CLI, which shows no feed numbers, skips the disk); ``growth``: the dashboard's chart;
    ``now``: where "the last 7 days" of transactional mail ends (the clock's if None)."""
    missing = len(missing_feed_files(settings)) if look_at_files else 0
    with db.read_connection(engine) as connection:
        counters = queries.feed_counters(connection)
        jobs = _jobs(connection)
        return ServiceStatus(
            articles=queries.store_summary(connection, counters.store_at),
            feeds=FeedStatus(counters.built_to, counters.store_at, missing),
            outbox=queries.outbox_counts(connection),
            deliveries=queries.deliveries_by_status(connection),
            digests=queries.digest_rows(connection, digest_limit),
            lists=queries.list_readers(connection),
            digest_states=queries.digest_states(connection),
            jobs=[job for job in jobs if job.job_id != SCHEDULER_RUN],
            scheduler=next((job for job in jobs if job.job_id == SCHEDULER_RUN), None),
            sources=load_sources(connection),
            intake=queries.intake_counts(connection),
            bounce_events=queries.bounce_events(connection),
            bounce_reasons=queries.reason_counts(connection),
            growth=queries.subscriber_growth(connection) if growth else {},
            mail=queries.mail_counts(connection, now or utc_now()),
            languages=language_counts(settings, connection),
        )


def health_status(settings: Settings, engine: Engine, now: datetime | None = None) -> HealthStatus:
    """The cheap subset ``/healthz`` asks for every few seconds."""
    missing = len(missing_feed_files(settings))
    with db.read_connection(engine) as connection:
        counters = queries.feed_counters(connection)
        poll = job_runs.latest_runs(connection).get(POLL_JOB)
        return HealthStatus(
            feeds=FeedStatus(counters.built_to, counters.store_at, missing),
            last_poll=None if poll is None else LastRun(poll.finished_at, poll.ok),
            outbox=queries.outbox_counts(connection),
            intake=queries.intake_counts(connection),
            mail=queries.mail_counts(connection, now or utc_now()),
        )


def recent_digests(engine: Engine, limit: int, list_slug: str | None = None) -> list[DigestRow]:
    """The console's digest list: the newest digests, counted as in the report."""
    with db.read_connection(engine) as connection:
        return queries.digest_rows(connection, limit, list_slug)


def digest_report(engine: Engine, list_slug: str, period_key: str) -> DigestRow | None:
    """One digest's row as the report counts it (for the console's digest page)."""
    with db.read_connection(engine) as connection:
        rows = queries.digest_rows(connection, 1, list_slug, period_key)
    return rows[0] if rows else None


def outbox(engine: Engine) -> OutboxCounts:
    """The unsettled deliveries: queued for a sender, held, being sent."""
    db.require_current_schema(engine)
    with db.read_connection(engine) as connection:
        return queries.outbox_counts(connection)


def outbox_backlog(engine: Engine) -> int:
    """Deliveries still to be sent (queued, held ones included, or claimed by a sender)."""
    return outbox(engine).backlog


def unsent_mails(engine: Engine, limit: int = 50) -> list[UnsentMail]:
    """The console's list of transactional mail not sent: queued, retrying, given up."""
    with db.read_connection(engine) as connection:
        return queries.unsent_mails(connection, limit)


def _jobs(connection: Connection) -> list[JobStatus]:
    """Each job in the job store or with a recorded run, by id."""
    planned = {job.job_id: job.next_run for job in job_runs.scheduled_jobs(connection)}
    runs = job_runs.latest_runs(connection)
    successes = job_runs.last_successes(connection)
    result = []
    for job_id in sorted(set(planned) | set(runs)):
        run = runs.get(job_id)
        result.append(
            JobStatus(
                job_id=job_id,
                next_run=planned.get(job_id),
                scheduled=job_id in planned,
                last_started_at=run.started_at if run else None,
                last_finished_at=run.finished_at if run else None,
                last_ok=run.ok if run else None,
                last_skipped=bool(run and run.skipped),
                last_summary=run.summary if run else "",
                last_error=run.error if run else "",
                last_success_at=successes.get(job_id),
            )
        )
    return result


def deliverability(settings: Settings) -> list[str]:
    """What the settings alone say about SPF, DKIM and DMARC alignment (see
    :mod:`syndication.core.deliverability`); ``status`` prints these."""
    from syndication.core.deliverability import deliverability_notes

    return_path = settings.bounces.address or settings.mail.from_address
    dkim = settings.mail.dkim
    return deliverability_notes(
        settings.mail.from_address, return_path, None if dkim is None else dkim.domain
    )
