"""What one article is in every feed: its id, its sanitised HTML, its text (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndication.core import entries, feeds
from syndication.settings import Settings
from tests.support.builders import stored_article

SETTINGS = Settings()
NOV = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_entry_id_is_a_tag_uri_from_domain_first_published_date_and_source_id() -> None:
    article = stored_article("smg-3953", published_at=datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    assert entries.entry_id(SETTINGS, article) == "tag:news.example.org,2026-11-25:smg-3953"


def test_entry_id_survives_title_url_slug_https_and_update_edits() -> None:
    original = stored_article("smg-7", url="http://news.example.org/articles/old-slug")
    edits = [
        replace(original, title="A corrected title"),
        replace(original, url="http://news.example.org/articles/new-slug"),
        replace(original, url="https://news.example.org/articles/old-slug"),
        replace(original, updated_at=NOV + timedelta(days=3), body_html="<p>New.</p>"),
    ]
    ids = {entries.entry_id(SETTINGS, a) for a in [original, *edits]}
    assert ids == {"tag:news.example.org,2026-11-20:smg-7"}


def test_odd_source_ids_are_percent_encoded_in_the_tag() -> None:
    article = stored_article("기사 1")
    assert entries.entry_id(SETTINGS, article).endswith(":%EA%B8%B0%EC%82%AC%201")


def test_sanitise_removes_scripts_handlers_and_javascript_urls() -> None:
    html = (
        '<p onclick="steal()">Hi<script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">x</a><iframe src="https://evil.example"></iframe></p>'
    )
    clean = entries.sanitise_html(html, "https://news.example.org/articles/a")
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
    content = entries.entry_for(SETTINGS, article).content_html
    for url in re.findall(r'(?:href|src|cite)="([^"]*)"', content):
        assert url.startswith("https://"), url
    assert 'href="javascript' not in content.lower()


def test_images_in_content_are_http_only() -> None:
    clean = entries.sanitise_html('<img src="mailto:a@example.org">', "https://n.example.org/a")
    assert "mailto" not in clean


def test_unsafe_article_and_image_urls_never_reach_an_entry() -> None:
    article = stored_article(url="\u00a0javascript:alert(1)", image_url="data:image/png,x")
    entry = entries.entry_for(SETTINGS, article)
    assert entry.url == SETTINGS.site.base_url
    assert entry.image is None


def test_sanitise_makes_relative_links_and_images_absolute() -> None:
    html = '<a href="/about">a</a><img src="img/x.jpg" alt="x"><a href="#top">t</a>'
    clean = entries.sanitise_html(html, "https://news.example.org/articles/a")
    assert 'href="https://news.example.org/about"' in clean
    assert 'src="https://news.example.org/articles/img/x.jpg"' in clean
    assert 'href="https://news.example.org/articles/a#top"' in clean


def test_xml_illegal_characters_are_removed_everywhere() -> None:
    article = stored_article(
        "smg-1", title="Bad\x00 ti\x0btle\ufffe", summary="s\x1f", body_html="<p>b\x08</p>"
    )
    entry = entries.entry_for(SETTINGS, article)
    assert entry.title == "Bad title"
    assert entry.summary == "s"
    assert entry.content_html == "<p>b</p>"


def test_entities_in_plain_text_are_decoded() -> None:
    entry = entries.entry_for(SETTINGS, stored_article(title="Parks&nbsp;&amp; rivers"))
    assert entry.title == "Parks\xa0& rivers"


def test_empty_body_falls_back_to_the_summary_as_content() -> None:
    entry = entries.entry_for(SETTINGS, stored_article(body_html="", summary="<Short> one"))
    assert entry.content_html == "<p>&lt;Short&gt; one</p>"


def test_categories_are_the_topics_with_their_names_and_image_is_typed() -> None:
    article = stored_article(
        topics=("culture", "economy", "gone"), image_url="https://img.example.org/a.png?x=1"
    )
    entry = entries.entry_for(SETTINGS, article)
    assert [(c.term, c.label) for c in entry.categories] == [
        ("culture", "Culture"),
        ("economy", "Economy"),
    ]
    assert entry.image == entries.Image("https://img.example.org/a.png?x=1", "image/png")


def test_an_article_is_sanitised_once_for_all_its_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sanitising was repeated for every document an article appears in (issue 15 item 11).
    calls: list[str] = []
    real = entries._CLEANER

    class Counting:
        def clean(self, html: str) -> str:
            calls.append(html)
            return real.clean(html)

    monkeypatch.setattr(entries, "_CLEANER", Counting())
    body = "<p>Counted once, a body nobody else has: 7f3a9c.</p>"
    article = stored_article(topics=("culture", "economy"), body_html=body)
    for key in ("all", "culture", "economy"):
        feeds.all_documents(SETTINGS, key, [article])
    assert calls == [body]
