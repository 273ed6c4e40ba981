"""WebSub publish pings against a real local HTTP server standing in for the hub."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from syndication.websub import announce


class Hub:
    """A local hub: records every publish request; answers with ``status``."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, list[str]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hub.requests.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_announces_each_url_with_hub_mode_publish(hub: Hub) -> None:
    urls = [
        "https://news.example.org/feeds/all/rss.xml",
        "https://news.example.org/feeds/all/atom.xml",
    ]
    result = announce(hub.url, urls)
    assert result.ok and result.accepted == tuple(urls)
    assert hub.requests == [{"hub.mode": ["publish"], "hub.url": [url]} for url in urls]


def test_a_hub_that_is_down_is_reported_not_raised() -> None:
    result = announce(f"http://127.0.0.1:{free_port()}/", ["https://x.example/a"], timeout=2)
    assert not result.ok
    assert "hub unreachable" in result.error
    assert result.accepted == ()


def test_a_hub_error_status_stops_and_is_reported(hub: Hub) -> None:
    hub.status = 503
    result = announce(hub.url, ["https://x.example/a", "https://x.example/b"])
    assert result.error.endswith("hub answered 503 for https://x.example/a")
    assert len(hub.requests) == 1
