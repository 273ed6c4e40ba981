"""The sending loop: worker threads that drain the outbox through a transport.

Each worker owns one transport (one SMTP connection, reused for many messages) and loops:
claim a batch, send each message (paced by a rate limiter shared by all workers), settle
the outcomes in small transactions. Outcomes are settled every few messages or a fraction
of a second, whichever comes first, which keeps the database out of the hot path while
leaving only a handful of sent-but-unsettled messages to resend after a crash.

A batch may take longer than the lease (a slow server, a large batch): the worker renews
its lease whenever half of it has gone, and sends only the rows the renewal says it still
holds (:func:`outbox.renew`). So a second sender that starts late finds nothing to claim
while the first is alive, and a row whose lease did run out (a stalled worker) goes to
whoever claimed it last, never to both. Keep the lease well above the SMTP timeout.

When the server cannot be reached at all, nothing is counted against the messages: the
worker gives its batch back and waits (1 s, 2 s, 4 s … 30 s) before trying again, up to
``max_wait`` in total. On a stop request (SIGTERM) workers finish the message in flight,
settle what they sent and give back what they had not.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from syndication.edges.transport import (
    Envelope,
    MessageRateLimiter,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)
from syndication.store import outbox
from syndication.store.database import write_session

SETTLE_EVERY = 50
SETTLE_SECONDS = 0.5


class Limiter(Protocol):
    """Paces sending: ``acquire`` blocks until the next message may go; ``slow_down`` is
    called when the server asks us to back off (421)."""

    def acquire(self) -> None: ...

    def slow_down(self) -> None: ...


class MessageSource(Protocol):
    """Builds the final bytes of a claimed delivery (thread-safe)."""

    def envelope(self, claimed: outbox.Claimed) -> tuple[str, Envelope]:
        """``(Message-ID, envelope)`` for one claimed delivery."""
        ...


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    bounced: int = 0
    released: int = 0
    lost: int = 0
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


@dataclass(frozen=True)
class SendOptions:
    workers: int = 1
    batch_size: int = 100
    lease: timedelta = timedelta(minutes=2)
    max_wait: float = 300.0
    rate_per_second: float = 50.0
    soft_limit: int = 3


def send_outbox(
    engine: Engine,
    source: MessageSource,
    make_transport: Callable[[], Transport],
    options: SendOptions,
    now: Callable[[], datetime],
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[SendReport], None] = lambda _r: None,
    limiter: Limiter | None = None,
) -> SendReport:
    """Send every due delivery; return when none is left, on ``stop``, or after max_wait.

    ``limiter`` paces the messages (default: ``options.rate_per_second`` in this process;
    the service passes one shared by every sender through the database).
    """
    stop = stop or threading.Event()
    report = SendReport()
    limiter = limiter or MessageRateLimiter(options.rate_per_second)
    prefix = f"{os.uname().nodename[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    threads = [
        threading.Thread(
            target=_worker,
            args=(
                f"{prefix}:{n}",
                engine,
                source,
                make_transport,
                options,
                now,
                stop,
                limiter,
                report,
                on_progress,
            ),
            name=f"sender-{n}",
            daemon=True,
        )
        for n in range(max(1, options.workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return report


def _worker(
    worker: str,
    engine: Engine,
    source: MessageSource,
    make_transport: Callable[[], Transport],
    options: SendOptions,
    now: Callable[[], datetime],
    stop: threading.Event,
    limiter: Limiter,
    report: SendReport,
    on_progress: Callable[[SendReport], None],
) -> None:
    transport = make_transport()
    waited, backoff = 0.0, 1.0
    pending: list[outbox.Outcome] = []
    last_settle = time.monotonic()
    # Outcomes are committed by a helper thread while this one goes on talking SMTP
    # (issue 16: a settle's commit, fsync included, stalled the conversation). It changes
    # when the work happens, not what is written: settles still run one at a time, in
    # order, each only for the rows its claim token still holds, and all of them are done
    # before this worker gives back what it holds.
    settler = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{worker}-settle")
    settling: tuple[Future[None], list[outbox.Outcome]] | None = None

    def commit(claim: str, outcomes: list[outbox.Outcome]) -> None:
        with write_session(engine) as session:
            outbox.settle(session, claim, outcomes, now(), options.soft_limit)
        for outcome in outcomes:
            report.count(outcome.kind)
        on_progress(report)

    def wait_for_settle() -> None:
        nonlocal settling
        if settling is not None:
            (done, outcomes), settling = settling, None
            try:
                done.result()
            except BaseException:
                # Not recorded: keep them, so the final settle tries them again.
                pending[:0] = outcomes
                raise

    def settle(wait: bool = False) -> None:
        nonlocal last_settle, settling
        if pending:
            wait_for_settle()  # one settle in flight at most, and in order
            outcomes = list(pending)
            pending.clear()
            settling = (settler.submit(commit, token, outcomes), outcomes)
        if wait:
            wait_for_settle()
        last_settle = time.monotonic()

    lease = options.lease.total_seconds()
    token = ""
    held: set[int] = set()
    renew_at = 0.0

    def still_held(delivery_id: int) -> bool:
        """Renew the lease once half of it has gone; is ``delivery_id`` still ours?"""
        nonlocal held, renew_at
        if time.monotonic() >= renew_at:
            # The deadline is measured from before the renewal, so it errs early.
            renew_at = time.monotonic() + lease / 2
            with write_session(engine) as session:
                held = outbox.renew(session, token, now(), options.lease)
        return delivery_id in held

    try:
        while not stop.is_set():
            token = uuid.uuid4().hex
            renew_at = time.monotonic() + lease / 2
            with write_session(engine) as session:
                batch = outbox.claim_batch(
                    session, worker, now(), options.lease, options.batch_size, token
                )
            if not batch:
                break
            held = {claimed.delivery_id for claimed in batch}
            unavailable = False
            for claimed in batch:
                if stop.is_set() or unavailable:
                    pending.append(outbox.Outcome(claimed.delivery_id, "released"))
                    continue
                if not still_held(claimed.delivery_id):
                    report.count("lost")
                    continue
                message_id, envelope = source.envelope(claimed)
                limiter.acquire()
                try:
                    transport.send(envelope)
                except ServerUnavailable as exc:
                    unavailable = True
                    report.unavailable = str(exc)
                    pending.append(outbox.Outcome(claimed.delivery_id, "released"))
                    continue
                except TemporaryFailure as exc:
                    if exc.slow_down:
                        limiter.slow_down()
                    pending.append(
                        outbox.Outcome(
                            claimed.delivery_id,
                            "retry",
                            claimed.email,
                            message_id,
                            str(exc),
                            claimed.attempts,
                        )
                    )
                except PermanentFailure as exc:
                    pending.append(
                        outbox.Outcome(
                            claimed.delivery_id,
                            "bounced",
                            claimed.email,
                            message_id,
                            str(exc),
                            claimed.attempts,
                        )
                    )
                else:
                    pending.append(
                        outbox.Outcome(claimed.delivery_id, "sent", claimed.email, message_id)
                    )
                if len(pending) >= SETTLE_EVERY or time.monotonic() - last_settle > SETTLE_SECONDS:
                    settle()
            # Settled for good before the next claim, which must see the rows given back.
            settle(wait=True)
            if unavailable:
                if waited >= options.max_wait:
                    break
                pause = min(backoff, 30.0, options.max_wait - waited)
                stop.wait(pause)
                waited, backoff = waited + pause, backoff * 2
            else:
                waited, backoff, report.unavailable = 0.0, 1.0, ""
    except Exception as exc:  # noqa: BLE001 - a worker must give back what it holds
        report.errors.append(f"{worker}: {exc!r}")
        raise
    finally:
        try:
            # Every outcome committed before the rows this worker still holds are given
            # back: a sent row released unsettled would be sent again.
            settle(wait=True)
        finally:
            settler.shutdown(wait=True)
            with write_session(engine) as session:
                outbox.release_worker(session, worker)
            transport.close()
