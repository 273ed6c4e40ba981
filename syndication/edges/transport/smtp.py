"""SMTP: one connection kept across messages, STARTTLS or TLS, AUTH; replies to outcomes."""

from __future__ import annotations

import smtplib
import ssl

from syndication.edges.transport.base import (
    Envelope,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from syndication.settings import MailSettings


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
        try:
            refused = self._connection.sendmail(
                envelope.sender, [envelope.recipient], envelope.message
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _failure(code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:
                self._drop()
            raise _failure(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        if refused:
            code, reply = next(iter(refused.values()))
            raise _failure(code, reply)

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


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


def _failure(code: int, reply: bytes | str) -> TemporaryFailure | PermanentFailure:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if 500 <= code < 600:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code)
