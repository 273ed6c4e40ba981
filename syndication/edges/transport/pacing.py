"""Pacing within one process: the token bucket every sending thread takes from."""

from __future__ import annotations

import threading
import time


class MessageRateLimiter:
    """A token bucket shared by every sending thread: at most ``rate`` messages a second.

    :meth:`slow_down` (on a 421) halves the rate for a minute, then it recovers.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = self._full_rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._recover_at = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                if self._recover_at and now >= self._recover_at:
                    self.rate, self._recover_at = self._full_rate, 0.0
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(self._full_rate / 16, self.rate / 2)
            self._recover_at = time.monotonic() + 60
