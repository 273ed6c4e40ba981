"""Recording job runs: one row per run, a fortnight of history per job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from syndication.services import job_runs
from syndication.store import database as db
from syndication.store import job_runs as store
from syndication.store.models import JobRun

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def started(engine: Engine, job_id: str) -> list[datetime]:
    with db.read_session(engine) as session:
        rows = session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id))
        return [row.started_at for row in rows]


def test_a_run_is_recorded_as_given(engine: Engine) -> None:
    job_runs.record_run(
        engine,
        "digest:weekly-city",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        ok=True,
        skipped=True,
        summary="2026-11-16: skipped",
    )
    last = store.last_runs(engine)["digest:weekly-city"]
    assert (last.ok, last.skipped, last.summary, last.error) == (
        True,
        True,
        "2026-11-16: skipped",
        "",
    )
    assert last.finished_at == T0 + timedelta(seconds=2)


def test_history_older_than_a_fortnight_goes_job_by_job(engine: Engine) -> None:
    for job_id in ("poll", "deliver"):
        job_runs.record_run(engine, job_id, started_at=T0, finished_at=T0, ok=True)
    edge = T0 + job_runs.HISTORY
    job_runs.record_run(engine, "poll", started_at=edge, finished_at=edge, ok=True)
    assert started(engine, "poll") == [T0, edge]  # exactly a fortnight old: kept
    later = edge + timedelta(seconds=1)
    job_runs.record_run(engine, "poll", started_at=later, finished_at=later, ok=False, error="x")
    assert started(engine, "poll") == [edge, later]
    assert started(engine, "deliver") == [T0]  # another job's history is its own


def test_the_job_store_table_is_named_once() -> None:
    assert job_runs.JOBS_TABLE == store.JOBS_TABLE == "apscheduler_jobs"
