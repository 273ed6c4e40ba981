"""Each story once, in the best version for a digest's language (issue 30)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from syndication.core.articles import StoredArticle
from syndication.core.digest_stories import choose_stories, newsroom_language
from syndication.core.digests import build_digest
from syndication.core.translations import Member, TranslationIndex, translation_index
from syndication.render import i18n
from syndication.settings import LanguageSettings, Settings
from tests.support.builders import CITY, WEEK, stored

LANGUAGES = LanguageSettings(available=("en", "ko", "ja"), fallback=(("ja", "en"), ("ko", "en")))
AVAILABLE = LANGUAGES.available
TOPICS = CITY.topics


def index_of(articles: list[StoredArticle]) -> TranslationIndex:
    return translation_index(
        Member(
            a.source_id,
            a.translation_of,
            a.language,
            a.url,
            a.is_retracted,
            a.published_at,
            a.topics,
        )
        for a in articles
    )


def newsroom() -> list[StoredArticle]:
    """A tram story in en, ko and ja; a dust story in en only; a market story in ko only."""
    return [
        stored("tram", language="en"),
        stored("tram-ko", language="ko", translation_of="tram", title="트램 개통"),
        stored("tram-ja", language="ja", translation_of="tram", title="トラム開業"),
        stored("dust", language="en"),
        stored("market", language="ko", title="야시장"),
    ]


def chosen(language: str, articles: list[StoredArticle], mode: str = "fallback") -> list[str]:
    stories = choose_stories(
        articles, index_of(articles), LANGUAGES.chain(language), AVAILABLE, "en", TOPICS, mode
    )
    return sorted(f"{s.article.source_id}:{s.language}" for s in stories)


def test_each_story_once_in_the_first_language_of_the_chain() -> None:
    assert chosen("ko", newsroom()) == ["dust:en", "market:ko", "tram-ko:ko"]
    assert chosen("ja", newsroom()) == ["dust:en", "market:ko", "tram-ja:ja"]
    assert chosen("en", newsroom()) == ["dust:en", "market:ko", "tram:en"]


def test_only_keeps_the_stories_written_in_the_digests_language() -> None:
    assert chosen("ko", newsroom(), "only") == ["market:ko", "tram-ko:ko"]
    assert chosen("en", newsroom(), "only") == ["dust:en", "tram:en"]


def test_a_retracted_translation_gives_way_to_the_next_in_the_chain() -> None:
    articles = newsroom()
    articles[1] = replace(
        articles[1], status="retracted", retracted_at=datetime(2026, 11, 19, tzinfo=UTC)
    )
    assert chosen("ko", articles) == ["dust:en", "market:ko", "tram:en"]


def test_a_version_chosen_from_another_period_leaves_the_story_out() -> None:
    """The English original went out last week; this week holds only its translation:
    the Korean copy shows it, the English copy leaves the story to last week's."""
    articles = newsroom()
    last_week = [a for a in articles if a.source_id != "tram"]
    index = index_of(articles)

    def pick(language: str) -> list[str]:
        stories = choose_stories(
            last_week, index, LANGUAGES.chain(language), AVAILABLE, "en", TOPICS
        )
        return sorted(s.article.source_id for s in stories)

    assert pick("ko") == ["dust", "market", "tram-ko"]
    assert pick("en") == ["dust", "market"]


def test_languages_as_the_newsroom_names_them() -> None:
    assert newsroom_language("ko-KR", AVAILABLE, "en") == "ko"
    assert newsroom_language("", AVAILABLE, "en") == "en"
    assert newsroom_language("fr", AVAILABLE, "en") == "fr"
    articles = [stored("tram"), stored("tram-ko", language="ko-KR", translation_of="tram")]
    assert chosen("ko", articles) == ["tram-ko:ko"]


def test_the_digest_labels_a_version_in_another_language() -> None:
    settings = replace(Settings(), languages=LANGUAGES)
    reader_city = replace(CITY, language="reader")
    articles = newsroom()
    index = index_of(articles)

    def labels(language: str) -> dict[str, str]:
        content = build_digest(
            settings, reader_city, WEEK, articles, i18n.translations(language), language, index
        )
        assert content is not None
        return {
            item.source_id: item.language_label
            for section in content.sections
            for item in section.items
        }

    assert labels("ko") == {"tram-ko": "", "dust": "영어 기사", "market": ""}
    # Japanese has no catalog: the label is English, naming the language in English.
    assert labels("ja") == {"tram-ja": "", "dust": "In English", "market": "In Korean"}
    assert labels("en") == {"tram": "", "dust": "", "market": "In Korean"}


def test_the_count_and_preheader_are_of_the_stories_shown() -> None:
    settings = replace(Settings(), languages=LANGUAGES)
    only = replace(CITY, language="ko", translations="only")
    articles = newsroom()
    content = build_digest(
        settings, only, WEEK, articles, i18n.translations("ko"), "ko", index_of(articles)
    )
    assert content is not None
    assert content.article_count == 2
    assert content.preheader.startswith("기사 2건: ")
