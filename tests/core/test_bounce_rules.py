"""The rules table: what each reason does to a subscriber."""

from __future__ import annotations

import pytest

from syndication.core import bounce_reasons as r
from syndication.core.bounce_reasons import Finding
from syndication.core.bounce_rules import (
    ACTIONS,
    Action,
    action_for,
    decide,
    kind_for,
    restored_status,
    soft_streak,
)


def test_every_reason_has_exactly_one_action() -> None:
    assert set(ACTIONS) == set(r.REASONS)


@pytest.mark.parametrize(
    ("reason", "permanent", "evidence", "dsn_action", "action"),
    [
        (
            r.USERUNKNOWN,
            True,
            "Diagnostic-Code (5.1.1): phrase 'no such user'",
            "failed",
            "suppress",
        ),
        (r.HOSTUNKNOWN, True, "Status: code 5.1.2", "failed", "suppress"),
        (r.HASMOVED, True, "Status: code 5.1.6", "failed", "suppress"),
        # A 4yz "user unknown" is a transient condition: counted, not suppressed.
        (r.USERUNKNOWN, False, "Diagnostic-Code (4.1.1): phrase 'user unknown'", "failed", "count"),
        (r.SUSPEND, True, "Diagnostic-Code (5.2.1): phrase 'suspended'", "failed", "count"),
        (r.SUSPEND, True, "text: phrase 'account has been terminated'", "failed", "suppress"),
        (r.SUSPEND, False, "text: phrase 'account has been terminated'", "failed", "count"),
        (r.EXPIRED, True, "text: phrase 'retry timeout exceeded'", "failed", "count"),
        (r.MAILBOXFULL, True, "Status: code 5.2.2", "failed", "count"),
        (r.BLOCKED, True, "phrase 'spamhaus'", "failed", "alarm-only"),
        (r.SECURITYERROR, True, "phrase 'dmarc'", "failed", "alarm-only"),
        (r.REJECTED, True, "phrase 'sender rejected'", "failed", "alarm-only"),
        (r.SPEEDING, False, "phrase 'rate limit'", "failed", "alarm-only"),
        (r.ABUSE, False, "ARF", "", "unsubscribe"),
        (r.OPT_OUT, False, "ARF", "", "unsubscribe"),
        (r.VACATION, False, "RFC 3834", "", "ignore"),
        (r.DELIVERED, False, "Action: delivered", "delivered", "ignore"),
        (r.USERUNKNOWN, True, "Status: code 5.1.1", "delayed", "ignore"),
        (r.UNDEFINED, True, "nothing", "failed", "undefined"),
    ],
)
def test_actions_follow_reason_and_evidence(
    reason: str, permanent: bool, evidence: str, dsn_action: str, action: str
) -> None:
    assert action_for(Finding(reason, permanent, evidence), dsn_action).value == action


def test_kinds_name_the_action_for_status() -> None:
    assert kind_for(Finding(r.USERUNKNOWN, True, "")) == "hard"
    assert kind_for(Finding(r.MAILBOXFULL, True, "")) == "soft"
    assert kind_for(Finding(r.SPAMDETECTED, True, "")) == "blocked"
    assert kind_for(Finding(r.ABUSE, False, "")) == "complaint"
    assert kind_for(Finding(r.OPT_OUT, False, "")) == "unsubscribe"
    assert kind_for(Finding(r.MAILBOXFULL, False, ""), "delayed") == "delayed"
    assert kind_for(Finding(r.UNDEFINED, True, "")) == "unknown"


def test_suppress_and_complaint_go_through_the_lifecycle() -> None:
    hard = decide(Action.SUPPRESS, r.USERUNKNOWN, "active", 0, 3)
    assert (hard.status, hard.suppress, hard.leave_lists) == ("bounced", True, False)
    complaint = decide(Action.UNSUBSCRIBE, r.ABUSE, "active", 0, 3)
    assert (complaint.status, complaint.suppress, complaint.leave_lists) == (
        "complained",
        True,
        True,
    )
    opt_out = decide(Action.UNSUBSCRIBE, r.OPT_OUT, "active", 0, 3)
    assert (opt_out.status, opt_out.suppress, opt_out.leave_lists) == (
        "unsubscribed",
        False,
        True,
    )
    assert decide(Action.SUPPRESS, r.USERUNKNOWN, "complained", 0, 3).status == "complained"


@pytest.mark.parametrize("action", [Action.ALARM, Action.IGNORE, Action.UNDEFINED])
def test_alarm_ignore_and_undefined_never_touch_the_reader(action: Action) -> None:
    decision = decide(action, r.BLOCKED, "active", 5, 3)
    assert (decision.status, decision.suppress, decision.leave_lists, decision.event) == (
        "active",
        False,
        False,
        None,
    )


def test_soft_bounces_count_consecutive_digests_up_to_the_limit() -> None:
    assert decide(Action.COUNT, r.MAILBOXFULL, "active", 1, 3).status == "active"
    assert decide(Action.COUNT, r.MAILBOXFULL, "active", 2, 3).status == "active"
    last = decide(Action.COUNT, r.MAILBOXFULL, "active", 3, 3)
    assert (last.status, last.suppress) == ("bounced", True)
    assert decide(Action.COUNT, r.MAILBOXFULL, "bounced", 5, 3).suppress is False


def test_a_clean_digest_in_between_resets_the_run() -> None:
    assert soft_streak([30, 20, 10], {30, 20, 10}) == 3
    assert soft_streak([30, 20, 10], {30, 10}) == 1
    assert soft_streak([30, 20, 10], set()) == 0


def test_restoring_never_invents_consent() -> None:
    assert restored_status(confirmed=True) == "active"
    assert restored_status(confirmed=False) == "pending"


def test_every_phrase_names_a_reason_of_the_vocabulary() -> None:
    from syndication.core.bounce_phrases import PHRASES

    assert {reason for reason, _pattern in PHRASES} <= set(r.REASONS)


def test_every_system_convention_names_a_reason_of_the_vocabulary() -> None:
    from syndication.core.bounce_vendors import CONVENTIONS, ORANGE_CODES

    named = {e.reason for e in CONVENTIONS if e.numbers is None} | set(ORANGE_CODES.values())
    assert named <= set(r.REASONS)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("MSEXCH:IMS:Org:Site:EX1 0 (000C05A6) Unknown Recipient", "userunknown"),
        ("MSEXCH:IMS:Org:Site:EX1 0 (000C0595) Ambiguous Recipient", "filtered"),
        ("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "userunknown"),
        ("554 5.7.1 <a@b.example>: Recipient address rejected: Access denied", "userunknown"),
        ("554 5.7.1 <a@b.example>: Sender address rejected: Access denied", "rejected"),
        ("554 5.7.1 <c.example[192.0.2.1]>: Client host rejected: Access denied", "blocked"),
        ("550 : User unknown", "filtered"),
        ("550 <reader@ezweb.ne.jp>: User unknown", "userunknown"),
        ("550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]", "spamdetected"),
        ("550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416", "userunknown"),
        ("421 4.2.0 Service refuse. Veuillez essayer plus tard. OFR004_201", "undefined"),
    ],
)
def test_a_system_convention_outranks_the_general_words(reply: str, reason: str) -> None:
    # An Exchange status number or "Recipient address rejected: Access denied" (Microsoft's
    # 5.4.1 edge block, Postfix's recipient access table) says what the words do not; the
    # same access table refusing our sender or our host stays about us.
    finding = r.judge(reply, "5.0.0")
    # Permanent: a convention is enough on its own (plain words would only count).
    assert (finding.reason, finding.permanent) == (reason, not reply.startswith("4"))
