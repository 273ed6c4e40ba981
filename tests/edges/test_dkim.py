"""DKIM signing (issue 29): every message verifies with dkimpy's own verifier.

The receiving side's DNS cannot run here, so the verifier's look-up of
``<selector>._domainkey.<domain>`` is answered from the key this test made (the one
stand-in); the signature, the message and the SMTP hop are real.
"""

from __future__ import annotations

import base64
import email
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import dkim
import pytest
from sqlalchemy import Engine

from syndication.edges.transport import DkimSigner, Envelope, MemoryTransport, make_transport
from syndication.edges.transport.dkim import SigningTransport
from syndication.errors import ConfigError
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import DkimSettings, MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import subscribers
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.smtp import SmtpServer


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A 2048-bit RSA key made by openssl, and its DNS TXT record."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "news2026.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns_for(record: bytes, name: bytes = b"news2026._domainkey.news.example.org.") -> object:
    def lookup(asked: bytes, timeout: int = 5) -> bytes | None:
        return record if asked == name else None

    return lookup


def test_a_real_digest_sent_over_smtp_verifies_and_covers_one_click_unsubscribe(
    settings: Settings, engine: Engine, smtp_server: SmtpServer, key_pair: tuple[Path, bytes]
) -> None:
    key_file, record = key_pair
    settings = replace(
        settings,
        mail=MailSettings(
            from_address="City News <news@news.example.org>",
            transport="smtp",
            smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, timeout_seconds=5),
            dkim=DkimSettings("news.example.org", "news2026", key_file),
        ),
    )
    import_demo_articles(settings, engine)
    with db.write_session(engine) as session:
        for n in range(2):
            subscribers.add_subscriber(
                session,
                f"reader{n}@example.net",
                "",
                ["weekly-city"],
                confirmed=True,
                now=AFTER_WEEK,
            )
    compiling.compile_digest(settings, engine, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
    assert delivery.send_digests(settings, engine, workers=1, now=lambda: AFTER_WEEK).sent == 2

    received = [data for _, _, data in smtp_server.handler.messages]
    assert len(received) == 2
    for data in received:
        assert dkim.verify(data, dnsfunc=dns_for(record)), "dkimpy refused our signature"
        signature = email.message_from_bytes(data)["DKIM-Signature"]
        signed = {h.strip().lower() for h in signature.split("h=", 1)[1].split(";")[0].split(":")}
        assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= signed
        assert "d=news.example.org" in signature and "s=news2026" in signature


def test_a_changed_byte_breaks_the_signature(key_pair: tuple[Path, bytes]) -> None:
    key_file, record = key_pair
    memory = MemoryTransport()
    signing = SigningTransport(
        memory, DkimSigner(DkimSettings("news.example.org", "news2026", key_file))
    )
    message = b"From: news@news.example.org\r\nTo: a@example.net\r\nSubject: Hello\r\n\r\nBody\r\n"
    signing.send(Envelope("news@news.example.org", "a@example.net", message))
    sent = memory.sent[0].message
    assert dkim.verify(sent, dnsfunc=dns_for(record))
    assert not dkim.verify(sent.replace(b"Body", b"B0dy"), dnsfunc=dns_for(record))


def test_a_key_that_cannot_sign_is_a_setting_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.raises(ConfigError, match=r"mail.dkim.key_file: .*absent.pem: cannot read"):
        make_transport(MailSettings(dkim=DkimSettings("news.example.org", "s1", missing)))
    not_a_key = tmp_path / "cert.pem"
    not_a_key.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="not a PEM private key"):
        make_transport(MailSettings(dkim=DkimSettings("news.example.org", "s1", not_a_key)))
