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

from syndication.edges.transport.base import (
    Envelope,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)
from syndication.edges.transport.dkim import DkimSigner, SigningTransport
from syndication.edges.transport.file import FileTransport, safe_file_name
from syndication.edges.transport.memory import MemoryTransport
from syndication.edges.transport.pacing import MessageRateLimiter
from syndication.edges.transport.smtp import SmtpTransport
from syndication.settings import MailSettings

__all__ = [
    "DkimSigner",
    "Envelope",
    "FileTransport",
    "MemoryTransport",
    "MessageRateLimiter",
    "PermanentFailure",
    "ServerUnavailable",
    "SigningTransport",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "make_transport",
    "safe_file_name",
]


def make_transport(settings: MailSettings) -> Transport:
    """The transport the settings ask for (``file`` or ``smtp``), DKIM-signing every
    message when ``[mail.dkim]`` is set."""
    transport: Transport
    if settings.transport == "smtp":
        transport = SmtpTransport(settings)
    else:
        transport = FileTransport(settings.outbox_dir)
    if settings.dkim is not None:
        return SigningTransport(transport, DkimSigner(settings.dkim))
    return transport
