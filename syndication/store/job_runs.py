"""What the scheduler did and will do: recorded job runs, and the stored schedule.

Read by the status report (``status``, ``/healthz``, the console, ``/metrics``) and the
scheduler itself. The schedule is read straight from APScheduler's job table, so looking
at it needs no scheduler (and no APScheduler). Core queries on
:data:`syndication.store.tables.job_runs`, no ORM: ``status`` starts without it (issue 24).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
)

from syndication.store import database as db
from syndication.store import tables

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

JOBS_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class JobSchedule:
    """A stored job's id and its next run time (None when paused)."""

    job_id: str
    next_run: datetime | None


def stored_jobs(engine: Engine) -> list[JobSchedule]:
    """The jobs in the persistent store with their next run times, read from the table.

    Empty when no scheduler has ever started on this database.
    """
    with engine.connect() as connection:
        return scheduled_jobs(connection)


def scheduled_jobs(connection: Connection) -> list[JobSchedule]:
    """:func:`stored_jobs` on an open connection (the status report reads it in its session)."""
    if not inspect(connection).has_table(JOBS_TABLE):
        return []
    table = Table(
        JOBS_TABLE,
        MetaData(),
        Column("id", String(191), primary_key=True),
        Column("next_run_time", Float(25)),
    )
    rows = connection.execute(select(table.c.id, table.c.next_run_time).order_by(table.c.id))
    return [
        JobSchedule(job_id, None if when is None else datetime.fromtimestamp(when, UTC))
        for job_id, when in rows
    ]


@dataclass(frozen=True)
class RecordedRun:
    """One recorded run of a job (a ``job_runs`` row)."""

    job_id: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    skipped: bool
    summary: str
    error: str


def latest_runs(connection: Connection) -> dict[str, RecordedRun]:
    """The latest recorded run of every job id: the one query for "last run per job"."""
    runs = tables.job_runs
    latest = (
        select(runs.c.job_id, func.max(runs.c.id).label("id")).group_by(runs.c.job_id)
    ).subquery()
    rows = connection.execute(
        select(
            runs.c.job_id,
            runs.c.started_at,
            runs.c.finished_at,
            runs.c.ok,
            runs.c.skipped,
            runs.c.summary,
            runs.c.error,
        ).join(latest, runs.c.id == latest.c.id)
    )
    return {row.job_id: RecordedRun(*row) for row in rows}


def last_successes(connection: Connection) -> dict[str, datetime]:
    """When each job last finished without an error."""
    runs = tables.job_runs
    rows = connection.execute(
        select(runs.c.job_id, func.max(runs.c.finished_at))
        .where(runs.c.ok.is_(True))
        .group_by(runs.c.job_id)
    )
    return {str(job_id): _aware(at) for job_id, at in rows if at is not None}


def last_runs(engine: Engine) -> dict[str, RecordedRun]:
    """The latest recorded run of every job id (:func:`latest_runs` on its own connection)."""
    with db.read_connection(engine) as connection:
        return latest_runs(connection)


def _aware(value: datetime | str) -> datetime:
    # SQLite's max() skips the column's type decorator and returns a naive UTC value.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def record_run(
    session: Session,
    *,
    job_id: str,
    started_at: datetime,
    finished_at: datetime,
    ok: bool,
    skipped: bool,
    summary: str,
    error: str,
) -> None:
    """Add one run of ``job_id`` to ``job_runs``."""
    session.execute(
        insert(tables.job_runs).values(
            job_id=job_id,
            started_at=started_at,
            finished_at=finished_at,
            ok=ok,
            skipped=skipped,
            summary=summary,
            error=error,
        )
    )


def prune_runs(session: Session, job_id: str, started_before: datetime) -> None:
    """Delete the runs of ``job_id`` that started before ``started_before``."""
    session.execute(
        delete(tables.job_runs).where(
            tables.job_runs.c.job_id == job_id, tables.job_runs.c.started_at < started_before
        )
    )
