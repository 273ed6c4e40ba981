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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from sqlalchemy import Engine, select

from syndication.core import digests as digest
from syndication.core import mime as mail
from syndication.core.articles import ArticleRecord
from syndication.core.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from syndication.render import email as rendering
from syndication.settings import Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import Digest, Subscriber
from syndication.web.app import create_app
from tests.support.net import free_port

ArticleFactory = Callable[..., ArticleRecord]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
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
        files = sorted(folder.rglob("*.eml")) if folder.is_dir() else []
        if files:
            message = email.message_from_bytes(files[0].read_bytes(), policy=default)
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            match = re.search(r"https?://\S+/confirm/[A-Za-z0-9_.-]+", text)
            if match:
                return match.group(0)
        assert time.monotonic() < deadline, "no confirmation mail was written"
        time.sleep(0.05)


def digest_email(site: Site, subscriber_id: int, make_article: ArticleFactory) -> str:
    """A real digest: articles stored, rendered, kept in ``digests`` and personalised for
    one subscriber exactly as the sender does; returns the HTML part of that message."""
    settings, tz = site.settings, site.settings.site.tz
    mailing_list = settings.mailing_list("weekly-city")
    period = digest.period_containing(mailing_list.schedule, tz, datetime(2026, 11, 20, tzinfo=UTC))
    records = [
        make_article(
            f"smg-{n}",
            title=title,
            topics=(topic,),
            summary=summary,
            published_at=period.start + timedelta(hours=20 * n + 3),
        )
        for n, (title, topic, summary) in enumerate(ARTICLES)
    ]
    with db.write_session(site.engine) as session:
        store.write_articles(session, records, period.end)
        articles = store.articles_published_between(
            session, mailing_list.topics, period.start, period.end
        )
        content = digest.build_digest(settings, mailing_list, period, articles)
        assert content is not None
        rendered = rendering.render_digest(settings, content)
        session.add(
            Digest(
                list_slug=mailing_list.slug,
                period_key=content.period_key,
                period_start=period.start,
                period_end=period.end,
                subject=rendered.subject,
                preheader=rendered.preheader,
                html=rendered.html,
                text=rendered.text,
                article_count=content.article_count,
                created_at=period.end,
            )
        )
    secret, now = settings.secret_key, period.end
    recipient = mail.Recipient(
        address="min-ji@example.org",
        name="김민지",
        unsubscribe_url=f"{site.url}/unsubscribe/"
        + make_token(secret, UNSUBSCRIBE, subscriber_id, now, mailing_list.slug),
        preferences_url=f"{site.url}/preferences/"
        + make_token(secret, PREFERENCES, subscriber_id, now),
    )
    template = mail.digest_template(settings, mailing_list, content.period_key, rendered, now)
    message = email.message_from_bytes(mail.personalise(template, recipient), policy=default)
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def status_of(engine: Engine, address: str) -> str:
    with db.read_session(engine) as session:
        return session.execute(
            select(Subscriber.status).where(Subscriber.email == address)
        ).scalar_one()


def test_subscribe_confirm_and_unsubscribe_in_a_browser(
    site: Site, browser: Browser, make_article: ArticleFactory
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
    message = digest_email(site, subscriber_id, make_article)
    for width in (600, 375):
        view, _ = new_page(browser, width)
        view.set_content(message)
        view.screenshot(path=str(ARTIFACTS / f"digest-email-{width}.png"), full_page=True)
        view.close()

    page.close()
    # A fresh page stands for the mail client: the mail is not one of our pages.
    page, errors = new_page(browser, 375)
    page.set_content(message)
    page.get_by_role("link", name="Unsubscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Unsubscribe").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "active"  # a GET changes nothing
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "unsubscribed"
    assert errors == []


def test_view_in_browser_leads_to_the_archive(
    site: Site, browser: Browser, make_article: ArticleFactory
) -> None:
    message = digest_email(site, 1, make_article)
    page, _ = new_page(browser, 600)
    page.set_content(message)
    page.get_by_role("link", name="View in your browser").first.click()
    page.wait_for_load_state()
    assert page.url == site.url + "/digests/weekly-city/2026-11-16"
    assert page.get_by_text("Hello there,").is_visible()
    assert "김민지" not in page.content()

    index, errors = new_page(browser, 600)
    index.goto(site.url + "/digests/")
    index.locator("ul.digests a").first.click()
    index.wait_for_load_state()
    assert index.url == site.url + "/digests/weekly-city/2026-11-16"
    assert errors == []


ARTICLES = [
    (
        "More bus lanes on Jong-ro from December",
        "transport",
        "Buses will run every four minutes at rush hour on the central corridor.",
    ),
    (
        "서울 빛초롱 축제 opens at Cheonggyecheon",
        "culture",
        "Lanterns along the stream every evening until the end of the year.",
    ),
    (
        "Fine-dust alerts now reach phones in English",
        "environment",
        "Residents can choose English or Korean for the city's air-quality warnings.",
    ),
]
