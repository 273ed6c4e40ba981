"""The pure part of click counting (issue 31): tokens, rewriting, the scanner rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syndication.core import clicks
from syndication.core.placeholders import RenderedDigest

SECRET = "a-test-key"
SENT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_a_link_token_names_digest_article_and_position_and_resists_tampering() -> None:
    token = clicks.link_token(SECRET, 12, 3456, 7)
    assert len(token) == 24
    assert clicks.check_link(SECRET, token) == clicks.LinkClaims(12, 3456, 7)
    with pytest.raises(clicks.ClickTokenError):
        clicks.check_link("another-key", token)
    forged = clicks.link_token("another-key", 12, 3456, 8)
    with pytest.raises(clicks.ClickTokenError):
        clicks.check_link(SECRET, forged)
    for junk in ("", "abc", token + "A", "é" * 24):
        with pytest.raises(clicks.ClickTokenError):
            clicks.check_link(SECRET, junk)


def test_a_copy_value_is_random_bound_to_its_digest_and_carries_the_send_second() -> None:
    one = clicks.copy_token(SECRET, 12, SENT)
    two = clicks.copy_token(SECRET, 12, SENT)
    assert one != two  # random: nothing in it says who got the copy
    claims = clicks.check_copy(SECRET, 12, one)
    assert claims is not None and claims.sent_at == int(SENT.timestamp())
    assert clicks.check_copy(SECRET, 13, one) is None
    assert clicks.check_copy(SECRET, 12, "nonsense") is None


def test_rewrite_touches_article_links_only_in_both_parts() -> None:
    url = "https://news.example.org/a?x=1&y=2"
    rendered = RenderedDigest(
        "s",
        "p",
        f'<a href="https://news.example.org/a?x=1&amp;y=2">A</a> <a href="{url}#not">B</a>'
        '<a href="https://site.example/digests/w/2026-11-16">web</a>',
        f"A\n{url}\nhttps://site.example/digests/w/2026-11-16\nsee {url}\n",
    )
    link = clicks.DigestLink(1, 99, url)
    out = clicks.rewrite(rendered, [link], "https://site.example", ["TOKEN"])
    target = f"https://site.example/r/TOKEN.{clicks.COPY_PLACEHOLDER}"
    assert out.html.count(target) == 1 and f"{url}#not" in out.html
    assert "digests/w/2026-11-16" in out.html
    assert out.text.split("\n")[1] == target and f"see {url}" in out.text


def tally_get(tally: clicks.ClickTally, position: int, at: float, copy: bytes = b"c1") -> str:
    claims = clicks.CopyClaims(copy, int(SENT.timestamp()))
    return tally.record(
        1, 100 + position, position, head=False, user_agent="Mozilla/5.0", copy=claims,
        at=at, now_epoch=SENT.timestamp() + 3600,
    )  # fmt: skip


def test_a_burst_of_one_copys_links_turns_its_pending_clicks_into_scanner_requests() -> None:
    tally = clicks.ClickTally()
    tally_get(tally, 1, 10.0)
    tally_get(tally, 2, 10.5)
    assert tally.settled(11.0) == {}  # still pending: a burst may follow
    assert tally_get(tally, 3, 11.0) == clicks.SCANNER
    assert tally.settled(20.0) == {(1, 101): (0, 1), (1, 102): (0, 1), (1, 103): (0, 1)}


def test_a_reader_opening_stories_one_by_one_counts_as_a_reader() -> None:
    tally = clicks.ClickTally()
    for n, at in enumerate((10.0, 40.0, 90.0), 1):
        tally_get(tally, n, at)
    assert tally.settled(200.0) == {(1, 101): (1, 0), (1, 102): (1, 0), (1, 103): (1, 0)}
    assert tally.settled(300.0) == {}  # handed over once, then forgotten


def test_scanner_agents_are_the_named_ones_only() -> None:
    assert clicks.scanner_agent("Microsoft Office/16.0 (Windows NT 10.0)")
    assert clicks.scanner_agent(
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    )
    assert not clicks.scanner_agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
    )
