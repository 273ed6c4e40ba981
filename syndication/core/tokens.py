"""Signed tokens for the links in our mail: confirm, unsubscribe, preferences (pure).

A token is ``<payload>.<signature>``, both base64url without padding. The payload names
what the token is for (its purpose), whom it concerns and when it was issued; the
signature is HMAC-SHA256 over the purpose and payload with the service's secret key
(``SYNDICATION_SECRET_KEY``). Nothing is stored: a token is valid because we signed it.

Tokens are unguessable (the signature) and unforgeable (changing one character of the
payload breaks it). A token for one purpose is refused for another. Confirmation tokens
expire; unsubscribe tokens never do (RFC 8058 links sit in old mail for years and must keep
working), nor do preferences tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syndication.core.signing import b64, sign, signature_matches, unb64
from syndication.errors import SyndicationError

SIGNATURE_BYTES = 20

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
PURPOSES = (CONFIRM, UNSUBSCRIBE, PREFERENCES)

CONFIRM_MAX_AGE = timedelta(days=7)


class TokenError(SyndicationError):
    """The token is malformed, forged, for another purpose, or expired."""


@dataclass(frozen=True)
class TokenClaims:
    purpose: str
    subscriber_id: int
    list_slug: str
    issued_at: datetime
    # Confirmation tokens: the nonce of the sign-up request they were mailed for.
    request: str = ""


def make_token(
    secret: str,
    purpose: str,
    subscriber_id: int,
    issued_at: datetime,
    list_slug: str = "",
    request: str = "",
) -> str:
    """A token for ``purpose`` concerning one subscriber (and, for unsubscribe, one list;
    for confirm, the sign-up request ``request`` names)."""
    if not secret:
        raise TokenError("no secret key: set SYNDICATION_SECRET_KEY")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if ":" in request:
        raise ValueError("a request nonce cannot contain ':'")
    payload = f"{purpose}:{subscriber_id}:{list_slug}:{int(issued_at.timestamp())}"
    if request:
        payload += f":{request}"
    encoded = b64(payload.encode())
    return f"{encoded}.{b64(sign(secret, encoded, SIGNATURE_BYTES))}"


def read_token(
    secret: str, purpose: str, token: str, now: datetime, max_age: timedelta | None = None
) -> TokenClaims:
    """Verify ``token`` for ``purpose``; raise :class:`TokenError` if it is not good."""
    if not secret:
        raise TokenError("no secret key: set SYNDICATION_SECRET_KEY")
    encoded, dot, signature = token.partition(".")
    if not dot or not encoded or not signature:
        raise TokenError("this link is incomplete")
    try:
        given = unb64(signature)
        payload = unb64(encoded).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("this link is damaged") from exc
    if len(given) != SIGNATURE_BYTES or not signature_matches(secret, encoded, given):
        raise TokenError("this link is not one of ours")
    try:
        kind, subscriber, list_slug, issued, *rest = payload.split(":")
        if len(rest) > 1:
            raise ValueError("too many fields")
        claims = TokenClaims(
            kind,
            int(subscriber),
            list_slug,
            datetime.fromtimestamp(int(issued), UTC),
            rest[0] if rest else "",
        )
    except (ValueError, OverflowError, OSError) as exc:
        raise TokenError("this link is damaged") from exc
    if claims.purpose != purpose:
        raise TokenError(f"this link is for {claims.purpose}, not {purpose}")
    if max_age is not None and now - claims.issued_at > max_age:
        raise TokenError("this link has expired; ask for a new one")
    return claims
