"""The scheduler's jobs: module-level functions, each one service call plus its record.

A persistent job store pickles each job's function *reference* (``module:qualname``) and
arguments, so the jobs take nothing but a list slug; the settings, engine and stop event
they need are set once per process by :func:`configure`. Each job calls one unit of work
in :mod:`syndication.services`, records what came of it
(:func:`syndication.services.job_runs.record_run`) and logs one structured line (job,
duration_ms, counts). A job that raises is logged with its traceback and recorded as
failed; it does not propagate, so the scheduler runs it again at its next time.

Digests follow one rule, at start-up (the catch-up) and at every firing alike, and the
digests service holds it (:func:`syndication.services.digests.compiling.compile_due`): the
latest complete period is compiled if it ended no more than ``max_digest_delay`` ago; older
than that it is skipped, and the skip is recorded, never sent late.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication import clock
from syndication.services import delivery, job_runs
from syndication.services import feeds as feed_service
from syndication.services.digests import compiling
from syndication.settings import Settings

log = logging.getLogger(__name__)

POLL = "poll"
SOURCES = "sources"
DELIVER = "deliver"
BOUNCES = "bounces"
PRUNE = "prune"
RETENTION = "retention"
DIGEST_PREFIX = "digest:"


def digest_job_id(list_slug: str) -> str:
    return f"{DIGEST_PREFIX}{list_slug}"


@dataclass
class _Runtime:
    settings: Settings
    engine: Engine
    stop: threading.Event
    now: Callable[[], datetime]


_runtime: _Runtime | None = None


def configure(
    settings: Settings,
    engine: Engine,
    stop: threading.Event,
    now: Callable[[], datetime] = clock.utc_now,
) -> None:
    """Give this process's jobs their settings (with a signing key), engine and stop event."""
    global _runtime
    _runtime = _Runtime(settings, engine, stop, now)


def _current() -> _Runtime:
    if _runtime is None:
        raise RuntimeError("scheduled jobs run only after syndication.scheduler.jobs.configure()")
    return _runtime


# -- what a run produced ------------------------------------------------------------------


@dataclass(frozen=True)
class JobOutcome:
    """What one job run did: a line for people, counts for the log, and a skip flag."""

    summary: str
    counts: dict[str, int]
    skipped: bool = False


def _run(job_id: str, work: Callable[[_Runtime], JobOutcome]) -> JobOutcome | None:
    """Run ``work``, log one line and record it; None when it raised (already logged)."""
    runtime = _current()
    started = runtime.now()
    clock = time.monotonic()
    outcome: JobOutcome | None = None
    error = ""
    try:
        outcome = work(runtime)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded; the next one retries
        error = "".join(traceback.format_exception_only(exc)).strip()
        log.exception(
            "job %s failed: %s",
            job_id,
            error,
            extra={"job": job_id, "duration_ms": _ms(clock), "ok": False},
        )
    else:
        log.info(
            "job %s: %s",
            job_id,
            outcome.summary,
            extra={"job": job_id, "duration_ms": _ms(clock), "ok": True, **outcome.counts},
        )
    try:
        job_runs.record_run(
            runtime.engine,
            job_id,
            started_at=started,
            finished_at=runtime.now(),
            ok=outcome is not None,
            skipped=outcome is not None and outcome.skipped,
            summary="" if outcome is None else outcome.summary,
            error=error,
        )
    except Exception:  # noqa: BLE001 - the database may be away; the log line stands
        log.warning("job %s: could not record the run", job_id, exc_info=True)
    return outcome


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


# -- the jobs -----------------------------------------------------------------------------


def poll() -> None:
    """Rebuild the feeds the store changed since the last build (one query when idle)."""
    _run(POLL, _poll)


def _poll(runtime: _Runtime) -> JobOutcome:
    report = feed_service.build_feeds(
        runtime.settings, runtime.engine, force_all=False, stop=runtime.stop
    )
    counts = {"feeds": len(report.feeds), "changed": len(report.changed)}
    counts["removed"] = len(report.removed)
    if not report.feeds:
        summary = f"feeds up to date (change {report.watermark})"
    else:
        summary = (
            f"rebuilt {', '.join(report.feeds)}: {len(report.changed)} files written, "
            f"{len(report.removed)} removed (change {report.watermark})"
        )
    if report.websub_error:
        summary += f"; WebSub will retry: {report.websub_error}"
    return JobOutcome(summary, counts)


def sources() -> None:
    """Poll every source that is not backing off (issue 11); runs before the feeds."""
    _run(SOURCES, _sources)


def _sources(runtime: _Runtime) -> JobOutcome:
    from syndication.services.sources import poll_sources

    reports = poll_sources(
        runtime.settings, runtime.engine, scheduled=True, now=runtime.now, on_rejection=log.warning
    )
    counts = {"sources": len(reports), "failed": sum(1 for r in reports if r.error)}
    for name in ("inserted", "updated", "rejected", "retracted"):
        counts[name] = sum(getattr(r, name) for r in reports)
    summary = "; ".join(r.summary for r in reports) or "no sources configured"
    if counts["failed"]:
        # Every source was polled; the run is recorded as failed so status shows it.
        raise RuntimeError(summary)
    return JobOutcome(summary, counts)


def compile_due(list_slug: str) -> None:
    """Compile ``list_slug``'s latest complete period, if it is not too late (module doc)."""
    _run(digest_job_id(list_slug), lambda runtime: _compile_due(runtime, list_slug))


def _compile_due(runtime: _Runtime, list_slug: str) -> JobOutcome:
    due = compiling.compile_due(runtime.settings, runtime.engine, list_slug, runtime.now())
    key, report = due.period_key, due.compiled
    if report is None:
        hours = due.decision.late_by / timedelta(hours=1)
        limit = due.max_delay / timedelta(hours=1)
        return JobOutcome(
            f"{key}: skipped; the period ended {hours:.1f} h ago, past max_digest_delay "
            f"({limit:g} h)",
            {"queued": 0},
            skipped=True,
        )
    if report.empty:
        return JobOutcome(f"{key}: no articles in this period; no digest", {"queued": 0})
    if not report.created:
        return JobOutcome(f"{key}: already compiled", {"queued": 0})
    return JobOutcome(
        f"{key}: compiled, {report.articles} articles, {report.queued} deliveries queued",
        {"articles": report.articles, "queued": report.queued},
    )


def deliver() -> None:
    """Drain the outbox; on the stop event, finish the message in flight and give back leases."""
    _run(DELIVER, _deliver)


def _deliver(runtime: _Runtime) -> JobOutcome:
    # A job waits one minute for a server that is down; the next run tries again.
    options = delivery.SendOptions.from_settings(runtime.settings, max_wait=60.0)
    report = delivery.send_digests(
        runtime.settings, runtime.engine, now=runtime.now, options=options, stop=runtime.stop
    )
    counts = {"sent": report.sent, "retried": report.retried, "bounced": report.bounced}
    summary = f"sent {report.sent}, retry later {report.retried}, bounced {report.bounced}"
    if report.unavailable:
        raise RuntimeError(f"{summary}; {report.unavailable}")
    return JobOutcome(summary, counts)


def fetch_bounces() -> None:
    """Fetch the ``[bounces.imap]`` mailbox and process what it holds (issue 10)."""
    _run(BOUNCES, _fetch_bounces)


def prune() -> None:
    """Delete what the service keeps only for a while: raw bounce reports past
    ``bounces.retention_days`` (issue 25; events and verdicts stay)."""
    _run(PRUNE, _prune)


def _prune(runtime: _Runtime) -> JobOutcome:
    from syndication.services import bounces

    pruned = bounces.prune_reports(runtime.settings, runtime.engine, runtime.now())
    counts = {
        "intake_deleted": pruned.intake_deleted,
        "intake_emptied": pruned.intake_emptied,
        "events_emptied": pruned.events_emptied,
    }
    summary = (
        f"bounce reports past {runtime.settings.bounces.retention_days} days: "
        f"{pruned.intake_deleted} deleted, {pruned.intake_emptied + pruned.events_emptied} "
        "raw copies emptied"
    )
    return JobOutcome(summary, counts)


def retention() -> None:
    """Delete pending and unsubscribed records and settled transactional mails past
    ``[privacy]``'s days (issue 29)."""
    _run(RETENTION, _retention)


def _retention(runtime: _Runtime) -> JobOutcome:
    from syndication.services import privacy

    done = privacy.apply_retention(runtime.settings, runtime.engine, runtime.now())
    counts = {
        "pending_deleted": done.pending,
        "unsubscribed_deleted": done.unsubscribed,
        "mails_deleted": done.mails,
    }
    return JobOutcome(done.summary, counts)


def _fetch_bounces(runtime: _Runtime) -> JobOutcome:
    from syndication.services import bounces

    report = bounces.fetch_imap(runtime.settings, runtime.engine, runtime.now)
    done = report.processed
    counts = {"fetched": report.fetched, "applied": done.applied, "ignored": done.ignored}
    if report.dropped:
        counts["dropped"] = report.dropped
    return JobOutcome(report.summary, counts)
