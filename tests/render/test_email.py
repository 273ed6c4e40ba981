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


def test_images_have_alt_width_and_absolute_src(rendered: RenderedDigest) -> None:
    images = list(lxml.html.fromstring(rendered.html).iter("img"))
    assert images
    for image in images:
        assert image.get("alt")
        assert image.get("width") == "536"
        assert image.get("src", "").startswith("https://")


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
