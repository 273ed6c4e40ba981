"""The one signer: HMAC-SHA256 with the service's secret key, truncated, URL-safe.

Every signed value the service hands out (subscription links, CSRF tokens, VERP
addresses) is signed here, so there is one place to review the construction and one way
to compare signatures (in constant time, as bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, message: str, size: int) -> bytes:
    """The first ``size`` bytes of HMAC-SHA256(``secret``, ``message``)."""
    # hmac.digest: the one-shot C path, a third of hmac.new(...).digest()'s cost.
    return hmac.digest(secret.encode(), message.encode(), hashlib.sha256)[:size]


def signature_matches(secret: str, message: str, signature: bytes) -> bool:
    """Whether ``signature`` is :func:`sign` of ``message``, compared in constant time."""
    return hmac.compare_digest(signature, sign(secret, message, len(signature) or 1))


def b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Decode :func:`b64` output; ``ValueError`` for anything else, non-ASCII included.

    Only the canonical spelling is accepted: the last character's spare bits must not let
    two different strings stand for the same value.
    """
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("non-canonical base64")
    return data
