"""Job runs: recording what each scheduler job did, and how long that history is kept.

The scheduler records one row per run (:func:`record_run`); ``status``, ``/healthz`` and
the console read them back through :mod:`syndication.store.job_runs`. The job store's
table name is here too, so the scheduler reaches it without importing the store.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.store import database as db
from syndication.store import job_runs as store
from syndication.store.job_runs import JOBS_TABLE as JOBS_TABLE

# Poll and deliver run every minute: keep a fortnight of history per job, not years.
HISTORY = timedelta(days=14)

# The scheduler itself: a run recorded when a scheduler becomes the active one on this
# database and when it stops, so that ``status`` can say which host and process it is.
SCHEDULER_RUN = "scheduler"
ACTIVE, STOPPED = "active", "stopped"


def this_process() -> str:
    """``host (pid N)``: how an operator finds the active scheduler."""
    return f"{socket.gethostname()} (pid {os.getpid()})"


def record_scheduler(engine: Engine, state: str, now: datetime) -> None:
    """Record that this process became the active scheduler (``active``) or stopped."""
    record_run(
        engine,
        SCHEDULER_RUN,
        started_at=now,
        finished_at=now,
        ok=True,
        summary=f"{state} on {this_process()}",
    )


def record_run(
    engine: Engine,
    job_id: str,
    *,
    started_at: datetime,
    finished_at: datetime,
    ok: bool,
    skipped: bool = False,
    summary: str = "",
    error: str = "",
) -> None:
    """Record one run of ``job_id`` and drop its runs older than :data:`HISTORY`.

    The run just recorded is never older than that, so status always shows it.
    """
    with db.write_session(engine) as session:
        store.record_run(
            session,
            job_id=job_id,
            started_at=started_at,
            finished_at=finished_at,
            ok=ok,
            skipped=skipped,
            summary=summary,
            error=error,
        )
        store.prune_runs(session, job_id, started_at - HISTORY)
