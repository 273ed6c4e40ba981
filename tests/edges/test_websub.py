"""WebSub publish pings against a real local HTTP server standing in for the hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syndication.edges.websub import announce
from tests.support.net import Hub, free_port


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


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
