"""SmtpTransport against a server offering PIPELINING and CHUNKING (issue 16).

Each message goes as one group, MAIL, RCPT and BDAT LAST with the bytes as they are (no
dot-stuffing), and the three replies decide the outcome as ``sendmail``'s would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syndication.edges.transport import (
    Envelope,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
)
from syndication.settings import MailSettings, SmtpSettings
from tests.support.chunking import ChunkingServer

MESSAGE = (
    b"From: news@example.org\r\nSubject: test\r\n\r\n"
    b"a line\r\n.a line that starts with a dot\r\n..and two\r\n.\r\nend\r\n"
)


@pytest.fixture
def server() -> Iterator[ChunkingServer]:
    server = ChunkingServer()
    try:
        yield server
    finally:
        server.close()


def transport(server: ChunkingServer) -> SmtpTransport:
    return SmtpTransport(
        MailSettings(
            transport="smtp",
            smtp=SmtpSettings(host=server.host, port=server.port, timeout_seconds=5),
        )
    )


def envelope(recipient: str, sender: str = "news@example.org") -> Envelope:
    return Envelope(sender, recipient, MESSAGE)


def test_messages_go_as_bdat_with_their_bytes_untouched(server: ChunkingServer) -> None:
    smtp = transport(server)
    for n in range(3):
        smtp.send(envelope(f"reader{n}@example.org"))
    smtp.close()
    assert [(m.sender, m.recipient, m.command) for m in server.messages] == [
        ("news@example.org", f"reader{n}@example.org", "BDAT") for n in range(3)
    ]
    assert all(m.data == MESSAGE for m in server.messages)
    assert server.messages[0].mail_line == f"MAIL FROM:<news@example.org> SIZE={len(MESSAGE)}"
    assert server.connections == 1
    assert "DATA" not in server.commands


def test_a_refused_recipient_is_permanent_and_the_connection_goes_on(
    server: ChunkingServer,
) -> None:
    server.replies[("RCPT", "gone@example.org")] = "550 5.1.1 no such user"
    smtp = transport(server)
    with pytest.raises(PermanentFailure) as refused:
        smtp.send(envelope("gone@example.org"))
    assert refused.value.code == 550
    # The stage is evidence for the bounce rules: a refusal of RCPT TO is about the address.
    assert str(refused.value) == "550 5.1.1 no such user (in reply to RCPT TO)"
    smtp.send(envelope("reader@example.org"))
    smtp.close()
    assert [m.recipient for m in server.messages] == ["reader@example.org"]
    assert "rset" in server.commands and server.connections == 1


@pytest.mark.parametrize(
    ("command", "reply", "code"),
    [
        ("RCPT", "451 4.3.0 try later", 451),
        ("BDAT", "452 4.3.1 insufficient storage", 452),
        ("MAIL", "450 4.7.1 sender on hold", 450),
    ],
)
def test_a_temporary_refusal_is_temporary(
    server: ChunkingServer, command: str, reply: str, code: int
) -> None:
    address = "news@example.org" if command == "MAIL" else "later@example.org"
    server.replies[(command, address)] = reply
    smtp = transport(server)
    with pytest.raises(TemporaryFailure) as refused:
        smtp.send(envelope("later@example.org"))
    smtp.close()
    assert refused.value.code == code and not refused.value.slow_down
    assert server.messages == []


def test_a_refused_message_is_permanent(server: ChunkingServer) -> None:
    server.replies[("BDAT", "spam@example.org")] = "554 5.7.1 message content rejected"
    smtp = transport(server)
    with pytest.raises(PermanentFailure) as refused:
        smtp.send(envelope("spam@example.org"))
    smtp.close()
    assert refused.value.code == 554
    assert str(refused.value).endswith("(in reply to end of data)")


def test_421_slows_down_and_the_next_message_reconnects(server: ChunkingServer) -> None:
    server.replies[("MAIL", "busy@example.org")] = "421 4.7.0 too many messages"
    smtp = transport(server)
    with pytest.raises(TemporaryFailure) as refused:
        smtp.send(envelope("reader@example.org", sender="busy@example.org"))
    assert refused.value.code == 421 and refused.value.slow_down
    smtp.send(envelope("reader@example.org"))
    smtp.close()
    assert [m.recipient for m in server.messages] == ["reader@example.org"]
    assert server.connections == 2


def test_a_connection_lost_before_the_reply_is_a_temporary_failure(
    server: ChunkingServer,
) -> None:
    # The server may or may not have taken it: retried later with the same Message-ID.
    server.hang_up.add("lost@example.org")
    smtp = transport(server)
    with pytest.raises(TemporaryFailure, match="connection lost"):
        smtp.send(envelope("lost@example.org"))
    smtp.send(envelope("reader@example.org"))
    smtp.close()
    assert [m.recipient for m in server.messages] == ["reader@example.org"]
    assert server.connections == 2


def test_without_chunking_the_message_goes_as_data(server: ChunkingServer) -> None:
    server.chunking = False
    smtp = transport(server)
    smtp.send(envelope("reader@example.org"))
    smtp.close()
    [message] = server.messages
    assert message.command == "DATA" and message.data == MESSAGE


def test_an_address_unfit_for_a_bare_path_goes_through_smtplib(server: ChunkingServer) -> None:
    # Only addresses that are safe as they are go between angle brackets unparsed.
    smtp = transport(server)
    smtp.send(envelope("reader@example.org", sender="News <news@example.org>"))
    smtp.close()
    [message] = server.messages
    assert message.command == "DATA" and message.sender == "news@example.org"
