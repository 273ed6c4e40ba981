"""The public pages in the reader's language (issue 30): Accept-Language, the switch and
its cookie, the subscriber's own languages, the forms' language choice, lang and dir."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.core.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from syndication.services import subscribers as services
from syndication.settings import LanguageSettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.web.app import create_app

BASE = "https://news.example.org"


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        site=replace(settings.site, base_url=BASE),
        languages=LanguageSettings(available=("en", "ko", "ar")),
    )


@pytest.fixture
def client(web_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, engine)) as test_client:
        yield test_client


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match
    return match.group(0)


def add(engine: Engine, address: str, now: datetime, locale: str) -> int:
    with db.write_session(engine) as session:
        result = subscribers.add_subscriber(
            session, address, "", ["weekly-city"], confirmed=True, now=now, locale=locale
        )
    return result.subscriber_id


def confirmation_mails(settings: Settings) -> list[EmailMessage]:
    folder = settings.mail.outbox_dir / "confirmations"
    files = sorted(folder.rglob("*.eml")) if folder.is_dir() else []
    return [email.message_from_bytes(path.read_bytes(), policy=default) for path in files]


def test_the_home_page_follows_accept_language_with_q_values(client: TestClient) -> None:
    page = client.get("/", headers={"accept-language": "fr;q=1, ko-KR;q=0.8, en;q=0.5"})
    assert html_tag(page.text) == '<html lang="ko" dir="ltr">'
    assert page.headers["content-language"] == "ko"
    assert "주간 소식지를 이메일로 받아 보세요" in page.text
    # The form's language choice defaults to the page's, each named in its own words.
    assert '<option value="ko" lang="ko" selected>한국어</option>' in page.text
    assert '<option value="en" lang="en">English</option>' in page.text
    # The switch names every language and marks the current one.
    assert '<a href="/?lang=en" hreflang="en" lang="en">English</a>' in page.text
    assert 'hreflang="ko" lang="ko" aria-current="page">한국어</a>' in page.text
    english = client.get("/", headers={"accept-language": "de, en-GB;q=0.9"})
    assert html_tag(english.text) == '<html lang="en" dir="ltr">'
    assert "Get the weekly digest by e-mail" in english.text
    nothing = client.get("/", headers={"accept-language": "de"})
    assert html_tag(nothing.text) == '<html lang="en" dir="ltr">'


def test_the_switch_wins_and_is_remembered_in_a_cookie(client: TestClient) -> None:
    page = client.get("/digests/?lang=ko", headers={"accept-language": "en"})
    assert html_tag(page.text) == '<html lang="ko" dir="ltr">'
    assert "소식지 보관함" in page.text
    assert "lang=ko" in page.headers["set-cookie"]
    assert "Accept-Language" in page.headers["vary"]
    later = client.get("/", headers={"accept-language": "en"})
    assert html_tag(later.text) == '<html lang="ko" dir="ltr">'
    # A right-to-left language sets dir (no catalog: the English strings, still rtl).
    rtl = client.get("/?lang=ar")
    assert html_tag(rtl.text) == '<html lang="ar" dir="rtl">'
    # An unknown ?lang= is ignored, not an error.
    assert client.get("/?lang=xx-!!").status_code == 200


def test_signing_up_in_korean_stores_the_language_and_mails_in_korean(
    client: TestClient, web_settings: Settings, engine: Engine
) -> None:
    headers = {"accept-language": "ko"}
    page = client.get("/", headers=headers)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    answer = client.post(
        "/subscribe",
        data={
            "csrf": token.group(1),
            "email": "minji@example.org",
            "name": "민지",
            "lists": ["weekly-city"],
            "language": "ko",
        },
        headers=headers,
    )
    assert answer.status_code == 200
    assert "받은편지함을 확인해 주세요" in answer.text
    # The answer's switch reloads the home page (POST /subscribe has no GET).
    assert '<a href="/?lang=en"' in answer.text
    with db.read_session(engine) as session:
        assert subscribers.find_subscriber(session, "minji@example.org").locale == "ko"
    (mail,) = confirmation_mails(web_settings)
    assert mail["Content-Language"] == "ko"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = " ".join(body.get_content().split())  # wrapped at 72 columns
    assert "민지님, 안녕하세요." in text
    assert "원하시는 것이 맞다면 다음 링크를 열어 확인해 주세요" in text
    # A language the newsroom does not offer is the form's error, in the page's language.
    refused = client.post(
        "/subscribe",
        data={
            "csrf": token.group(1),
            "email": "x@example.org",
            "lists": ["weekly-city"],
            "language": "fr",
        },
        headers=headers,
    )
    assert refused.status_code == 400
    assert "제공되는 언어 중 하나를 선택해 주세요." in refused.text


def test_the_pages_behind_a_link_use_the_subscribers_language(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add(engine, "kim@example.org", now, "ko,en")
    secret = web_settings.secret_key
    unsubscribe = make_token(secret, UNSUBSCRIBE, sid, now, "weekly-city")
    # The browser asks for English; the reader chose Korean, which wins.
    page = client.get(f"/unsubscribe/{unsubscribe}", headers={"accept-language": "en"})
    assert html_tag(page.text) == '<html lang="ko" dir="ltr">'
    assert "<h1>구독 해지</h1>" in page.text
    done = client.post(f"/unsubscribe/{unsubscribe}")
    assert "구독이 해지되었습니다" in done.text
    # The switch overrides the subscriber's language on their pages too.
    english = client.get(f"/unsubscribe/{unsubscribe}?lang=en")
    assert "<h1>Unsubscribe</h1>" in english.text


def test_preferences_change_the_language_and_answer_in_it(
    web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add(engine, "ann@example.org", now, "en")
    token = make_token(web_settings.secret_key, PREFERENCES, sid, now)
    with TestClient(create_app(web_settings, engine)) as client:
        page = client.get(f"/preferences/{token}")
        assert '<option value="en" lang="en" selected>English</option>' in page.text
        saved = client.post(
            f"/preferences/{token}",
            data={"action": "save", "lists": ["weekly-city"], "name": "", "language": "ko"},
        )
        assert html_tag(saved.text) == '<html lang="ko" dir="ltr">'
        assert "저장했습니다." in saved.text
        assert '<option value="ko" lang="ko" selected>한국어</option>' in saved.text
    assert services.reader_locale(engine, sid) == "ko,en"


def test_english_pages_keep_their_words(client: TestClient) -> None:
    page = client.get("/")
    assert html_tag(page.text) == '<html lang="en" dir="ltr">'
    for words in (
        "Get the weekly digest by e-mail",
        "We send a link to confirm first. Every e-mail has a one-click unsubscribe link.",
        "Follow a topic in your feed reader",
    ):
        assert words in page.text
    missing = client.get("/nothing-here", headers={"accept-language": "ko"})
    assert missing.status_code == 404
    assert "페이지를 찾을 수 없습니다" in missing.text
