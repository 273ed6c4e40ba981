"""The SMTP rate shared by every sender through the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine

from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.rate_limits import SharedRateLimiter, reserve_slots


def test_slots_are_taken_one_after_another_by_everyone(engine: Engine) -> None:
    assert reserve_slots(engine, "smtp", 3, 0.5, now=1000.0) == [1000.0, 1000.5, 1001.0]
    # Another process asking at the same moment gets the slots after those.
    assert reserve_slots(engine, "smtp", 2, 0.5, now=1000.0) == [1001.5, 1002.0]
    # Later, after a pause, the rate starts from now: no burst of saved-up slots.
    assert reserve_slots(engine, "smtp", 1, 0.5, now=2000.0) == [2000.0]
    assert reserve_slots(engine, "other", 1, 0.5, now=1000.0) == [1000.0]


def test_two_senders_together_keep_to_the_rate(settings: Settings) -> None:
    # Each sender process used to have a limiter of its own, so two sent at twice
    # mail.smtp.rate_per_second (issue 15 item 19). Two engines stand for two processes.
    rate, each = 20.0, 20
    engines = [db.make_engine(settings.database.url) for _ in range(2)]
    stamps: list[float] = []
    lock = threading.Lock()

    def sender(engine: Engine) -> None:
        limiter = SharedRateLimiter(engine, rate)
        for _ in range(each):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=sender, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for engine in engines:
            engine.dispose()
    stamps.sort()
    elapsed = stamps[-1] - stamps[0]
    # 40 messages at 20 a second take 1.95 s; two private limiters would take about 1.
    assert elapsed >= (2 * each - 1) / rate - 0.25, elapsed
    # No second saw much more than the rate. Two private limiters would show twice the
    # rate; the margin is for stamps taken late on a loaded machine (a thread that gets its
    # slot on time but runs later bunches up with the next one), which is not a burst.
    for n, start in enumerate(stamps):
        assert sum(1 for t in stamps[n:] if t < start + 1.0) <= rate * 1.25


def test_a_very_high_rate_reserves_small_blocks(engine: Engine) -> None:
    # "No limit" is configured as a huge rate: each reservation is capped at BLOCK_SLOTS
    # slots, not a fifth of a second's worth (200,000 at a million a second).
    from syndication.store.rate_limits import BLOCK_SLOTS

    clock = [5000.0]
    limiter = SharedRateLimiter(
        engine,
        1_000_000.0,
        clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    for _ in range(BLOCK_SLOTS + 1):
        limiter.acquire()
    # Two reservations so far: the next free slot lies two blocks after the start.
    (after,) = reserve_slots(engine, "smtp", 1, 1e-6, now=5000.0)
    assert after == pytest.approx(5000.0 + 2 * BLOCK_SLOTS * 1e-6, abs=1e-9)
