"""``python scheduler.py`` as real processes on a real clock, on every backend.

Bounds on time are generous ("within seconds" means well under half a minute here); what
is asserted is what happened, not how fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from syndication import clock
from syndication.core import digests as digest
from syndication.core.articles import ArticleRecord
from syndication.settings import Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Delivery
from tests.support.builders import queue_demo_digest
from tests.support.processes import syndication
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).parent.parent.parent
ArticleFactory = Callable[..., ArticleRecord]


def scheduler(
    tmp_path: Path, settings: Settings, config: str, log: Path, *args: str
) -> subprocess.Popen[bytes]:
    """Start ``python scheduler.py`` in ``tmp_path`` on the test's database; stderr to ``log``."""
    path = tmp_path / "syndication.toml"
    path.write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = settings.database.url
    env["SYNDICATION_SECRET_KEY"] = settings.secret_key
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "scheduler.py"), "--config", str(path), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def says(log: Path, text: str) -> Callable[[], bool]:
    return lambda: log.exists() and text in log.read_text(encoding="utf-8")


# max_digest_delay = 0 makes the start-up catch-up skip the latest real week, whatever
# today's date: these processes run on the real clock, and on a Monday or Tuesday that week
# may hold the demo articles (issue 14: 300 recipients got 600 deliveries on 2026-11-30).
FAST = "[scheduler]\npoll_seconds = 1\ndeliver_seconds = 1\nmax_digest_delay = '0s'\n"
ACTIVE = "this is the active scheduler"


def test_standby_takes_over_after_the_active_scheduler_is_killed(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = scheduler(tmp_path, settings, FAST, first_log)
    second = None
    try:
        wait_for(says(first_log, "scheduler started"), 60, "the first scheduler to start")
        second = scheduler(tmp_path, settings, FAST, second_log)
        wait_for(says(second_log, "standing by"), 60, "the second one to stand by")
        wait_for(says(first_log, "job poll"), 30, "the first one to poll")
        time.sleep(2)
        assert not says(second_log, ACTIVE)(), "two active schedulers"

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        wait_for(says(second_log, ACTIVE), 30, "the standby to take over")
        wait_for(says(second_log, "job poll"), 30, "the new active scheduler to poll")
        # status names the host and process an operator must look at (issue 29).
        where = f"{socket.gethostname()} (pid {second.pid})"
        status = syndication("status", cwd=tmp_path, database_url=settings.database.url)
        assert f"scheduler: active on {where} since " in status.stdout, status.stdout
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, second_log.read_text(encoding="utf-8")
        status = syndication("status", cwd=tmp_path, database_url=settings.database.url)
        assert f"scheduler: stopped on {where} at " in status.stdout, status.stdout
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_sigterm_stops_a_standby_and_the_active_scheduler(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    active_log, standby_log = tmp_path / "active.log", tmp_path / "standby.log"
    active = scheduler(tmp_path, settings, FAST, active_log)
    standby = None
    try:
        wait_for(says(active_log, "scheduler started"), 60, "the scheduler to start")
        standby = scheduler(tmp_path, settings, FAST, standby_log)
        wait_for(says(standby_log, "standing by"), 60, "the second one to stand by")
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=30) == 0, standby_log.read_text(encoding="utf-8")
        assert not says(standby_log, ACTIVE)()
        active.send_signal(signal.SIGINT)
        assert active.wait(timeout=30) == 0, active_log.read_text(encoding="utf-8")
        assert says(active_log, "scheduler stopped")()
    finally:
        for process in (active, standby):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_sigterm_during_a_send_exits_0_with_leases_released(
    settings: Settings, engine: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    recipients = 300
    queue_demo_digest(
        settings, engine, [f"r{i:03d}@example.org" for i in range(recipients)], "weekly-city"
    )
    config = (
        FAST + "[mail]\ntransport = 'smtp'\n"
        f"[mail.smtp]\nhost = '{smtp_server.host}'\nport = {smtp_server.port}\n"
        "rate_per_second = 20\nconnections = 1\n"
    )
    log = tmp_path / "scheduler.log"
    process = scheduler(tmp_path, settings, config, log)
    try:
        handler = smtp_server.handler
        wait_for(lambda: len(handler.recipients()) >= 10, 60, "the send to be under way")
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
        assert time.monotonic() - started < 20
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with db.read_session(engine) as session:
        by_status = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        held = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.lease_until.is_not(None))
        )
    assert "sending" not in by_status and held == 0
    assert 0 < by_status["sent"] < recipients
    assert by_status["sent"] + by_status["queued"] == recipients
    assert len(set(handler.recipients())) == by_status["sent"]
    assert "received SIGTERM" in log.read_text(encoding="utf-8")


def test_once_twice_sends_nothing_new_the_second_time(
    settings: Settings, engine: Engine, make_article: ArticleFactory, tmp_path: Path
) -> None:
    # The latest complete week on the real clock, whenever the test runs.
    period = digest.latest_complete_period("0 8 * * mon", settings.site.tz, clock.utc_now())
    records = [
        make_article("smg-env", topics=("environment",), published_at=period.start + timedelta(1)),
        make_article("smg-intl", published_at=period.start + timedelta(2)),
    ]
    with db.write_session(engine) as session:
        store.write_articles(session, records, period.start)
        subscribers.add_subscriber(
            session,
            "reader@example.org",
            "독자",
            ["weekly-city", "weekly-international"],
            confirmed=True,
            now=period.start,
        )
    config = "[scheduler]\nmax_digest_delay = '8d'\n"
    log = tmp_path / "once.log"
    first = scheduler(tmp_path, settings, config, log, "--once")
    assert first.wait(timeout=120) == 0, log.read_text(encoding="utf-8")
    sent = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert len(sent) == 2
    assert (tmp_path / "feeds" / "all" / "rss.xml").exists()
    log.write_text("", encoding="utf-8")

    second = scheduler(tmp_path, settings, config, log, "--once")
    assert second.wait(timeout=120) == 0, log.read_text(encoding="utf-8")
    assert sorted((tmp_path / "outbox").rglob("*.eml")) == sent
    output = log.read_text(encoding="utf-8")
    assert "feeds up to date" in output
    assert output.count("already compiled") == 2
    assert "sent 0, retry later 0, bounced 0" in output


def test_a_database_outage_does_not_end_the_scheduler(
    settings: Settings, engine: Engine, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("the outage is made by the PostgreSQL server closing every connection")
    log = tmp_path / "scheduler.log"
    process = scheduler(tmp_path, settings, FAST, log)
    try:
        wait_for(says(log, "job poll"), 60, "the scheduler to poll")
        with engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert killed >= 1
        polls = log.read_text(encoding="utf-8").count("job poll")
        wait_for(says(log, "holding the scheduler lock again"), 30, "the lock to be retaken")
        wait_for(
            lambda: log.read_text(encoding="utf-8").count("job poll") >= polls + 3,
            30,
            "polls after the outage",
        )
        assert process.poll() is None, log.read_text(encoding="utf-8")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_syndication_run_once_is_the_same_scheduler(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    result = syndication("run", "--once", cwd=tmp_path, database_url=settings.database.url)
    assert result.returncode == 0, result.stderr
    for job in ("poll", "digest:weekly-city", "digest:weekly-international", "deliver"):
        assert f'"job": "{job}"' in result.stderr
    status = syndication("status", cwd=tmp_path, database_url=settings.database.url)
    assert "scheduler jobs:" in status.stdout and "not scheduled; last " in status.stdout
