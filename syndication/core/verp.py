"""Signed VERP envelope senders: ``bounces+<token>@domain`` (pure).

Every message goes out with a return path of its own, so a delivery status notification
(RFC 3464), which an MTA mails to the envelope sender (RFC 5321 §4.5.5), names the copy it
is about without anyone parsing its prose. The token says which copy (a delivery row, or
the subscriber a confirmation went to) and carries an HMAC with the service key, so
nobody can make us act on another reader's address by writing to ``bounces+d17-...``.

The token uses lower-case base32 and digits only: local parts are case-insensitive in
practice (some MTAs lower-case them), and ``+`` and ``-`` are the only separators. The
whole local part stays under 64 octets (RFC 5321 §4.5.3.1.1).
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

from syndication.core.signing import sign

DELIVERY = "d"  # a digest delivery row
SUBSCRIBER = "s"  # a mail to a subscriber that has no delivery row (confirmation)
# A request to leave the list of a delivery's digest: the mailto: alternative of its
# List-Unsubscribe header (RFC 2369, RFC 8058 section 3.1), which lands in the bounce
# mailbox like any mail to the bounce address.
UNSUBSCRIBE = "u"
KINDS = (DELIVERY, SUBSCRIBER, UNSUBSCRIBE)
MAX_LOCAL_PART = 63
_SIGNATURE_BYTES = 10  # 80 bits: 16 base32 characters
_TOKEN_RE = re.compile(r"([dsu])([0-9a-z]{1,13})-([a-z2-7]{16})")


class VerpError(ValueError):
    """The bounce address cannot carry a token (bad base address, local part too long)."""


@dataclass(frozen=True)
class VerpRef:
    """What a valid token points at: ``kind`` (``d`` or ``s``) and the row's id."""

    kind: str
    ident: int


def split_address(address: str) -> tuple[str, str]:
    """``(local part, domain)`` of ``address``, domain lower-cased; ValueError if not one."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"{address!r} is not an e-mail address")
    return local, domain.lower()


def _sign(secret: str, payload: str) -> str:
    # Base32, lower case: a local part's letters may be case-folded on the way back.
    digest = sign(secret, f"verp:{payload}", _SIGNATURE_BYTES)
    return base64.b32encode(digest).decode().lower()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def make_return_path(secret: str, base_address: str, kind: str, ident: int) -> str:
    """The envelope sender for one message: ``<local>+<kind><id>-<signature>@<domain>``."""
    if not secret:
        raise VerpError("no secret key to sign the bounce address with: set SYNDICATION_SECRET_KEY")
    if kind not in KINDS or ident < 0:
        raise ValueError(f"bad VERP reference {kind!r} {ident!r}")
    local, domain = split_address(base_address)
    payload = f"{kind}{_base36(ident)}"
    full_local = f"{local}+{payload}-{_sign(secret, payload)}"
    if len(full_local) > MAX_LOCAL_PART:
        raise VerpError(
            f"bounces.address {base_address!r}: local part too long to carry a VERP token"
            f" (at most {MAX_LOCAL_PART - 32} characters before the @)"
        )
    return f"{full_local}@{domain}"


def is_bounce_address(base_address: str, address: str) -> bool:
    """True for the bounce address itself and for any ``<local>+…`` form of it.

    Whether the token is genuine is decided later (:func:`read_return_path`); this is the
    question an SMTP server asks at ``RCPT TO``.
    """
    try:
        local, domain = split_address(address)
        base_local, base_domain = split_address(base_address)
    except ValueError:
        return False
    local = local.lower()
    base_local = base_local.lower()
    return domain == base_domain and (local == base_local or local.startswith(base_local + "+"))


def token_of(base_address: str, address: str) -> str | None:
    """The text after ``+`` when ``address`` is a VERP form of the bounce address, else None."""
    if not is_bounce_address(base_address, address):
        return None
    local, _domain = split_address(address)
    _base, plus, token = local.partition("+")
    return token.lower() if plus else None


def read_token(secret: str, token: str) -> VerpRef | None:
    """The reference in ``token`` if its signature is ours, else None (tampered, foreign)."""
    match = _TOKEN_RE.fullmatch(token.lower())
    if match is None or not secret:
        return None
    kind, number, signature = match.groups()
    if not hmac.compare_digest(signature.encode(), _sign(secret, kind + number).encode()):
        return None
    return VerpRef(kind, int(number, 36))


def read_return_path(secret: str, base_address: str, address: str) -> VerpRef | None:
    """The reference carried by a VERP bounce address, or None when absent or not genuine."""
    token = token_of(base_address, address)
    return None if token is None else read_token(secret, token)
