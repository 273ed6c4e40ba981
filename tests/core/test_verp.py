"""Signed VERP return paths: round trip, tampering, length, what RCPT TO accepts."""

from __future__ import annotations

import pytest

from syndication.core import verp

KEY = "test-secret-key-not-for-production"
BASE = "bounces@news.example.org"


def test_a_return_path_names_its_copy_and_stays_under_64_characters() -> None:
    address = verp.make_return_path(KEY, BASE, verp.DELIVERY, 10**12)
    local, domain = address.split("@")
    assert domain == "news.example.org" and local.startswith("bounces+d")
    assert len(local) < 64
    assert verp.read_return_path(KEY, BASE, address) == verp.VerpRef("d", 10**12)
    assert verp.read_return_path(KEY, BASE, address.upper()) == verp.VerpRef("d", 10**12)
    assert verp.read_return_path(KEY, BASE, verp.make_return_path(KEY, BASE, "s", 7)) == (
        verp.VerpRef("s", 7)
    )


def test_a_tampered_or_foreign_token_reads_as_nothing() -> None:
    address = verp.make_return_path(KEY, BASE, verp.DELIVERY, 17)
    local, domain = address.split("@")
    other_id = local.replace("+dh-", "+di-")  # 17 is "h" in base 36: claim delivery 18
    assert other_id != local
    assert verp.read_return_path(KEY, BASE, f"{other_id}@{domain}") is None
    assert verp.read_return_path("another key", BASE, address) is None
    assert verp.read_return_path(KEY, BASE, "bounces+garbage@news.example.org") is None
    assert verp.read_return_path(KEY, BASE, "bounces@news.example.org") is None


def test_only_the_bounce_address_and_its_verp_forms_are_ours() -> None:
    assert verp.is_bounce_address(BASE, "bounces@news.example.org")
    assert verp.is_bounce_address(BASE, "<Bounces+anything@NEWS.example.org>")
    assert not verp.is_bounce_address(BASE, "bouncesx@news.example.org")
    assert not verp.is_bounce_address(BASE, "postmaster@news.example.org")
    assert not verp.is_bounce_address(BASE, "bounces@evil.example.org")
    assert not verp.is_bounce_address(BASE, "not an address")


def test_a_base_address_too_long_for_a_token_is_refused() -> None:
    with pytest.raises(verp.VerpError, match="too long"):
        verp.make_return_path(KEY, "b" * 50 + "@news.example.org", verp.DELIVERY, 1)
    with pytest.raises(verp.VerpError, match="SYNDICATION_SECRET_KEY"):
        verp.make_return_path("", BASE, verp.DELIVERY, 1)
