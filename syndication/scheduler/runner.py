"""Running the scheduler: leadership, the job store, the jobs, signals, ``--once``.

:func:`run` waits to become the one active scheduler (see :mod:`syndication.edges.locks`),
catches up on digests whose period ended while no scheduler ran, then starts an
APScheduler 3.11 ``BlockingScheduler`` in the site's timezone with a persistent
``SQLAlchemyJobStore`` (table ``apscheduler_jobs``) in the service's own database. Jobs are
registered from their function objects (:func:`job_table`) with fixed ids and
``replace_existing=True``, so a restart with a changed schedule reschedules a list, and the
jobs of lists that left the settings are removed. :func:`run_once` runs poll, the due
digests and deliver once, in order.

SIGTERM and SIGINT set one stop event: no new job starts, a send in progress finishes the
message in flight and gives back its leases, and :func:`run` returns 0 within seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from syndication import clock
from syndication.edges import secret_key
from syndication.edges.locks import LeaderLock, leader_lock
from syndication.scheduler import jobs as scheduled
from syndication.services import database, job_runs
from syndication.services.job_runs import JOBS_TABLE
from syndication.settings import Settings
from syndication.store import database as db

log = logging.getLogger(__name__)

# A job that could not start on time may still start this late (a busy machine, a pause);
# later than that it waits for its next time. Digests are covered by the catch-up rule.
MISFIRE_GRACE_SECONDS = 15 * 60
STANDBY_POLL_SECONDS = 1.0
LEADER_CHECK_SECONDS = 5.0
RESTART_SECONDS = 5.0


def job_store(settings: Settings) -> SQLAlchemyJobStore:
    """The persistent job store in the service's database, on an engine of its own.

    Without a pool: the store is asked a few times a minute, and APScheduler's main loop can
    make one last query after shutdown has disposed of the engine, which with a pool would
    leave a connection open until the process exits.
    """
    engine = db.make_engine(settings.database.url, poolclass=NullPool)
    return SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)


def build_scheduler(settings: Settings) -> BlockingScheduler:
    """A scheduler in site time with the persistent store and the jobs registered."""
    scheduler = BlockingScheduler(
        timezone=settings.site.tz,
        jobstores={"default": job_store(settings)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    register_jobs(scheduler, settings)
    return scheduler


@dataclass(frozen=True)
class JobSpec:
    """One job as the scheduler registers it: the function itself, never its name as a
    string, so a renamed or moved job fails the type check and the import, not a start."""

    job_id: str
    name: str
    function: Callable[..., None]
    trigger: BaseTrigger
    args: tuple[str, ...] = ()


def job_table(settings: Settings) -> list[JobSpec]:
    """Every job these settings call for: sources (with ``[[sources]]``), poll, one digest
    job per list, deliver, bounces (with ``[bounces.imap]``), prune and retention (daily)."""
    tz = settings.site.tz
    every = settings.scheduler
    table: list[JobSpec] = []
    if settings.sources:
        table.append(
            JobSpec(
                scheduled.SOURCES,
                "poll the sources",
                scheduled.sources,
                IntervalTrigger(seconds=every.sources_seconds, timezone=tz),
            )
        )
    table.append(
        JobSpec(
            scheduled.POLL,
            "rebuild changed feeds",
            scheduled.poll,
            IntervalTrigger(seconds=every.poll_seconds, timezone=tz),
        )
    )
    for the_list in settings.lists:
        table.append(
            JobSpec(
                scheduled.digest_job_id(the_list.slug),
                f"compile the {the_list.slug} digest",
                scheduled.compile_due,
                CronTrigger.from_crontab(the_list.schedule, timezone=tz),
                (the_list.slug,),
            )
        )
    table.append(
        JobSpec(
            scheduled.DELIVER,
            "deliver queued digests",
            scheduled.deliver,
            IntervalTrigger(seconds=every.deliver_seconds, timezone=tz),
        )
    )
    if settings.bounces.imap is not None:
        table.append(
            JobSpec(
                scheduled.BOUNCES,
                "fetch bounces from the IMAP mailbox",
                scheduled.fetch_bounces,
                IntervalTrigger(seconds=every.deliver_seconds, timezone=tz),
            )
        )
    # Once a day, at a quiet hour of the site's day: what is kept only for a while goes.
    table.append(
        JobSpec(
            scheduled.PRUNE,
            "delete bounce reports past their retention",
            scheduled.prune,
            CronTrigger(hour=3, minute=17, timezone=tz),
        )
    )
    table.append(
        JobSpec(
            scheduled.RETENTION,
            "delete pending and unsubscribed records and settled mails past [privacy]'s days",
            scheduled.retention,
            CronTrigger(hour=3, minute=27, timezone=tz),
        )
    )
    return table


def register_jobs(scheduler: BlockingScheduler, settings: Settings) -> None:
    """Add every job of :func:`job_table` (ids fixed, replacing stored ones).

    APScheduler stores a job as ``module:qualname`` of the function it was given; the
    jobs are module-level functions of :mod:`syndication.scheduler.jobs`, so each
    reference resolves when the persistent store loads it back.
    """
    for spec in job_table(settings):
        scheduler.add_job(
            spec.function,
            spec.trigger,
            args=list(spec.args),
            id=spec.job_id,
            name=spec.name,
            replace_existing=True,
        )


def remove_stale_jobs(settings: Settings, engine: Engine) -> list[str]:
    """Delete stored jobs of lists no longer in the settings; returns their ids.

    Done on the table before the scheduler starts, so a stale job never fires (and never
    needs unpickling).
    """
    store = job_store(settings)
    try:
        store.jobs_t.create(store.engine, checkfirst=True)
        wanted = {spec.job_id for spec in job_table(settings)}
        with store.engine.begin() as connection:
            stored = connection.execute(select(store.jobs_t.c.id)).scalars().all()
            stale = sorted(job_id for job_id in stored if job_id not in wanted)
            if stale:
                connection.execute(store.jobs_t.delete().where(store.jobs_t.c.id.in_(stale)))
    finally:
        store.engine.dispose()
    for job_id in stale:
        log.info("removed job %s: its list is no longer in the settings", job_id)
    return stale


def catch_up(settings: Settings) -> None:
    """Compile each list's latest period if it ended while no scheduler ran, and is not
    too late (see :func:`syndication.services.digests.compiling.compile_due`); a repeat is a
    no-op."""
    for the_list in settings.lists:
        scheduled.compile_due(the_list.slug)


def install_stop_handlers(on_stop: Callable[[], None]) -> threading.Event:
    """SIGTERM and SIGINT set the returned event and call ``on_stop`` (once, off-signal)."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        if stop.is_set():
            return
        stop.set()
        log.info("received %s; finishing the work in hand", signal.Signals(signum).name)
        # Not in the handler itself: shutting the scheduler down waits for running jobs.
        threading.Thread(target=on_stop, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def _prepare(settings: Settings) -> tuple[Settings, Engine]:
    settings, warning = secret_key.with_secret_key(settings)
    if warning:
        log.warning(warning)
    engine = database.open_engine(settings)
    db.require_current_schema(engine)
    return settings, engine


def run_once(settings: Settings, now: Callable[[], datetime] = clock.utc_now) -> int:
    """Poll, compile the due digests (catch-up rules), deliver; then return 0.

    When another scheduler is active it does that work itself, so this does nothing and
    says so. Stops early (still returning 0) on SIGTERM or SIGINT.
    """
    settings, engine = _prepare(settings)
    lock = leader_lock(settings.database.url)
    try:
        if not lock.try_acquire():
            log.info("another scheduler is active on this database; nothing to do")
            return 0
        stop = install_stop_handlers(lambda: None)
        scheduled.configure(settings, engine, stop, now)
        if settings.sources:
            scheduled.sources()  # before the feeds, so they carry what it brought in
        scheduled.poll()
        if not stop.is_set():
            catch_up(settings)
        if not stop.is_set():
            scheduled.deliver()
        if not stop.is_set() and settings.bounces.imap is not None:
            scheduled.fetch_bounces()
        if not stop.is_set():
            scheduled.prune()
        if not stop.is_set():
            scheduled.retention()
        return 0
    finally:
        lock.release()
        engine.dispose()


def run(settings: Settings) -> int:
    """Wait to be the active scheduler, catch up, then run the jobs until SIGTERM/SIGINT.

    Returns 0 after a signal, 1 when the leader lock was lost (a supervisor restarts it).
    """
    settings, engine = _prepare(settings)
    lock = leader_lock(settings.database.url)
    holder: dict[str, BlockingScheduler] = {}
    lost = threading.Event()

    def shut_down() -> None:
        scheduler = holder.get("scheduler")
        if scheduler is not None and scheduler.running:
            with suppress(SchedulerNotRunningError):  # another thread got there first
                scheduler.shutdown(wait=True)

    stop = install_stop_handlers(shut_down)
    try:
        if not _become_leader(lock, stop):
            return 0
        scheduled.configure(settings, engine, stop)
        job_runs.record_scheduler(engine, job_runs.ACTIVE, clock.utc_now())
        remove_stale_jobs(settings, engine)
        catch_up(settings)
        if not stop.is_set():
            scheduled.prune()  # a scheduler that was down for days does not wait for 03:17
        if not stop.is_set():
            scheduled.retention()
        if stop.is_set():
            return 0
        watcher = threading.Thread(
            target=_watch_leadership, args=(lock, stop, lost, shut_down), daemon=True
        )
        watcher.start()
        while not stop.is_set():
            scheduler = build_scheduler(settings)
            holder["scheduler"] = scheduler
            if _run_scheduler(scheduler, stop):
                break
        log.info("scheduler stopped")
        if not lost.is_set():
            with suppress(SQLAlchemyError):  # a database that is away cannot be told
                job_runs.record_scheduler(engine, job_runs.STOPPED, clock.utc_now())
        return 1 if lost.is_set() else 0
    finally:
        lock.release()
        engine.dispose()


def _run_scheduler(scheduler: BlockingScheduler, stop: threading.Event) -> bool:
    """Run ``scheduler`` until it is shut down (True) or the database fails it (False).

    APScheduler retries a job store that fails to list due jobs, but not one that fails
    while saving a job's next run time: that escapes its main loop. Such a failure is
    logged and the scheduler is built again after a pause, so a database that is briefly
    away does not end the process.
    """
    try:
        log.info("scheduler started")
        scheduler.start()
    except SQLAlchemyError:
        log.exception("the database failed the scheduler; restarting it in a moment")
        try:
            scheduler.shutdown(wait=True)
        except Exception:  # noqa: BLE001 - it is being replaced either way
            log.debug("shutting the failed scheduler down", exc_info=True)
        stop.wait(RESTART_SECONDS)
        return False
    # start() returns once shut down; a job may still be settling: wait for it.
    if scheduler.running:
        scheduler.shutdown(wait=True)
    return True


class Outage:
    """Says once that the database is away and once that it is back, not every retry.

    The lock is retried every second while the database is away; a line per retry
    buried everything else in the log (41 lines in 40 seconds).
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._since: float | None = None

    def failed(self, exc: Exception) -> None:
        if self._since is None:
            self._since = self._now()
            log.warning(
                "cannot reach the database for the scheduler lock: %s; "
                "retrying quietly until it answers",
                exc,
            )

    def answered(self) -> None:
        if self._since is not None:
            log.info("the database answers again after %.0f s", self._now() - self._since)
            self._since = None


def _become_leader(lock: LeaderLock, stop: threading.Event) -> bool:
    """Block until ``lock`` is ours (True) or ``stop`` is set (False)."""
    waiting = False
    outage = Outage()
    while not stop.is_set():
        try:
            acquired = lock.try_acquire()
        except SQLAlchemyError as exc:
            outage.failed(exc)
        else:
            outage.answered()
            if acquired:
                log.info("this is the active scheduler (%s)", job_runs.this_process())
                return True
            if not waiting:
                log.info("another scheduler is active; standing by")
                waiting = True
        stop.wait(STANDBY_POLL_SECONDS)
    return False


def _watch_leadership(
    lock: LeaderLock, stop: threading.Event, lost: threading.Event, shut_down: Callable[[], None]
) -> None:
    """Keep the lock through a database outage; stop if another scheduler took over.

    A broken lock connection (PostgreSQL) is replaced by a new one as soon as the database
    answers again. If by then another scheduler holds the lock, this one stops rather than
    run beside it.
    """
    while not stop.wait(LEADER_CHECK_SECONDS):
        if lock.healthy():
            continue
        log.warning("the scheduler lock's connection broke; taking the lock again")
        lock.release()
        outage = Outage()
        while not stop.is_set():
            try:
                acquired = lock.try_acquire()
            except SQLAlchemyError as exc:
                outage.failed(exc)
                stop.wait(STANDBY_POLL_SECONDS)
                continue
            outage.answered()
            if acquired:
                log.info("holding the scheduler lock again")
                break
            log.error("another scheduler took over while the database was away; stopping")
            lost.set()
            stop.set()
            break
    # Also covers a signal that came between building a scheduler and starting it.
    shut_down()
