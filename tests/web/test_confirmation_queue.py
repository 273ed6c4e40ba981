"""A sign-up while the mail server is down (issue 29 item 4): the reader is told the truth,
the confirmation waits in the transactional outbox, every status surface shows it, and the
scheduler's ``deliver`` job sends it, once, when the server is back. Real aiosmtpd on
loopback, the real app through its HTTP client, the clock passed in."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from syndication.scheduler import jobs
from syndication.settings import MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store.models import Subscriber, TransactionalMail
from syndication.web.app import create_app
from tests.support.builders import AFTER_WEEK, FIXED_NOW, queue_demo_digest
from tests.support.console import Clock, add_users, sign_in
from tests.support.net import free_port
from tests.support.processes import syndication
from tests.support.smtp import SmtpHandler

BASE = "http://testserver"
READER = "min-ji.kim@example.org"
TOKEN = "scrape-token-for-the-test"


@dataclass
class Mailserver:
    """An aiosmtpd server on a port chosen now and started only when the test says so."""

    port: int
    handler: SmtpHandler
    controller: object | None = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.controller = controller

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()  # type: ignore[attr-defined]

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(data, policy=policy.default) for _, _, data in self.handler.messages
        ]


@pytest.fixture
def mailserver() -> Iterator[Mailserver]:
    server = Mailserver(free_port(), SmtpHandler())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_settings(settings: Settings, mailserver: Mailserver) -> Settings:
    mail = MailSettings(
        transport="smtp",
        smtp=SmtpSettings(port=mailserver.port, rate_per_second=1000, timeout_seconds=10),
    )
    site = replace(settings.site, base_url=BASE)
    return replace(settings, mail=mail, site=site, metrics_token=TOKEN)


def sign_up(client: TestClient, address: str, lists: tuple[str, ...] = ("weekly-city",)) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert match
    response = client.post(
        "/subscribe", data={"csrf": match[1], "email": address, "lists": list(lists)}
    )
    assert response.status_code == 200
    return response.text


def mails(engine: Engine) -> list[TransactionalMail]:
    with db.read_session(engine) as session:
        return list(session.scalars(select(TransactionalMail).order_by(TransactionalMail.id)))


def reader_status(engine: Engine, address: str) -> str:
    with db.read_session(engine) as session:
        return session.scalars(select(Subscriber.status).where(Subscriber.email == address)).one()


def deliver(settings: Settings, engine: Engine, clock: Clock) -> None:
    """One run of the scheduler's ``deliver`` job, at the test's time."""
    jobs.configure(settings, engine, threading.Event(), now=clock.now)
    jobs.deliver()


def confirm_link(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(rf"{re.escape(BASE)}(/confirm/\S+)", body.get_content())
    assert match, "no confirmation link in the mail"
    return match[1]


def test_a_sign_up_while_the_mail_server_is_down_is_queued_and_sent_once_it_is_back(
    smtp_settings: Settings, engine: Engine, mailserver: Mailserver
) -> None:
    clock = Clock(FIXED_NOW)
    with TestClient(create_app(smtp_settings, engine, now=clock.now)) as client:
        page = sign_up(client, READER)
        # Honest: on its way, may take a while, we keep trying.
        assert "Check your inbox" in page
        assert "we keep trying for a day" in page
        [queued] = mails(engine)
        assert (queued.kind, queued.email, queued.status, queued.attempts) == (
            "confirm",
            READER,
            "queued",
            0,  # a server that cannot be reached costs no attempt
        )
        assert "cannot connect" in queued.last_error
        assert reader_status(engine, READER) == "pending"

        clock.advance(timedelta(minutes=1))
        mailserver.start()
        deliver(smtp_settings, engine, clock)
        deliver(smtp_settings, engine, clock)  # nothing left for a second run
        [message] = mailserver.messages()
        assert message["To"] == READER
        assert [m.status for m in mails(engine)] == ["sent"]
        assert mails(engine)[0].message_id == message["Message-ID"]

        confirmed = client.post(confirm_link(message))
        assert confirmed.status_code == 200
        assert "You are subscribed" in confirmed.text
    assert reader_status(engine, READER) == "active"


def test_only_the_newest_request_is_mailed_when_a_reader_signs_up_twice(
    smtp_settings: Settings, engine: Engine, mailserver: Mailserver
) -> None:
    clock = Clock(FIXED_NOW)
    with TestClient(create_app(smtp_settings, engine, now=clock.now)) as client:
        sign_up(client, READER, ("weekly-city",))
        sign_up(client, READER, ("weekly-international",))  # a new request
        mailserver.start()
        deliver(smtp_settings, engine, clock)
        [message] = mailserver.messages()
        assert [m.status for m in mails(engine)] == ["skipped", "sent"]
        assert client.post(confirm_link(message)).status_code == 200
    assert reader_status(engine, READER) == "active"


def test_every_status_surface_shows_the_waiting_confirmation(
    smtp_settings: Settings, engine: Engine, mailserver: Mailserver, tmp_path: Path
) -> None:
    clock = Clock(FIXED_NOW)
    with TestClient(create_app(smtp_settings, engine, now=clock.now)) as client:
        sign_up(client, READER)
        sign_up(client, "second.reader@example.org")
        health = client.get("/healthz").json()
        assert health["status"] == "ok"  # just queued: not late yet
        assert health["transactional_mail"] == {
            "awaiting_confirmation": 2,
            "queued": 2,
            "retrying": 2,
            "gave_up": 0,
            "oldest_queued_at": FIXED_NOW.isoformat(),
        }
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
        for state, count in (("awaiting_confirmation", 2), ("queued", 2), ("retrying", 2)):
            sample = f'syndication_transactional_mails{{state="{state}"}} {count}.0'
            assert sample in metrics

        add_users(engine, clock.at)
        sign_in(client, "viewer@example.org")
        dashboard = client.get("/admin/").text
        assert re.search(r'class="n">2</span> readers awaiting confirmation', dashboard)
        assert re.search(r'class="n">2</span> confirmation and test mails queued', dashboard)
        assert "2 retrying; 0 given up in 7 days" in dashboard
        assert dashboard.count("cannot connect") == 2  # each unsent mail with its error
        assert READER in dashboard

        clock.advance(timedelta(minutes=11))
        late = client.get("/healthz").json()
        assert late["status"] == "degraded"
        [problem] = late["problems"]
        assert "2 confirmation or test mails wait since" in problem
        assert "cannot connect" in problem

    cli = syndication("status", cwd=tmp_path, database_url=smtp_settings.database.url)
    assert cli.returncode == 0, cli.stderr
    assert (
        "confirmations: 2 readers awaiting confirmation; 2 mails queued (2 retrying), "
        "0 given up in the last 7 days" in cli.stdout
    )
    assert "cannot connect" in cli.stdout

    mailserver.start()
    deliver(smtp_settings, engine, clock)
    with TestClient(create_app(smtp_settings, engine, now=clock.now)) as client:
        after = client.get("/healthz").json()
    assert after["status"] == "ok"
    assert after["transactional_mail"] == {
        "awaiting_confirmation": 2,  # mailed, not confirmed yet
        "queued": 0,
        "retrying": 0,
        "gave_up": 0,
        "oldest_queued_at": None,
    }
    assert len(mailserver.messages()) == 2


def test_a_console_test_send_with_the_server_down_says_queued_and_goes_out_later(
    smtp_settings: Settings, engine: Engine, mailserver: Mailserver
) -> None:
    queue_demo_digest(smtp_settings, engine, ["reader@example.net"], "weekly-city")
    clock = Clock(AFTER_WEEK)
    add_users(engine, clock.at)
    digest = "/admin/digests/weekly-city/2026-11-16"
    with TestClient(create_app(smtp_settings, engine, now=clock.now)) as client:
        token = sign_in(client, "op@example.org")
        page = client.post(f"{digest}/test", data={"csrf": token, "email": "editor@example.org"})
        assert page.status_code == 200
        assert "Test queued: the mail server did not take it yet" in page.text
        assert "Test sent" not in page.text
        mailserver.start()
        clock.advance(timedelta(minutes=1))
        deliver(smtp_settings, engine, clock)
    recipients = sorted(m["To"] for m in mailserver.messages())
    assert recipients == ["editor@example.org", "reader@example.net"]
    [test] = [m for m in mailserver.messages() if m["To"] == "editor@example.org"]
    assert str(test["Subject"]).startswith("[TEST] ")
