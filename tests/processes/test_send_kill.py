"""SIGKILL a real ``syndication send`` mid-digest: nothing lost, nothing settled twice.

A 2,000-recipient digest goes to a real SMTP server on loopback. The sender process is
killed with SIGKILL while it sends; a second run, once the dead sender's leases have run
out, finishes the job. Every subscriber must end with exactly one ``sent`` row and have
received the digest; any message received twice must carry the same Message-ID both
times (it was in flight at the kill), and there can be no more of those than one claimed
batch.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import Engine, func, select

from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import Delivery
from tests.support.builders import queue_demo_digest
from tests.support.processes import sender
from tests.support.smtp import SmtpServer

RECIPIENTS = 2000
BATCH = 100


def test_sigkill_mid_send_loses_nothing(
    settings: Settings, engine: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    queue_demo_digest(
        settings, engine, [f"r{i:04d}@example.org" for i in range(RECIPIENTS)], "weekly-city"
    )

    handler = smtp_server.handler
    log_path = tmp_path / "send.log"
    log = log_path.open("wb")
    first = sender(tmp_path, settings, smtp_server, log)
    deadline = time.monotonic() + 120
    while len(handler.recipients()) < RECIPIENTS // 3 and time.monotonic() < deadline:
        assert first.poll() is None, log_path.read_text()
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = len(handler.recipients())
    assert 0 < at_kill < RECIPIENTS, "the kill must land in the middle of the send"

    time.sleep(2.5)  # the dead sender's leases run out
    second = sender(tmp_path, settings, smtp_server, log)
    second.wait(timeout=300)
    log.close()
    assert second.returncode == 0, log_path.read_text()

    with db.read_session(engine) as session:
        by_status = {
            status: count
            for status, count in session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
        }
        message_ids = {r.subscriber_id: r.message_id for r in session.scalars(select(Delivery))}
    assert by_status == {"sent": RECIPIENTS}
    assert len(message_ids) == RECIPIENTS

    received = Counter(handler.recipients())
    assert set(received) == {f"r{i:04d}@example.org" for i in range(RECIPIENTS)}
    duplicates = {address for address, n in received.items() if n > 1}
    assert len(duplicates) <= BATCH * 2, f"{len(duplicates)} duplicates: more than was in flight"
    ids_by_address: dict[str, set[str]] = {}
    for _, rcpts, data in handler.messages:
        message_id = str(message_from_bytes(data, policy=policy.default)["Message-ID"])
        for address in rcpts:
            ids_by_address.setdefault(address, set()).add(message_id)
    assert all(len(ids) == 1 for ids in ids_by_address.values()), "a resend changed its Message-ID"
    print(f"killed after {at_kill} messages; {len(duplicates)} resent after the restart")
