"""The send loop: worker threads that drain an outbox through a transport.

Each worker owns one transport (one SMTP connection, reused for many messages) and loops:
*claim* a batch, *send* each message (paced by a rate limiter shared by all workers),
*renew* the lease as it goes, *settle* the outcomes in small transactions. Outcomes are
settled every few messages or a fraction of a second, whichever comes first, which keeps
the database out of the hot path while leaving only a handful of sent-but-unsettled
messages to resend after a crash.

A batch may take longer than the lease (a slow server, a large batch): the worker renews
its lease whenever half of it has gone, and sends only the rows the renewal says it still
holds. So a second sender that starts late finds nothing to claim while the first is
alive, and a row whose lease did run out (a stalled worker) goes to whoever claimed it
last, never to both. Keep the lease well above the SMTP timeout.

An operator's hold or cancel is exact: before each message is handed to the server the
worker asks the outbox whether its digest was stopped (:meth:`Outbox.stopped`), and gives
back the rows of a stopped digest it still holds without counting an attempt. So after
the operator's answer at most one message per connection (the one already being handed
over) goes out, and a resume sends exactly the rows given back (issue 28).

A message that cannot be built (its digest or subscriber gone, no configured list left)
is settled ``failed`` with the reason, so it holds up nothing behind it.

When the server cannot be reached at all, nothing is counted against the messages: the
worker gives its batch back (with the reason, which the transactional outbox keeps) and
waits (1 s, 2 s, 4 s … 30 s) before trying again, up to
``max_wait`` in total. On a stop request (SIGTERM) workers finish the message in flight,
settle what they sent and give back what they had not.

Like listmonk's campaign manager, the loop declares the interfaces it consumes
(:class:`Outbox`, :class:`MessageSource`, :class:`Limiter`, a transport factory and a
:class:`Clock`) and knows no database: :mod:`syndication.services.delivery` hands it the
outbox of the store, tests an outbox in memory and a clock they move by hand.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from syndication.core.deliveries import Claimed, Outcome
from syndication.edges.transport import (
    Envelope,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)
from syndication.errors import SyndicationError

SETTLE_EVERY = 50
SETTLE_SECONDS = 0.5
LONGEST_PAUSE = 30.0


class Outbox(Protocol):
    """Where deliveries wait. Each call is a short transaction of its own, safe from any
    thread; a row is a claim's only while it still carries that claim's token."""

    def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, token: str
    ) -> list[Claimed]:
        """Take up to ``limit`` due rows for ``worker`` until ``now + lease``, as ``token``."""
        ...

    def renew(self, token: str, now: datetime, lease: timedelta) -> set[int]:
        """Extend to ``now + lease`` the rows ``token`` still holds; return their ids."""
        ...

    def settle(self, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Record ``outcomes`` for the rows ``token`` still holds; leave the others."""
        ...

    def release(self, worker: str) -> int:
        """Give back every row ``worker`` still holds; return how many."""
        ...

    def stopped(self, digest_ids: Collection[int]) -> set[int]:
        """Those of ``digest_ids`` an operator has stopped (held or cancelled) by now.

        Asked before each message is handed to the server, so it must be cheap: one
        indexed read, no write."""
        ...


class Limiter(Protocol):
    """Paces sending: ``acquire`` blocks until the next message may go; ``slow_down`` is
    called when the server asks us to back off (421)."""

    def acquire(self) -> None: ...

    def slow_down(self) -> None: ...


class MessageSource(Protocol):
    """Builds the final bytes of a claimed delivery (thread-safe)."""

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        """``(Message-ID, envelope)`` for one claimed delivery."""
        ...


def _wait_on(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


@dataclass(frozen=True)
class Clock:
    """Where the loop reads the time and waits.

    ``now`` stamps what is written to the outbox (leases, sent times); ``monotonic`` times
    the lease renewals and the settles; ``wait`` pauses before retrying a server that is
    down and returns early on a stop request. Tests pass a clock they move by hand.
    """

    now: Callable[[], datetime]
    monotonic: Callable[[], float] = time.monotonic
    wait: Callable[[threading.Event, float], None] = _wait_on


@dataclass(frozen=True)
class LoopOptions:
    """How one run of the loop goes (the defaults live in ``delivery.SendOptions``)."""

    workers: int
    lease: timedelta
    max_wait: float
    batch_size: int = 100


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    bounced: int = 0
    released: int = 0
    lost: int = 0
    failed: int = 0
    unavailable: str = ""
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, kind: str) -> None:
        with self._lock:
            if kind == "sent":
                self.sent += 1
            elif kind == "retry":
                self.retried += 1
            elif kind == "bounced":
                self.bounced += 1
            elif kind == "released":
                self.released += 1
            elif kind == "lost":
                self.lost += 1
            elif kind == "failed":
                self.failed += 1


@dataclass(frozen=True)
class _Shared:
    """What every worker of one run shares."""

    outbox: Outbox
    source: MessageSource
    make_transport: Callable[[], Transport]
    limiter: Limiter
    options: LoopOptions
    clock: Clock
    stop: threading.Event
    report: SendReport
    on_progress: Callable[[SendReport], None]


def send_outbox(
    outbox: Outbox,
    source: MessageSource,
    make_transport: Callable[[], Transport],
    limiter: Limiter,
    options: LoopOptions,
    clock: Clock,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[SendReport], None] = lambda _r: None,
) -> SendReport:
    """Send every due delivery; return when none is left, on ``stop``, or after max_wait."""
    shared = _Shared(
        outbox,
        source,
        make_transport,
        limiter,
        options,
        clock,
        stop or threading.Event(),
        SendReport(),
        on_progress,
    )
    prefix = f"{os.uname().nodename[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    threads = [
        threading.Thread(
            target=_Worker(f"{prefix}:{n}", shared).run, name=f"sender-{n}", daemon=True
        )
        for n in range(max(1, options.workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return shared.report


@dataclass
class _Batch:
    """One claim: its token, its rows, which of them it still holds, when to renew."""

    token: str
    rows: list[Claimed]
    held: set[int]
    renew_at: float
    unavailable: bool = False
    stopped: set[int] = field(default_factory=set)


class _Settler:
    """Commits one worker's outcomes on a helper thread.

    Issue 16: a settle's commit, fsync included, stalled the SMTP conversation. The helper
    thread changes when the work happens, not what is written: settles still run one at a
    time, in order, each only for the rows its claim token still holds, and all of them
    are done before the worker gives back what it holds.
    """

    def __init__(self, shared: _Shared, worker: str) -> None:
        self._shared = shared
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{worker}-settle")
        self._pending: list[Outcome] = []
        self._in_flight: tuple[Future[None], list[Outcome]] | None = None
        self._last = shared.clock.monotonic()
        self.token = ""  # the claim the pending outcomes belong to

    def add(self, outcome: Outcome) -> None:
        self._pending.append(outcome)

    def flush_if_due(self) -> None:
        due = self._shared.clock.monotonic() - self._last > SETTLE_SECONDS
        if len(self._pending) >= SETTLE_EVERY or due:
            self.flush()

    def flush(self, wait: bool = False) -> None:
        """Hand the pending outcomes to the helper thread; with ``wait``, until committed."""
        if self._pending:
            self._wait()  # one settle in flight at most, and in order
            outcomes, self._pending = self._pending, []
            self._in_flight = (self._pool.submit(self._commit, self.token, outcomes), outcomes)
        if wait:
            self._wait()
        self._last = self._shared.clock.monotonic()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _wait(self) -> None:
        if self._in_flight is None:
            return
        (done, outcomes), self._in_flight = self._in_flight, None
        try:
            done.result()
        except BaseException:
            # Not recorded: keep them, so the final settle tries them again.
            self._pending[:0] = outcomes
            raise

    def _commit(self, token: str, outcomes: list[Outcome]) -> None:
        shared = self._shared
        shared.outbox.settle(token, outcomes, shared.clock.now())
        for outcome in outcomes:
            shared.report.count(outcome.kind)
        shared.on_progress(shared.report)


class _Worker:
    """One sending thread: claim, send, renew, settle, until nothing is due."""

    def __init__(self, name: str, shared: _Shared) -> None:
        self.name = name
        self.shared = shared
        self.settler = _Settler(shared, name)

    def run(self) -> None:
        transport = self.shared.make_transport()
        try:
            self._drain(transport)
        except Exception as exc:  # noqa: BLE001 - a worker must give back what it holds
            self.shared.report.errors.append(f"{self.name}: {exc!r}")
            raise
        finally:
            self._finish(transport)

    def _drain(self, transport: Transport) -> None:
        shared = self.shared
        waited, backoff = 0.0, 1.0
        while not shared.stop.is_set():
            batch = self._claim()
            if not batch.rows:
                return
            self._send_batch(batch, transport)
            # Settled for good before the next claim, which must see the rows given back.
            self.settler.flush(wait=True)
            if not batch.unavailable:
                waited, backoff, shared.report.unavailable = 0.0, 1.0, ""
                continue
            if waited >= shared.options.max_wait:
                return
            pause = min(backoff, LONGEST_PAUSE, shared.options.max_wait - waited)
            shared.clock.wait(shared.stop, pause)
            waited, backoff = waited + pause, backoff * 2

    def _claim(self) -> _Batch:
        shared = self.shared
        token = uuid.uuid4().hex
        self.settler.token = token
        # The deadline is measured from before the claim, so it errs early.
        renew_at = shared.clock.monotonic() + shared.options.lease.total_seconds() / 2
        rows = shared.outbox.claim(
            self.name, shared.clock.now(), shared.options.lease, shared.options.batch_size, token
        )
        return _Batch(token, rows, {claimed.delivery_id for claimed in rows}, renew_at)

    def _send_batch(self, batch: _Batch, transport: Transport) -> None:
        for claimed in batch.rows:
            if self.shared.stop.is_set() or batch.unavailable:
                self.settler.add(Outcome(claimed.delivery_id, "released"))
                continue
            self._renew_if_due(batch)
            if claimed.delivery_id not in batch.held:
                # Lost: the lease ran out and another sender claimed it. Not ours to send.
                self.shared.report.count("lost")
                continue
            self.settler.add(self._send(claimed, batch, transport))
            if claimed.kind == "digest":
                self.settler.flush_if_due()
            else:
                # A mail a person waits for is settled as soon as it is handed over: a
                # kill can then resend only the one message whose commit it interrupted.
                self.settler.flush(wait=True)

    def _renew_if_due(self, batch: _Batch) -> None:
        """Renew the lease once half of it has gone; ``batch.held`` is what is still ours."""
        shared = self.shared
        if shared.clock.monotonic() < batch.renew_at:
            return
        # The deadline is measured from before the renewal, so it errs early.
        batch.renew_at = shared.clock.monotonic() + shared.options.lease.total_seconds() / 2
        batch.held = shared.outbox.renew(batch.token, shared.clock.now(), shared.options.lease)

    def _stopped(self, claimed: Claimed, batch: _Batch) -> bool:
        """Whether an operator stopped this row's digest; asked last thing before sending.

        A digest once seen stopped stays so for the rest of the batch (no second read)."""
        if claimed.digest_id not in batch.stopped:
            batch.stopped |= self.shared.outbox.stopped((claimed.digest_id,))
        return claimed.digest_id in batch.stopped

    def _send(self, claimed: Claimed, batch: _Batch, transport: Transport) -> Outcome:
        shared = self.shared
        try:
            message_id, envelope = shared.source.envelope(claimed)
        except SyndicationError as exc:
            # What cannot be built now (its subscriber or digest gone, no list left) will
            # not build later: recorded as failed, so it holds up nothing behind it.
            return _failed(claimed, "failed", "", exc)
        shared.limiter.acquire()
        if self._stopped(claimed, batch):
            # Held or cancelled since the claim: not attempted, so not counted; the
            # outbox keeps it queued for a resume (or skipped, for a cancel).
            return Outcome(claimed.delivery_id, "released")
        try:
            transport.send(envelope)
        except ServerUnavailable as exc:
            batch.unavailable = True
            shared.report.unavailable = str(exc)
            return Outcome(claimed.delivery_id, "released", error=str(exc))
        except TemporaryFailure as exc:
            if exc.slow_down:
                shared.limiter.slow_down()
            return _failed(claimed, "retry", message_id, exc)
        except PermanentFailure as exc:
            return _failed(claimed, "bounced", message_id, exc)
        return Outcome(claimed.delivery_id, "sent", claimed.email, message_id)

    def _finish(self, transport: Transport) -> None:
        try:
            # Every outcome committed before the rows this worker still holds are given
            # back: a sent row released unsettled would be sent again.
            self.settler.flush(wait=True)
        finally:
            self.settler.close()
            self.shared.outbox.release(self.name)
            transport.close()


def _failed(claimed: Claimed, kind: str, message_id: str, exc: Exception) -> Outcome:
    return Outcome(claimed.delivery_id, kind, claimed.email, message_id, str(exc), claimed.attempts)
