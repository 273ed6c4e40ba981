"""Issue 28: a hold or a cancel stops a send in progress before the next message.

Against an outbox in memory (the loop's rule, any number of workers) and against the
database with 4 SMTP connections to a slow aiosmtpd sink (the operator's case): after the
operator's answer at most one message per connection goes out; a resume sends the rest
exactly once; a cancel settles the rest ``skipped``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine

from syndication.core.deliveries import LEASE
from syndication.edges.transport import Envelope, MessageRateLimiter, SmtpTransport
from syndication.services.delivery import StoreOutbox
from syndication.services.digests import approval
from syndication.services.send_loop import Clock, LoopOptions, SendReport, send_outbox
from syndication.settings import MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import outbox
from tests.support.builders import add, make_digest, statuses
from tests.support.send_loop import FakeClock, MemoryOutbox, PlainSource, Unpaced
from tests.support.smtp import SmtpServer

WORKERS = 4
LIST, PERIOD = "weekly-city", "2026-11-16"


class Recorder:
    """A transport that records what it was handed; ``during`` runs inside each send."""

    def __init__(self, received: list[str], during: object) -> None:
        self.received, self.during = received, during

    def send(self, envelope: Envelope) -> None:
        self.during(envelope)  # type: ignore[operator]
        self.received.append(envelope.recipient)
        time.sleep(0.001)  # let the other workers run between messages

    def close(self) -> None:
        return None


def memory_run(box: MemoryOutbox, clock: FakeClock, stop_at: int, state: str) -> tuple[int, int]:
    """Send with 4 workers; the operator stops the digest (``state``) during message
    ``stop_at``. Returns (messages handed over before the answer, after it)."""
    received: list[str] = []
    answered: list[int] = []
    lock = threading.Lock()

    def operator(_envelope: Envelope) -> None:
        with lock:
            if len(received) >= stop_at and not answered:
                box.digest_states[1] = state
                answered.append(len(received))

    options = LoopOptions(workers=WORKERS, lease=LEASE, max_wait=0, batch_size=100)
    send_outbox(
        box, PlainSource(), lambda: Recorder(received, operator), Unpaced(), options, clock.clock
    )
    assert max(Counter(received).values()) == 1
    return answered[0], len(received) - answered[0]


@pytest.mark.parametrize("state", ["held", "cancelled"])
def test_a_stop_mid_batch_lets_at_most_one_message_per_worker_go(now: datetime, state: str) -> None:
    box, clock = MemoryOutbox.with_readers(200), FakeClock(now)
    before, after = memory_run(box, clock, 20, state)
    assert after <= WORKERS, f"{after} messages went out after the operator's answer"
    sent = before + after
    rest = "queued" if state == "held" else "skipped"
    assert box.statuses() == {"sent": sent, rest: 200 - sent}
    # Given back without counting an attempt: nothing was tried.
    assert {r.attempts for r in box.rows.values() if r.status != "sent"} == {0}
    # Asked before each message handed over, and no more than once a message.
    assert box.stop_checks <= sent + WORKERS


def test_a_resume_sends_exactly_the_rest(now: datetime) -> None:
    box, clock = MemoryOutbox.with_readers(200), FakeClock(now)
    before, after = memory_run(box, clock, 20, "held")
    del box.digest_states[1]
    received: list[str] = []
    options = LoopOptions(workers=WORKERS, lease=LEASE, max_wait=0)
    send_outbox(
        box,
        PlainSource(),
        lambda: Recorder(received, lambda _e: None),
        Unpaced(),
        options,
        clock.clock,
    )
    assert len(received) == 200 - before - after == len(set(received))
    assert box.statuses() == {"sent": 200}


# -- the database and a slow SMTP server ----------------------------------------------------


def smtp_settings(settings: Settings, server: SmtpServer) -> Settings:
    smtp = SmtpSettings(host=server.host, port=server.port, timeout_seconds=5)
    assert smtp.connections == WORKERS
    return replace(settings, mail=MailSettings(transport="smtp", smtp=smtp))


def send(settings: Settings, engine: Engine, now: datetime) -> SendReport:
    options = LoopOptions(workers=WORKERS, lease=LEASE, max_wait=2, batch_size=100)
    return send_outbox(
        StoreOutbox(engine, soft_limit=3),
        PlainSource(),
        lambda: SmtpTransport(settings.mail),
        MessageRateLimiter(10_000),
        options,
        Clock(lambda: now),
    )


def send_and_stop(
    settings: Settings,
    engine: Engine,
    now: datetime,
    server: SmtpServer,
    action: str,
    after: int,
) -> tuple[int, approval.Transition]:
    """Send while the operator ``action``s the digest once ``after`` messages arrived.
    Returns how many had arrived at the operator's answer, and the answer."""
    answer: list[tuple[int, approval.Transition]] = []
    work = {"hold": approval.hold, "cancel": approval.cancel}[action]

    def operator() -> None:
        while len(server.handler.recipients()) < after:
            time.sleep(0.005)
        result = work(settings, engine, LIST, PERIOD, "op@example.org", now)
        answer.append((len(server.handler.recipients()), result))

    watcher = threading.Thread(target=operator)
    watcher.start()
    send(settings, engine, now)
    watcher.join(timeout=30)
    return answer[0]


def queue(engine: Engine, now: datetime, count: int) -> None:
    add(engine, now, count)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, LIST, now)


def test_hold_on_the_database_with_four_slow_connections(
    settings: Settings, engine: Engine, now: datetime, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp_server)
    queue(engine, now, 120)
    smtp_server.handler.delay = 0.03
    at_answer, held = send_and_stop(settings, engine, now, smtp_server, "hold", 12)
    total = len(smtp_server.handler.recipients())
    assert total - at_answer <= WORKERS, f"{total - at_answer} went out after the answer"
    assert held.in_flight <= WORKERS
    if held.in_flight:
        assert "may still go out" in held.in_flight_note
    assert statuses(engine) == {"sent": total, "queued": 120 - total}
    approval.resume(settings, engine, LIST, PERIOD, "op@example.org", now)
    smtp_server.handler.delay = 0.0
    send(settings, engine, now)
    received = smtp_server.handler.recipients()
    assert sorted(received) == sorted(f"reader{i}@example.org" for i in range(120))
    assert statuses(engine) == {"sent": 120}


def test_cancel_on_the_database_with_four_slow_connections(
    settings: Settings, engine: Engine, now: datetime, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp_server)
    queue(engine, now, 120)
    smtp_server.handler.delay = 0.03
    at_answer, _cancelled = send_and_stop(settings, engine, now, smtp_server, "cancel", 12)
    total = len(smtp_server.handler.recipients())
    assert total - at_answer <= WORKERS, f"{total - at_answer} went out after the answer"
    assert len(set(smtp_server.handler.recipients())) == total
    assert statuses(engine) == {"sent": total, "skipped": 120 - total}
    smtp_server.handler.delay = 0.0
    send(settings, engine, now)
    assert len(smtp_server.handler.recipients()) == total
