"""What a feed contains: ids, sanitising, order, archives and tombstones (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syndication.core import feeds
from syndication.settings import FeedSettings, Settings
from tests.support.builders import stored_article

SETTINGS = Settings()
NOV = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_entry_id_is_a_tag_uri_from_domain_first_published_date_and_source_id() -> None:
    article = stored_article("smg-3953", published_at=datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    assert feeds.entry_id(SETTINGS, article) == "tag:news.example.org,2026-11-25:smg-3953"


def test_entry_id_survives_title_url_slug_https_and_update_edits() -> None:
    original = stored_article("smg-7", url="http://news.example.org/articles/old-slug")
    edits = [
        replace(original, title="A corrected title"),
        replace(original, url="http://news.example.org/articles/new-slug"),
        replace(original, url="https://news.example.org/articles/old-slug"),
        replace(original, updated_at=NOV + timedelta(days=3), body_html="<p>New.</p>"),
    ]
    ids = {feeds.entry_id(SETTINGS, a) for a in [original, *edits]}
    assert ids == {"tag:news.example.org,2026-11-20:smg-7"}


def test_odd_source_ids_are_percent_encoded_in_the_tag() -> None:
    article = stored_article("기사 1")
    assert feeds.entry_id(SETTINGS, article).endswith(":%EA%B8%B0%EC%82%AC%201")


def test_sanitise_removes_scripts_handlers_and_javascript_urls() -> None:
    html = (
        '<p onclick="steal()">Hi<script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">x</a><iframe src="https://evil.example"></iframe></p>'
    )
    clean = feeds.sanitise_html(html, "https://news.example.org/articles/a")
    assert "script" not in clean and "alert" not in clean and "style" not in clean
    assert "onclick" not in clean and "javascript" not in clean and "iframe" not in clean
    assert clean.startswith("<p>Hi")


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2028", "\u00a0\u3000 "])
@pytest.mark.parametrize("scheme", ["javascript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_white_space_before_a_scheme_does_not_smuggle_it_past_the_sanitiser(
    space: str, scheme: str
) -> None:
    # nh3 checks the raw value, which looks relative with a U+00A0 in front; trimming and
    # joining then made it a live javascript: link (issue 15 item 7).
    html = (
        f'<a href="{space}{scheme}">x</a><img src="{space}{scheme}"><q cite="{space}{scheme}">q</q>'
    )
    article = stored_article(body_html=html)
    content = feeds.entry_for(SETTINGS, article).content_html
    for url in re.findall(r'(?:href|src|cite)="([^"]*)"', content):
        assert url.startswith("https://"), url
    assert 'href="javascript' not in content.lower()


def test_images_in_content_are_http_only() -> None:
    clean = feeds.sanitise_html('<img src="mailto:a@example.org">', "https://n.example.org/a")
    assert "mailto" not in clean


def test_unsafe_article_and_image_urls_never_reach_an_entry() -> None:
    article = stored_article(url="\u00a0javascript:alert(1)", image_url="data:image/png,x")
    entry = feeds.entry_for(SETTINGS, article)
    assert entry.url == SETTINGS.site.base_url
    assert entry.image is None


def test_sanitise_makes_relative_links_and_images_absolute() -> None:
    html = '<a href="/about">a</a><img src="img/x.jpg" alt="x"><a href="#top">t</a>'
    clean = feeds.sanitise_html(html, "https://news.example.org/articles/a")
    assert 'href="https://news.example.org/about"' in clean
    assert 'src="https://news.example.org/articles/img/x.jpg"' in clean
    assert 'href="https://news.example.org/articles/a#top"' in clean


def test_xml_illegal_characters_are_removed_everywhere() -> None:
    article = stored_article(
        "smg-1", title="Bad\x00 ti\x0btle\ufffe", summary="s\x1f", body_html="<p>b\x08</p>"
    )
    entry = feeds.entry_for(SETTINGS, article)
    assert entry.title == "Bad title"
    assert entry.summary == "s"
    assert entry.content_html == "<p>b</p>"


def test_entities_in_plain_text_are_decoded() -> None:
    entry = feeds.entry_for(SETTINGS, stored_article(title="Parks&nbsp;&amp; rivers"))
    assert entry.title == "Parks\xa0& rivers"


def test_empty_body_falls_back_to_the_summary_as_content() -> None:
    entry = feeds.entry_for(SETTINGS, stored_article(body_html="", summary="<Short> one"))
    assert entry.content_html == "<p>&lt;Short&gt; one</p>"


def test_categories_are_the_topics_with_their_names_and_image_is_typed() -> None:
    article = stored_article(
        topics=("culture", "economy", "gone"), image_url="https://img.example.org/a.png?x=1"
    )
    entry = feeds.entry_for(SETTINGS, article)
    assert [(c.term, c.label) for c in entry.categories] == [
        ("culture", "Culture"),
        ("economy", "Economy"),
    ]
    assert entry.image == feeds.Image("https://img.example.org/a.png?x=1", "image/png")


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
    assert [e.id for e in rss.entries] == [feeds.entry_id(SETTINGS, articles[0])]
    assert json_feed.entries == rss.entries
    assert [e.id for e in atom.entries] == [feeds.entry_id(SETTINGS, articles[0])]
    assert atom.tombstones == (
        feeds.Tombstone(
            ref=feeds.entry_id(SETTINGS, retracted),
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


def test_every_date_comes_from_the_data() -> None:
    empty = feeds.subscription_documents(SETTINGS, "culture", [], [], None)
    assert {d.updated for d in empty} == {feeds.EMPTY_UPDATED}
    assert all(d.entries == () for d in empty)


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


def test_an_article_is_sanitised_once_for_all_its_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sanitising was repeated for every document an article appears in (issue 15 item 11).
    calls: list[str] = []
    real = feeds._CLEANER

    class Counting:
        def clean(self, html: str) -> str:
            calls.append(html)
            return real.clean(html)

    monkeypatch.setattr(feeds, "_CLEANER", Counting())
    body = "<p>Counted once, a body nobody else has: 7f3a9c.</p>"
    article = stored_article(topics=("culture", "economy"), body_html=body)
    for key in ("all", "culture", "economy"):
        feeds.all_documents(SETTINGS, key, [article])
    assert calls == [body]
