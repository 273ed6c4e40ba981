"""SMTP: one connection kept across messages, STARTTLS or TLS, AUTH; replies to outcomes.

A server that offers both PIPELINING (RFC 2920) and CHUNKING (RFC 3030) gets each message
as one write, ``MAIL FROM``, ``RCPT TO`` and ``BDAT <size> LAST`` followed by the bytes,
and answers with three replies: one round trip per message where ``smtplib.sendmail``
waits for four (MAIL, RCPT, DATA, the final dot), and no dot-stuffing pass over the
message. Postfix offers both by default. Other servers get ``smtplib.sendmail``.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from syndication.core.addresses import header_safe
from syndication.edges.transport.base import (
    Envelope,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from syndication.settings import MailSettings

# Linux: setting it sends an ACK the kernel was holding back (see _read_replies).
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
# What MAIL, RCPT and BDAT LAST answer when they succeed.
_ACCEPTED = ((250,), (250, 251), (250,))
_STAGES = ("MAIL FROM", "RCPT TO", "end of data")


class SmtpTransport:
    """SMTP with one connection kept open across messages and reopened when it drops."""

    def __init__(self, settings: MailSettings) -> None:
        self.smtp = settings.smtp
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.smtp
        try:
            if cfg.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host,
                    cfg.port,
                    timeout=cfg.timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                connection = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            connection.ehlo()
            if cfg.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if cfg.username:
                connection.login(cfg.username, cfg.password)
            # Every write is a whole command or a whole pipelined message: nothing for
            # Nagle's algorithm to gather, only a tail segment it could hold back.
            if connection.sock is not None:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerUnavailable(
                f"SMTP login as {cfg.username!r} refused: {_reply(exc)}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from exc
        return connection

    def send(self, envelope: Envelope) -> None:
        if self._connection is None:
            self._connection = self._connect()
        if (
            _QUICKACK is not None
            and self._connection.has_extn("pipelining")
            and self._connection.has_extn("chunking")
            and header_safe(envelope.sender)
            and header_safe(envelope.recipient)
        ):
            self._send_chunked(self._connection, envelope)
            return
        try:
            refused = self._connection.sendmail(
                envelope.sender, [envelope.recipient], envelope.message
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _failure(code, reply, "RCPT TO") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:
                self._drop()
            raise _failure(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        if refused:
            code, reply = next(iter(refused.values()))
            raise _failure(code, reply, "RCPT TO")

    def _send_chunked(self, connection: smtplib.SMTP, envelope: Envelope) -> None:
        """One message as one pipelined group (MAIL, RCPT, BDAT LAST and the bytes).

        The addresses are known to be header-safe ASCII (no CR, LF, space or brackets), so
        they go between angle brackets as they are. Like ``sendmail``, a refusal ends the
        transaction with RSET and a 421 drops the connection.
        """
        size = len(envelope.message)
        extra = f" SIZE={size}" if connection.has_extn("size") else ""
        group = (
            f"MAIL FROM:<{envelope.sender}>{extra}\r\n"
            f"RCPT TO:<{envelope.recipient}>\r\n"
            f"BDAT {size} LAST\r\n"
        ).encode("ascii")
        try:
            connection.send(group + envelope.message)
            replies = _read_replies(connection)
        except (smtplib.SMTPException, OSError) as exc:
            # Whether the server took the message is unknown: retried later, with the
            # same Message-ID, like a connection lost during DATA.
            self._drop()
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        # The first refusal says why (a refused RCPT makes the server refuse BDAT too).
        refusals = (
            (reply, stage)
            for reply, ok, stage in zip(replies, _ACCEPTED, _STAGES, strict=True)
            if reply[0] not in ok
        )
        refusal = next(refusals, None)
        if refusal is None:
            return
        (code, reply), stage = refusal
        if code == 421:
            self._drop()
        else:
            try:
                connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        raise _failure(code, reply, stage)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()


def _read_replies(connection: smtplib.SMTP) -> list[tuple[int, bytes]]:
    """The three replies to a pipelined MAIL, RCPT and BDAT; after a 421 the server hangs
    up, and the replies it did not send are taken as that 421.

    Postfix writes the first two replies before it has read the whole chunk and the third
    once the message is queued. With nothing to send in between, our kernel delays its
    ACK of the first two (40 ms on Linux), and Nagle's algorithm on the server holds the
    third until that ACK comes: 40 ms per message. Setting ``TCP_QUICKACK`` after each
    reply sends the ACK at once.
    """
    replies: list[tuple[int, bytes]] = []
    while len(replies) < 3:
        code, reply = connection.getreply()
        if connection.sock is not None and _QUICKACK is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        replies.append((code, reply))
        if code == 421:
            replies += [(code, reply)] * (3 - len(replies))
    return replies


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


def _failure(code: int, reply: bytes | str, stage: str = "") -> TemporaryFailure | PermanentFailure:
    """The server's refusal as one line; with the command it answered, in the words
    Postfix's DSNs use ("in reply to RCPT TO"), because the stage is evidence: a 5xx to
    RCPT TO is about the address, one after the message text is about its content."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if stage:
        message += f" (in reply to {stage})"

    if 500 <= code < 600:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code)
