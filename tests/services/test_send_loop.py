"""The send loop: against a real SMTP server on loopback (aiosmtpd) and the database, and
against an outbox in memory with a clock moved by hand (leases, stops, failures, no sleep)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from syndication.core.deliveries import LEASE, Claimed
from syndication.edges.transport import (
    Envelope,
    FileTransport,
    MessageRateLimiter,
    ServerUnavailable,
    SmtpTransport,
    Transport,
)
from syndication.services.delivery import StoreOutbox
from syndication.services.send_loop import (
    SETTLE_EVERY,
    Clock,
    LoopOptions,
    Outbox,
    SendReport,
    send_outbox,
)
from syndication.settings import MailSettings, SmtpSettings
from syndication.store import database as db
from syndication.store import outbox, subscribers
from syndication.store.models import Delivery
from tests.support.builders import add, make_digest, statuses
from tests.support.send_loop import FakeClock, MemoryOutbox, PlainSource, Unpaced
from tests.support.smtp import SmtpServer

ONE_SECOND = timedelta(seconds=1)


def smtp_settings(server: SmtpServer, **overrides: object) -> MailSettings:
    smtp = replace(SmtpSettings(host=server.host, port=server.port, timeout_seconds=5), **overrides)  # type: ignore[arg-type]
    return MailSettings(transport="smtp", smtp=smtp)


def queue(engine: Engine, now: datetime, count: int) -> None:
    add(engine, now, count)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)


def run(engine: Engine, settings: MailSettings, now: datetime, **options: object) -> SendReport:
    opts = replace(LoopOptions(workers=1, lease=LEASE, max_wait=2), **options)  # type: ignore[arg-type]
    return send_outbox(
        StoreOutbox(engine, soft_limit=3),
        PlainSource(),
        lambda: SmtpTransport(settings),
        MessageRateLimiter(10_000),
        opts,
        Clock(lambda: now),
    )


class SlowTransport:
    """Each message takes ``seconds`` of the fake clock; ``during`` runs while it is sent."""

    def __init__(
        self,
        clock: FakeClock,
        seconds: float,
        received: list[str],
        during: Callable[[Envelope], None] = lambda _e: None,
    ) -> None:
        self.clock, self.seconds, self.received, self.during = clock, seconds, received, during

    def send(self, envelope: Envelope) -> None:
        self.clock.advance(self.seconds)
        self.during(envelope)
        self.received.append(envelope.recipient)

    def close(self) -> None:
        return None


def fake_run(
    box: Outbox,
    clock: FakeClock,
    transport: Callable[[], Transport],
    lease: timedelta = ONE_SECOND,
    **kwargs: object,
) -> SendReport:
    options = LoopOptions(workers=1, lease=lease, max_wait=0)
    return send_outbox(box, PlainSource(), transport, Unpaced(), options, clock.clock, **kwargs)  # type: ignore[arg-type]


def test_every_recipient_once_over_parallel_connections(
    engine: Engine, now: datetime, smtp_server: SmtpServer
) -> None:
    queue(engine, now, 120)
    report = run(engine, smtp_settings(smtp_server), now, workers=4, batch_size=10)
    assert report.sent == 120
    received = smtp_server.handler.recipients()
    assert sorted(received) == sorted(f"reader{i}@example.org" for i in range(120))
    assert statuses(engine) == {"sent": 120}
    with db.read_session(engine) as session:
        ids = list(session.scalars(select(Delivery.message_id)))
    assert all(i.startswith("<digest-") for i in ids) and len(set(ids)) == 120


def test_replies_decide_retry_bounce_and_drop(
    engine: Engine, now: datetime, smtp_server: SmtpServer
) -> None:
    queue(engine, now, 5)
    handler = smtp_server.handler
    handler.rcpt_replies["reader1@example.org"] = "451 4.3.0 try again later"
    handler.rcpt_replies["reader2@example.org"] = "550 5.1.1 no such user"
    handler.rcpt_replies["reader3@example.org"] = "421 4.7.0 slow down"
    handler.drop.add("reader4@example.org")
    report = run(engine, smtp_settings(smtp_server), now)
    assert (report.sent, report.retried, report.bounced) == (1, 3, 1)
    assert handler.recipients() == ["reader0@example.org"]
    with db.read_session(engine) as session:
        rows = {r.subscriber_id: r for r in session.scalars(select(Delivery))}
        bounced = subscribers.find_subscriber(session, "reader2@example.org")
        assert bounced.status == "bounced"
        assert subscribers.is_suppressed(session, "reader2@example.org")
    by_status = sorted((r.status, r.last_error[:3]) for r in rows.values())
    assert by_status == [
        ("bounced", "550"),
        ("queued", "421"),
        ("queued", "451"),
        ("queued", "con"),
        ("sent", ""),
    ]
    # The retries come back later, and then go through.
    handler.rcpt_replies.clear()
    handler.drop.clear()
    later = now + timedelta(minutes=6)
    report = run(engine, smtp_settings(smtp_server), later)
    assert report.sent == 3
    assert statuses(engine) == {"sent": 4, "bounced": 1}


def test_pipelined_chunks_settle_as_the_replies_say(engine: Engine, now: datetime) -> None:
    # A server with PIPELINING and CHUNKING (Postfix) gets one MAIL/RCPT/BDAT group per
    # message (issue 16): the replies decide the outcomes as they do for sendmail's.
    from tests.support.chunking import ChunkingServer

    server = ChunkingServer()
    try:
        queue(engine, now, 5)
        server.replies[("RCPT", "reader1@example.org")] = "451 4.3.0 try again later"
        server.replies[("RCPT", "reader2@example.org")] = "550 5.1.1 no such user"
        server.replies[("RCPT", "reader3@example.org")] = "421 4.7.0 slow down"
        server.hang_up.add("reader4@example.org")
        settings = MailSettings(
            transport="smtp",
            smtp=SmtpSettings(host=server.host, port=server.port, timeout_seconds=5),
        )
        report = run(engine, settings, now)
        assert (report.sent, report.retried, report.bounced) == (1, 3, 1)
        with db.read_session(engine) as session:
            rows = list(session.scalars(select(Delivery)))
        assert sorted((r.status, r.last_error[:3]) for r in rows) == [
            ("bounced", "550"),
            ("queued", "421"),
            ("queued", "451"),
            ("queued", "con"),
            ("sent", ""),
        ]
        server.replies.clear()
        server.hang_up.clear()
        report = run(engine, settings, now + timedelta(minutes=6))
        assert report.sent == 3
        assert statuses(engine) == {"sent": 4, "bounced": 1}
        received = [m.recipient for m in server.messages]
        assert sorted(received) == [f"reader{i}@example.org" for i in (0, 1, 3, 4)]
        assert {m.command for m in server.messages} == {"BDAT"}
    finally:
        server.close()


def test_a_server_that_is_down_loses_and_counts_nothing(engine: Engine, now: datetime) -> None:
    from tests.support.net import free_port

    queue(engine, now, 3)
    settings = MailSettings(
        transport="smtp", smtp=SmtpSettings(host="127.0.0.1", port=free_port(), timeout_seconds=1)
    )
    report = run(engine, settings, now, max_wait=1.0)
    assert report.sent == 0 and report.unavailable.startswith("cannot connect")
    assert statuses(engine) == {"queued": 3}
    with db.read_session(engine) as session:
        assert list(session.scalars(select(Delivery.attempts))) == [0, 0, 0]


def test_stop_gives_back_unsent_rows(engine: Engine, now: datetime, tmp_path: Path) -> None:
    queue(engine, now, 200)
    stop = threading.Event()
    sent: list[int] = []

    def progress(report: object) -> None:
        sent.append(1)
        stop.set()

    report = send_outbox(
        StoreOutbox(engine, soft_limit=3),
        PlainSource(),
        lambda: FileTransport(tmp_path / "outbox"),
        MessageRateLimiter(10_000),
        LoopOptions(workers=1, lease=LEASE, max_wait=300, batch_size=100),
        Clock(lambda: now),
        stop=stop,
        on_progress=progress,
    )
    counts = statuses(engine)
    assert counts.get("sending", 0) == 0
    assert counts["sent"] == report.sent and counts["queued"] == 200 - report.sent
    assert report.released > 0, "the rest of the claimed batch was given back"
    assert len(list((tmp_path / "outbox" / "weekly-city").glob("*.eml"))) == report.sent


def outlive_the_lease(box: Outbox, clock: FakeClock, readers: int) -> list[SendReport]:
    """Issue 14: a slow server (0.4 s a message), a 1 s lease and a second sender started
    at 1.6 s, after that lease would have run out. Returns both senders' reports."""
    received: list[str] = []
    reports: list[SendReport] = []

    def start_a_second_sender(_envelope: Envelope) -> None:
        if clock.elapsed > 1.9 and not reports:  # this message began at 1.6 s
            fast = SlowTransport(clock, 0.0, received)
            reports.append(fake_run(box, clock, lambda: fast))

    slow = SlowTransport(clock, 0.4, received, start_a_second_sender)
    first = fake_run(box, clock, lambda: slow)
    counts = Counter(received)
    assert len(counts) == readers
    assert max(counts.values()) == 1, f"sent twice: {counts.most_common(3)}"
    return [first, *reports]


def test_a_batch_that_outlives_its_lease_is_renewed_and_nobody_gets_it_twice(
    engine: Engine, now: datetime
) -> None:
    """The real outbox, on the clock the test moves: the renewal is SQL, not a stand-in."""
    queue(engine, now, 12)
    first, second = outlive_the_lease(StoreOutbox(engine, soft_limit=3), FakeClock(now), 12)
    assert (first.sent, second.sent, first.lost) == (12, 0, 0)
    assert statuses(engine) == {"sent": 12}


def test_the_lease_is_renewed_before_it_runs_out_and_nobody_claims_it(now: datetime) -> None:
    box, clock = MemoryOutbox.with_readers(12), FakeClock(now)
    first, second = outlive_the_lease(box, clock, 12)
    assert (first.sent, second.sent) == (12, 0)
    assert box.statuses() == {"sent": 12}
    # Renewed every time before the lease ran out, never after a gap.
    assert box.renewals >= 4 and box.late_renewals == 0
    assert clock.elapsed == pytest.approx(12 * 0.4)


def test_a_renewal_that_finds_the_lease_lost_stops_sending_that_batch(now: datetime) -> None:
    """A sender stalls past its lease and another claims its rows: the first sends none of
    them (its renewal says it holds nothing), settles nothing over the second's claim."""
    box, clock = MemoryOutbox.with_readers(5), FakeClock(now)
    received: list[str] = []
    stolen: list[Claimed] = []

    def stall(_envelope: Envelope) -> None:
        if not stolen:
            clock.advance(1.5)  # longer than the 1 s lease
            stolen.extend(box.claim("thief", clock.now(), LEASE, 10, "thief"))

    report = fake_run(box, clock, lambda: SlowTransport(clock, 0.1, received, stall))
    assert received == ["reader1@example.org"], "only the message in flight at the stall"
    assert (report.sent, report.lost) == (1, 4)
    assert len(stolen) == 5 and box.statuses() == {"sending": 5}
    assert {row.claimed_by for row in box.rows.values()} == {"thief"}


def test_stop_mid_batch_finishes_the_message_in_flight_and_gives_back_the_rest(
    now: datetime,
) -> None:
    box, clock = MemoryOutbox.with_readers(10), FakeClock(now)
    stop = threading.Event()
    received: list[str] = []

    def stop_during_the_third(_envelope: Envelope) -> None:
        if len(received) == 2:
            stop.set()

    transport = SlowTransport(clock, 0.01, received, stop_during_the_third)
    report = fake_run(box, clock, lambda: transport, stop=stop)
    assert len(received) == 3, "the third message was in flight: it went out"
    assert box.statuses() == {"sent": 3, "queued": 7}
    assert (report.sent, report.released) == (3, 7)
    assert [r.attempts for r in box.rows.values() if r.status == "queued"] == [0] * 7


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_settle_that_fails_is_tried_again_before_anything_is_given_back(
    now: datetime,
) -> None:
    """The first settle (50 outcomes) fails: the worker stops with the error, and settles
    all it sent before it gives back what it holds, so nothing sent is queued again."""
    readers = SETTLE_EVERY + 10
    box, clock = MemoryOutbox.with_readers(readers), FakeClock(now)
    box.fail_settles = 1
    received: list[str] = []
    report = fake_run(box, clock, lambda: SlowTransport(clock, 0.0, received), lease=LEASE)
    assert len(received) == readers
    assert box.statuses() == {"sent": readers}
    assert report.sent == readers
    assert len(report.errors) == 1 and "the database went away" in report.errors[0]


def test_a_server_that_is_down_is_waited_for_on_the_clock(now: datetime) -> None:
    class Down:
        def send(self, envelope: Envelope) -> None:
            raise ServerUnavailable("cannot connect to 127.0.0.1:1")

        def close(self) -> None:
            return None

    box, clock = MemoryOutbox.with_readers(3), FakeClock(now)
    options = LoopOptions(workers=1, lease=LEASE, max_wait=10)
    report = send_outbox(box, PlainSource(), Down, Unpaced(), options, clock.clock)
    assert clock.waits == [1, 2, 4, 3], "1 s, 2 s, 4 s, then what is left of max_wait"
    assert report.sent == 0 and report.unavailable.startswith("cannot connect")
    assert box.statuses() == {"queued": 3}
    assert [r.attempts for r in box.rows.values()] == [0, 0, 0]
