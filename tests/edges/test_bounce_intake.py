"""The intake's SMTP server on loopback: what it answers when the store keeps a report and
when it declines one (a stranger's report over the intake's limits)."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator

import pytest

from syndication.edges.bounce_intake import IntakeServer

BASE = "bounces@news.example.org"


@pytest.fixture
def running() -> Iterator[tuple[int, list[tuple[str, list[str], str]], list[int]]]:
    offered: list[tuple[str, list[str], str]] = []
    stored: list[int] = []

    def store(data: bytes, sender: str, recipients: list[str], peer: str) -> int | None:
        offered.append((sender, recipients, peer))
        return None if b"stranger" in data else len(offered)

    server = IntakeServer(
        BASE, store, stored.append, lmtp=False, max_bytes=100_000, hostname="news.example.org"
    )
    stop = threading.Event()
    ready = threading.Event()
    port: list[int] = []

    def on_ready(_host: str, bound: int) -> None:
        port.append(bound)
        ready.set()

    thread = threading.Thread(target=server.run, args=("127.0.0.1", 0, stop, on_ready), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield port[0], offered, stored
    stop.set()
    thread.join(10)


def test_a_declined_report_is_answered_250_not_kept_and_the_peer_is_passed(
    running: tuple[int, list[tuple[str, list[str], str]], list[int]],
) -> None:
    port, offered, stored = running
    with smtplib.SMTP("127.0.0.1", port) as client:
        kept = client.sendmail("", [BASE], b"Subject: ours\r\n\r\nreport\r\n")
        assert kept == {}
        assert client.mail("")[0] == 250
        assert client.rcpt(BASE)[0] == 250
        code, text = client.data(b"Subject: x\r\n\r\nstranger\r\n")
    assert code == 250 and b"not kept" in text
    assert [peer for _s, _r, peer in offered] == ["127.0.0.1", "127.0.0.1"]
    assert stored == [1]  # only the kept report wakes the processor
