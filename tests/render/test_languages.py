"""A digest's fixed strings and dates in its list's language; catalogs as shipped (issue 30)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from babel.messages.pofile import read_po

from syndication.core import mime as mail
from syndication.core.digests import build_digest
from syndication.core.placeholders import PLACEHOLDERS, RenderedDigest
from syndication.render import i18n
from syndication.render.email import digest_words, render_confirmation, render_digest
from syndication.settings import LanguageSettings, Settings
from tests.support.builders import CITY, WEEK, stored

KOREAN_CITY = replace(CITY, language="ko")


def bilingual() -> Settings:
    settings = Settings()
    return replace(
        settings,
        languages=LanguageSettings(available=("en", "ko")),
        lists=tuple(KOREAN_CITY if ml.slug == CITY.slug else ml for ml in settings.lists),
    )


def korean_digest() -> tuple[Settings, str, str, str]:
    settings = bilingual()
    articles = [
        stored(f"smg-{n}", published_at=datetime(2026, 11, 18, n, tzinfo=UTC)) for n in range(3)
    ]
    content = build_digest(
        settings, KOREAN_CITY, WEEK, articles, digest_words(settings, KOREAN_CITY)
    )
    assert content is not None
    rendered = render_digest(settings, content)
    return settings, content.subject, rendered.html, rendered.text


def test_a_korean_lists_digest_has_korean_strings_and_cldr_dates() -> None:
    settings, subject, html, text = korean_digest()
    assert subject == f"{CITY.name}: 2026년 11월 16일~23일"
    assert '<html lang="ko" dir="ltr">' in html
    assert "이번 호에는 기사 3건이 실렸습니다." in html
    assert "11월 18일 (수)" in html  # each article's day, CLDR's MMMEd
    assert f"{PLACEHOLDERS['name']}님, 안녕하세요." in text
    assert "구독 해지: " + PLACEHOLDERS["unsubscribe_url"] in text
    assert "Read the article" not in html and "Unsubscribe" not in text
    for english in ("Hello", "This issue has", "Manage your preferences"):
        assert english not in html
    # The message says its language (RFC 3282).
    template = mail.digest_template(
        settings, KOREAN_CITY, "2026-11-16", render_digest_again(settings), WEEK.end
    )
    assert b"\r\nContent-Language: ko\r\n" in template.data


def render_digest_again(settings: Settings) -> RenderedDigest:
    articles = [stored("smg-1")]
    content = build_digest(
        settings, KOREAN_CITY, WEEK, articles, digest_words(settings, KOREAN_CITY)
    )
    assert content is not None
    return render_digest(settings, content)


def test_the_preheader_counts_in_the_lists_language() -> None:
    settings = bilingual()
    content = build_digest(
        settings, KOREAN_CITY, WEEK, [stored("smg-1")], digest_words(settings, KOREAN_CITY)
    )
    assert content is not None
    assert content.preheader.startswith("기사 1건: ")
    english = build_digest(Settings(), CITY, WEEK, [stored("a"), stored("b")])
    assert english is not None
    assert english.preheader.startswith("2 articles: ")
    assert english.period_label == "16–23 November 2026"


def test_the_confirmation_mail_in_korean() -> None:
    settings = bilingual()
    rendered = render_confirmation(settings, settings.lists, "ko")
    assert rendered.subject == f"{settings.site.title} 구독을 확인해 주세요"
    assert '<html lang="ko" dir="ltr">' in rendered.html
    assert "네, 구독하겠습니다" in rendered.html
    assert f"‘{settings.lists[0].name}’, ‘{settings.lists[1].name}’" in rendered.preheader
    template = mail.confirmation_template(settings, rendered, WEEK.end, "ko")
    assert b"\r\nContent-Language: ko\r\n" in template.data
    english = render_confirmation(Settings(), Settings().lists)
    assert english.subject == f"Please confirm your subscription to {Settings().site.title}"
    names = [ml.name for ml in Settings().lists]
    assert english.preheader == f"One click and you will receive “{names[0]}” and “{names[1]}”."


def test_every_shipped_catalog_compiles_and_korean_is_complete() -> None:
    assert set(i18n.catalog_languages()) >= {"en", "ko"}
    for language in i18n.catalog_languages():
        folder = i18n.LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES"
        assert i18n.compile_po(folder / "messages.po", language)
    with (i18n.LOCALE_DIR / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    untranslated = [m.id for m in catalog if m.id and not all(_strings(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    # Placeholders survive translation (a missing %(name)s would drop the reader's name).
    for message in catalog:
        if not message.id:
            continue
        wanted = set(_names(_strings(message.id)[-1]))
        for string in _strings(message.string):
            assert set(_names(string)) == wanted, message.id


def _strings(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A message's id or string as a tuple (one entry, or one per plural form)."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def _names(text: str) -> list[str]:
    return re.findall(r"%\((\w+)\)s", text)
