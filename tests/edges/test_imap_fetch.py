"""``bounces fetch`` against a real Dovecot: IMAPS and STARTTLS, moved never deleted."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Engine

from syndication.edges.imap_fetch import ImapError, ImapMailbox
from syndication.services import bounces
from syndication.settings import ImapSettings, Settings
from tests.support.bounces import (
    add_active,
    dsn,
    send_week,
    status_of,
    with_bounces,
)
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.dovecot import Dovecot, dovecot_missing, running_dovecot

pytestmark = pytest.mark.skipif(bool(dovecot_missing()), reason=dovecot_missing() or "present")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def imap_settings(server: Dovecot, security: str, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.imaps_port if security == "tls" else server.imap_port,
        "security": security,
        "username": server.user,
        "password": server.password,
        "ca_file": str(server.ca_file),
        "timeout_seconds": 10.0,
    }
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


def append(server: Dovecot, messages: list[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    with imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=context) as client:
        client.login(server.user, server.password)
        for data in messages:
            assert client.append("INBOX", "", None, data)[0] == "OK"


def count(server: Dovecot, folder: str) -> int:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    with imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=context) as client:
        client.login(server.user, server.password)
        status, data = client.select(f'"{folder}"', readonly=True)
        assert status == "OK", data
        return int(data[0] or 0)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_fetch_processes_and_moves_every_report(
    settings: Settings, engine: Engine, dovecot: Dovecot, security: str
) -> None:
    base = with_bounces(settings)
    fetching = replace(base, bounces=replace(base.bounces, imap=imap_settings(dovecot, security)))
    import_demo_articles(fetching, engine)
    add_active(engine, ["dead@reader.example.net", "away@reader.example.net"])
    sent = send_week(fetching, engine, date(2026, 11, 18), AFTER_WEEK)
    dead = sent["dead@reader.example.net"]
    vacation = (
        f"From: away@reader.example.net\r\nTo: {sent['away@reader.example.net'].return_path}\r\n"
        "Auto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n"
    ).encode()
    report = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    # A mailbox keeps what the MTA delivered: the VERP address is in Delivered-To.
    append(dovecot, [f"Delivered-To: {dead.return_path}\r\n".encode() + report, vacation])
    result = bounces.fetch_imap(fetching, engine, lambda: AFTER_WEEK)
    assert result.fetched == 2
    assert (result.processed.applied, result.processed.ignored) == (1, 1)
    assert status_of(engine, "dead@reader.example.net") == "bounced"
    assert status_of(engine, "away@reader.example.net") == "active"
    assert count(dovecot, "INBOX") == 0
    assert count(dovecot, "Processed") == 2  # moved, never deleted
    again = bounces.fetch_imap(fetching, engine, lambda: AFTER_WEEK)
    assert again.fetched == 0


def test_a_wrong_password_is_an_error_an_operator_understands(dovecot: Dovecot) -> None:
    with pytest.raises(ImapError, match="login as 'bounces' refused"):
        with ImapMailbox(imap_settings(dovecot, "tls", password="wrong")):
            pass


def test_a_certificate_we_do_not_trust_is_refused(dovecot: Dovecot) -> None:
    with pytest.raises(ImapError, match="cannot connect"):
        with ImapMailbox(imap_settings(dovecot, "tls", ca_file="")):
            pass


def test_fetch_stores_strangers_reports_only_within_the_total_bound(
    settings: Settings, engine: Engine, dovecot: Dovecot
) -> None:
    """Issue 25: anyone can mail the bounce mailbox; reports that name nothing of ours are
    stored only while fewer than ``strangers_stored`` are held, as at the SMTP intake.
    Over the bound they still leave the inbox (moved, never deleted), unstored; a report
    about a copy of ours is stored and applied whatever the bound."""
    base = with_bounces(settings)
    limited = replace(base.bounces, imap=imap_settings(dovecot, "tls"), strangers_stored=2)
    fetching = replace(base, bounces=limited)
    import_demo_articles(fetching, engine)
    add_active(engine, ["dead@reader.example.net"])
    dead = send_week(fetching, engine, date(2026, 11, 18), AFTER_WEEK)["dead@reader.example.net"]
    strangers = [
        dsn(
            "bounces@news.example.org",
            f"x{n}@elsewhere.example",
            "5.1.1",
            "550 5.1.1 no such user",
            f"<never-sent-{n}@news.example.org>",
        )
        for n in range(4)
    ]
    ours = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    append(dovecot, [*strangers, f"Delivered-To: {dead.return_path}\r\n".encode() + ours])
    result = bounces.fetch_imap(fetching, engine, lambda: AFTER_WEEK)
    assert (result.fetched, result.dropped) == (5, 2)
    assert (result.processed.applied, result.processed.ignored) == (1, 2)
    assert "2 strangers' reports over the limit, not stored" in result.summary
    assert status_of(engine, dead.email) == "bounced"
    assert (count(dovecot, "INBOX"), count(dovecot, "Processed")) == (0, 5)
