"""In a real browser: Debian's headless Chromium driven by Playwright, against the app
served by uvicorn on loopback. Screenshots go to ``test-artifacts/`` (git-ignored).

Playwright's own browser download cannot work here, so the browser is Debian's
``chromium`` package; ``.ci/run`` installs it, and without it these tests are skipped
with a message saying so.
"""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
import uvicorn
from conftest import free_port
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from sqlalchemy import Engine, select

from syndication import db
from syndication.models import Digest, Subscriber
from syndication.settings import Settings
from syndication.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from syndication.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; .ci/run does it)",
)


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    engine: Engine


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Site]:
    """The app on 127.0.0.1 and a free port, served by uvicorn in a thread."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served = replace(
        settings, site=replace(settings.site, base_url=base, feeds_url=f"{base}/feeds")
    )
    config = uvicorn.Config(
        create_app(served, engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Site(base, served, engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Browser, width: int) -> tuple[Page, list[str]]:
    """A page ``width`` pixels wide and the list its console errors are collected in."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def wait_for_confirmation(settings: Settings, timeout: float = 10) -> str:
    """The confirmation link from the first ``.eml`` the transport writes."""
    folder = settings.mail.outbox_dir / "confirmations"
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        if files:
            message = email.message_from_bytes(files[0].read_bytes(), policy=default)
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            match = re.search(r"https?://\S+/confirm/[A-Za-z0-9_.-]+", text)
            if match:
                return match.group(0)
        assert time.monotonic() < deadline, "no confirmation mail was written"
        time.sleep(0.05)


def digest_email(site: Site, subscriber_id: int, now: datetime) -> str:
    """A stored digest's HTML personalised as the sender does for one recipient."""
    with db.write_session(site.engine) as session:
        session.add(
            Digest(
                list_slug="weekly-city",
                period_key="2026-11-16",
                period_start=now - timedelta(days=12),
                period_end=now - timedelta(days=5),
                subject="City Life Weekly: 16 November",
                preheader="Bus lanes, a new park and the lantern festival",
                html=SAMPLE_DIGEST,
                text="",
                article_count=2,
                created_at=now,
            )
        )
    secret = site.settings.secret_key
    values = {
        "NAME": "Min-ji",
        "ADDRESS": "min-ji@example.org",
        "UNSUBSCRIBE_URL": f"{site.url}/unsubscribe/"
        + make_token(secret, UNSUBSCRIBE, subscriber_id, now, "weekly-city"),
        "PREFERENCES_URL": f"{site.url}/preferences/"
        + make_token(secret, PREFERENCES, subscriber_id, now),
    }
    return re.sub(r"%%SYNDICATION:([A-Z_]+)%%", lambda m: values[m.group(1)], SAMPLE_DIGEST)


def status_of(engine: Engine, address: str) -> str:
    with db.read_session(engine) as session:
        return session.execute(
            select(Subscriber.status).where(Subscriber.email == address)
        ).scalar_one()


def test_subscribe_confirm_and_unsubscribe_in_a_browser(
    site: Site, browser: Browser, now: datetime
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (600, 375):
        page, errors = new_page(browser, width)
        page.goto(site.url + "/")
        page.screenshot(path=str(ARTIFACTS / f"home-{width}.png"), full_page=True)
        # The stylesheet loaded under the CSP, and nothing was blocked.
        assert page.eval_on_selector("button", "b => getComputedStyle(b).borderRadius") == "6px"
        assert errors == []
        page.close()

    page, errors = new_page(browser, 375)
    page.goto(site.url + "/")
    page.get_by_label("E-mail address").fill("min-ji@example.org")
    page.get_by_label("Your name").fill("김민지")
    page.get_by_label("International Relations Weekly").uncheck()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "pending"

    page.goto(wait_for_confirmation(site.settings))
    assert page.get_by_role("heading", name="You are subscribed").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "active"

    with db.read_session(site.engine) as session:
        subscriber_id = session.execute(
            select(Subscriber.id).where(Subscriber.email == "min-ji@example.org")
        ).scalar_one()
    mail = digest_email(site, subscriber_id, now)
    for width in (600, 375):
        view, _ = new_page(browser, width)
        view.set_content(mail)
        view.screenshot(path=str(ARTIFACTS / f"digest-email-{width}.png"), full_page=True)
        view.close()

    page.close()
    # A fresh page stands for the mail client: the mail is not one of our pages.
    page, errors = new_page(browser, 375)
    page.set_content(mail)
    page.get_by_role("link", name="Unsubscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Unsubscribe").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "active"  # a GET changes nothing
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "unsubscribed"
    assert errors == []


def test_archive_page_renders_the_digest(site: Site, browser: Browser, now: datetime) -> None:
    digest_email(site, 1, now)
    page, errors = new_page(browser, 600)
    page.goto(site.url + "/digests/")
    page.get_by_role("link", name="City Life Weekly: 16 November").click()
    page.wait_for_load_state()
    assert page.get_by_text("Hello there,").is_visible()
    assert errors == []


# A digest e-mail as the renderer stores it: table layout, styles inlined, placeholders
# where each recipient's values go.
SAMPLE_DIGEST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>City Life Weekly: 16 November</title></head>
<body style="margin:0; padding:0; background:#eef1f5">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#eef1f5">
<tr><td align="center" style="padding:16px 8px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"
 style="max-width:600px; background:#ffffff; font-family:Arial, sans-serif; color:#1d2430">
<tr><td style="padding:20px 24px; background:#0b5cad; color:#ffffff; font-size:22px;
 font-weight:bold">City Life Weekly</td></tr>
<tr><td style="padding:16px 24px 0 24px; font-size:16px">Hello %%SYNDICATION:NAME%%,</td></tr>
<tr><td style="padding:16px 24px">
<h2 style="margin:0 0 6px 0; font-size:19px">More bus lanes on Jong-ro from December</h2>
<p style="margin:0 0 16px 0; font-size:15px; line-height:1.5">Buses will run every four
minutes at rush hour on the central corridor.</p>
<h2 style="margin:0 0 6px 0; font-size:19px">서울 빛초롱 축제 opens at Cheonggyecheon</h2>
<p style="margin:0; font-size:15px; line-height:1.5">Lanterns along the stream every evening
until the end of the year.</p></td></tr>
<tr><td style="padding:16px 24px; font-size:13px; color:#5b6470; border-top:1px solid #d5dae1">
You get this e-mail because %%SYNDICATION:ADDRESS%% subscribed to City Life Weekly.<br>
<a href="%%SYNDICATION:UNSUBSCRIBE_URL%%" style="color:#5b6470">Unsubscribe</a> ·
<a href="%%SYNDICATION:PREFERENCES_URL%%" style="color:#5b6470">Manage your preferences</a>
</td></tr></table></td></tr></table></body></html>
"""
