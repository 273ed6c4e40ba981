"""``syndication run`` with every optional job switched on, as a real process.

``[[sources]]`` (a JSONL export on disk) and ``[bounces.imap]`` (a private Dovecot on
loopback) add the sources and bounces jobs to poll, deliver and the digest jobs; the
test waits until each of them has a recorded run. Issue 24: the bounces job was once
registered under a module name that no longer existed, and the process failed at start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import JobRun
from tests.support.builders import article_json
from tests.support.dovecot import Dovecot, dovecot_missing, running_dovecot

pytestmark = pytest.mark.skipif(bool(dovecot_missing()), reason=dovecot_missing() or "present")

JOBS = {
    "sources",
    "poll",
    "deliver",
    "bounces",
    "prune",
    "retention",
    "digest:weekly-city",
    "digest:weekly-international",
}
ONCE = {"prune", "retention", "digest:weekly-city", "digest:weekly-international"}


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def config(tmp_path: Path, server: Dovecot) -> Path:
    """Settings with every job on, short intervals, and no digest ever due (see below)."""
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps(article_json("x-1")) + "\n", encoding="utf-8")
    path = tmp_path / "syndication.toml"
    # max_digest_delay = 0 makes every digest run a recorded skip, whatever today's date.
    path.write_text(
        "[scheduler]\npoll_seconds = 1\ndeliver_seconds = 1\nsources_seconds = 1\n"
        "max_digest_delay = '0s'\n"
        f"[[sources]]\nname = 'export'\nkind = 'jsonl'\nurl = '{export}'\n"
        f"[bounces.imap]\nhost = '{server.host}'\nport = {server.imaps_port}\n"
        f"security = 'tls'\nusername = '{server.user}'\nca_file = '{server.ca_file}'\n"
        "timeout_seconds = 10\n",
        encoding="utf-8",
    )
    return path


def recorded(engine: Engine) -> dict[str, list[JobRun]]:
    with db.read_session(engine) as session:
        runs: dict[str, list[JobRun]] = {}
        for run in session.scalars(select(JobRun).order_by(JobRun.id)):
            runs.setdefault(run.job_id, []).append(run)
        return runs


def test_run_starts_with_every_optional_job_and_each_one_runs(
    settings: Settings, engine: Engine, dovecot: Dovecot, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = settings.database.url
    env["SYNDICATION_SECRET_KEY"] = settings.secret_key
    env["SYNDICATION_IMAP_PASSWORD"] = dovecot.password
    log = tmp_path / "run.log"
    path = config(tmp_path, dovecot)
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "syndication", "--config", str(path), "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        runs = recorded(engine)
        # Interval jobs run again each second: two runs of each show the scheduler, not
        # only the start-up, ran them. The digest jobs and the daily prune run at start-up.
        while not all(len(runs.get(job, ())) >= (1 if job in ONCE else 2) for job in JOBS):
            assert process.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, (
                f"jobs that did not run: {sorted(JOBS - set(runs))}\n"
                + log.read_text(encoding="utf-8")
            )
            time.sleep(0.2)
            runs = recorded(engine)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    failed = {job: run.error for job, done in runs.items() for run in done if not run.ok}
    assert failed == {}
    assert "1 inserted" in runs["sources"][0].summary
    assert runs["bounces"][0].summary.startswith("fetched 0")
    assert runs["prune"][0].summary.startswith("bounce reports past 30 days: 0 deleted")
    assert runs["retention"][0].summary == (
        "0 pending sign-ups never confirmed, 0 unsubscribed records and 0 settled "
        "transactional mails deleted"
    )
    assert all(run.skipped for job in JOBS if ":" in job for run in runs[job])
