"""What a digest contains: periods from the schedule, selection, order, size budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syndication.core.digests import (
    MAX_FULL_ITEMS,
    archive_path,
    build_digest,
    choose_period,
    decide,
    latest_complete_period,
    past_max_delay,
    period_containing,
)
from syndication.settings import LanguageSettings, MailingList, Settings
from tests.support.builders import CITY, WEEK, WEEKLY, stored

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
WEEKLY_LIST = MailingList("weekly", "Weekly", ("environment",), schedule=WEEKLY)


# -- periods ------------------------------------------------------------------------------


def test_weekly_period_in_seoul() -> None:
    period = period_containing(WEEKLY, SEOUL, datetime(2026, 11, 18, 12, tzinfo=UTC))
    assert period.start == datetime(2026, 11, 16, 8, tzinfo=SEOUL)
    assert period.end == datetime(2026, 11, 23, 8, tzinfo=SEOUL)
    assert period.key(SEOUL) == "2026-11-16"


def test_a_firing_moment_starts_its_period() -> None:
    moment = datetime(2026, 11, 16, 8, tzinfo=SEOUL)
    period = period_containing(WEEKLY, SEOUL, moment)
    assert period.start == moment
    assert moment in period
    assert period.end not in period


def test_latest_complete_period_ends_before_now() -> None:
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # Saturday noon in Seoul
    period = latest_complete_period(WEEKLY, SEOUL, now)
    assert period.key(SEOUL) == "2026-11-16"
    assert period.end <= now
    exactly = latest_complete_period(WEEKLY, SEOUL, datetime(2026, 11, 23, 8, tzinfo=SEOUL))
    assert exactly == period


def test_periods_across_new_york_dst_changes() -> None:
    # 2026-03-08: clocks spring forward; the week that contains it is an hour short.
    spring = period_containing(WEEKLY, NEW_YORK, datetime(2026, 3, 5, tzinfo=UTC))
    assert spring.start == datetime(2026, 3, 2, 8, tzinfo=NEW_YORK)
    assert spring.end == datetime(2026, 3, 9, 8, tzinfo=NEW_YORK)
    assert spring.end - spring.start == timedelta(days=7) - timedelta(hours=1)
    assert spring.end.astimezone(NEW_YORK).hour == 8
    # 2026-11-01: clocks fall back; that week is an hour long.
    autumn = period_containing(WEEKLY, NEW_YORK, datetime(2026, 10, 30, tzinfo=UTC))
    assert autumn.end - autumn.start == timedelta(days=7, hours=1)
    assert autumn.start.astimezone(NEW_YORK).hour == 8
    assert autumn.end.astimezone(NEW_YORK).hour == 8
    following = period_containing(WEEKLY, NEW_YORK, autumn.end)
    assert following.start == autumn.end


def test_daily_schedule_at_a_time_that_is_skipped_once_a_year() -> None:
    # 02:30 does not exist in New York on 2026-03-08; consecutive periods still tile time.
    moments = [datetime(2026, 3, 6, tzinfo=UTC) + timedelta(hours=6 * i) for i in range(20)]
    periods = {period_containing("30 2 * * *", NEW_YORK, m) for m in moments}
    ordered = sorted(periods, key=lambda p: p.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert before.end == after.start
    for moment in moments:
        assert sum(moment in p for p in periods) == 1


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_containing(WEEKLY, SEOUL, datetime(2026, 11, 18))


# -- the period a command or the scheduler means ------------------------------------------


def test_weekly_period_across_the_end_of_daylight_saving_in_new_york() -> None:
    # DST ended on Sunday 2026-11-01: the week is 7 days and 1 hour long in real time.
    now = datetime(2026, 11, 2, 13, 30, tzinfo=UTC)  # Monday 08:30 EST
    decision = decide(WEEKLY_LIST, NEW_YORK, now, timedelta(hours=24))
    assert decision.period.start == datetime(2026, 10, 26, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert decision.period.end == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert decision.period.end - decision.period.start == timedelta(days=7, hours=1)
    assert decision.late_by == timedelta(minutes=30)
    assert decision.due
    assert decision.period.key(NEW_YORK) == "2026-10-26"


def test_weekly_period_across_the_start_of_daylight_saving_in_new_york() -> None:
    # DST began on Sunday 2026-03-08: that week is an hour short.
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # Monday 08:00 EDT, the very end
    decision = decide(WEEKLY_LIST, NEW_YORK, now, timedelta(hours=24))
    assert decision.period.start == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert decision.period.end == now
    assert decision.period.end - decision.period.start == timedelta(days=6, hours=23)
    assert decision.late_by == timedelta(0) and decision.due


def test_weekly_period_in_seoul_and_the_max_delay_boundary() -> None:
    end = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Monday 2026-11-23 08:00 KST
    limit = timedelta(hours=24)
    at_limit = decide(WEEKLY_LIST, SEOUL, end + limit, limit)
    assert at_limit.period.key(SEOUL) == "2026-11-16"
    assert at_limit.period.end == end and at_limit.due
    past = decide(WEEKLY_LIST, SEOUL, end + limit + timedelta(seconds=1), limit)
    assert past.period == at_limit.period and not past.due


def test_choose_period_names_the_dates_period_or_the_latest_complete_one() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)  # Tuesday 09:00 in Seoul
    named = choose_period(WEEKLY_LIST, date(2026, 11, 18), now, SEOUL)
    assert named.key(SEOUL) == "2026-11-16"
    assert choose_period(WEEKLY_LIST, None, now, SEOUL) == latest_complete_period(
        WEEKLY, SEOUL, now
    )
    # A date names its period even when that period is still running at ``now``.
    assert choose_period(WEEKLY_LIST, date(2026, 11, 25), now, SEOUL).key(SEOUL) == "2026-11-23"


def test_past_max_delay_is_strictly_later_than_the_limit() -> None:
    end = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    limit = timedelta(hours=24)
    assert not past_max_delay(end, end + limit, limit)
    assert past_max_delay(end, end + limit + timedelta(microseconds=1), limit)


# -- selection ----------------------------------------------------------------------------


def test_empty_period_has_no_digest() -> None:
    outside = stored("old", published_at=WEEK.start - timedelta(seconds=1))
    assert build_digest(Settings(), CITY, WEEK, [outside]) is None
    assert build_digest(Settings(), CITY, WEEK, []) is None


def test_selection_grouping_and_order() -> None:
    articles = [
        stored("env-old", published_at=WEEK.start),
        stored("env-new", published_at=WEEK.end - timedelta(seconds=1)),
        stored("at-end", published_at=WEEK.end),
        stored("retracted", status="retracted", retracted_at=WEEK.end),
        stored("intl", topics=("international-relations",)),
        stored("transport", topics=("transport",)),
        stored("both", topics=("environment", "transport")),
        stored("both-reversed", topics=("welfare", "transport")),
    ]
    content = build_digest(Settings(), CITY, WEEK, articles)
    assert content is not None
    layout = [(s.topic, [i.source_id for i in s.items]) for s in content.sections]
    assert layout == [
        ("environment", ["env-new", "both", "env-old"]),
        ("transport", ["transport", "both-reversed"]),
    ]
    assert content.article_count == 5
    assert content.more == 0
    assert content.period_key == "2026-11-16"
    assert content.web_url == "https://news.example.org/digests/weekly-city/2026-11-16"
    assert content.subject == "City Life Weekly: 16–23 November 2026"
    assert content.preheader.startswith("5 articles: Article env-new; Article both")


def test_each_copy_links_its_own_page_on_the_archive() -> None:
    """Issue 30: a "reader" list's copy in another language than its main one says "view
    in your browser" with its own address; the main copy, and a fixed-language list's
    only copy, keep the canonical one."""
    settings = Settings(languages=LanguageSettings(available=("en", "ko")))
    articles = [stored("env-1")]
    base = "https://news.example.org"
    reader = replace(CITY, language="reader")
    urls = {
        language: content.web_url
        for language in ("", "en", "ko")
        if (content := build_digest(settings, reader, WEEK, articles, language=language))
    }
    assert urls == {
        "": f"{base}/digests/weekly-city/2026-11-16",
        "en": f"{base}/digests/weekly-city/2026-11-16",
        "ko": f"{base}/digests/weekly-city/2026-11-16/ko",
    }
    korean = build_digest(settings, replace(CITY, language="ko"), WEEK, articles)
    assert korean is not None and korean.language == "ko"
    assert korean.web_url == f"{base}/digests/weekly-city/2026-11-16"
    assert archive_path("weekly-city", "2026-11-16") == "/digests/weekly-city/2026-11-16"
    assert archive_path("a", "2026-11-16", "zh-Hant") == "/digests/a/2026-11-16/zh-Hant"


def test_long_fields_are_shortened() -> None:
    article = stored("long", title="word " * 100, summary="more " * 200)
    content = build_digest(Settings(), CITY, WEEK, [article])
    assert content is not None
    item = content.sections[0].items[0]
    assert len(item.title) <= 200 and item.title.endswith("…")
    assert len(item.summary) <= 320


def test_size_budget_demotes_then_counts() -> None:
    topics = CITY.topics
    articles = [
        stored(
            f"a{i}",
            title=f"Seoul expands programme number {i} across districts 서울시 {i}",
            summary="The city said the programme would reach every district by spring. " * 6,
            image_url=f"https://news.example.org/images/{i}.jpg",
            topics=(topics[i % len(topics)],),
            published_at=WEEK.start + timedelta(minutes=30 * i),
        )
        for i in range(300)
    ]
    content = build_digest(Settings(), CITY, WEEK, articles)
    assert content is not None
    items = [i for s in content.sections for i in s.items]
    full = [i for i in items if i.full]
    assert 0 < len(full) <= MAX_FULL_ITEMS
    assert len(items) < 300
    assert content.more == 300 - len(items) == sum(s.more for s in content.sections)
    assert content.article_count == 300


def test_list_with_custom_topics_order() -> None:
    reordered = replace(CITY, topics=("transport", "environment"))
    articles = [stored("e"), stored("t", topics=("transport",))]
    content = build_digest(Settings(), reordered, WEEK, articles)
    assert content is not None
    assert [s.topic for s in content.sections] == ["transport", "environment"]


def test_other_lists_topics_are_left_out() -> None:
    intl = MailingList("intl", "Intl", ("international-relations",))
    assert build_digest(Settings(), intl, WEEK, [stored("e")]) is None


def test_an_items_language_is_its_tag_or_the_pages() -> None:
    # Issue 26 item 6: stored before tags were checked, "KO" went out as lang="KO" and
    # "korean" as lang="korean"; an item with no usable tag is in the page's language.
    articles = [
        stored("upper", language="KO"),
        stored("junk", language="korean", published_at=WEEK.start + timedelta(hours=1)),
        stored("hant", language="zh-hant", published_at=WEEK.start + timedelta(hours=2)),
    ]
    content = build_digest(Settings(), CITY, WEEK, articles)
    assert content is not None
    languages = {i.source_id: i.language for s in content.sections for i in s.items}
    assert languages == {"upper": "ko", "junk": "", "hant": "zh-Hant"}
