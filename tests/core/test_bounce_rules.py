"""The rules table: what each kind of event does to a subscriber."""

from __future__ import annotations

from syndication.core.bounce_rules import decide, restored_status, soft_streak


def test_hard_bounce_suppresses_and_complaint_also_leaves_every_list() -> None:
    hard = decide("hard", "active", 0, 3)
    assert (hard.status, hard.suppress, hard.leave_lists) == ("bounced", True, False)
    complaint = decide("complaint", "active", 0, 3)
    assert (complaint.status, complaint.suppress, complaint.leave_lists) == (
        "complained",
        True,
        True,
    )
    assert decide("hard", "complained", 0, 3).status == "complained"


def test_blocked_and_informational_kinds_never_suppress() -> None:
    for kind in ("blocked", "delayed", "relayed", "delivered", "unknown"):
        decision = decide(kind, "active", 0, 3)
        assert (decision.status, decision.suppress, decision.leave_lists) == (
            "active",
            False,
            False,
        ), kind


def test_soft_bounces_count_consecutive_digests_up_to_the_limit() -> None:
    assert decide("soft", "active", 1, 3).status == "active"
    assert decide("soft", "active", 2, 3).status == "active"
    last = decide("soft", "active", 3, 3)
    assert (last.status, last.suppress) == ("bounced", True)
    assert decide("soft", "bounced", 5, 3).suppress is False


def test_a_clean_digest_in_between_resets_the_run() -> None:
    assert soft_streak([30, 20, 10], {30, 20, 10}) == 3
    assert soft_streak([30, 20, 10], {30, 10}) == 1
    assert soft_streak([30, 20, 10], set()) == 0


def test_restoring_never_invents_consent() -> None:
    assert restored_status(confirmed=True) == "active"
    assert restored_status(confirmed=False) == "pending"
