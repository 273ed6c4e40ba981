"""WordPress posts and feed entries to article records (pure)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from syndication.core.source_items import (
    ItemRejection,
    TopicRules,
    feed_entry,
    plain_text,
    wordpress_post,
)
from syndication.errors import RecordError
from syndication.settings import ImportSettings

RULES = TopicRules(
    {"international-relations-news": "international-relations"},
    (),
    {"international-relations", "culture"},
)


def post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 3953,
        "date_gmt": "2018-11-26T07:00:00",
        "modified_gmt": "2018-11-27T01:30:00",
        "link": "https://english.seoul.go.kr/mayor-park-peking/",
        "title": {"rendered": "Mayor Park Gives Lecture at China&#8217;s Peking University"},
        "excerpt": {
            "rendered": "<p>Mayor Park Won-soon became the first &hellip; [&hellip;]</p>\n"
        },
        "content": {"rendered": '<p>Body <a href="/seoul">Seoul</a></p>'},
        "categories": [7],
    }
    data.update(changes)
    return data


def map_post(data: dict[str, Any], rules: TopicRules = RULES) -> Any:
    return wordpress_post(
        data,
        source="cms",
        category_slugs={7: "international-relations-news", 9: "uncategorized"},
        rules=rules,
        language="en",
    )


def test_wordpress_post_maps_to_a_record() -> None:
    record = map_post(post())
    assert record.source_id == "cms:3953"
    assert record.title == "Mayor Park Gives Lecture at China\u2019s Peking University"
    assert record.summary == "Mayor Park Won-soon became the first \u2026"
    assert record.published_at == datetime(2018, 11, 26, 7, 0, tzinfo=UTC)
    assert record.updated_at == datetime(2018, 11, 27, 1, 30, tzinfo=UTC)
    assert record.topics == ("international-relations",)
    assert record.body_html.startswith("<p>Body")


def test_modified_before_date_is_not_an_error() -> None:
    record = map_post(post(modified_gmt="2018-11-25T00:00:00"))
    assert record.updated_at == record.published_at


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"categories": [9]}, "categories"),
        ({"date_gmt": None}, "date_gmt"),
        ({"date_gmt": "yesterday"}, "date_gmt"),
        ({"link": "/relative"}, "url"),
        ({"title": {"rendered": "  "}}, "title"),
        ({"id": "x"}, "id"),
    ],
)
def test_bad_posts_are_rejected_with_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        map_post(post(**changes))
    assert caught.value.field == field


def test_default_topics_catch_unmapped_categories() -> None:
    rules = TopicRules(RULES.categories, ("culture",), RULES.known_topics)
    assert map_post(post(categories=[9]), rules).topics == ("culture",)


def test_polled_items_keep_to_the_import_limits() -> None:
    # Issue 15 item 12: the [import] limits hold for polled sources too.
    rules = TopicRules(RULES.categories, (), RULES.known_topics, ImportSettings(max_html_depth=3))
    deep = "<div>" * 10 + "text" + "</div>" * 10
    with pytest.raises(RecordError) as caught:
        map_post(post(content={"rendered": deep}), rules)
    assert caught.value.field == "body_html"


def test_feed_entry_maps_ids_dates_and_terms() -> None:
    entry = {
        "id": "urn:x:1",
        "title": "Parks &amp; rivers",
        "link": "https://upstream.example.org/1",
        "published_parsed": time.gmtime(1_795_000_000),
        "tags": [{"term": "international-relations-news"}],
        "summary": "Short.",
    }
    record = feed_entry(entry, source="up", rules=RULES, language="en")
    assert record.source_id == "up:urn:x:1"
    assert record.title == "Parks & rivers"
    assert record.published_at == datetime.fromtimestamp(1_795_000_000, UTC)


def test_rejection_names_source_item_and_reason() -> None:
    line = str(ItemRejection("cms", "post 9", "categories", "no category maps to a topic"))
    assert line == "cms: post 9: categories: no category maps to a topic"


def test_plain_text_decodes_and_drops_tags() -> None:
    assert plain_text("<em>Seoul</em>&#8217;s&nbsp;plan") == "Seoul\u2019s plan"


def test_cut_at_word_keeps_whole_words_within_the_byte_limit() -> None:
    from syndication.core.source_items import cut_at_word

    assert cut_at_word("short", 10) == "short"
    cut = cut_at_word("Grüße aus Seoul und Busan", 16)
    assert cut == "Grüße aus\u2026" and len(cut.encode()) <= 16
    assert cut_at_word("x" * 50, 10) == "xxxxxxx\u2026"


def test_derived_title_is_the_start_of_the_text() -> None:
    from syndication.core.source_items import derived_title

    assert derived_title("  A short   toot ") == "A short toot"
    long = derived_title("word " * 40)
    assert long.endswith("word\u2026") and len(long) <= 80
    assert derived_title("") == ""
