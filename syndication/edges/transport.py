"""Mail transports: the I/O edge that puts finished message bytes on the wire or on disk.

A :class:`Transport` sends one already-built message to one recipient and says how it went
by returning (sent) or raising :class:`TemporaryFailure` (try again later: 4xx replies,
dropped connections, timeouts), :class:`PermanentFailure` (5xx for that recipient: never
retry) or :class:`ServerUnavailable` (no connection at all: nothing was attempted).

Implementations: :class:`SmtpTransport` (one connection reused for many messages,
STARTTLS or implicit TLS, AUTH), :class:`FileTransport` (``.eml`` files, the default, for
the demo and for a pickup directory) and :class:`MemoryTransport` (tests). They are not
thread-safe; the sender gives each worker thread its own.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from syndication.edges.files import atomic_file
from syndication.settings import MailSettings


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient. ``folder`` and ``name`` place a file transport's copy."""

    sender: str
    recipient: str
    message: bytes
    folder: tuple[str, ...] = ()
    name: str = "message"


class TemporaryFailure(Exception):
    """Retry later. ``slow_down`` is set for 421 (the server asks us to back off)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.slow_down = code == 421


class ServerUnavailable(TemporaryFailure):
    """No connection to the server could be made; no message was attempted."""


class PermanentFailure(Exception):
    """The server refused this recipient or message for good (5xx)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None: ...

    def close(self) -> None: ...


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


_KEPT = re.compile(r"[A-Za-z0-9.@-]")
_NAME_LIMIT = 150


def safe_file_name(text: str) -> str:
    """A file name for ``text`` that no other text maps to (an injective encoding).

    Letters, digits, ``.``, ``@`` and ``-`` stay; every other character becomes ``_``
    and two hex digits per UTF-8 byte (``a+b@x`` is ``a_2Bb@x``, ``a_b@x`` is ``a_5Fb@x``),
    and so does a leading dot (no hidden files, no ``..``). Folding them all into ``_``
    made ``a+b@``, ``a_b@`` and ``a=b@`` one file, so one message overwrote the others
    (issue 15 item 14). A name too long for file systems keeps its start and ends with a
    SHA-256 of the text after ``~``, which no short name contains.
    """
    encoded = "".join(
        ch
        if _KEPT.fullmatch(ch) and not (index == 0 and ch == ".")
        else "".join(f"_{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
        for index, ch in enumerate(text)
    )
    if len(encoded) > _NAME_LIMIT:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        encoded = f"{encoded[: _NAME_LIMIT - 65]}~{digest}"
    return encoded or "_"


class FileTransport:
    """Writes each message as ``<outbox_dir>/<folder…>/<name>.eml``, atomically.

    A message for the same name overwrites the earlier copy, so a retried send leaves one
    file, never two.
    """

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def path_for(self, envelope: Envelope) -> Path:
        folder = self.outbox_dir.joinpath(*(safe_file_name(p) for p in envelope.folder))
        return folder / f"{safe_file_name(envelope.name)}.eml"

    def send(self, envelope: Envelope) -> None:
        path = self.path_for(envelope)
        try:
            with atomic_file(path, mode=0o600) as out:
                out.write(envelope.message)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {path}: {exc.strerror}") from exc

    def close(self) -> None:
        return None


@dataclass
class MemoryTransport:
    """Keeps what it is given; for tests of code that only needs *a* transport."""

    sent: list[Envelope] = field(default_factory=list)

    def send(self, envelope: Envelope) -> None:
        self.sent.append(envelope)

    def close(self) -> None:
        return None


def make_transport(settings: MailSettings) -> Transport:
    """The transport the settings ask for (``file`` or ``smtp``)."""
    if settings.transport == "smtp":
        return SmtpTransport(settings)
    return FileTransport(settings.outbox_dir)


class MessageRateLimiter:
    """A token bucket shared by every sending thread: at most ``rate`` messages a second.

    :meth:`slow_down` (on a 421) halves the rate for a minute, then it recovers.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = self._full_rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._recover_at = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                if self._recover_at and now >= self._recover_at:
                    self.rate, self._recover_at = self._full_rate, 0.0
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(self._full_rate / 16, self.rate / 2)
            self._recover_at = time.monotonic() + 60
