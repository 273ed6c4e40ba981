"""What keeps the web pages safe: security headers, CSRF tokens, per-client rate limits.

Nothing here knows about routes or the database; :mod:`syndication.web.app` wires it in.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syndication.core.signing import b64, sign, signature_matches, unb64

# No script at all, styles only from our own stylesheet, forms only to ourselves, never in
# a frame (clickjacking; CSP Level 3 ``frame-ancestors`` with X-Frame-Options for older
# browsers). Referrer-Policy ``no-referrer``: our URLs carry unsubscribe and preferences
# tokens, which must not leak to the sites our pages link to.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", PAGE_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response.

    A response that already sets one of them (the digest archive sets its own CSP) keeps
    its own value.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the client's address ------------------------------------------------------------------


class ForwardedClient:
    """ASGI middleware: the client is the address ``X-Forwarded-For`` names, and the
    request's scheme the one ``X-Forwarded-Proto`` names, but only when the connection
    comes from a proxy listed in ``trusted`` (``[web] trusted_proxies``).

    The address header is a list each proxy appends to, so it is read from the right:
    trusted proxies are skipped and the first other address is the client. The scheme is
    the rightmost value (what the proxy nearest to us says), and only ``http`` or
    ``https``: behind a TLS-terminating nginx it makes the request ``https``, so the
    cookies we set are ``Secure``. From anyone else both headers are ignored: a process
    on the same host (or a visitor, behind a proxy that passes the header on unchanged)
    could otherwise name any address and step past the sign-up limit.
    """

    def __init__(self, app: ASGIApp, trusted: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.trusted and client and self.is_trusted(client[0]):
            hops = _header_values(scope, b"x-forwarded-for")
            for hop in reversed(hops):
                if not self.is_trusted(hop):
                    try:
                        ipaddress.ip_address(hop)
                    except ValueError:
                        break  # garbage: keep the proxy's own address
                    scope = {**scope, "client": (hop, 0)}
                    break
            protos = _header_values(scope, b"x-forwarded-proto")
            if protos and protos[-1].lower() in ("http", "https"):
                scope = {**scope, "scheme": protos[-1].lower()}
        await self.app(scope, receive, send)


def _header_values(scope: Scope, header: bytes) -> list[str]:
    """The comma-separated values of every ``header`` line, in order, blanks dropped."""
    lines = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name.lower() == header
    ]
    return [value.strip() for value in ",".join(lines).split(",") if value.strip()]


class BodyDeadline:
    """ASGI middleware: a request body must arrive whole within ``seconds`` and be at most
    ``limit`` bytes, else 408 or 413 before the app sees it.

    Every body this app takes is a small form, but for the push API's: it is read here in
    full and handed on; a client dripping a byte at a time cannot hold a worker for longer
    than the deadline. ``larger`` gives path prefixes their own limit (``/api/``: the push
    API's documented 10 MB), and under ``json_prefix`` the 408 and 413 are JSON, as every
    answer of the API is.
    """

    def __init__(
        self,
        app: ASGIApp,
        seconds: float = 30.0,
        limit: int = 64 * 1024,
        larger: tuple[tuple[str, int], ...] = (),
        json_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.limit = limit
        self.larger = larger
        self.json_prefix = json_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        path = str(scope.get("path", ""))
        limit = next((n for prefix, n in self.larger if path.startswith(prefix)), self.limit)
        as_json = bool(self.json_prefix) and path.startswith(self.json_prefix)
        try:
            async with asyncio.timeout(self.seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body = message.get("body", b"")
                    size += len(body)
                    if size > limit:
                        text = f"the body is larger than {limit:,} bytes"
                        await _answer(send, 413, text, as_json)
                        return
                    chunks.append(body)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _answer(send, 408, "the request body did not arrive in time", as_json)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, text: str, as_json: bool) -> None:
    if as_json:
        body = json.dumps({"error": text}).encode()
        await _plain(send, status, body, b"application/json")
    else:
        await _plain(send, status, f"{text[0].upper()}{text[1:]}.\n".encode())


async def _plain(
    send: Send, status: int, text: bytes, media_type: bytes = b"text/plain; charset=utf-8"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(text)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


# -- CSRF: a signed double-submit token -------------------------------------------------
#
# The subscribe form carries the same value as a cookie, and the value is signed with the
# secret key, so a forging site can neither read the cookie nor mint a value of its own
# (OWASP "signed double-submit cookie"). The cookie is SameSite=Strict as well.

CSRF_COOKIE = "syndication_csrf"
CSRF_FIELD = "csrf"


CSRF_SIGNATURE_BYTES = 18


def _csrf_signature(secret: str, nonce: str) -> str:
    return b64(sign(secret, f"csrf:{nonce}", CSRF_SIGNATURE_BYTES))


def new_csrf_token(secret: str) -> str:
    """A fresh token: a random nonce and its signature."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_signature(secret, nonce)}"


def csrf_token_valid(secret: str, token: str) -> bool:
    """Whether ``token`` is one we signed (any other string, non-ASCII included: False)."""
    if not token.isascii():
        # hmac.compare_digest raises TypeError on non-ASCII str; ours never are.
        return False
    nonce, dot, signature = token.partition(".")
    if not dot or not nonce:
        return False
    try:
        given = unb64(signature)
    except ValueError:  # not base64 at all, non-ASCII included
        return False
    return len(given) == CSRF_SIGNATURE_BYTES and signature_matches(secret, f"csrf:{nonce}", given)


def csrf_ok(secret: str, cookie: str | None, submitted: str | None) -> bool:
    """The double-submit check: form value equals the cookie, and we signed it."""
    if not cookie or not submitted:
        return False
    # As bytes: compare_digest refuses non-ASCII str, and a cookie is the client's to send.
    same = hmac.compare_digest(
        cookie.encode("utf-8", "replace"), submitted.encode("utf-8", "replace")
    )
    return same and csrf_token_valid(secret, cookie)


R = TypeVar("R", bound=Response)


def with_csrf_cookie(request: Request, secret: str, render: Callable[[str], R]) -> R:
    """The page ``render(token)`` draws around a form, with its CSRF double-submit cookie.

    The visitor's cookie is kept when we signed it (several open tabs keep working);
    otherwise a fresh token is made and set as the cookie: HttpOnly, SameSite=Strict,
    Secure over HTTPS, for the whole site (the public form and the console's sign-in).
    """
    token = request.cookies.get(CSRF_COOKIE, "")
    fresh = not csrf_token_valid(secret, token)
    if fresh:
        token = new_csrf_token(secret)
    response = render(token)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


# -- rate limits --------------------------------------------------------------------------


class ClientRateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window), in memory.

    One process's memory: with several workers each counts on its own, which still bounds
    what one client can do. Keys idle for a whole window are forgotten, so memory stays
    proportional to the clients seen in the last window.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def allow(self, key: str) -> bool:
        """Record an event for ``key`` if it is within the limit; False when it is not."""
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (at least 1)."""
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if not events:
                return 1
            return max(1, int(events[0] + self.window - now) + 1)

    def _sweep(self, now: float) -> None:
        idle = [
            key
            for key, events in self._events.items()
            if not events or events[-1] <= now - self.window
        ]
        for key in idle:
            del self._events[key]
        self._next_sweep = now + self.window
