"""The public digest archive over HTTP in each language of a "reader" list (issue 30): the
app served by uvicorn, a digest compiled and sent to a Korean and an English reader, and
each reader's "view in your browser" link followed from the message they were sent."""

from __future__ import annotations

import email
import http.client
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import LanguageSettings, Settings
from syndication.store import approval as approval_store
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store import subscribers
from tests.support.browser import serving
from tests.support.builders import (
    AFTER_WEEK,
    add_korean_and_english_readers,
    import_demo_articles,
    import_demo_translations,
)
from tests.support.outbox import PERIOD, WEEK

LIST = "weekly-city"
CANONICAL = f"/digests/{LIST}/{PERIOD}"
KOREAN_TRAM = "위례선 트램, 토요일부터 승객 운행 시작"
ENGLISH_TRAM = "Wirye Line tram opens to passengers on Saturday"


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str


def get(url: str) -> Answer:
    """``GET url`` over HTTP, redirects not followed (header names in lower case)."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, response.read().decode())
    finally:
        connection.close()


@dataclass(frozen=True)
class Archive:
    settings: Settings
    engine: Engine

    def get(self, path: str) -> Answer:
        return get(self.settings.site.base_url + path)

    def link_in_mail(self, address: str) -> str:
        """The "view in your browser" link of the digest ``address`` was sent."""
        folder = self.settings.mail.outbox_dir / LIST / PERIOD
        message = email.message_from_bytes((folder / f"{address}.eml").read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        finder = LinkFinder("brief-link")
        finder.feed(str(part.get_content()))
        [link] = finder.found
        return link

    def set_state(self, state: str) -> None:
        with db.write_session(self.engine) as session:
            found = digest_store.find_digest(session, LIST, PERIOD)
            assert found is not None
            approval_store.set_state(session, found.digest_id, state, AFTER_WEEK, "op")


class LinkFinder(HTMLParser):
    """The ``href`` of each ``<a>`` of a class."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and self.css_class in (values.get("class") or "").split():
            self.found.append(values.get("href") or "")


def newsroom(settings: Settings, available: tuple[str, ...]) -> Settings:
    """``settings`` with the city list written in each reader's language."""
    city = replace(settings.mailing_list(LIST), language="reader")
    return replace(
        settings,
        languages=LanguageSettings(
            available=available, fallback=(("ko", "en"),), names=(("ko", "한국어판"),)
        ),
        lists=tuple(city if ml.slug == LIST else ml for ml in settings.lists),
    )


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Archive]:
    """The week compiled in English and Korean and sent to a reader of each; the app
    serves a newsroom that has added Japanese since (so "ja" is offered, with no copy)."""
    import_demo_articles(settings, engine)
    import_demo_translations(settings, engine)
    add_korean_and_english_readers(engine, LIST)
    with serving(newsroom(settings, ("en", "ko", "ja")), engine) as (_, served):
        then = replace(served, languages=replace(served.languages, available=("en", "ko")))
        compiling.compile_digest(then, engine, LIST, WEEK, AFTER_WEEK)
        assert delivery.send_digests(then, engine, workers=1, now=lambda: AFTER_WEEK).sent == 2
        yield Archive(served, engine)


def test_the_korean_readers_link_opens_the_korean_copy(site: Archive) -> None:
    base = site.settings.site.base_url
    korean_link = site.link_in_mail("kim@example.org")
    assert korean_link == f"{base}{CANONICAL}/ko"
    assert site.link_in_mail("ann@example.org") == f"{base}{CANONICAL}"
    korean = get(korean_link)
    english = get(site.link_in_mail("ann@example.org"))
    assert korean.status_code == english.status_code == 200
    assert '<html lang="ko"' in korean.text and '<html lang="en"' in english.text
    assert KOREAN_TRAM in korean.text and ENGLISH_TRAM not in korean.text
    assert ENGLISH_TRAM in english.text and KOREAN_TRAM not in english.text
    # Its own "view in your browser" link is itself; no reader's placeholder is left.
    assert f'href="{korean_link}"' in korean.text and "%%SYNDICATION" not in korean.text
    for header in ("cache-control", "content-security-policy"):
        assert korean.headers[header] == english.headers[header], header
    assert korean.headers["cache-control"] == "public, max-age=300"


def test_a_tag_with_no_copy_is_a_404_and_the_main_copys_a_redirect(site: Archive) -> None:
    # Offered but no copy (ja), not offered (fr), not as configured (KO, ko-KR), junk, NUL.
    for tag in ("ja", "fr", "KO", "ko-KR", "x" * 300, "%00", "ko%00"):
        response = site.get(f"{CANONICAL}/{tag}")
        assert response.status_code == 404, tag
        assert "No such digest" in response.text, tag
    assert site.get(f"/digests/{LIST}/2026-11-23/ko").status_code == 404
    assert site.get(f"/digests/{LIST}/2026-11-1%00/ko").status_code == 404
    assert site.get(f"/digests/no-such-list/{PERIOD}/ko").status_code == 404
    moved = site.get(f"{CANONICAL}/en")
    assert moved.status_code == 308 and moved.headers["location"] == CANONICAL
    assert moved.headers["cache-control"] == "public, max-age=300"
    assert '<html lang="en"' in site.get(moved.headers["location"]).text


def test_held_cancelled_or_private_is_a_404_in_every_language(site: Archive) -> None:
    addresses = (CANONICAL, f"{CANONICAL}/ko", f"{CANONICAL}/en")
    assert [site.get(a).status_code for a in addresses] == [200, 200, 308]
    for state in ("held", "cancelled"):
        site.set_state(state)
        assert [site.get(a).status_code for a in addresses] == [404] * 3, state
        assert CANONICAL not in site.get("/digests/").text, state


def test_a_private_lists_copies_are_404s(settings: Settings, engine: Engine) -> None:
    private = replace(newsroom(settings, ("en", "ko")).mailing_list(LIST), archive="private")
    settings = replace(newsroom(settings, ("en", "ko")), lists=(private,))
    import_demo_articles(settings, engine)
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "kim@example.org", "", [LIST], confirmed=True, now=AFTER_WEEK, locale="ko"
        )
    with serving(settings, engine) as (base, served):
        compiling.compile_digest(served, engine, LIST, WEEK, AFTER_WEEK)
        assert delivery.send_digests(served, engine, workers=1, now=lambda: AFTER_WEEK).sent == 1
        for tag in ("", "/ko", "/en"):
            assert get(f"{base}{CANONICAL}{tag}").status_code == 404, tag


def test_the_index_links_each_copy_in_its_language(site: Archive) -> None:
    index = site.get("/digests/")
    assert index.status_code == 200
    assert f'<a href="{CANONICAL}">' in index.text
    korean = f'<a href="{CANONICAL}/ko" hreflang="ko" lang="ko">한국어판</a>'
    assert korean in index.text
    assert f"{CANONICAL}/ja" not in index.text and f"{CANONICAL}/en" not in index.text
    assert "다른 언어로 보기:" in site.get("/digests/?lang=ko").text


def test_a_reader_with_no_name_is_greeted_in_the_copys_language(site: Archive) -> None:
    """The greeting's sentence was translated around an English fallback: a Korean reader
    who gave no name got "there님, 안녕하세요." in their mail, and the Korean archive copy
    said "you 주소로" in its footer. Both words now come from the copy's catalog."""
    folder = site.settings.mail.outbox_dir / LIST / PERIOD
    for address, greeting in (
        ("kim@example.org", "구독자님, 안녕하세요."),
        ("ann@example.org", "Hello there,"),
    ):
        message = email.message_from_bytes((folder / f"{address}.eml").read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        for kind in ("plain", "html"):
            part = message.get_body(preferencelist=(kind,))
            assert part is not None
            content = str(part.get_content())
            assert greeting in content and "there님" not in content, (address, kind)
    korean = get(site.link_in_mail("kim@example.org")).text
    english = get(site.link_in_mail("ann@example.org")).text
    assert "구독자님, 안녕하세요." in korean and "구독자 주소로" in korean
    assert "there" not in korean and "you 주소로" not in korean
    assert "Hello there," in english and "because you subscribed" in english
