"""A delivery in flight: what a sender holds, how sending it went, and how long it holds it.

These are the values the send loop (:mod:`syndication.services.send_loop`) and the outbox
(:mod:`syndication.store.outbox`) pass each other. They live here, below both, so that the
loop can name them without importing the database layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

# How long a claim reserves its rows. A live sender renews it whenever half has gone, so
# this bounds only how soon the rows of a sender that died are sent by another. Keep it
# well above the SMTP timeout: one message must never outlast half a lease.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker now holds, with what is needed to build its message."""

    delivery_id: int
    digest_id: int
    subscriber_id: int
    email: str
    name: str
    attempts: int
    token: str = ""
    # "digest" for a digest's copy, else the kind of transactional mail ("confirm",
    # "test"): which outbox the row is in and how its message is built.
    # Keyword-only: two outboxes build claims, and a positional value landing in the
    # wrong one of these once made a digest copy look like a transactional mail.
    kind: str = field(default="digest", kw_only=True)
    locale: str = field(default="", kw_only=True)  # the subscriber's languages ("ko,en")


@dataclass(frozen=True)
class Outcome:
    """How one claimed delivery went. ``kind``: sent, retry, bounced, failed (the message
    could not be built) or released (with the reason in ``error`` when the server could
    not be reached)."""

    delivery_id: int
    kind: str
    email: str = ""
    message_id: str = ""
    error: str = ""
    attempts: int = 0


# A delivery in one of these has not been settled: it may still be sent.
UNSETTLED = ("queued", "sending")
# The state a digest shows once every delivery is settled (never stored).
FINISHED = "finished"


def unsent(deliveries: Mapping[str, int]) -> int:
    """How many of a digest's deliveries (counted by status) may still be sent."""
    return sum(deliveries.get(status, 0) for status in UNSETTLED)


def digest_state(stored: str, deliveries: Mapping[str, int]) -> str:
    """The state a digest shows: its stored state, or ``finished`` once it had deliveries
    and every one is settled (sent, skipped, bounced, failed), so that a digest with 8 of
    8 sent no longer reads "ready" (issue 28). A cancelled digest stays ``cancelled``: the
    operator's decision is the news, and the counts say how far it got."""
    if stored != "cancelled" and any(deliveries.values()) and not unsent(deliveries):
        return FINISHED
    return stored
