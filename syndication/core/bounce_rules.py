"""What a bounce event does to a subscriber (pure): one decision function, one table of rules.

=============  =============================================================================
kind           effect
=============  =============================================================================
hard           ``bounced``, suppressed: never mailed again (5.1.x, user unknown)
soft           counted once per digest; ``soft_limit`` consecutive digests with a soft
               bounce make the subscriber ``bounced`` (and suppressed); a digest delivered
               without a bounce breaks the run (:func:`soft_streak`)
blocked        recorded only: a 5.7.x is about our reputation (spam filter, DMARC, block
               list), not the reader's address; ``status`` shows a spike as an alarm
complaint      ``complained``, leaves every list at once, suppressed (RFC 5965 abuse)
delayed …      ``delayed``, ``relayed``, ``delivered``, ``unknown``: recorded, no effect
=============  =============================================================================

Peers count vacation replies as bounces and never forget a soft bounce; Mailman scores
with decay. A run of consecutive digests is the same idea in a form a reader can check.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from syndication.core import subscribers as lifecycle
from syndication.core.bounce_reports import BLOCKED, COMPLAINT, HARD, SOFT
from syndication.core.subscribers import GONE, Event


@dataclass(frozen=True)
class Decision:
    """The new subscriber status, whether to suppress and unsubscribe, and why (``effect``).

    ``event`` is the subscriber lifecycle event the bounce amounts to (``None``: it is
    only recorded); the status change it makes is the lifecycle table's
    (:func:`syndication.core.subscribers.after`), not a second rule of this module.
    """

    status: str
    suppress: bool
    leave_lists: bool
    effect: str
    event: Event | None = None


def _lifecycle(status: str, event: Event, effect: str) -> Decision:
    rule = lifecycle.after(status, event)
    return Decision(
        rule.status or status,
        rule.suppression is lifecycle.Suppression.ADD,
        rule.lists is lifecycle.Lists.CLEAR,
        effect,
        event,
    )


def soft_streak(sent_digests_newest_first: Sequence[int], soft_bounced: Collection[int]) -> int:
    """How many of the most recent digests in a row soft-bounced.

    ``sent_digests_newest_first`` are the digests the subscriber was sent, up to the one
    the bounce is about; the first one without a soft bounce ends the run (a clean
    delivery resets the count).
    """
    streak = 0
    for digest_id in sent_digests_newest_first:
        if digest_id not in soft_bounced:
            break
        streak += 1
    return streak


def decide(kind: str, status: str, streak: int, soft_limit: int) -> Decision:
    """What an event of ``kind`` does to a subscriber now in ``status``.

    ``streak`` is :func:`soft_streak` counting this event (0 when the event is not about a
    digest, e.g. a confirmation mail).
    """
    if kind == HARD:
        return _lifecycle(status, Event.HARD_BOUNCE, "hard bounce: bounced and suppressed")
    if kind == COMPLAINT:
        return _lifecycle(status, Event.COMPLAINT, "complaint: left every list, suppressed")
    if kind == SOFT:
        if status in GONE:
            return Decision(status, False, False, f"soft bounce: already {status}")
        if streak >= soft_limit:
            return _lifecycle(
                status,
                Event.SOFT_BOUNCE_LIMIT,
                f"soft bounce {streak} of {soft_limit} digests in a row: bounced and suppressed",
            )
        if streak:
            return Decision(status, False, False, f"soft bounce counted ({streak} of {soft_limit})")
        return Decision(status, False, False, "soft bounce recorded (not a digest)")
    if kind == BLOCKED:
        return Decision(status, False, False, "blocked by policy (5.7.x): recorded, not suppressed")
    return Decision(status, False, False, f"{kind}: recorded, no effect")


def restored_status(confirmed: bool) -> str:
    """The status an operator's ``subscribers restore`` gives back: active if they had
    confirmed their address, else pending (consent is never invented)."""
    return str(lifecycle.after(lifecycle.Status.BOUNCED, lifecycle.restore_event(confirmed)).status)


COMPLAINT_ALARM = 0.001  # 0.1 %: Gmail's and Yahoo's 2024 sender rules want less
BLOCKED_ALARM = 0.02  # 2 % of a digest refused by policy: look at SPF/DKIM/DMARC, lists


def digest_alarms(sent: int, complaints: int, blocked: int) -> list[str]:
    """Warnings about one digest's reception, for ``syndication status``."""
    alarms: list[str] = []
    if sent and complaints / sent > COMPLAINT_ALARM:
        alarms.append(
            f"complaint rate {complaints / sent:.2%} is above 0.1 %: mailbox providers start"
            " refusing mail from senders above 0.3 %"
        )
    if sent and blocked / sent > BLOCKED_ALARM:
        alarms.append(
            f"{blocked / sent:.1%} blocked by receivers' policy (5.7.x): check SPF, DKIM, DMARC"
            " and block lists for the sending domain"
        )
    return alarms
