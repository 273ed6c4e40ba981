"""An outbox in memory and a clock moved by hand: the send loop's lease logic without a
database or a real sleep.

:class:`MemoryOutbox` keeps the rules of :mod:`syndication.store.outbox` that the loop relies
on: a claim takes due rows (queued, or ``sending`` with a lease that ran out), a row is a
claim's only while it carries that claim's token, renew and settle touch only such rows,
release gives back what a worker holds. Retry delays and bounce events are left out.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syndication.core.deliveries import Claimed, Outcome
from syndication.edges.transport import Envelope
from syndication.services.send_loop import Clock


class FakeClock:
    """Time that moves only when told: ``advance``, or a ``wait`` the loop asks for."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.elapsed = 0.0
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.elapsed += seconds

    def wait(self, stop: threading.Event, seconds: float) -> None:
        self.waits.append(seconds)
        self.advance(seconds)

    @property
    def clock(self) -> Clock:
        return Clock(self.now, self.monotonic, self.wait)


@dataclass
class Row:
    email: str
    status: str = "queued"
    attempts: int = 0
    lease_until: datetime | None = None
    claimed_by: str = ""
    token: str = ""
    message_id: str = ""
    digest_id: int = 1


@dataclass
class MemoryOutbox:
    """The send loop's ``Outbox`` in a dict. ``fail_settles``: how many settles to refuse;
    ``late_renewals``: renewals that came after the lease had already run out;
    ``digest_states``: digests an operator stopped ("held" or "cancelled"), whose rows are
    not claimed and, given back, stay queued (held) or are skipped (cancelled)."""

    rows: dict[int, Row] = field(default_factory=dict)
    renewals: int = 0
    late_renewals: int = 0
    fail_settles: int = 0
    digest_states: dict[int, str] = field(default_factory=dict)
    stop_checks: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def with_readers(cls, count: int) -> MemoryOutbox:
        return cls({i: Row(f"reader{i}@example.org") for i in range(1, count + 1)})

    def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, token: str
    ) -> list[Claimed]:
        with self._lock:
            expired = [i for i, r in self.rows.items() if self._lapsed(r, now)]
            queued = [i for i, r in self.rows.items() if r.status == "queued"]
            expired = [i for i in expired if self.rows[i].digest_id not in self.digest_states]
            queued = [i for i in queued if self.rows[i].digest_id not in self.digest_states]
            taken = (sorted(expired) + sorted(queued))[:limit]
            for i in taken:
                row = self.rows[i]
                row.status, row.lease_until = "sending", now + lease
                row.claimed_by, row.token, row.attempts = worker, token, row.attempts + 1
            return [
                Claimed(
                    i,
                    self.rows[i].digest_id,
                    i,
                    self.rows[i].email,
                    "",
                    self.rows[i].attempts,
                    token,
                )
                for i in taken
            ]

    def renew(self, token: str, now: datetime, lease: timedelta) -> set[int]:
        with self._lock:
            self.renewals += 1
            held = self.held(token)
            self.late_renewals += any(self._lapsed(self.rows[i], now) for i in held)
            for i in held:
                self.rows[i].lease_until = now + lease
            return held

    def settle(self, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
        with self._lock:
            if self.fail_settles:
                self.fail_settles -= 1
                raise ConnectionError("the database went away")
            held = self.held(token)
            for outcome in outcomes:
                if outcome.delivery_id in held:
                    self._record(self.rows[outcome.delivery_id], outcome)

    def release(self, worker: str) -> int:
        with self._lock:
            mine = [r for r in self.rows.values() if r.status == "sending"]
            mine = [r for r in mine if r.claimed_by == worker]
            for row in mine:
                self._record(row, Outcome(0, "released"))
            return len(mine)

    def stopped(self, digest_ids: Collection[int]) -> set[int]:
        with self._lock:
            self.stop_checks += 1
            return {d for d in digest_ids if d in self.digest_states}

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def lease_of(self, delivery_id: int) -> datetime | None:
        return self.rows[delivery_id].lease_until

    @staticmethod
    def _lapsed(row: Row, now: datetime) -> bool:
        return row.status == "sending" and row.lease_until is not None and row.lease_until < now

    def held(self, token: str) -> set[int]:
        return {i for i, r in self.rows.items() if r.status == "sending" and r.token == token}

    def _record(self, row: Row, outcome: Outcome) -> None:
        kinds = {"sent": "sent", "released": "queued", "retry": "queued", "bounced": "bounced"}
        row.status = kinds[outcome.kind]
        if row.status == "queued" and self.digest_states.get(row.digest_id) == "cancelled":
            row.status = "skipped"
        row.message_id = outcome.message_id or row.message_id
        row.attempts -= outcome.kind == "released"
        row.lease_until, row.claimed_by, row.token = None, "", ""


class PlainSource:
    """Builds a small message per claimed row, as the digest mail builder would."""

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        message_id = f"<digest-{claimed.digest_id}.{claimed.subscriber_id}@news.example.org>"
        data = (
            f"From: news@example.org\r\nTo: {claimed.email}\r\nMessage-ID: {message_id}\r\n"
            f"Subject: test\r\n\r\nHello {claimed.subscriber_id}\r\n"
        ).encode()
        return message_id, Envelope(
            "news@example.org", claimed.email, data, ("weekly-city",), str(claimed.delivery_id)
        )


class Unpaced:
    """A limiter that never waits."""

    def acquire(self) -> None:
        return None

    def slow_down(self) -> None:
        return None
