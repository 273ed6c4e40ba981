"""The bounce intake as real processes: a real Postfix writes the DSNs, ``bounces serve``
takes them, and a kill right after a 250 loses nothing."""

from __future__ import annotations

import shutil
import signal
import smtplib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import BounceEvent, BounceIntake, SoftBounce
from tests.support.bounces import (
    add_active,
    dsn,
    send_week,
    status_of,
    with_bounces,
)
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.intake import start_intake
from tests.support.net import free_port
from tests.support.postfix import postfix_missing, start_postfix

REFUSALS = {
    "dead@reader.example.net": (
        "550 5.1.1 <dead@reader.example.net>: Recipient address rejected: no such user"
    ),
    "full@reader.example.net": "552 5.2.2 <full@reader.example.net>: Mailbox full",
    "blocked@reader.example.net": "550 5.7.1 Message rejected as spam by content filter",
}
READERS = [*REFUSALS, "fine@reader.example.net"]


@pytest.fixture
def bounce_settings(settings: Settings) -> Settings:
    return with_bounces(settings)


@pytest.fixture
def postfix_dir() -> Iterator[Path]:
    # Postfix's daemons (user postfix) must reach it: not under pytest's private tmp.
    directory = Path(tempfile.mkdtemp(prefix="syndication-postfix-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def events(engine: Engine) -> dict[str, str]:
    with db.read_session(engine) as session:
        return dict(session.execute(select(BounceEvent.recipient, BounceEvent.kind)).all())


@pytest.mark.skipif(bool(postfix_missing()), reason=postfix_missing() or "postfix present")
def test_a_digest_through_real_postfix_ends_in_the_described_states(
    bounce_settings: Settings,
    engine: Engine,
    smtp_server: object,
    tmp_path: Path,
    postfix_dir: Path,
) -> None:
    handler = smtp_server.handler  # type: ignore[attr-defined]
    handler.rcpt_replies.update(REFUSALS)
    import_demo_articles(bounce_settings, engine)
    add_active(engine, READERS)
    intake = start_intake(tmp_path / "intake", bounce_settings)
    postfix = start_postfix(
        postfix_dir,
        port=free_port(),
        relay=(smtp_server.host, smtp_server.port),  # type: ignore[attr-defined]
        transports={"news.example.org": f"smtp:[127.0.0.1]:{intake.port}"},
    )
    try:
        via_postfix = replace(
            bounce_settings,
            mail=MailSettings(
                transport="smtp",
                outbox_dir=tmp_path / "outbox",
                smtp=SmtpSettings(host=postfix.host, port=postfix.port, rate_per_second=1000),
            ),
        )
        compiling.compile_digest(via_postfix, engine, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
        report = delivery.send_digests(via_postfix, engine, workers=1, now=lambda: AFTER_WEEK)
        # Postfix (a relay) accepted every copy: the verdicts come back as DSNs.
        assert (report.sent, report.bounced) == (4, 0)
        started = time.monotonic()
        while len(events(engine)) < 3 and time.monotonic() - started < 30:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        postfix.stop()
        intake.process.send_signal(signal.SIGTERM)
        intake.process.wait(timeout=30)
    assert events(engine) == {
        "dead@reader.example.net": "hard",
        "full@reader.example.net": "soft",
        "blocked@reader.example.net": "blocked",
    }, f"{intake.output()}\n{postfix.log()}"
    assert elapsed < 15
    assert status_of(engine, "dead@reader.example.net") == "bounced"
    assert status_of(engine, "full@reader.example.net") == "active"
    assert status_of(engine, "blocked@reader.example.net") == "active"
    assert status_of(engine, "fine@reader.example.net") == "active"
    with db.read_session(engine) as session:
        assert subscribers.is_suppressed(session, "dead@reader.example.net")
        assert not subscribers.is_suppressed(session, "full@reader.example.net")
        assert not subscribers.is_suppressed(session, "blocked@reader.example.net")
        assert session.execute(select(func.count()).select_from(SoftBounce)).scalar_one() == 1
        sources = set(session.scalars(select(BounceIntake.source)))
        codes = dict(session.execute(select(BounceEvent.recipient, BounceEvent.status_code)).all())
    assert sources == {"smtp"}
    assert (
        codes["dead@reader.example.net"] == "5.1.1"
        and codes["blocked@reader.example.net"] == "5.7.1"
    )
    assert handler.recipients() == ["fine@reader.example.net"]
    assert intake.process.returncode == 0, intake.output()


def test_the_intake_refuses_strangers_and_oversized_mail(
    bounce_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    intake = start_intake(tmp_path / "intake", replace(bounce_settings))
    try:
        with smtplib.SMTP("127.0.0.1", intake.port) as client:
            client.ehlo()
            assert client.mail("")[0] == 250
            code, text = client.rcpt("postmaster@news.example.org")
            assert code == 550 and b"bounces@news.example.org" in text
            assert client.rcpt("someone@elsewhere.example.net")[0] == 550
            assert client.rcpt("bounces+x@news.example.org")[0] == 250
            big = b"Subject: x\r\n\r\n" + (b"x" * 998 + b"\r\n") * 11_000
            assert client.data(big)[0] == 552
    finally:
        intake.process.send_signal(signal.SIGTERM)
        intake.process.wait(timeout=30)


def test_killed_right_after_250_nothing_is_lost(
    bounce_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_demo_articles(bounce_settings, engine)
    readers = [f"dead{i}@reader.example.net" for i in range(5)]
    add_active(engine, readers)
    sent = send_week(bounce_settings, engine, date(2026, 11, 18), AFTER_WEEK)
    intake = start_intake(tmp_path / "intake", bounce_settings)
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        for n, address in enumerate(readers):
            copy = sent[address]
            data = dsn(
                copy.return_path,
                address,
                "5.1.1",
                "550 5.1.1 no such user",
                copy.message_id,
                report_id=f"<kill{n}@mta>",
            )
            client.sendmail("", [copy.return_path], data)
        # The last 250 has just arrived: kill at once, no chance to finish anything.
        intake.process.send_signal(signal.SIGKILL)
        intake.process.wait(timeout=10)
    with db.read_session(engine) as session:
        stored = session.execute(select(func.count()).select_from(BounceIntake)).scalar_one()
    assert stored == len(readers)  # everything acknowledged was stored
    restarted = start_intake(tmp_path / "intake2", bounce_settings)
    try:
        deadline = time.monotonic() + 20
        while len(events(engine)) < len(readers) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        restarted.process.send_signal(signal.SIGTERM)
        restarted.process.wait(timeout=30)
    assert sorted(events(engine)) == sorted(readers), restarted.output()
    assert all(status_of(engine, a) == "bounced" for a in readers)
    with db.read_session(engine) as session:
        states = set(session.scalars(select(BounceIntake.state)))
    assert states == {"done"}


def test_lmtp_answers_once_per_recipient_and_stores_once(
    bounce_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    intake = start_intake(tmp_path / "intake", bounce_settings, lmtp=True)
    try:
        with smtplib.LMTP("127.0.0.1", intake.port) as client:
            assert client.ehlo()[0] == 250  # smtplib sends LHLO for LMTP
            assert client.mail("")[0] == 250
            assert client.rcpt("bounces+a@news.example.org")[0] == 250
            assert client.rcpt("bounces+b@news.example.org")[0] == 250
            # RFC 2033 §4.2: one reply per accepted recipient after the data.
            assert client.data(b"Subject: x\r\n\r\nnot a report\r\n")[0] == 250
            assert client.getreply()[0] == 250
        # Stored before the 250s, processed just after them: wait for that, not a guess.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with db.read_session(engine) as session:
                if "queued" not in set(session.scalars(select(BounceIntake.state))):
                    break
            time.sleep(0.1)
    finally:
        intake.process.send_signal(signal.SIGTERM)
        intake.process.wait(timeout=30)
    with db.read_session(engine) as session:
        rows = session.execute(select(BounceIntake.source, BounceIntake.state)).all()
    assert [tuple(r) for r in rows] == [("lmtp", "ignored")]
