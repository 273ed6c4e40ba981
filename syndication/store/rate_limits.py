"""A sending rate shared by every sender process through the database.

``mail.smtp.rate_per_second`` promises a limit of the service: two ``send`` processes (or
ten, on several machines) together stay under it. Each process reserves the next few
slots from one row of ``rate_limits`` (``next_at``: the earliest time, in epoch seconds,
that the next message may go), in a short write transaction that locks the row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time anyway), then
hands the slots to its workers one by one, sleeping until each is due.

Slots are reserved a fifth of a second's worth at a time (at most ``BLOCK_SLOTS``), so
the database sees a few small transactions a second at the rates an SMTP relay allows.
The clocks of the machines are assumed to agree (NTP); a reserved slot a worker no longer
needs is simply lost, which can only make the service slower than the limit, never faster.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Engine, select

from syndication.store.database import write_session
from syndication.store.models import RateLimit
from syndication.store.upsert import upsert

SMTP_RATE = "smtp"
BLOCK_SECONDS = 0.2
# At most this many slots per reservation: at a rate of a million a second (what "no
# limit" is configured as) a fifth of a second was 200,000 floats reserved, then thrown
# away one by one as they went stale: about 300 µs per message (issue 16).
BLOCK_SLOTS = 256


def reserve_slots(
    engine: Engine, name: str, count: int, interval: float, now: float
) -> list[float]:
    """Take ``count`` slots ``interval`` seconds apart from the shared rate ``name``.

    Returns their times (epoch seconds); the first is no earlier than ``now``.
    """
    with write_session(engine) as session:
        upsert(
            session,
            RateLimit.__table__,
            [{"name": name, "next_at": now}],
            ["name"],
            [],
        )
        row = session.execute(
            select(RateLimit).where(RateLimit.name == name).with_for_update()
        ).scalar_one()
        start = max(row.next_at, now)
        row.next_at = start + count * interval
    return [start + n * interval for n in range(count)]


class SharedRateLimiter:
    """The sender's limiter (``acquire``, ``slow_down``) over :func:`reserve_slots`.

    :meth:`slow_down` (the server said 421) halves this process's rate for a minute, as
    the in-process limiter does; the slots it takes are then spaced further apart.
    """

    def __init__(
        self,
        engine: Engine,
        rate: float,
        name: str = SMTP_RATE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.name = name
        self.rate = self._full_rate = rate
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[float] = deque()
        self._recover_at = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            if self._recover_at and now >= self._recover_at:
                self.rate, self._recover_at = self._full_rate, 0.0
            # Slots that went by unused (a pause, a slow server) are not spent in a burst.
            while self._slots and self._slots[0] < now - 1.0:
                self._slots.popleft()
            if not self._slots:
                count = max(1, min(BLOCK_SLOTS, int(self.rate * BLOCK_SECONDS)))
                self._slots.extend(
                    reserve_slots(self.engine, self.name, count, 1.0 / self.rate, now)
                )
            due = self._slots.popleft()
        wait = due - self._clock()
        if wait > 0:
            self._sleep(wait)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(self._full_rate / 16, self.rate / 2)
            self._recover_at = self._clock() + 60
