"""The console's digest page and test send for each language's copy of a "reader" list's
digest (issue 30), over HTTP against the real app and database: the week compiled in
English and Korean, sent to a reader of each, and the console's Korean copy compared with
the message the Korean reader was sent."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from html import unescape

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.edges.transport import MemoryTransport
from syndication.render.email import unknown_reader
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import LanguageSettings, Settings
from tests.support.builders import (
    AFTER_WEEK,
    add_korean_and_english_readers,
    import_demo_articles,
    import_demo_translations,
)
from tests.support.console import Clock, client_for, sign_in
from tests.support.outbox import PERIOD, WEEK

LIST = "weekly-city"
DIGEST = f"/admin/digests/{LIST}/{PERIOD}"
KOREAN_TRAM = "위례선 트램, 토요일부터 승객 운행 시작"
ENGLISH_TRAM = "Wirye Line tram opens to passengers on Saturday"


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return str(body.get_content())


@dataclass(frozen=True)
class Newsroom:
    settings: Settings
    engine: Engine
    client: TestClient
    sent: dict[str, EmailMessage]  # the digest each reader was sent, by address

    def header(self, page: str, name: str) -> str:
        """A header of the sample message as the page lists it."""
        found = re.search(rf"<dt>{name}</dt><dd>([^<]*)</dd>", page)
        assert found, f"no {name} header on the page"
        return unescape(found.group(1))


def compiled_in_two_languages(web_settings: Settings, app_engine: Engine) -> Settings:
    """The city list written in each reader's language, English and Korean; its week
    compiled for a Korean and an English reader (not sent yet)."""
    city = replace(web_settings.mailing_list(LIST), language="reader")
    settings = replace(
        web_settings,
        languages=LanguageSettings(available=("en", "ko")),
        lists=tuple(city if ml.slug == LIST else ml for ml in web_settings.lists),
    )
    import_demo_articles(settings, app_engine)
    import_demo_translations(settings, app_engine)
    add_korean_and_english_readers(app_engine, LIST)
    compiling.compile_digest(settings, app_engine, LIST, WEEK, AFTER_WEEK)
    return settings


@pytest.fixture
def newsroom(web_settings: Settings, app_engine: Engine, clock: Clock) -> Iterator[Newsroom]:
    """:func:`compiled_in_two_languages`, sent to both readers."""
    settings = compiled_in_two_languages(web_settings, app_engine)
    sink = MemoryTransport()
    delivery.send_digests(
        settings, app_engine, workers=1, now=lambda: AFTER_WEEK, transport_factory=lambda: sink
    )
    sent = {envelope.recipient: parse(envelope.message) for envelope in sink.sent}
    assert set(sent) == {"kim@example.org", "ann@example.org"}
    with client_for(settings, app_engine, clock) as client:
        yield Newsroom(settings, app_engine, client, sent)


def test_the_page_shows_the_korean_copy_as_the_korean_reader_got_it(newsroom: Newsroom) -> None:
    sign_in(newsroom.client, "viewer@example.org")
    korean = newsroom.client.get(f"{DIGEST}?language=ko")
    english = newsroom.client.get(DIGEST)
    assert korean.status_code == english.status_code == 200
    kim, ann = newsroom.sent["kim@example.org"], newsroom.sent["ann@example.org"]
    assert str(kim["subject"]) != str(ann["subject"])
    for page, got in ((korean.text, kim), (english.text, ann)):
        for name in ("Subject", "Content-Language", "List-Id", "From"):
            assert newsroom.header(page, name) == str(got[name]), name
    assert newsroom.header(korean.text, "Content-Language") == "ko"
    assert newsroom.header(english.text, "Content-Language") == "en"
    # The text part as the Korean reader got it, its greeting neutral (no name to hand).
    text = korean.text[korean.text.index('<pre class="text"') :]
    assert 'lang="ko"' in text[: text.index(">")]
    assert KOREAN_TRAM in text and ENGLISH_TRAM not in text
    assert KOREAN_TRAM in part(kim, "plain") and ENGLISH_TRAM in english.text
    # The frame shows the Korean copy's HTML; the main page frames the main copy.
    assert f'src="{DIGEST}/preview?language=ko"' in korean.text
    assert f'src="{DIGEST}/preview"' in english.text
    preview = newsroom.client.get(f"{DIGEST}/preview?language=ko")
    assert preview.status_code == 200 and '<html lang="ko"' in preview.text
    assert KOREAN_TRAM in preview.text and "%%SYNDICATION" not in preview.text
    greeting = unknown_reader("ko").name
    assert greeting != unknown_reader("en").name and greeting in preview.text
    assert ENGLISH_TRAM in newsroom.client.get(f"{DIGEST}/preview").text


def test_the_language_choice_links_each_copy_and_marks_the_one_shown(
    newsroom: Newsroom,
) -> None:
    sign_in(newsroom.client, "viewer@example.org")
    page = newsroom.client.get(f"{DIGEST}?language=ko").text
    choice = page[page.index('<nav class="copies"') : page.index("</nav>", page.index("copies"))]
    links = re.findall(r"<a [^>]*>[^<]*</a>", choice)
    assert links == [
        f'<a href="{DIGEST}" hreflang="en" lang="en">English</a>',
        f'<a href="{DIGEST}?language=ko" hreflang="ko" lang="ko" aria-current="page">한국어</a>',
    ]
    main = newsroom.client.get(DIGEST).text
    assert 'hreflang="en" lang="en" aria-current="page">English</a>' in main
    # The main copy's own tag is the main copy too.
    assert newsroom.client.get(f"{DIGEST}?language=en").text.count('aria-current="page"') == 1


def test_a_tag_with_no_copy_is_a_404_never_a_500(newsroom: Newsroom) -> None:
    sign_in(newsroom.client, "viewer@example.org")
    # Not offered (fr), not as configured (KO, ko-KR), junk, a control character.
    for tag in ("fr", "KO", "ko-KR", "x" * 300, "ko%0A", "%FF"):
        for path in (DIGEST, f"{DIGEST}/preview"):
            response = newsroom.client.get(f"{path}?language={tag}")
            assert response.status_code == 404, (path, tag)
            assert "no copy in" in response.text, (path, tag)
    assert newsroom.client.get(f"{DIGEST}?language=ko%00").status_code == 400


def test_a_list_in_one_language_has_no_other_copy_and_no_choice(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    # The newsroom offers Korean, but this list is written in English for every reader.
    settings = replace(web_settings, languages=LanguageSettings(available=("en", "ko")))
    import_demo_articles(settings, app_engine)
    import_demo_translations(settings, app_engine)
    compiling.compile_digest(settings, app_engine, LIST, WEEK, AFTER_WEEK)
    with client_for(settings, app_engine, clock) as client:
        sign_in(client, "viewer@example.org")
        page = client.get(DIGEST)
        assert page.status_code == 200 and 'class="copies"' not in page.text
        assert client.get(f"{DIGEST}?language=ko").status_code == 404


def test_the_test_send_of_the_korean_copy_mails_what_korean_readers_get(
    newsroom: Newsroom,
) -> None:
    client = newsroom.client
    token = sign_in(client, "op@example.org")
    page = client.get(f"{DIGEST}?language=ko").text
    assert '<input type="hidden" name="language" value="ko">' in page
    assert 'Send a test of the <span lang="ko">한국어</span> copy to' in page
    response = client.post(
        f"{DIGEST}/test",
        data={"csrf": token, "email": "editor@example.org", "language": "ko"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{DIGEST}?language=ko&done=test"
    [file] = (newsroom.settings.mail.outbox_dir / "tests").rglob("*.eml")
    test = parse(file.read_bytes())
    kim = newsroom.sent["kim@example.org"]
    assert str(test["subject"]) == "[TEST] " + str(kim["subject"])
    assert str(test["content-language"]) == "ko"
    assert test["message-id"] != kim["message-id"]
    html = part(test, "html")
    assert KOREAN_TRAM in html and ENGLISH_TRAM not in html
    # The test address has no name: greeted with the Korean copy's own words.
    assert unknown_reader("ko").name in html
    # The audit record names the copy, and the page says the test went.
    after = client.get(response.headers["location"]).text
    assert "Test sent" in after and "the ko copy" in after
    # The main copy, tested from the main page, is English.
    client.post(f"{DIGEST}/test", data={"csrf": token, "email": "editor@example.org"})
    english = [
        parse(f.read_bytes())
        for f in (newsroom.settings.mail.outbox_dir / "tests").rglob("*.eml")
        if f != file
    ]
    assert [str(m["content-language"]) for m in english] == ["en"]
    assert "the en copy" in client.get(DIGEST).text


def test_a_test_send_of_a_copy_there_is_not_is_a_404_and_sends_nothing(
    newsroom: Newsroom,
) -> None:
    token = sign_in(newsroom.client, "op@example.org")
    for tag in ("fr", "KO", "x" * 300):
        response = newsroom.client.post(
            f"{DIGEST}/test", data={"csrf": token, "email": "editor@example.org", "language": tag}
        )
        assert response.status_code == 404, tag
    assert not list((newsroom.settings.mail.outbox_dir / "tests").rglob("*.eml"))


def test_hold_and_resume_return_to_the_copy_the_operator_was_looking_at(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    settings = compiled_in_two_languages(web_settings, app_engine)
    with client_for(settings, app_engine, clock) as client:
        token = sign_in(client, "op@example.org")
        korean = client.get(f"{DIGEST}?language=ko").text
        hidden = '<input type="hidden" name="language" value="ko">'
        hold_form = re.search(rf'action="{DIGEST}/hold">(.*?)</form>', korean)
        assert hold_form and hidden in hold_form.group(1)
        held = client.post(
            f"{DIGEST}/hold", data={"csrf": token, "language": "ko"}, follow_redirects=False
        )
        assert held.status_code == 303
        assert held.headers["location"] == f"{DIGEST}?language=ko&done=hold"
        page = client.get(held.headers["location"]).text
        resume_form = re.search(rf'action="{DIGEST}/resume">(.*?)</form>', page)
        assert resume_form and hidden in resume_form.group(1)
        resumed = client.post(
            f"{DIGEST}/resume", data={"csrf": token, "language": "ko"}, follow_redirects=False
        )
        assert resumed.headers["location"] == f"{DIGEST}?language=ko&done=resume"
        # From the main copy's page: no hidden field, back to the main copy.
        main = client.get(DIGEST).text
        assert hidden not in main
        cancelled = client.post(f"{DIGEST}/cancel", data={"csrf": token}, follow_redirects=False)
        assert cancelled.headers["location"] == f"{DIGEST}?done=cancel"
