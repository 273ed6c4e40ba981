"""``syndication users …`` and ``syndication digest hold|resume|approve|cancel`` as an
operator runs them: real processes against the test's database."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from syndication.services import users
from syndication.services.digests import approval
from syndication.settings import Settings
from tests.support.outbox import PERIOD, queue_demo_digest
from tests.support.processes import syndication


def test_users_add_list_set_password_remove(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return syndication(*args, cwd=tmp_path, database_url=database_url, stdin=stdin)

    added = run("users", "add", "Ed@Example.org", "--password-stdin", stdin="a long passphrase\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "ed@example.org: added as viewer"
    again = run("users", "add", "ed@example.org", "--password-stdin", stdin="a long passphrase\n")
    assert again.returncode != 0 and "already a user" in again.stderr
    weak = run(
        "users", "add", "x@example.org", "--role", "operator", "--password-stdin", stdin="short\n"
    )
    assert weak.returncode != 0 and "at least 12 characters" in weak.stderr
    role = run(
        "users",
        "add",
        "x@example.org",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    assert role.returncode != 0 and "role 'admin'" in role.stderr
    assert re.search(r"^ed@example\.org +viewer +since ", run("users", "list").stdout, re.M)
    changed = run(
        "users", "set-password", "ed@example.org", "--password-stdin", stdin="another passphrase\n"
    )
    assert changed.returncode == 0, changed.stderr
    now = datetime(2026, 11, 28, tzinfo=UTC)
    ok = users.sign_in(engine, "ed@example.org", "another passphrase", "1.1.1.1", now)
    assert ok.outcome is users.LoginOutcome.OK
    for i in range(users.LOCKOUT_FAILURES):
        users.sign_in(engine, "ed@example.org", f"wrong guess {i}", "1.1.1.1", now)
    locked = users.sign_in(engine, "ed@example.org", "another passphrase", "1.1.1.1", now)
    assert locked.outcome is users.LoginOutcome.LOCKED
    unlocked = run("users", "unlock", "Ed@Example.org")
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout.strip() == "ed@example.org: unlocked (5 failed sign-ins forgotten)"
    after = users.sign_in(engine, "ed@example.org", "another passphrase", "1.1.1.1", now)
    assert after.outcome is users.LoginOutcome.OK
    nobody = run("users", "unlock", "nobody@example.org")
    assert nobody.returncode != 0 and "no such user" in nobody.stderr
    assert run("users", "remove", "ed@example.org").returncode == 0
    assert users.signed_in(engine, ok.session_id, now) is None
    gone = run("users", "remove", "ed@example.org")
    assert gone.returncode != 0 and "no such user" in gone.stderr


def digest_line(cwd: Path, database_url: str) -> str:
    """The digest's line of ``syndication status``, its spaces squeezed."""
    shown = syndication("status", cwd=cwd, database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith("  weekly-city ")][-1:]
    return " ".join(line.split())


def test_a_digest_with_every_delivery_settled_is_finished(
    settings: Settings, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    queue_demo_digest(settings, engine, 2)
    sent = syndication("send", cwd=tmp_path, database_url=database_url)
    assert sent.returncode == 0, sent.stderr
    assert digest_line(tmp_path, database_url) == f"weekly-city {PERIOD} finished: 2 sent"
    for action in ("hold", "cancel"):
        refused = syndication(
            "digest", action, "weekly-city", PERIOD, cwd=tmp_path, database_url=database_url
        )
        assert refused.returncode != 0
        assert (
            f"finished (every delivery is settled: 2 sent); there is nothing left to {action}"
            in refused.stderr
        )
    assert approval.digest_status(engine, "weekly-city", PERIOD).state == "ready"


def test_digest_hold_resume_cancel_commands(
    settings: Settings, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    queue_demo_digest(settings, engine, 2)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return syndication("digest", *args, cwd=tmp_path, database_url=database_url)

    held = run("hold", "weekly-city", PERIOD)
    assert held.returncode == 0, held.stderr
    assert f"weekly-city {PERIOD}: ready -> held (deliveries: 2 queued)" in held.stdout
    assert approval.digest_status(engine, "weekly-city", PERIOD).state == "held"
    assert digest_line(tmp_path, database_url) == f"weekly-city {PERIOD} held: 2 queued"
    sent = syndication("send", cwd=tmp_path, database_url=database_url)
    assert sent.returncode == 0, sent.stderr
    assert "sent 0, " in sent.stdout and "2 still queued (2 of them held" in sent.stdout
    assert run("resume", "weekly-city", PERIOD).returncode == 0
    # The demo period ended long before the real clock's now: approval is refused.
    stale = run("approve", "weekly-city", PERIOD)
    assert stale.returncode != 0 and "a stale digest should not go out" in stale.stderr
    cancelled = run("cancel", "weekly-city", PERIOD)
    assert "2 unsent deliveries cancelled" in cancelled.stdout
    assert digest_line(tmp_path, database_url) == f"weekly-city {PERIOD} cancelled: 2 skipped"
    again = run("resume", "weekly-city", PERIOD)
    assert again.returncode != 0 and "can never be sent" in again.stderr
    missing = run("hold", "weekly-city", "2020-01-06")
    assert missing.returncode != 0 and "no such digest" in missing.stderr
