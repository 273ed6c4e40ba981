"""What the intake keeps of reports about nobody of ours: per peer per window, and in all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndication.core.intake_limits import StrangerLimits

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def limits(per_peer: int = 3, max_stored: int = 100) -> StrangerLimits:
    return StrangerLimits(per_peer=per_peer, window=timedelta(hours=1), max_stored=max_stored)


def test_a_peer_gets_its_allowance_per_sliding_window_and_others_theirs() -> None:
    allow = limits()
    times = [NOW + timedelta(minutes=m) for m in (0, 10, 20)]
    assert [allow.admit("192.0.2.1", 0, t) for t in times] == [None, None, None]
    over = allow.admit("192.0.2.1", 0, NOW + timedelta(minutes=59))
    assert over == "3 unmatched reports from 192.0.2.1 in the last 60 minutes (limit 3)"
    assert allow.admit("198.51.100.7", 0, NOW + timedelta(minutes=59)) is None
    # An hour after the first one, one place is free again; the refusal took none.
    assert allow.admit("192.0.2.1", 0, NOW + timedelta(minutes=60)) is None
    assert allow.admit("192.0.2.1", 0, NOW + timedelta(minutes=61)) is not None
    assert allow.dropped == {"per-peer": 2, "total": 0}


def test_the_total_bound_holds_whoever_sends() -> None:
    allow = limits(max_stored=5)
    assert allow.admit("192.0.2.1", 4, NOW) is None
    assert allow.admit("198.51.100.7", 5, NOW) == "5 unmatched reports already stored (limit 5)"
    assert allow.dropped == {"per-peer": 0, "total": 1}
