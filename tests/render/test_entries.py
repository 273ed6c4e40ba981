"""Entry fragments: documents assembled from them are the bytes feedgen writes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from feedgen.util import formatRFC2822

from syndication.core import entries as entry_model
from syndication.core import feeds
from syndication.core.articles import StoredArticle
from syndication.render import entries
from syndication.render import feeds as feedwriter
from syndication.settings import FeedSettings, LanguageSettings, Settings, Topic
from tests.support.builders import stored_article

SETTINGS = Settings()
HUB = replace(SETTINGS, feeds=FeedSettings(websub_hub="https://hub.example.org/"))
NOV = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def varied() -> list[StoredArticle]:
    """Markup in plain text, control characters, newlines in the body, no author, an
    image, Korean, two topics, a topic without a name, other languages, a retraction."""
    odd = [
        stored_article("smg-ctl", title='Control\x00\x1b <b>chars</b> & "q"', summary="a\x0cb"),
        stored_article("smg-html", body_html="<p><b>unclosed <div><td>cell</p>\n\n  more</i>"),
        stored_article("smg-nbsp", title="Fine&nbsp;dust", body_html="<p>a&nbsp;b</p>", author=""),
        stored_article("smg-img", title="축제 🎆", summary="🎉", image_url="https://x.org/a.png"),
        stored_article("smg-two", topics=("culture", "transport", "unnamed")),
        # Another language than the site's says so per entry (issue 26 item 6): a stored
        # tag in any case, and the site's own in another case (which does not).
        stored_article("smg-ko", title="서울 소식", language="ko"),
        stored_article("smg-hant", title="首爾新聞", language="zh-hant"),
        stored_article("smg-EN", language="EN"),
        stored_article(
            "smg-gone",
            status="retracted",
            retracted_at=NOV + timedelta(days=90),
            retraction_reason="Wrong figures.",
        ),
    ]
    return [replace(a, published_at=NOV + timedelta(days=20 * i)) for i, a in enumerate(odd)]


def settings_with_unnamed_topic(settings: Settings) -> Settings:
    return replace(settings, topics=(*settings.topics, Topic("unnamed", "", "")))


@pytest.mark.parametrize("settings", [SETTINGS, HUB], ids=["plain", "hub"])
@pytest.mark.parametrize("key", ["all", "culture"])
def test_assembled_documents_are_the_bytes_feedgen_writes(settings: Settings, key: str) -> None:
    settings = settings_with_unnamed_topic(settings)
    articles = [a for a in varied() if key == feeds.ALL or key in a.topics]
    documents = feeds.all_documents(settings, key, articles)
    assert {d.kind for d in documents} == {feeds.RSS, feeds.ATOM, feeds.JSON, feeds.ARCHIVE}
    for document in documents:
        kind = feeds.ATOM if document.kind == feeds.ARCHIVE else document.kind
        fragments = [entries.fragment(entry, kind, document.language) for entry in document.entries]
        assembled = feedwriter.assemble(replace(document, entries=()), fragments)
        assert assembled == feedwriter.render(document), document.path


def test_a_document_without_entries_is_rendered_whole() -> None:
    (rss, atom, json_feed) = feeds.subscription_documents(SETTINGS, "culture", [], [], None)
    for document in (rss, atom, json_feed):
        assert feedwriter.assemble(document, []) == feedwriter.render(document)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 4, 9, 5, 7, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=9))),
        datetime(1999, 12, 31, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
def test_rfc2822_dates_match_feedgen_without_touching_the_locale(moment: datetime) -> None:
    assert entries.rfc2822(moment) == formatRFC2822(moment)


def test_an_unknown_format_is_refused() -> None:
    entry = entry_model.entry_for(SETTINGS, stored_article())
    with pytest.raises(ValueError, match="unknown entry format"):
        entries.fragment(entry, feeds.ARCHIVE, "en")


AWKWARD = ["&", "<", ">", '"', "'", "\r", "\n", "\t", " ", "]]>", "&amp;", "서울", "🎆", "a"]
AWKWARD.append("\x0b")  # not XML: removed before any format sees it


def awkward_text(rng: random.Random) -> str:
    return "".join(rng.choice(AWKWARD) for _ in range(rng.randint(1, 8)))


def test_text_and_attributes_are_escaped_as_feedgen_escapes_them() -> None:
    # The Atom fragment is written as text, not through lxml (issue 16): every character
    # that libxml2 escapes somewhere (text, attribute), in every field, gives the bytes
    # feedgen writes.
    rng = random.Random(16)
    topics = tuple(Topic(f"t{n}", f"a{awkward_text(rng)}z", "") for n in range(12))
    settings = replace(SETTINGS, topics=topics)
    articles = [
        replace(
            stored_article(f"odd-{n}", topics=tuple(t.slug for t in rng.sample(topics, 2))),
            title=awkward_text(rng),
            summary=awkward_text(rng),
            author=awkward_text(rng),
            body_html=f"<p title='{awkward_text(rng)}'>{awkward_text(rng)}</p>",
            url=f"https://x.org/a?b=1&c={n}",
            image_url=f"https://x.org/i.png?a=1&b={n}",
            published_at=NOV + timedelta(minutes=n),
        )
        for n in range(60)
    ]
    # No topic the settings know: no categories, an empty "tags" list.
    articles[-1] = replace(articles[-1], topics=("gone",))
    labels = "".join(t.name for t in topics)
    assert all(ch in labels for ch in AWKWARD if ch != "\x0b")  # each one in an attribute
    for document in feeds.all_documents(settings, feeds.ALL, articles):
        kind = feeds.ATOM if document.kind == feeds.ARCHIVE else document.kind
        fragments = [entries.fragment(entry, kind, document.language) for entry in document.entries]
        assembled = feedwriter.assemble(replace(document, entries=()), fragments)
        assert assembled == feedwriter.render(document), document.path


@pytest.mark.parametrize("key", ["culture", "ko/culture"])
def test_translation_links_are_the_bytes_feedgen_writes(key: str) -> None:
    # Issue 30: hreflang links in Atom, atom:link in RSS, _translations in JSON Feed.
    settings = replace(SETTINGS, languages=LanguageSettings(available=("en", "ko")))
    links = (
        entry_model.Translation("ja", 'https://x.org/ja?a=1&b="2"'),
        entry_model.Translation("ko", "https://x.org/ko"),
    )
    for document in feeds.all_documents(settings, key, varied()):
        linked = tuple(replace(e, translations=links) for e in document.entries)
        document = replace(document, entries=linked)
        kind = feeds.ATOM if document.kind == feeds.ARCHIVE else document.kind
        fragments = [entries.fragment(entry, kind, document.language) for entry in linked]
        assembled = feedwriter.assemble(replace(document, entries=()), fragments)
        assert assembled == feedwriter.render(document), document.path
        assert b'hreflang="ja"' in assembled or b'"_translations"' in assembled
