"""``bounces import``, ``status``, ``subscribers restore|export`` as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from syndication.settings import Settings
from tests.support.bounces import (
    add_active,
    arf,
    dsn,
    send_week,
    with_bounces,
)
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.intake import environment, write_config


def syndication(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = write_config(cwd, settings)
    return subprocess.run(
        [sys.executable, "-m", "syndication", "--config", str(config), *args],
        cwd=cwd,
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_status_restore_export(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    bounce_settings = with_bounces(settings)
    import_demo_articles(bounce_settings, engine)
    add_active(
        engine, ["dead@reader.example.net", "angry@reader.example.net", "fine@reader.example.net"]
    )
    sent = send_week(bounce_settings, engine, date(2026, 11, 18), AFTER_WEEK)
    dead, angry = sent["dead@reader.example.net"], sent["angry@reader.example.net"]
    (tmp_path / "dead.eml").write_bytes(
        dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    )
    (tmp_path / "complaint.eml").write_bytes(
        arf(
            "fbl@news.example.org",
            original_mail_from=f"<{angry.return_path}>",
            original_to=angry.email,
            original_message_id=angry.message_id,
        )
    )
    (tmp_path / "notes.txt").write_text("meeting notes, not mail\n")

    garbage = syndication(bounce_settings, tmp_path, "bounces", "import", "notes.txt")
    assert garbage.returncode == 1
    assert garbage.stderr.strip() == (
        "error: notes.txt: not an e-mail message (no header field at the top)"
    )

    imported = syndication(
        bounce_settings, tmp_path, "bounces", "import", "dead.eml", "complaint.eml"
    )
    assert imported.returncode == 0, imported.stderr
    assert (
        "dead@reader.example.net: hard 5.1.1; userunknown: bounced and suppressed"
        " [Diagnostic-Code (5.1.1): phrase 'no such user']" in imported.stdout
    )
    assert "2 reports: 2 applied, 0 duplicates, 0 ignored" in imported.stdout
    again = syndication(bounce_settings, tmp_path, "bounces", "import", "dead.eml")
    assert "1 reports: 0 applied, 1 duplicates, 0 ignored" in again.stdout

    status = syndication(bounce_settings, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert (
        "bounced 1 (hard 1, soft 0, blocked 0); complained 1 (complaint rate 33.33%)"
        in status.stdout
    )
    assert "warning: complaint rate 33.33% is above 0.1 %" in status.stdout

    export = syndication(bounce_settings, tmp_path, "subscribers", "export")
    assert "angry@reader.example.net,,,complained" in export.stdout
    assert "dead@reader.example.net,,weekly-city,bounced" in export.stdout

    restored = syndication(
        bounce_settings, tmp_path, "subscribers", "restore", "dead@reader.example.net"
    )
    assert restored.returncode == 0, restored.stderr
    assert "dead@reader.example.net: restored, now active" in restored.stdout
    missing = syndication(
        bounce_settings, tmp_path, "subscribers", "restore", "who@reader.example.net"
    )
    assert missing.returncode == 1
    assert "no such subscriber" in missing.stderr


def test_a_failed_report_is_listed_and_shown_in_status(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    from syndication.services import bounces
    from syndication.store import bounces as bounce_store
    from syndication.store import database as db

    bounce_settings = with_bounces(settings)
    assert (
        "no failed bounce reports"
        in syndication(bounce_settings, tmp_path, "bounces", "failed").stdout
    )
    kept = bounces.accept(
        engine, b"Subject: x\r\n\r\nx\r\n", source="smtp", sender="", recipients=[], now=AFTER_WEEK
    )
    with db.write_session(engine) as session:
        bounce_store.fail(session, kept, "RecursionError: maximum recursion depth", AFTER_WEEK)
    listed = syndication(bounce_settings, tmp_path, "bounces", "failed")
    assert listed.returncode == 0, listed.stderr
    assert "1 failed bounce reports" in listed.stdout
    assert (
        f"#{kept} " in listed.stdout and "RecursionError: maximum recursion depth" in listed.stdout
    )
    shown = syndication(bounce_settings, tmp_path, "status").stdout
    assert "1 reports failed to process" in shown
