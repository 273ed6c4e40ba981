"""What a feed contains: order, archives and tombstones (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from syndication.core import entries, feeds
from syndication.settings import FeedSettings, LanguageSettings, Settings
from tests.support.builders import stored_article

SETTINGS = Settings()
NOV = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_rss_and_json_by_publication_atom_by_update_newest_first_and_limited() -> None:
    settings = replace(SETTINGS, feeds=FeedSettings(entries=3))
    articles = [stored_article(f"smg-{i}", published_at=NOV + timedelta(hours=i)) for i in range(5)]
    # An edit to the oldest article brings it to the top of the Atom change log only.
    articles[0] = replace(articles[0], updated_at=NOV + timedelta(days=2))
    rss, atom, json_feed = feeds.subscription_documents(settings, "all", articles, articles, None)
    assert [e.id[-5:] for e in rss.entries] == ["smg-4", "smg-3", "smg-2"]
    assert json_feed.entries == rss.entries
    assert [e.id[-5:] for e in atom.entries] == ["smg-0", "smg-4", "smg-3"]
    assert atom.updated == NOV + timedelta(days=2)
    assert rss.updated == NOV + timedelta(hours=4)


def test_retracted_article_leaves_rss_and_json_and_becomes_an_atom_tombstone() -> None:
    retracted = stored_article(
        "smg-2",
        status="retracted",
        retracted_at=NOV + timedelta(days=1),
        updated_at=NOV + timedelta(days=1),
        retraction_reason="Published in error.",
    )
    articles = [stored_article("smg-1"), retracted]
    rss, atom, json_feed = feeds.subscription_documents(SETTINGS, "all", articles, articles, None)
    assert [e.id for e in rss.entries] == [entries.entry_id(SETTINGS, articles[0])]
    assert json_feed.entries == rss.entries
    assert [e.id for e in atom.entries] == [entries.entry_id(SETTINGS, articles[0])]
    assert atom.tombstones == (
        feeds.Tombstone(
            ref=entries.entry_id(SETTINGS, retracted),
            when=NOV + timedelta(days=1),
            comment="Published in error.",
        ),
    )


def test_months_are_calendar_months_in_the_site_timezone() -> None:
    tz = SETTINGS.site.tz  # Asia/Seoul, UTC+9
    assert feeds.month_of(datetime(2026, 10, 31, 16, 0, tzinfo=UTC), tz) == "2026-11"
    start, end = feeds.month_bounds("2026-12", tz)
    assert start == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)


def test_archives_link_current_and_neighbouring_months_and_atom_links_the_newest() -> None:
    articles = [
        stored_article("smg-sep", published_at=datetime(2026, 9, 10, tzinfo=UTC)),
        stored_article("smg-nov", published_at=datetime(2026, 11, 10, tzinfo=UTC)),
    ]
    documents = {d.path: d for d in feeds.all_documents(SETTINGS, "culture", articles)}
    assert sorted(documents) == [
        "culture/archive/2026-09.atom",
        "culture/archive/2026-11.atom",
        "culture/atom.xml",
        "culture/feed.json",
        "culture/rss.xml",
    ]
    base = "https://news.example.org/feeds/culture"
    links = {(ln.rel, ln.href) for ln in documents["culture/atom.xml"].links}
    assert ("prev-archive", f"{base}/archive/2026-11.atom") in links
    september = {(ln.rel, ln.href) for ln in documents["culture/archive/2026-09.atom"].links}
    assert ("current", f"{base}/atom.xml") in september
    assert ("next-archive", f"{base}/archive/2026-11.atom") in september
    assert not any(rel == "prev-archive" for rel, _ in september)
    november = documents["culture/archive/2026-11.atom"]
    assert ("prev-archive", f"{base}/archive/2026-09.atom") in {
        (ln.rel, ln.href) for ln in november.links
    }
    assert [e.id[-7:] for e in november.entries] == ["smg-nov"]


def test_the_newest_archive_links_on_to_the_subscription_document() -> None:
    """Issue 26: a topic whose articles all sit in one month had one archive with neither
    prev- nor next-archive, "Archive incomplete" to the W3C validator. The newest month's
    next-archive is atom.xml, where its entries go on."""
    only = [stored_article("smg-nov", published_at=datetime(2026, 11, 10, tzinfo=UTC))]
    documents = {d.path: d for d in feeds.all_documents(SETTINGS, "culture", only)}
    base = "https://news.example.org/feeds/culture"
    links = {(ln.rel, ln.href) for ln in documents["culture/archive/2026-11.atom"].links}
    assert ("next-archive", f"{base}/atom.xml") in links
    assert ("current", f"{base}/atom.xml") in links
    assert not any(rel == "prev-archive" for rel, _ in links)


def test_every_date_comes_from_the_data() -> None:
    empty = feeds.subscription_documents(SETTINGS, "culture", [], [], None)
    assert {d.updated for d in empty} == {feeds.EMPTY_UPDATED}
    assert all(d.entries == () for d in empty)


def test_an_empty_feed_is_dated_by_its_id_not_1970() -> None:
    """Issue 26 item 3: a topic with no article yet carried 1970-01-01, an "Implausible
    date" (an error) to the W3C validator. Its date is the one its tag URI names."""
    empty = feeds.subscription_documents(SETTINGS, "culture", [], [], None)
    assert {d.updated for d in empty} == {datetime(2026, 1, 1, tzinfo=UTC)}
    assert all(d.id.startswith("tag:news.example.org,2026:") for d in empty)


def test_month_arithmetic_is_total_at_the_ends_of_the_calendar() -> None:
    # Dates the importer once accepted stopped every feed build (issue 15 item 10).
    seoul, honolulu = ZoneInfo("Asia/Seoul"), ZoneInfo("Pacific/Honolulu")
    assert feeds.month_of(datetime(9999, 12, 31, 23, tzinfo=UTC), seoul) == "9999-12"
    assert feeds.month_of(datetime(1, 1, 1, 1, tzinfo=UTC), honolulu) == "0001-01"
    assert feeds.month_of(datetime(5, 3, 1, tzinfo=UTC), ZoneInfo("UTC")) == "0005-03"
    start, end = feeds.month_bounds("9999-12", seoul)
    assert start < end
    start, end = feeds.month_bounds("0001-01", honolulu)
    assert start < end


# -- languages (issue 30) ------------------------------------------------------------------

MULTILINGUAL = replace(SETTINGS, languages=LanguageSettings(available=("en", "ko", "zh-Hant")))


def test_an_article_goes_to_the_feeds_of_the_longest_available_prefix_of_its_tag() -> None:
    available = ("en", "ko", "zh", "zh-Hant")
    assert feeds.feed_language(available, "ko") == "ko"
    assert feeds.feed_language(available, "ko-KR") == "ko"
    assert feeds.feed_language(available, "zh-Hant-TW") == "zh-Hant"
    assert feeds.feed_language(available, "zh-Hans") == "zh"
    assert feeds.feed_language(available, "kok") == "en"  # no prefix at a subtag boundary
    assert feeds.feed_language(available, "fr") == "en"  # unlisted: the primary's feeds


def test_other_languages_feeds_live_under_their_tag_and_todays_keys_stay() -> None:
    keys = feeds.feed_keys(MULTILINGUAL)
    topics = [t.slug for t in SETTINGS.topics]
    assert keys[: len(topics) + 1] == feeds.feed_keys(SETTINGS) == ["all", *topics]
    assert "ko/culture" in keys and "zh-Hant/all" in keys
    assert feeds.document_path("ko/culture", feeds.ATOM) == "ko/culture/atom.xml"
    assert feeds.document_path("ko/all", feeds.ARCHIVE, "2026-11") == "ko/all/archive/2026-11.atom"
    assert (feeds.language_of(MULTILINGUAL, "ko/culture"), feeds.topic_of("ko/culture")) == (
        "ko",
        "culture",
    )
    assert (feeds.language_of(MULTILINGUAL, "all"), feeds.topic_of("all")) == ("en", None)
    assert feeds.scope_of(SETTINGS, "all") is None
    assert feeds.feed_title(MULTILINGUAL, "ko/culture").endswith(": Culture (한국어)")
    [rss, atom, json_feed] = feeds.subscription_documents(MULTILINGUAL, "ko/all", [], [], None)
    assert {rss.language, atom.language, json_feed.language} == {"ko"}
    assert atom.url == "https://news.example.org/feeds/ko/all/atom.xml"
