"""DKIM signatures (RFC 6376) on every message a transport sends, when ``[mail.dkim]`` is set.

Gmail and Yahoo ask bulk senders for a DKIM signature whose domain aligns with the From
domain (DMARC), and for ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` to be covered
by it (RFC 8058 section 4), so those are signed along with the headers a reader sees. The
signature is made at send time, over the exact bytes that go out, by dkimpy.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dkim

from syndication.edges.transport.base import Envelope, Transport
from syndication.errors import ConfigError
from syndication.settings import DkimSettings

# Signed when present; a header named here but absent is left out (no oversigning, so a
# list server that adds one of them does not break the signature needlessly).
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Archive",
)


class DkimSigner:
    """Signs message bytes as ``domain`` with the private key of ``selector``."""

    def __init__(self, settings: DkimSettings) -> None:
        self.domain = settings.domain
        self.selector = settings.selector
        self._key = read_private_key(settings.key_file)

    def sign(self, message: bytes) -> bytes:
        present = {
            line.split(b":", 1)[0].strip().lower()
            for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
            if b":" in line and not line[:1].isspace()
        }
        headers = [h.encode() for h in SIGNED_HEADERS if h.lower().encode() in present]
        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return bytes(signature) + message


def read_private_key(path: Path) -> bytes:
    """The PEM private key in ``path``, or a :class:`ConfigError` naming the setting."""
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"mail.dkim.key_file: {path}: cannot read: {exc.strerror}") from exc
    if b"PRIVATE KEY-----" not in key:
        raise ConfigError(
            f"mail.dkim.key_file: {path}: not a PEM private key "
            "(make one with: openssl genrsa -out dkim.pem 2048)"
        )
    try:
        dkim.sign(b"From: a@b.example\r\n\r\n", b"s", b"b.example", key)
    except Exception as exc:  # noqa: BLE001 - dkimpy raises several kinds for a bad key
        raise ConfigError(f"mail.dkim.key_file: {path}: the key cannot sign: {exc}") from exc
    return key


class SigningTransport:
    """A transport that DKIM-signs each message before handing it to ``inner``."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    def send(self, envelope: Envelope) -> None:
        self.inner.send(replace(envelope, message=self.signer.sign(envelope.message)))

    def close(self) -> None:
        self.inner.close()
