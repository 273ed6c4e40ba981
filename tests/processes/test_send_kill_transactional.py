"""SIGKILL a real ``syndication send`` while it sends confirmation mails (issue 29 item 4).

300 readers signed up while the mail server was down; their confirmations wait in the
transactional outbox. A real sender is killed with SIGKILL in the middle; a second run,
once the dead sender's leases ran out, finishes. Every mail ends ``sent`` exactly once,
every reader got theirs, and since each mail is settled as soon as it is handed over, at
most one per connection (the one whose commit the kill interrupted) went out twice, with
the same Message-ID.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import Engine, func, select

from syndication.services import subscribers
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import TransactionalMail
from tests.support.processes import sender
from tests.support.smtp import SmtpServer

READERS = 300
CONNECTIONS = 2  # what tests.support.processes.sender configures


def test_sigkill_mid_send_of_confirmations_neither_loses_nor_doubles(
    settings: Settings, engine: Engine, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    addresses = [f"r{i:03d}@example.org" for i in range(READERS)]
    # Queued now: the sender is a real process on the real clock, and a mail queued more
    # than a day before it runs would be given up, not sent.
    queued_at = datetime.now(UTC)
    for address in addresses:
        form = subscribers.read_sign_up(settings, address, "", ["weekly-city"])
        assert subscribers.sign_up(settings, engine, form, queued_at) is not None

    handler = smtp_server.handler
    log_path = tmp_path / "send.log"
    log = log_path.open("wb")
    first = sender(tmp_path, settings, smtp_server, log)
    deadline = time.monotonic() + 120
    while len(handler.recipients()) < READERS // 3 and time.monotonic() < deadline:
        assert first.poll() is None, log_path.read_text()
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = len(handler.recipients())
    assert 0 < at_kill < READERS, "the kill must land in the middle of the send"

    time.sleep(2.5)  # the dead sender's leases (2 s) run out
    second = sender(tmp_path, settings, smtp_server, log)
    second.wait(timeout=300)
    log.close()
    assert second.returncode == 0, log_path.read_text()

    with db.read_session(engine) as session:
        by_status = dict(
            session.execute(
                select(TransactionalMail.status, func.count()).group_by(TransactionalMail.status)
            ).all()
        )
    assert by_status == {"sent": READERS}
    received = Counter(handler.recipients())
    assert set(received) == set(addresses)
    doubled = [address for address, n in received.items() if n > 1]
    assert len(doubled) <= CONNECTIONS, f"{len(doubled)} sent twice: more than was in flight"
    ids: dict[str, set[str]] = {}
    for _, rcpts, data in handler.messages:
        message_id = str(message_from_bytes(data, policy=policy.default)["Message-ID"])
        for address in rcpts:
            ids.setdefault(address, set()).add(message_id)
    assert all(len(found) == 1 for found in ids.values()), "a resend changed its Message-ID"
    print(f"killed after {at_kill} mails; {len(doubled)} sent twice")
