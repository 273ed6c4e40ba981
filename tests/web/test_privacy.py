"""Privacy over HTTP against the real app: the notice on the sign-up form, the consent
record a form sign-up leaves and the console shows, and an erased address on the form."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from email.policy import default

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from syndication.services import privacy
from syndication.settings import PrivacySettings, Settings
from syndication.store import database as db
from syndication.store.models import Subscriber
from syndication.web.app import create_app
from tests.support.builders import AFTER_WEEK
from tests.support.console import Clock, add_users, sign_in

BASE = "http://testserver"
NOTICE = PrivacySettings(
    notice_url="https://news.example.org/privacy",
    notice_text=(
        "We keep your address, your name and the lists you choose, to send you the digest.\n"
        "Unsubscribed records are deleted after a year. <b>Questions</b>: privacy@example.org"
    ),
)


def web_settings(settings: Settings, notice: PrivacySettings = NOTICE) -> Settings:
    return replace(settings, site=replace(settings.site, base_url=BASE), privacy=notice)


def client_for(settings: Settings, engine: Engine, host: str = "203.0.113.5") -> TestClient:
    clock = Clock(AFTER_WEEK)
    return TestClient(create_app(settings, engine, now=clock.now), client=(host, 50000))


def subscribe(client: TestClient, address: str) -> str:
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/subscribe",
        data={"csrf": token.group(1), "email": address, "name": "", "lists": ["weekly-city"]},
    )
    assert response.status_code == 200, response.text
    return response.text


def test_the_form_shows_the_configured_privacy_notice(settings: Settings, engine: Engine) -> None:
    with client_for(web_settings(settings), engine) as client:
        page = client.get("/").text
    notice = page[page.index('id="privacy-notice"') : page.index("</form>")]
    assert "We keep your address, your name and the lists you choose" in notice
    assert '<p class="hint">Unsubscribed records are deleted after a year.' in notice
    assert "&lt;b&gt;Questions&lt;/b&gt;" in notice  # the text is text, not markup
    assert '<a href="https://news.example.org/privacy">Privacy notice</a>' in notice
    with client_for(web_settings(settings, PrivacySettings()), engine) as client:
        assert "privacy-notice" not in client.get("/").text


def test_a_form_sign_up_leaves_a_consent_record_the_console_shows(
    settings: Settings, engine: Engine
) -> None:
    site = web_settings(settings)
    add_users(engine, AFTER_WEEK)
    with client_for(site, engine) as client:
        subscribe(client, "Reader@Example.org")
        [mail] = [
            email.message_from_bytes(p.read_bytes(), policy=default)
            for p in (site.mail.outbox_dir / "confirmations").rglob("*.eml")
        ]
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(re.escape(BASE) + r"(/confirm/[A-Za-z0-9_.-]+)", body.get_content())
        assert link is not None
        assert client.post(link.group(1)).status_code == 200
        with db.read_session(engine) as session:
            reader = session.scalars(
                select(Subscriber.id).where(Subscriber.email == "reader@example.org")
            ).one()
        sign_in(client, "viewer@example.org")
        page = client.get(f"/admin/subscribers/{reader}")
    assert page.status_code == 200
    consent = page.text[page.text.index("<h2>Consent</h2>") : page.text.index("<h2>Bounces")]
    assert "web form" in consent and f"{BASE}/" in consent
    assert "203.0.113.5" in consent
    assert "weekly-city" in consent
    assert "followed the link in the confirmation mail" in consent
    assert "not confirmed" not in consent


def test_an_erased_address_gets_the_same_answer_and_no_record(
    settings: Settings, engine: Engine
) -> None:
    site = web_settings(settings)
    privacy.erase_person(site, engine, "gone@example.org", AFTER_WEEK)
    with client_for(site, engine) as client:
        erased = subscribe(client, "Gone@Example.org")
        fresh = subscribe(client, "new@example.org")
    assert erased == fresh  # the form does not tell who was erased
    with db.read_session(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Subscriber).where(Subscriber.email.like("gone%"))
        )
    assert count == 0
    assert not (site.mail.outbox_dir / "confirmations").exists() or all(
        "gone@" not in p.read_text(errors="replace").lower()
        for p in (site.mail.outbox_dir / "confirmations").rglob("*.eml")
    )
