"""In a real browser: Debian's headless Chromium driven by Playwright, against the app
served by uvicorn on loopback. Screenshots go to ``test-artifacts/`` (git-ignored).

Playwright's own browser download cannot work here, so the browser is Debian's
``chromium`` package; ``.ci/run`` installs it, and without it these tests are skipped
with a message saying so.

The accessibility checks run axe-core (Deque's engine, the one browser extensions and
Lighthouse use) inside the page. It is not committed: the first run installs the pinned
version with ``npm`` into ``test-artifacts/npm`` (git-ignored) and later runs reuse it;
``SYNDICATION_AXE_JS`` may name an ``axe.min.js`` to use instead (an offline CI cache).
"""

from __future__ import annotations

import email
import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from sqlalchemy import Engine, select

from syndication.core import digests as digest
from syndication.core import mime as mail
from syndication.core.articles import ArticleRecord
from syndication.core.tokens import PREFERENCES, UNSUBSCRIBE, make_token
from syndication.edges.files import publish
from syndication.render import email as rendering
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import LanguageSettings, PrivacySettings, Settings
from syndication.store import article_queries, subscribers
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import Delivery, Digest, Subscriber
from tests.support.axe import axe_source, violations
from tests.support.browser import ARTIFACTS, needs_chromium, serving
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.outbox import PERIOD, WEEK

ArticleFactory = Callable[..., ArticleRecord]

# A picture for every image URL of the test digests (they point at images.example.org).
IMAGES = "https://images.example.org/**"

pytestmark = needs_chromium


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    engine: Engine


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Site]:
    """The app on 127.0.0.1 and a free port, served by uvicorn in a thread."""
    with serve(settings, engine) as served:
        yield served


@pytest.fixture
def bilingual_site(settings: Settings, engine: Engine) -> Iterator[Site]:
    """The app of a newsroom in English and Korean (issue 30)."""
    languages = LanguageSettings(available=("en", "ko"))
    with serve(replace(settings, languages=languages), engine) as served:
        yield served


@contextmanager
def serve(settings: Settings, engine: Engine) -> Iterator[Site]:
    """The app, with a privacy notice on its form, on 127.0.0.1 and a free port."""
    noticed = replace(
        settings,
        privacy=PrivacySettings(
            notice_url="https://news.example.org/privacy",
            notice_text="We keep your address and the lists you choose to send the digest.",
        ),
    )
    with serving(noticed, engine) as (base, served):
        yield Site(base, served, engine)


def new_page(
    browser: Browser, width: int, *, bypass_csp: bool = False, locale: str | None = None
) -> tuple[Page, list[str]]:
    """A page ``width`` pixels wide and the list its console errors are collected in.

    ``bypass_csp`` lets a test inject a checker (axe-core) into our own CSP-guarded pages;
    ``locale`` is the browser's language (its Accept-Language header).
    """
    page = browser.new_page(
        viewport={"width": width, "height": 900}, bypass_csp=bypass_csp, locale=locale
    )
    picture = png(1200, 800)
    page.route(IMAGES, lambda route: route.fulfill(body=picture, content_type="image/png"))
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
            image_url=f"https://images.example.org/{n}.png",
            language="ko" if n == 1 else "en",
            published_at=period.start + timedelta(hours=20 * n + 3),
        )
        for n, (title, topic, summary) in enumerate(ARTICLES)
    ]
    with db.write_session(site.engine) as session:
        store.write_articles(session, records, period.end)
        articles = article_queries.articles_published_between(
            session, mailing_list.topics, period.start, period.end
        )
        content = digest.build_digest(settings, mailing_list, period, articles)
        assert content is not None
        rendered = rendering.render_digest(settings, content)
        stored = Digest(
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
        session.add(stored)
        session.flush()
        # A copy went out: the public archive shows only digests that did (issue 28).
        reader = subscribers.add_subscriber(
            session, "archive@example.org", "", [mailing_list.slug], confirmed=True, now=period.end
        )
        session.add(
            Delivery(
                digest_id=stored.id,
                subscriber_id=reader.subscriber_id,
                status="sent",
                attempts=1,
                next_attempt_at=period.end,
                claimed_by="",
                last_error="",
                message_id="<archive@example.org>",
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
    # Opening the link only shows the button (mail scanners open links too).
    assert page.get_by_role("heading", name="Confirm your subscription").is_visible()
    assert status_of(site.engine, "min-ji@example.org") == "pending"
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
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


# -- accessibility (axe-core) and layout, issue 14 ------------------------------------------


@pytest.fixture(scope="session")
def axe_js() -> str:
    """The source of axe-core (tests/support/axe.py installs it with npm on first use)."""
    return axe_source()


def png(width: int, height: int) -> bytes:
    """A plain grey PNG of the given size (enough for layout; no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x99\x99\x99" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def mail_page(browser: Browser, message: str, width: int) -> Page:
    page, _ = new_page(browser, width)
    page.set_content(message)
    page.wait_for_load_state("load")
    return page


def test_the_digest_and_the_archive_have_no_axe_violations(
    site: Site, browser: Browser, make_article: ArticleFactory, axe_js: str
) -> None:
    """Issue 14: headings, landmarks, presentation tables, lang, alt, contrast; the home
    page with its sign-up form and privacy notice too (issue 29)."""
    message = digest_email(site, 1, make_article)
    for width in (600, 375):
        page = mail_page(browser, message, width)
        assert violations(page, axe_js) == [], f"digest at {width} px"
        page.close()
    for path in ("/", "/digests/", "/digests/weekly-city/2026-11-16"):
        page, errors = new_page(browser, 600, bypass_csp=True)
        page.goto(site.url + path)
        assert violations(page, axe_js) == [], path
        assert errors == []
        page.close()


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


def test_pictures_keep_to_the_column_and_thumbnails_stack_on_phones(
    site: Site, browser: Browser, make_article: ArticleFactory
) -> None:
    """Issue 14: the lead picture fills the text column at every width (it fell short
    between 569 and 620 px); later articles have a thumbnail beside the text, under it
    on a phone; the preheader never shows."""
    message = digest_email(site, 1, make_article)
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (320, 375, 414, 480, 540, 568, 569, 600, 619, 620, 700, 900):
        page = mail_page(browser, message, width)
        column = box(page, "div[role=main]")
        lead = box(page, "img.lead-image")
        assert abs(lead["width"] - column["width"]) < 1, (width, lead, column)
        assert abs(lead["x"] - column["x"]) < 1, width
        thumb, text = box(page, ".thumb-cell"), box(page, ".text-cell")
        if width <= 480:
            assert text["y"] >= thumb["y"] + thumb["height"] - 1, f"not stacked at {width}"
        else:
            assert abs(text["y"] - thumb["y"]) < 1 and text["x"] > thumb["x"], width
        assert box(page, "img.thumb")["width"] <= 116
        preheader = page.locator("body > div").first
        assert not preheader.is_visible()
        if width in (375, 600):
            page.screenshot(path=str(ARTIFACTS / f"digest-layout-{width}.png"), full_page=True)
        page.close()


def test_a_page_on_another_origin_can_read_a_feed(site: Site, browser: Browser) -> None:
    """Issue 14: browser-based readers fetch feeds cross-origin, conditionally."""
    publish(
        site.settings.feeds.dir / "all" / "rss.xml",
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>",
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    other_origin = site.url.replace("127.0.0.1", "localhost")
    # The page stands for a reader's site on another origin: our own pages' CSP (which
    # allows no fetch at all) is not what is being tested, CORS on the feed is.
    page, _ = new_page(browser, 600, bypass_csp=True)
    page.goto(other_origin + "/")
    result = page.evaluate(
        """async (url) => {
            const first = await fetch(url);
            const etag = first.headers.get("ETag");
            const again = await fetch(url, {headers: {"If-None-Match": etag}, cache: "no-store"});
            return [first.status, (await first.text()).includes("<rss"), etag, again.status];
        }""",
        site.url + "/feeds/all/rss.xml",
    )
    assert result[0] == 200 and result[1] and result[2]
    assert result[3] == 304


# -- languages, issue 30 -----------------------------------------------------------------


def confirmation_html(settings: Settings) -> tuple[EmailMessage, str]:
    """The first confirmation mail the transport wrote, and its HTML part."""
    wait_for_confirmation(settings)
    path = sorted((settings.mail.outbox_dir / "confirmations").rglob("*.eml"))[0]
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return message, body.get_content()


def test_korean_sign_up_confirmation_mail_and_unsubscribe_on_a_phone(
    bilingual_site: Site, browser: Browser, axe_js: str
) -> None:
    """Issue 30: a browser asking for Korean signs up in Korean, gets its confirmation
    mail in Korean, and its unsubscribe page is in Korean; each one at phone width, with
    a screenshot and no axe-core violation."""
    site = bilingual_site
    ARTIFACTS.mkdir(exist_ok=True)
    page, errors = new_page(browser, 375, bypass_csp=True, locale="ko-KR")
    page.goto(site.url + "/")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.get_by_label("이메일 언어").input_value() == "ko"
    page.screenshot(path=str(ARTIFACTS / "signup-ko-375.png"), full_page=True)
    assert violations(page, axe_js) == [], "sign-up page in Korean"
    page.get_by_label("이메일 주소").fill("min-ji@example.org")
    page.get_by_label("이름").fill("김민지")
    page.get_by_label("International Relations Weekly").uncheck()
    page.get_by_role("button", name="구독하기").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="받은편지함을 확인해 주세요").is_visible()
    assert errors == []
    page.close()

    message, html = confirmation_html(site.settings)
    assert message["Content-Language"] == "ko"
    mail, _ = new_page(browser, 375)
    mail.set_content(html)
    mail.wait_for_load_state("load")
    assert mail.locator("html").get_attribute("lang") == "ko"
    assert mail.get_by_role("link", name="네, 구독하겠습니다").is_visible()
    mail.screenshot(path=str(ARTIFACTS / "confirmation-mail-ko-375.png"), full_page=True)
    assert violations(mail, axe_js) == [], "confirmation mail in Korean"
    mail.close()

    # The unsubscribe page of this reader, opened by a browser that asks for English:
    # the reader's own language wins.
    with db.read_session(site.engine) as session:
        subscriber_id = session.execute(
            select(Subscriber.id).where(Subscriber.email == "min-ji@example.org")
        ).scalar_one()
    token = make_token(site.settings.secret_key, UNSUBSCRIBE, subscriber_id, datetime.now(UTC))
    page, errors = new_page(browser, 375, bypass_csp=True, locale="en-US")
    page.goto(f"{site.url}/unsubscribe/{token}")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.get_by_role("heading", name="구독 해지").is_visible()
    page.screenshot(path=str(ARTIFACTS / "unsubscribe-ko-375.png"), full_page=True)
    assert violations(page, axe_js) == [], "unsubscribe page in Korean"
    page.get_by_role("button", name="구독 해지").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="구독이 해지되었습니다").is_visible()
    assert violations(page, axe_js) == [], "unsubscribed page in Korean"
    assert errors == []
    page.close()


def test_a_korean_readers_digest_opens_in_korean_and_the_archive_links_it(
    settings: Settings, engine: Engine, browser: Browser, axe_js: str
) -> None:
    """Issue 30: a "reader" list's digest compiled and sent to a Korean reader; the
    mail's "view in your browser" leads to the Korean copy on the archive, and the
    archive's index links that copy in Korean; no axe-core violation on either."""
    city = replace(settings.mailing_list("weekly-city"), language="reader")
    settings = replace(
        settings,
        languages=LanguageSettings(available=("en", "ko")),
        lists=tuple(city if ml.slug == city.slug else ml for ml in settings.lists),
    )
    import_demo_articles(settings, engine)
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "kim@example.org", "", [city.slug], confirmed=True, now=AFTER_WEEK, locale="ko"
        )
    with serve(settings, engine) as site:
        compiling.compile_digest(site.settings, engine, city.slug, WEEK, AFTER_WEEK)
        assert delivery.send_digests(site.settings, engine, now=lambda: AFTER_WEEK).sent == 1
        eml = site.settings.mail.outbox_dir / city.slug / PERIOD / "kim@example.org.eml"
        message = email.message_from_bytes(eml.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        korean = f"{site.url}/digests/{city.slug}/{PERIOD}/ko"

        mail, _ = new_page(browser, 600)
        mail.set_content(str(part.get_content()))
        mail.get_by_role("link", name="브라우저에서 보기").first.click()
        mail.wait_for_load_state()
        assert mail.url == korean
        assert mail.locator("html").get_attribute("lang") == "ko"
        mail.close()

        index, errors = new_page(browser, 375, bypass_csp=True)
        index.goto(site.url + "/digests/")
        assert violations(index, axe_js) == [], "the index with a Korean copy"
        assert errors == []
        index.locator("ul.digests").get_by_role("link", name="한국어").click()
        index.wait_for_load_state()
        assert index.url == korean
        # (The demo articles' pictures are on hosts this machine cannot reach.)
        assert violations(index, axe_js) == [], "the Korean copy"
        index.close()
