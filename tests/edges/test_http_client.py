"""The HTTP edge against real loopback servers."""

from __future__ import annotations

import base64
import time

import pytest

from syndication.edges.http_client import (
    FetchError,
    HttpClient,
    RetryLater,
    Validators,
    retry_after_seconds,
)
from tests.support.builders import FIXED_NOW
from tests.support.http import Answer, Request, drip_headers, serve


def etagged(request: Request) -> Answer:
    if request.headers.get("if-none-match") == '"abc"':
        return Answer(304, {"ETag": '"abc"'})
    headers = {"ETag": '"abc"', "Last-Modified": "Sat, 28 Nov 2026 03:00:00 GMT"}
    return Answer(200, headers, b"hello")


def test_conditional_get_and_user_agent() -> None:
    with serve(etagged) as server, HttpClient(timeout=5) as client:
        first = client.get(server.url)
        assert first.body == b"hello" and first.validators.etag == '"abc"'
        second = client.get(server.url, validators=first.validators)
        assert second.not_modified and second.body == b""
        assert client.requests == 2
    sent = server.requests[1].headers
    assert sent["if-none-match"] == '"abc"'
    assert sent["if-modified-since"] == "Sat, 28 Nov 2026 03:00:00 GMT"
    assert sent["user-agent"].startswith("syndication/")


def test_basic_auth_is_sent_when_configured() -> None:
    with serve(lambda r: Answer(200, {}, b"ok")) as server:
        with HttpClient(timeout=5, auth=("editor", "app pass")) as client:
            client.get(server.url)
    expected = base64.b64encode(b"editor:app pass").decode()
    assert server.requests[0].headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_carried(status: int) -> None:
    with serve(lambda r: Answer(status, {"Retry-After": "120"})) as server:
        with HttpClient(timeout=5) as client, pytest.raises(RetryLater) as caught:
            client.get(server.url)
    assert caught.value.retry_after == 120


def test_errors_name_the_url_and_status() -> None:
    with serve(lambda r: Answer(502, {}, b"bad gateway")) as server:
        with HttpClient(timeout=5) as client, pytest.raises(FetchError) as caught:
            client.get(server.url + "/x")
    assert "/x" in str(caught.value) and "502" in str(caught.value)


def test_a_hanging_server_times_out() -> None:
    with serve(lambda r: Answer(200, {}, b"late", delay=30)) as server:
        started = time.monotonic()
        with HttpClient(timeout=0.5) as client, pytest.raises(FetchError) as caught:
            client.get(server.url)
    assert time.monotonic() - started < 5
    assert "within 0.5 s" in str(caught.value)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", FIXED_NOW) == 30
    assert retry_after_seconds("Sat, 28 Nov 2026 03:02:00 GMT", FIXED_NOW) == 120
    assert retry_after_seconds("soon", FIXED_NOW) is None
    assert not Validators()


@pytest.mark.parametrize("interval", [0.3, 1.0])
def test_headers_dripped_line_by_line_end_at_the_deadline(interval: float) -> None:
    # httpx bounds each read; a server sending a header line more often than that would
    # hold the request forever. The watchdog ends it at timeout (+1 s at most).
    with drip_headers(interval) as url, HttpClient(timeout=2) as client:
        started = time.monotonic()
        with pytest.raises(FetchError, match="no complete answer within 2 s"):
            client.get(url)
        assert time.monotonic() - started < 3.0


def test_the_whole_poll_has_a_deadline() -> None:
    with serve(lambda r: Answer(200, {}, b"ok", delay=0.4)) as server:
        with HttpClient(timeout=5, total_seconds=1.0) as client:
            started = time.monotonic()
            with pytest.raises(FetchError, match="max_poll_seconds"):
                for _ in range(10):
                    client.get(server.url)
            assert time.monotonic() - started < 2.0
            assert client.requests <= 3
