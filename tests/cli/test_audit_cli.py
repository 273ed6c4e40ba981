"""Operator commands leave an audit record naming the OS user who ran them, from the CLI
(issue 28): real processes against the test's database."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

from sqlalchemy import Engine, select

from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import AuditEvent
from tests.support.builders import EXAMPLES
from tests.support.outbox import PERIOD, queue_demo_digest
from tests.support.processes import syndication


def test_each_command_is_recorded_as_the_os_user_from_the_cli(
    settings: Settings, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    queue_demo_digest(settings, engine, 1)
    (tmp_path / "new.csv").write_text(
        "email,name,lists\nann@example.org,Ann,weekly-city\nbad-address,Bo,weekly-city\n",
        encoding="utf-8",
    )

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return syndication(*args, cwd=tmp_path, database_url=database_url, stdin=stdin)

    for args, ok in (
        (("users", "add", "ed@example.org", "--password-stdin"), True),
        (("users", "unlock", "ed@example.org"), True),
        (("digest", "hold", "weekly-city", PERIOD), True),
        (("subscribers", "import", "new.csv", "--confirmed"), False),  # one bad row: exit 1
        (("subscribers", "remove", "ann@example.org"), True),
        (("articles", "retract", "smg-3954", "--reason", "Wrong figures"), True),
        (("articles", "import", str(EXAMPLES / "news.jsonl")), True),
        (("users", "remove", "ed@example.org"), True),
    ):
        done = run(*args, stdin="a long passphrase\n")
        assert (done.returncode == 0) is ok, (args, done.stderr)
    with db.read_session(engine) as session:
        rows = [
            (e.actor, e.source, e.client, e.action, e.subject_key, e.detail)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.source != "system").order_by(AuditEvent.id)
            )
        ]
    me = (getpass.getuser(), "cli", "")
    assert [row[:5] for row in rows] == [
        (*me, "user-add", "ed@example.org"),
        (*me, "unlock", "ed@example.org"),
        (*me, "digest-hold", f"weekly-city {PERIOD}"),
        (*me, "subscribers-import", "new.csv"),
        (*me, "subscriber-unsubscribe", rows[4][4]),
        (*me, "article-retract", "smg-3954"),
        (*me, "articles-import", str(EXAMPLES / "news.jsonl")),
        (*me, "user-remove", "ed@example.org"),
    ]
    details = [row[5] for row in rows]
    assert details[3] == (
        "lines 2-3: 1 added, 0 updated, 1 rejected, 0 on the suppression list"
        " (confirmed by the operator)"
    )
    assert details[4] == "ann@example.org: active -> unsubscribed"
    assert details[5].startswith("reason: Wrong figures")
