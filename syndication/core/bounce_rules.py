"""What a bounce event does (pure): one table from reason to action, one decision function.

=================================  ===========  ==============================================
reason                             action       effect on the reader
=================================  ===========  ==============================================
userunknown, hostunknown,          suppress     ``bounced`` and suppressed at once (lifecycle
hasmoved (permanent)                            event ``hard-bounce``); given as temporary
                                                (4yz) they only count
mailboxfull, exceedlimit, suspend,  count       one per digest; ``soft_limit`` digests in a
expired, systemerror, networkerror              row make the reader ``bounced`` (lifecycle
                                                event ``soft-bounce-limit``); a clean digest
                                                breaks the run (:func:`soft_streak`).
                                                ``suspend`` suppresses at once only when the
                                                server says, permanently, that the account
                                                is closed for good
blocked, spamdetected,              alarm-only  never touches the reader: about us (our IP,
policyviolation, securityerror,                 domain, authentication, rate, content); the
rejected, filtered, toomanyconn,                sending-side alarm (:func:`digest_alarms`)
speeding, contenterror, mesgtoobig
feedback/abuse                      unsubscribe ``complained``, leaves every list,
                                                suppressed (lifecycle ``complaint``)
feedback/opt-out                    unsubscribe leaves every list (lifecycle ``unsubscribe``)
vacation, delivered; any DSN        ignore      recorded, no effect (a delay whose reason
``Action: delayed``                             is alarm-only raises the alarm, still
                                                without touching the reader)
undefined                           undefined   recorded and counted apart for the operator
=================================  ===========  ==============================================

Only address-gone reasons suppress: a misread report must never cost a reader. Peers count
vacation replies as bounces and never forget a soft bounce; Mailman scores with decay. A
run of consecutive digests is the same idea in a form a reader can check.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from syndication.core import bounce_reasons as r
from syndication.core import subscribers as lifecycle
from syndication.core.bounce_reasons import Finding
from syndication.core.subscribers import GONE, Event


class Action(StrEnum):
    SUPPRESS = "suppress"
    COUNT = "count"
    ALARM = "alarm-only"
    UNSUBSCRIBE = "unsubscribe"
    IGNORE = "ignore"
    UNDEFINED = "undefined"


ACTIONS: Mapping[str, Action] = {
    r.USERUNKNOWN: Action.SUPPRESS,
    r.HOSTUNKNOWN: Action.SUPPRESS,
    r.HASMOVED: Action.SUPPRESS,
    r.MAILBOXFULL: Action.COUNT,
    r.EXCEEDLIMIT: Action.COUNT,
    r.SUSPEND: Action.COUNT,
    r.EXPIRED: Action.COUNT,
    r.SYSTEMERROR: Action.COUNT,
    r.NETWORKERROR: Action.COUNT,
    r.BLOCKED: Action.ALARM,
    r.SPAMDETECTED: Action.ALARM,
    r.POLICYVIOLATION: Action.ALARM,
    r.SECURITYERROR: Action.ALARM,
    r.REJECTED: Action.ALARM,
    r.FILTERED: Action.ALARM,
    r.TOOMANYCONN: Action.ALARM,
    r.SPEEDING: Action.ALARM,
    r.CONTENTERROR: Action.ALARM,
    r.MESGTOOBIG: Action.ALARM,
    r.ABUSE: Action.UNSUBSCRIBE,
    r.OPT_OUT: Action.UNSUBSCRIBE,
    r.VACATION: Action.IGNORE,
    r.DELIVERED: Action.IGNORE,
    r.UNDEFINED: Action.UNDEFINED,
}

# "Suspended" is usually temporary (a locked or over-limit account); only these words, in a
# permanent reply, say the account is gone for good.
_CLOSED_FOR_GOOD_RE = re.compile(
    r"terminated|closed|deleted|no longer (exists|accepts)", re.IGNORECASE
)

# The ``kind`` stored with each event (and counted by ``status``), per action.
KINDS: Mapping[Action, str] = {
    Action.SUPPRESS: "hard",
    Action.COUNT: "soft",
    Action.ALARM: "blocked",
    Action.UNSUBSCRIBE: "complaint",
    Action.IGNORE: "ignored",
    Action.UNDEFINED: "unknown",
}


def action_for(finding: Finding, dsn_action: str = "failed") -> Action:
    """The action for a report's finding (see the module table).

    ``dsn_action`` is the DSN's ``Action`` field: ``delayed`` means the MTA is still
    trying (the final verdict comes later), so nothing is done to the reader; only a
    delay about our sending (an alarm-only reason) counts, as an alarm.
    """
    action = ACTIONS.get(finding.reason, Action.UNDEFINED)
    if dsn_action == "delayed":
        # Still trying: nothing is done to the reader; a delay whose cause is about our
        # sending (a block list, our sender refused) still raises the alarm.
        return Action.ALARM if action is Action.ALARM else Action.IGNORE
    if action is Action.SUPPRESS and not finding.permanent:
        return Action.COUNT
    if (
        finding.reason == r.SUSPEND
        and finding.permanent
        and _CLOSED_FOR_GOOD_RE.search(finding.evidence)
    ):
        return Action.SUPPRESS
    return action


def kind_for(finding: Finding, dsn_action: str = "failed") -> str:
    """The stored event kind: ``hard``, ``soft``, ``blocked``, ``complaint``,
    ``unsubscribe`` (an ARF opt-out), ``delayed``, ``delivered``, ``auto-reply``,
    ``ignored`` or ``unknown``."""
    action = action_for(finding, dsn_action)
    if finding.reason == r.OPT_OUT:
        return "unsubscribe"
    if action is Action.IGNORE:
        if dsn_action == "delayed":
            return "delayed"
        return {r.DELIVERED: "delivered", r.VACATION: "auto-reply"}.get(finding.reason, "ignored")
    return KINDS[action]


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


def decide(action: Action, reason: str, status: str, streak: int, soft_limit: int) -> Decision:
    """What an event with ``action`` (for ``reason``) does to a subscriber in ``status``.

    ``streak`` is :func:`soft_streak` counting this event (0 when the event is not about a
    digest, e.g. a confirmation mail).
    """
    if action is Action.SUPPRESS:
        return _lifecycle(status, Event.HARD_BOUNCE, f"{reason}: bounced and suppressed")
    if action is Action.UNSUBSCRIBE:
        if reason == r.OPT_OUT:
            return _lifecycle(status, Event.UNSUBSCRIBE, "opt-out: left every list")
        return _lifecycle(status, Event.COMPLAINT, "complaint: left every list, suppressed")
    if action is Action.COUNT:
        if status in GONE:
            return Decision(status, False, False, f"{reason} (soft): already {status}")
        if streak >= soft_limit:
            return _lifecycle(
                status,
                Event.SOFT_BOUNCE_LIMIT,
                f"{reason}: soft bounce {streak} of {soft_limit} digests in a row:"
                " bounced and suppressed",
            )
        if streak:
            return Decision(
                status, False, False, f"{reason}: soft bounce counted ({streak} of {soft_limit})"
            )
        return Decision(status, False, False, f"{reason}: soft bounce recorded (not a digest)")
    if action is Action.ALARM:
        return Decision(
            status, False, False, f"{reason}: about our sending, not the reader; alarm only"
        )
    if action is Action.UNDEFINED:
        return Decision(status, False, False, "undefined: recorded, counted apart, no effect")
    return Decision(status, False, False, f"{reason}: recorded, no effect")


def capability_expired(sent_at: datetime | None, now: datetime, max_age: timedelta) -> bool:
    """Whether a report about a copy sent at ``sent_at`` may no longer act on its reader.

    A VERP return path or a Message-ID of ours names one reader; whoever holds a copy
    (forwarded, archived, leaked) could otherwise suppress or unsubscribe that reader
    years later. Real bounces arrive within days (RFC 5321 §4.5.4.1: give up after 4-5
    days); complaints within weeks. A copy of unknown age is not expired.
    """
    return sent_at is not None and now - sent_at > max_age


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
