"""The sending loop against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from syndication.edges.transport import Envelope, FileTransport, SmtpTransport
from syndication.services.sending import SendOptions, SendReport, send_outbox
from syndication.settings import MailSettings, SmtpSettings
from syndication.store import database as db
from syndication.store import outbox, subscribers
from syndication.store.models import Delivery
from syndication.store.outbox import Claimed
from tests.support.builders import add, make_digest, statuses
from tests.support.smtp import SmtpServer


class PlainSource:
    """Builds a small message per claimed row, as the digest mail builder would."""

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        message_id = f"<digest-{claimed.digest_id}.{claimed.subscriber_id}@news.example.org>"
        data = (
            f"From: news@example.org\r\nTo: {claimed.email}\r\nMessage-ID: {message_id}\r\n"
            f"Subject: test\r\n\r\nHello {claimed.subscriber_id}\r\n"
        ).encode()
        return message_id, Envelope(
            "news@example.org", claimed.email, data, ("weekly-city",), str(claimed.delivery_id)
        )


def smtp_settings(server: SmtpServer, **overrides: object) -> MailSettings:
    smtp = replace(SmtpSettings(host=server.host, port=server.port, timeout_seconds=5), **overrides)  # type: ignore[arg-type]
    return MailSettings(transport="smtp", smtp=smtp)


def queue(engine: Engine, now: datetime, count: int) -> None:
    add(engine, now, count)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)


def run(engine: Engine, settings: MailSettings, now: datetime, **options: object) -> SendReport:
    opts = replace(SendOptions(rate_per_second=10_000, max_wait=2), **options)  # type: ignore[arg-type]
    return send_outbox(engine, PlainSource(), lambda: SmtpTransport(settings), opts, lambda: now)


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
        engine,
        PlainSource(),
        lambda: FileTransport(tmp_path / "outbox"),
        SendOptions(rate_per_second=10_000, batch_size=100),
        lambda: now,
        stop=stop,
        on_progress=progress,
    )
    counts = statuses(engine)
    assert counts.get("sending", 0) == 0
    assert counts["sent"] == report.sent and counts["queued"] == 200 - report.sent
    assert report.released > 0, "the rest of the claimed batch was given back"
    assert len(list((tmp_path / "outbox" / "weekly-city").glob("*.eml"))) == report.sent


def test_a_batch_that_outlives_its_lease_is_renewed_and_nobody_gets_it_twice(
    engine: Engine, now: datetime, smtp_server: SmtpServer
) -> None:
    """Issue 14: a slow server (0.4 s a message), a 1 s lease and a second sender started
    after that lease would have run out. The first renews its lease, so the second finds
    nothing due (or only what the first no longer holds) and no reader gets two copies."""
    from syndication.clock import utc_now

    queue(engine, now, 12)
    smtp_server.handler.delay = 0.4
    settings = smtp_settings(smtp_server)
    # The lease runs on the real clock here (it is what expires); queued rows are due
    # since the fixed ``now``, so no calendar date matters.
    options = SendOptions(rate_per_second=10_000, max_wait=2, lease=timedelta(seconds=1))
    reports: list[SendReport] = []

    def sender() -> None:
        reports.append(
            send_outbox(engine, PlainSource(), lambda: SmtpTransport(settings), options, utc_now)
        )

    first = threading.Thread(target=sender)
    first.start()
    time.sleep(1.6)
    second = threading.Thread(target=sender)
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    received = Counter(smtp_server.handler.recipients())
    assert set(received) == {f"reader{i}@example.org" for i in range(12)}
    assert max(received.values()) == 1, f"sent twice: {received.most_common(3)}"
    assert statuses(engine) == {"sent": 12}
    assert sum(r.sent for r in reports) == 12
