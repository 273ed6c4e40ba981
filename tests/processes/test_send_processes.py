"""Three real ``syndication send`` processes on one outbox: every recipient exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, func, select

from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import Delivery
from tests.support.builders import queue_demo_digest
from tests.support.processes import sender
from tests.support.smtp import SmtpServer

RECIPIENTS = 600


def test_three_senders_share_the_outbox(
    settings: Settings, engine: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    queue_demo_digest(
        settings,
        engine,
        [f"s{i:04d}@example.org" for i in range(RECIPIENTS)],
        "weekly-international",
    )

    log_path = tmp_path / "send.log"
    with log_path.open("wb") as log:
        processes = [sender(tmp_path, settings, smtp_server, log) for _ in range(3)]
        for process in processes:
            process.wait(timeout=300)
    assert [p.returncode for p in processes] == [0, 0, 0], log_path.read_text()

    received = Counter(smtp_server.handler.recipients())
    assert set(received) == {f"s{i:04d}@example.org" for i in range(RECIPIENTS)}
    assert max(received.values()) == 1, "someone got the digest twice"
    with db.read_session(engine) as session:
        statuses = {
            status: count
            for status, count in session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
        }
    assert statuses == {"sent": RECIPIENTS}
