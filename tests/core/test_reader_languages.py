"""A reader's languages: Accept-Language with q-values, BCP 47 lookup, stored lists, dates."""

from __future__ import annotations

from datetime import date

import pytest

from syndication.core.reader_languages import (
    accept_language,
    best_match,
    day_label,
    list_language,
    lookup,
    parse_preferences,
    period_label,
    reader_language,
    store_preferences,
    text_direction,
)

AVAILABLE = ("en", "ko", "ja", "zh-Hant")


@pytest.mark.parametrize(
    ("header", "ranges"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", ["ko-KR", "ko", "en-US", "en"]),
        # Weight, not position, decides; equal weights keep the order written.
        ("en;q=0.5, ko", ["ko", "en"]),
        ("ja;q=0.8, fr;q=0.8, ko;q=0.9", ["ko", "ja", "fr"]),
        # q=0 is "not this one"; malformed q-values and tags are skipped, not fatal.
        ("ko;q=0, en", ["en"]),
        ("ko;q=1.5, en;q=0.x, ja;q=0.1234, fr;q=0.3", ["fr"]),
        ("english, ko", ["ko"]),
        ("*;q=0.1, ko", ["ko", "*"]),
        ("", []),
        (" , ;q=1", []),
        # Case is normalised (RFC 5646 section 2.1.1) and other parameters ignored.
        ("ZH-hant-tw;level=1;q=0.9", ["zh-Hant-TW"]),
        ("ko;Q=0.500", ["ko"]),
    ],
)
def test_accept_language_ranges_by_weight(header: str, ranges: list[str]) -> None:
    assert accept_language(header) == ranges


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("KO-kr", "ko"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-Hans-CN", None),  # lookup never widens to zh, which is not offered
        ("zh", None),  # nor finds a longer tag than the one asked for
        ("en-GB-x-private", "en"),  # a singleton goes with the subtag after it
        ("fr", None),
    ],
)
def test_lookup_cuts_subtags_from_the_end(wanted: str, found: str | None) -> None:
    assert lookup(wanted, AVAILABLE) == found


def test_best_match_follows_the_ranges_then_star() -> None:
    assert best_match(accept_language("fr-CA, ja;q=0.5, en;q=0.4"), AVAILABLE) == "ja"
    assert best_match(accept_language("fr, *;q=0.1"), AVAILABLE) == "en"
    assert best_match(accept_language("fr, de"), AVAILABLE) is None


def test_preferences_are_checked_ordered_and_stored() -> None:
    assert parse_preferences("ko-KR, en ,ko", AVAILABLE) == ["ko", "en"]
    assert parse_preferences("ja;en", AVAILABLE) == ["ja", "en"]
    assert parse_preferences("", AVAILABLE) == []
    with pytest.raises(ValueError, match=r"--language: 'fr' is not one of this newsroom's"):
        parse_preferences("ko,fr", AVAILABLE, "--language")
    with pytest.raises(ValueError, match="not a BCP 47 language tag"):
        parse_preferences("korean", AVAILABLE)
    assert store_preferences(["ko", "en"], "en") == "ko,en"
    assert store_preferences([], "en") == "en"
    # As many as fit subscribers.locale (20 characters).
    assert store_preferences(["zh-Hant", "zh-Hans", "en", "ko"], "en") == "zh-Hant,zh-Hans,en"


def test_a_reader_gets_their_first_offered_language_else_the_primary() -> None:
    assert reader_language("ja,ko", AVAILABLE) == "ja"
    assert reader_language("fr,ko", AVAILABLE) == "ko"
    assert reader_language("fr", AVAILABLE) == "en"
    # subscribers.locale was "en" for everyone before issue 30; a Korean-only newsroom
    # writes to them in Korean.
    assert reader_language("en", ("ko",)) == "ko"


def test_list_language() -> None:
    assert list_language("ko", "en") == "ko"
    assert list_language("", "en") == "en"
    assert list_language("reader", "en") == "en"


@pytest.mark.parametrize(
    ("tag", "direction"),
    [
        ("ar", "rtl"),
        ("he", "rtl"),
        ("fa-IR", "rtl"),
        ("ur", "rtl"),
        ("az-Arab", "rtl"),  # the script subtag wins over the language's default
        ("ar-Latn", "ltr"),
        ("ko", "ltr"),
        ("en", "ltr"),
        ("zh-Hant", "ltr"),
    ],
)
def test_text_direction(tag: str, direction: str) -> None:
    assert text_direction(tag) == direction


def test_korean_dates_in_cldr_formats() -> None:
    assert period_label(date(2026, 11, 16), date(2026, 11, 23), "ko") == "2026년 11월 16일~23일"
    assert period_label(date(2026, 11, 30), date(2026, 12, 6), "ko") == "2026년 11월 30일~12월 6일"
    assert period_label(date(2026, 11, 16), date(2026, 11, 16), "ko") == "2026년 11월 16일"
    assert day_label(date(2026, 11, 20), "ko") == "11월 20일 (금)"
    assert day_label(date(2026, 11, 20), "ja") == "11月20日(金)"
