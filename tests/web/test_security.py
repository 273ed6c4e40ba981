"""CSRF tokens, rate limits and the security-header middleware, without a database."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from syndication.web.security import (
    CSRF_COOKIE,
    ClientRateLimiter,
    SecurityHeaders,
    csrf_ok,
    csrf_token_valid,
    new_csrf_token,
    with_csrf_cookie,
)

SECRET = "test-secret"


def test_csrf_tokens_are_signed_and_must_match_the_cookie() -> None:
    token = new_csrf_token(SECRET)
    assert csrf_token_valid(SECRET, token)
    assert not csrf_token_valid("another secret", token)
    assert not csrf_token_valid(SECRET, token.partition(".")[0] + ".AAAA")
    assert not csrf_token_valid(SECRET, "no-dot")
    assert csrf_ok(SECRET, token, token)
    assert not csrf_ok(SECRET, token, new_csrf_token(SECRET))
    assert not csrf_ok(SECRET, None, token)
    assert not csrf_ok(SECRET, token, None)
    assert new_csrf_token(SECRET) != new_csrf_token(SECRET)


def test_a_form_page_keeps_a_signed_cookie_and_replaces_any_other() -> None:
    async def form(request: Request) -> Response:
        return with_csrf_cookie(request, SECRET, lambda token: PlainTextResponse(token))

    client = TestClient(Starlette(routes=[Route("/", form)]))
    first = client.get("/")
    assert csrf_token_valid(SECRET, first.text)
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}={first.text};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    again = client.get("/")  # the signed cookie is sent back: kept, not set again
    assert again.text == first.text and "set-cookie" not in again.headers
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, "forged.AAAA")
    forged = client.get("/")
    assert forged.text != "forged.AAAA" and csrf_token_valid(SECRET, forged.text)
    assert forged.headers["set-cookie"].startswith(f"{CSRF_COOKIE}={forged.text};")


def test_rate_limiter_window_slides() -> None:
    clock = [0.0]
    limiter = ClientRateLimiter(2, 10, clock=lambda: clock[0])
    assert limiter.allow("a") and limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")
    assert limiter.retry_after("a") == 11
    clock[0] = 10.5
    assert limiter.allow("a")


def test_rate_limiter_forgets_idle_clients() -> None:
    clock = [0.0]
    limiter = ClientRateLimiter(1, 10, clock=lambda: clock[0])
    for n in range(100):
        limiter.allow(f"client-{n}")
    clock[0] = 25.0
    limiter.allow("late")
    assert len(limiter._events) == 1


def test_security_headers_are_added_but_never_override() -> None:
    async def plain(request: Request) -> Response:
        return PlainTextResponse("hi")

    async def own_csp(request: Request) -> Response:
        return PlainTextResponse("hi", headers={"content-security-policy": "default-src 'self'"})

    app = Starlette(
        routes=[Route("/", plain), Route("/own", own_csp)],
        middleware=[Middleware(SecurityHeaders)],
    )
    with TestClient(app) as client:
        headers = client.get("/").headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        own = client.get("/own").headers
        assert own.get_list("content-security-policy") == ["default-src 'self'"]
        assert own["referrer-policy"] == "no-referrer"
