"""The golden newsroom in three languages: each reader's digest shows each story in their
language where it has one, the English plainly marked where not (issue 30)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from syndication.core.retractions import link_to
from syndication.edges.transport import MemoryTransport
from syndication.errors import InputError
from syndication.services import articles, delivery
from syndication.services.digests import archive, compiling, preview
from syndication.settings import LanguageSettings, Settings
from syndication.store import approval as approval_store
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store import subscribers
from tests.support.builders import AFTER_WEEK, import_demo_articles, import_demo_translations
from tests.support.mail import html_part

LIST = "weekly-city"
WEEK = date(2026, 11, 18)
PERIOD = "2026-11-16"
KOREAN_TITLES = (
    "위례선 트램, 토요일부터 승객 운행 시작",
    "10월 초미세먼지 평균 농도, 측정 이래 가장 낮아",
)
ENGLISH_TRAM = "Wirye Line tram opens to passengers on Saturday"
ENGLISH_DUST = "ultrafine dust average is the lowest on record"
ENGLISH_LANTERNS = "서울빛초롱축제 opens on Cheonggyecheon"


def newsroom(settings: Settings, translations: str = "fallback") -> Settings:
    city = replace(settings.mailing_list(LIST), language="reader", translations=translations)
    return replace(
        settings,
        languages=LanguageSettings(
            available=("en", "ko", "ja"), fallback=(("ja", "en"), ("ko", "en"))
        ),
        lists=tuple(city if ml.slug == LIST else ml for ml in settings.lists),
    )


@pytest.fixture
def translated(settings: Settings, engine: Engine) -> Engine:
    import_demo_articles(settings, engine)
    import_demo_translations(settings, engine)
    with db.write_session(engine) as session:
        for address, locale in (
            ("kim@example.org", "ko,en"),
            ("ann@example.org", "en"),
            ("sato@example.org", "ja"),
        ):
            subscribers.add_subscriber(
                session, address, "", [LIST], confirmed=True, now=AFTER_WEEK, locale=locale
            )
    return engine


def send(settings: Settings, engine: Engine) -> dict[str, str]:
    """Compile the week and send it; each recipient's HTML part."""
    compiling.compile_digest(settings, engine, LIST, WEEK, AFTER_WEEK)
    sink = MemoryTransport()
    delivery.send_digests(
        settings, engine, workers=1, now=lambda: AFTER_WEEK, transport_factory=lambda: sink
    )
    return {sent.recipient: html_part(sent.message) for sent in sink.sent}


def test_a_korean_first_reader_gets_korean_where_it_exists_and_english_marked(
    settings: Settings, translated: Engine
) -> None:
    settings = newsroom(settings)
    korean = send(settings, translated)["kim@example.org"]
    for title in KOREAN_TITLES:
        assert title in korean
    # The same stories are not repeated in English...
    assert ENGLISH_TRAM not in korean and ENGLISH_DUST not in korean
    # ...and a story with no Korean is the English one, marked plainly, in Korean.
    assert ENGLISH_LANTERNS in korean
    assert '<div class="item" lang="en"' in korean
    assert '<p class="item-date" lang="ko"' in korean and ">영어 기사</p>" in korean
    assert "トラム" not in korean


def test_an_english_reader_gets_the_english_digest_with_no_korean_in_it(
    settings: Settings, translated: Engine
) -> None:
    settings = newsroom(settings)
    english = send(settings, translated)["ann@example.org"]
    assert ENGLISH_TRAM in english and ENGLISH_DUST in english
    for title in KOREAN_TITLES:
        assert title not in english
    assert 'lang="ko"' not in english and 'lang="ja"' not in english
    assert "In English" not in english and "기사" not in english
    assert english.count(ENGLISH_TRAM) == 1


def test_a_japanese_reader_falls_back_to_english_not_korean(
    settings: Settings, translated: Engine
) -> None:
    settings = newsroom(settings)
    japanese = send(settings, translated)["sato@example.org"]
    assert "ウィレ線トラム、土曜日に営業運転開始" in japanese
    assert "清渓川で「ソウル光の提灯祭り」開幕" in japanese
    assert ENGLISH_DUST in japanese  # no Japanese: the fallback (en), not the Korean
    assert KOREAN_TITLES[1] not in japanese
    assert ">In English</p>" in japanese


def test_only_leaves_untranslated_stories_out(settings: Settings, translated: Engine) -> None:
    settings = newsroom(settings, translations="only")
    bodies = send(settings, translated)
    korean, english = bodies["kim@example.org"], bodies["ann@example.org"]
    for title in KOREAN_TITLES:
        assert title in korean
    assert ENGLISH_LANTERNS not in korean and "영어 기사" not in korean
    assert "이번 호에는 기사 2건이 실렸습니다." in korean
    assert ENGLISH_LANTERNS in english and ENGLISH_TRAM in english


def test_the_archive_shows_the_primary_copy(settings: Settings, translated: Engine) -> None:
    settings = newsroom(settings)
    send(settings, translated)
    page = archive.archive_copy(settings, translated, LIST, "2026-11-16")
    assert page is not None
    assert '<html lang="en"' in page
    assert ENGLISH_TRAM in page
    for title in KOREAN_TITLES:
        assert title not in page


def test_each_copy_links_and_is_its_own_archive_page(
    settings: Settings, translated: Engine
) -> None:
    """A reader's "view in your browser" leads to the copy they got; the archive shows
    each language's copy under the main copy's rules and lists them in the settings'
    order."""
    settings = newsroom(settings)
    bodies = send(settings, translated)
    canonical = f"{settings.site.base_url}/digests/{LIST}/{PERIOD}"
    assert f'href="{canonical}/ko"' in bodies["kim@example.org"]
    assert f'href="{canonical}/ja"' in bodies["sato@example.org"]
    assert f'href="{canonical}"' in bodies["ann@example.org"]
    assert f"{canonical}/" not in bodies["ann@example.org"]
    [entry] = archive.archive_index(settings, translated)
    assert entry[:2] == (LIST, PERIOD) and entry.languages == ("ko", "ja")
    korean = archive.archive_copy(settings, translated, LIST, PERIOD, "ko")
    assert korean is not None and '<html lang="ko"' in korean
    assert KOREAN_TITLES[0] in korean and ENGLISH_TRAM not in korean
    assert "%%SYNDICATION" not in korean and f'href="{canonical}/ko"' in korean
    for other in ("en", "fr", "ko-KR"):  # the main copy's, not offered, not as configured
        assert archive.archive_copy(settings, translated, LIST, PERIOD, other) is None, other
    # Retracted since: the Korean copy shows the notice in the translation's place.
    url = "https://www.seoul.example/ko/news/smg-3936"
    assert link_to(url) in korean
    articles.retract(translated, "smg-3936-ko", "오류", AFTER_WEEK, reason_required=True)
    korean = archive.archive_copy(settings, translated, LIST, PERIOD, "ko")
    assert korean is not None and link_to(url) not in korean and "오류" in korean
    # A private list's, or held or cancelled (as the store keeps them; a digest sent to
    # everyone can no longer be held from the console): no copy in any language.
    private = replace(settings.mailing_list(LIST), archive="private")
    hidden = replace(settings, lists=(private,))
    assert archive.archive_copy(hidden, translated, LIST, PERIOD, "ko") is None
    for state in ("held", "cancelled"):
        with db.write_session(translated) as session:
            found = digest_store.find_digest(session, LIST, PERIOD)
            assert found is not None
            approval_store.set_state(session, found.digest_id, state, AFTER_WEEK, "op")
        assert archive.archive_index(settings, translated) == [], state
        for language in ("ko", "ja"):
            assert archive.archive_copy(settings, translated, LIST, PERIOD, language) is None


def test_preview_one_language(settings: Settings, translated: Engine, tmp_path: Path) -> None:
    settings = newsroom(settings)
    report = preview.preview_digest(
        settings, translated, LIST, WEEK, None, tmp_path, lambda: AFTER_WEEK, language="ko-KR"
    )
    assert report.language == "ko"
    html = (tmp_path / "digest.html").read_text()
    assert KOREAN_TITLES[0] in html and "영어 기사" in html
    text = (tmp_path / "digest.txt").read_text()
    assert "[영어 기사]" in text
    assert b"\r\nContent-Language: ko\r\n" in (tmp_path / "message.eml").read_bytes()
    with pytest.raises(InputError, match=r"'fr': not one of this newsroom's languages"):
        preview.preview_digest(
            settings, translated, LIST, WEEK, None, tmp_path, lambda: AFTER_WEEK, language="fr"
        )
    with pytest.raises(InputError, match="--language 'k!'"):
        preview.preview_digest(
            settings, translated, LIST, WEEK, None, tmp_path, lambda: AFTER_WEEK, language="k!"
        )
    fixed = replace(settings, lists=(replace(settings.mailing_list(LIST), language="en"),))
    with pytest.raises(InputError, match='only a "reader" list has other copies'):
        preview.preview_digest(
            fixed, translated, LIST, WEEK, None, tmp_path, lambda: AFTER_WEEK, language="ko"
        )


def test_a_fixed_language_list_chooses_for_its_language(
    settings: Settings, translated: Engine
) -> None:
    city = replace(settings.mailing_list(LIST), language="ko")
    settings = replace(
        newsroom(settings), lists=tuple(city if ml.slug == LIST else ml for ml in settings.lists)
    )
    bodies = send(settings, translated)
    assert set(bodies) == {"kim@example.org", "ann@example.org", "sato@example.org"}
    for body in bodies.values():
        assert KOREAN_TITLES[0] in body and ENGLISH_TRAM not in body
