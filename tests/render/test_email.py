"""Rendering: templates, CSS inlining, escaping, size, golden files."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cssutils
import lxml.html
import pytest

from syndication.core.digests import HTML_LIMIT, build_digest
from syndication.core.placeholders import PLACEHOLDER_RE, RenderedDigest, placeholder
from syndication.render.email import TemplateMissingError, render_confirmation, render_digest
from syndication.settings import MailingList, Settings, Topic
from tests.support.builders import CITY, WEEK, small_digest, stored

GOLDEN = Path(__file__).parent.parent / "golden"
# Set to rewrite the golden files after a deliberate template change; review the diff.
UPDATE_GOLDEN = os.environ.get("SYNDICATION_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def rendered() -> RenderedDigest:
    return render_digest(Settings(), small_digest())


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs; review and update"


def test_golden_html(rendered: RenderedDigest) -> None:
    check_golden("digest_small.html", rendered.html)


def test_golden_text(rendered: RenderedDigest) -> None:
    check_golden("digest_small.txt", rendered.text)


def test_subject_and_preheader(rendered: RenderedDigest) -> None:
    assert rendered.subject == "City Life Weekly: 16–23 November 2026"
    assert rendered.preheader.startswith("2 articles: ")
    assert "display: none" in rendered.html.split(rendered.subject)[-1].split("<table")[0]


def test_titles_are_escaped_in_html(rendered: RenderedDigest) -> None:
    assert "<script" not in rendered.html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; shade" in rendered.html
    # The plain-text part is not HTML: the title reads as written.
    assert "<script>alert('x')</script> & shade" in rendered.text


def remaining_style_rules(html: str) -> list[cssutils.css.CSSRule]:
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    tree = lxml.html.fromstring(html)
    rules = []
    for style in tree.iter("style"):
        rules.extend(cssutils.parseString(style.text or "").cssRules)
    return rules


def test_css_is_inlined_except_media_queries(rendered: RenderedDigest) -> None:
    rules = remaining_style_rules(rendered.html)
    assert rules, "the responsive rules should stay in a <style> block"
    assert all(rule.type == rule.MEDIA_RULE for rule in rules)
    assert "!important" in rendered.html.split("</style>")[0]
    tree = lxml.html.fromstring(rendered.html)
    for element in tree.iter():
        if element.get("class") and element.tag not in ("html", "head"):
            assert element.get("style"), f"<{element.tag} class={element.get('class')}> not inlined"


def test_one_large_lead_picture_then_thumbnails_with_empty_alt(rendered: RenderedDigest) -> None:
    """Issue 14: alt text repeated the title (shown twice with images off); every article
    had a full-width picture. Now the first picture leads, later ones are thumbnails."""
    images = list(lxml.html.fromstring(rendered.html).iter("img"))
    assert [(i.get("class"), i.get("width")) for i in images] == [
        ("lead-image", "536"),
        ("thumb", "116"),
    ]
    for image in images:
        assert image.get("alt") == ""  # decorative: the title is printed beside it
        assert image.get("src", "").startswith("https://")
        assert image.getparent().tag != "a"  # a link around alt="" would have no name
    thumb_row = images[1].getparent().getparent()
    assert [td.get("class") for td in thumb_row.iter("td")] == ["thumb-cell", "text-cell"]
    media = " ".join(r.cssText for r in remaining_style_rules(rendered.html))
    assert ".thumb-cell, .text-cell" in media and "display: block !important" in media
    assert ".lead-image" in media and "max-width: 100% !important" in media


def test_headings_landmarks_presentation_tables_and_lang(rendered: RenderedDigest) -> None:
    """Issue 14: headings a screen reader can jump between, layout tables marked as such,
    and the Korean article marked lang="ko" in an English digest."""
    tree = lxml.html.fromstring(rendered.html)
    assert [h.text_content() for h in tree.iter("h1")] == ["City Life Weekly"]
    assert [h.text_content() for h in tree.iter("h2")] == ["Environment", "Transport"]
    assert len(list(tree.iter("h3"))) == 2
    assert all(t.get("role") == "presentation" for t in tree.iter("table"))
    assert {e.get("role") for e in tree.iter("div") if e.get("role")} == {
        "banner",
        "main",
        "contentinfo",
    }
    korean = [e for e in tree.iter() if e.get("lang") == "ko"]
    assert len(korean) == 1 and "서울 지하철" in korean[0].text_content()
    assert tree.get("lang") == "en"


def test_preheader_hidden_for_every_client_and_dark_mode(rendered: RenderedDigest) -> None:
    tree = lxml.html.fromstring(rendered.html)
    preheader = tree.body[0]
    assert preheader.text_content() == rendered.preheader
    style = preheader.get("style", "")
    for rule in ("display: none", "max-height: 0", "opacity: 0", "overflow: hidden", "mso-hide"):
        assert rule in style
    metas = {m.get("name"): m.get("content") for m in tree.iter("meta")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    assert "prefers-color-scheme: dark" in rendered.html


def test_logo_and_brand_colour_come_from_the_settings() -> None:
    site = replace(
        Settings().site, logo_url="https://news.example.org/logo.png", brand_color="#8a1538"
    )
    html = render_digest(replace(Settings(), site=site), small_digest()).html
    tree = lxml.html.fromstring(html)
    logo = tree.xpath("//div[@role='banner']//img")[0]
    assert logo.get("src") == "https://news.example.org/logo.png"
    assert logo.get("alt") == site.title  # the logo names the site: it is not decorative
    assert "#0b5cad" not in html and "#8a1538" in html


def test_layout_for_outlook_and_footer(rendered: RenderedDigest) -> None:
    tree = lxml.html.fromstring(rendered.html)
    assert tree.xpath("//table[@width='600' and @role='presentation']")
    links = {a.text_content(): a.get("href") for a in tree.iter("a")}
    assert links["Unsubscribe"] == placeholder("UNSUBSCRIBE_URL")
    assert links["Manage your preferences"] == placeholder("PREFERENCES_URL")
    assert links["View in your browser"] == (
        "https://news.example.org/digests/weekly-city/2026-11-16"
    )
    assert Settings().site.contact in rendered.html
    assert Settings().site.contact in rendered.text


def test_text_part_is_hand_written(rendered: RenderedDigest) -> None:
    assert "<" not in rendered.text.replace("<script>", "").replace("</script>", "")
    assert f"Unsubscribe: {placeholder('UNSUBSCRIBE_URL')}" in rendered.text
    assert "ENVIRONMENT\n===========" in rendered.text
    assert max(len(line) for line in rendered.text.splitlines()) <= 100


def test_only_known_placeholders(rendered: RenderedDigest) -> None:
    found = set(PLACEHOLDER_RE.findall(rendered.html + rendered.text))
    assert found == {"NAME", "ADDRESS", "UNSUBSCRIBE_URL", "PREFERENCES_URL"}


Variant = Callable[[int], dict[str, str]]

VARIANTS: dict[str, Variant] = {
    "realistic": lambda i: {
        "title": f"Seoul expands programme number {i} across all twenty-five districts",
        "summary": "The city said the programme would reach every district by spring. " * 6,
        "image_url": f"https://news.example.org/images/{i}.jpg",
    },
    "korean": lambda i: {
        "title": "서울시 새 정책 발표 " * 20,
        "summary": "서울시는 이번 주 새로운 정책을 발표했다 " * 30,
        "url": f"https://news.example.org/기사/{i}/" + "경로/" * 20,
        "image_url": f"https://news.example.org/이미지/{i}.jpg",
    },
    "escaping": lambda i: {
        "title": '&"<>' * 60,
        "summary": "<&>" * 200,
        "url": f"https://news.example.org/a?b=1&c=2&d={i}",
    },
    "short": lambda i: {"title": f"Brief {i}", "summary": ""},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_three_hundred_articles_stay_under_the_limit(variant: str) -> None:
    make = VARIANTS[variant]
    articles = [
        stored(
            f"a{i}",
            topics=(CITY.topics[i % len(CITY.topics)],),
            published_at=WEEK.start + timedelta(minutes=30 * i),
            **make(i),
        )
        for i in range(300)
    ]
    content = build_digest(Settings(), CITY, WEEK, articles)
    assert content is not None
    result = render_digest(Settings(), content)
    assert len(result.html.encode()) < HTML_LIMIT
    assert content.more > 0
    assert "on the website" in result.html
    assert placeholder("UNSUBSCRIBE_URL") in result.html


def test_confirmation_mail() -> None:
    result = render_confirmation(Settings(), Settings().lists)
    assert "“International Relations Weekly” and “City Life Weekly”" in result.html
    for part in (result.html, result.text):
        assert placeholder("CONFIRM_URL") in part
        assert placeholder("UNSUBSCRIBE_URL") not in part
    assert all(rule.type == rule.MEDIA_RULE for rule in remaining_style_rules(result.html))
    with pytest.raises(ValueError):
        render_confirmation(Settings(), ())


def test_a_missing_list_template_is_an_operator_error() -> None:
    settings = Settings(lists=(replace(CITY, template="weekly-fancy"),))
    with pytest.raises(TemplateMissingError, match="'weekly-fancy.html' not found"):
        render_digest(settings, small_digest())


def test_many_topics_stay_under_the_limit() -> None:
    topics = tuple(Topic(f"topic-{n}", f"Topic number {n}") for n in range(30))
    wide = MailingList("wide", "Everything", tuple(t.slug for t in topics))
    settings = Settings(topics=topics, lists=(wide,))
    articles = [
        stored(
            f"a{i}",
            title=f"Seoul expands programme number {i} across all twenty-five districts",
            summary="The city said the programme would reach every district by spring. " * 6,
            topics=(topics[i % len(topics)].slug,),
            published_at=WEEK.start + timedelta(minutes=30 * i),
        )
        for i in range(300)
    ]
    content = build_digest(settings, wide, WEEK, articles)
    assert content is not None
    assert len(content.sections) == 30
    assert len(render_digest(settings, content).html.encode()) < HTML_LIMIT


def test_no_link_carries_a_bgcolor_attribute(rendered: RenderedDigest) -> None:
    """Issue 26 item 7: premailer turned the button's background-color into a bgcolor
    attribute on <a>, which HTML does not have (a Nu HTML checker error)."""
    confirmation = render_confirmation(Settings(), Settings().lists)
    for html in (rendered.html, confirmation.html):
        links = lxml.html.fromstring(html).iter("a")
        assert [a.get("href") for a in links if a.get("bgcolor") is not None] == []
    button = lxml.html.fromstring(confirmation.html).find_class("button")[0]
    assert "background:#0b5cad" in button.get("style").replace(" ", "")


def test_text_footer_says_what_the_list_is_like_the_html_one(rendered: RenderedDigest) -> None:
    """Issue 26 item 7: the HTML footer named the list's description, the text one not."""
    description = small_digest().list_description
    assert description
    footer = rendered.text.split("\n-- \n")[1]
    assert description in " ".join(footer.split())
    assert all(len(line) <= 72 for line in footer.splitlines() if "%%" not in line)
