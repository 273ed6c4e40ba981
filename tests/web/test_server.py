"""``syndication serve`` against clients that misbehave: a real uvicorn process on
loopback, raw sockets, and the client address behind (and not behind) a proxy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from syndication.settings import Settings, WebSettings
from syndication.web.app import create_app
from syndication.web.security import ClientRateLimiter, ForwardedClient
from tests.support.net import free_port

HEADER_TIMEOUT = 1.0


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[int]:
    port = free_port()
    (tmp_path / "syndication.toml").write_text(
        f"[web]\nheader_timeout_seconds = {HEADER_TIMEOUT}\nbody_timeout_seconds = 1.0\n"
        "max_connections = 4\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = database_url
    env["SYNDICATION_SECRET_KEY"] = "test-secret-key-not-for-production"
    process = subprocess.Popen(
        [sys.executable, "-m", "syndication", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz"):
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "syndication serve did not answer"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` (EOF, or a reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_request_whose_headers_never_finish_is_dropped(server: int) -> None:
    # Slow clients held connections without limit (issue 15 item 6).
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert closed_within(sock, HEADER_TIMEOUT + 5)
        assert time.monotonic() - started < HEADER_TIMEOUT + 3
    with socket.create_connection(("127.0.0.1", server)) as idle:
        assert closed_within(idle, HEADER_TIMEOUT + 5)  # and one that sends nothing at all


def test_headers_larger_than_16_kb_get_a_400(server: int) -> None:
    # httptools keeps reading headers for as long as they come; h11 stopped at 16 KB.
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Filler: " + b"a" * 20_000)
        sock.settimeout(5)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert closed_within(sock, 3)
    with socket.create_connection(("127.0.0.1", server)) as sock:  # 12 KB is still fine
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 12_000 + b"\r\n\r\n"
        )
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_connections_past_the_limit_are_refused_at_once(server: int) -> None:
    held = [socket.create_connection(("127.0.0.1", server)) for _ in range(4)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", server)) as extra:
            assert closed_within(extra, 0.8)
    finally:
        for sock in held:
            sock.close()


def test_a_body_that_never_finishes_gets_a_408(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail=a"
        )
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ")


def echo_app() -> Starlette:
    async def who(request: Request) -> Response:
        return PlainTextResponse(request.client.host if request.client else "")

    return Starlette(routes=[Route("/", who)])


@pytest.mark.parametrize(
    ("peer", "trusted", "forwarded", "seen"),
    [
        ("127.0.0.1", (), "203.0.113.9", "127.0.0.1"),  # the default trusts no one
        ("127.0.0.1", ("127.0.0.1",), "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", ("127.0.0.1",), "203.0.113.9", "10.0.0.5"),  # not our proxy
        ("10.0.0.5", ("10.0.0.0/8",), "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        ("127.0.0.1", ("127.0.0.1",), "not-an-address", "127.0.0.1"),
        ("::1", ("::1",), "2001:db8::1", "2001:db8::1"),
    ],
)
def test_x_forwarded_for_counts_only_from_trusted_proxies(
    peer: str, trusted: tuple[str, ...], forwarded: str, seen: str
) -> None:
    app = ForwardedClient(echo_app(), trusted)
    with TestClient(app, client=(peer, 40000)) as client:
        assert client.get("/", headers={"x-forwarded-for": forwarded}).text == seen


def test_a_local_process_cannot_rotate_past_the_sign_up_limit(
    settings: Settings, engine: Engine
) -> None:
    # From 127.0.0.1, forty made-up X-Forwarded-For addresses were forty clients (item 4).
    app = create_app(settings, engine, subscribe_limit=ClientRateLimiter(3, 600))
    statuses = []
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        for n in range(5):
            page = client.get("/")
            token = page.text.split('name="csrf" value="')[1].split('"')[0]
            response = client.post(
                "/subscribe",
                data={"csrf": token, "email": f"r{n}@example.org", "lists": "weekly-city"},
                headers={"x-forwarded-for": f"198.51.100.{n}"},
            )
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    trusting = replace(settings, web=WebSettings(trusted_proxies=("127.0.0.1",)))
    app = create_app(trusting, engine, subscribe_limit=ClientRateLimiter(3, 600))
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        for n in range(5):
            token = client.get("/").text.split('name="csrf" value="')[1].split('"')[0]
            response = client.post(
                "/subscribe",
                data={"csrf": token, "email": f"s{n}@example.org", "lists": "weekly-city"},
                headers={"x-forwarded-for": f"198.51.100.{n}"},
            )
            assert response.status_code == 200


def scheme_app() -> Starlette:
    async def scheme(request: Request) -> Response:
        return PlainTextResponse(request.url.scheme)

    return Starlette(routes=[Route("/", scheme)])


@pytest.mark.parametrize(
    ("peer", "trusted", "proto", "seen"),
    [
        ("127.0.0.1", ("127.0.0.1",), "https", "https"),  # TLS ended at our nginx
        ("127.0.0.1", ("127.0.0.1",), "HTTPS", "https"),
        ("127.0.0.1", (), "https", "http"),  # the default trusts no one
        ("10.0.0.5", ("127.0.0.1",), "https", "http"),  # not our proxy
        ("127.0.0.1", ("127.0.0.1",), "http, https", "https"),  # the nearest proxy speaks
        ("127.0.0.1", ("127.0.0.1",), "gopher", "http"),
    ],
)
def test_x_forwarded_proto_counts_only_from_trusted_proxies(
    peer: str, trusted: tuple[str, ...], proto: str, seen: str
) -> None:
    # Behind TLS-terminating nginx every request looked like plain http (issue 29 item 2).
    app = ForwardedClient(scheme_app(), trusted)
    with TestClient(app, base_url="http://testserver", client=(peer, 40000)) as client:
        assert client.get("/", headers={"x-forwarded-proto": proto}).text == seen


def test_cookies_are_secure_when_a_trusted_proxy_says_https(
    settings: Settings, engine: Engine
) -> None:
    trusting = replace(settings, web=WebSettings(trusted_proxies=("127.0.0.1",)))
    for config, peer, secure in (
        (trusting, "127.0.0.1", True),
        (trusting, "203.0.113.9", False),  # a stranger's header changes nothing
        (settings, "127.0.0.1", False),
    ):
        app = create_app(config, engine)
        for path in ("/", "/admin/login"):  # the sign-up form's and the console's CSRF cookie
            with TestClient(app, base_url="http://testserver", client=(peer, 40000)) as client:
                response = client.get(path, headers={"x-forwarded-proto": "https"})
            cookie = response.headers["set-cookie"]
            assert ("secure" in cookie.lower().split("; ")) is secure, (peer, path, cookie)
