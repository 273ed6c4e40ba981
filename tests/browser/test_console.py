"""The console in a real browser: Debian's headless Chromium driven by Playwright against
the app served by uvicorn on loopback. Signs in, holds a digest, sends a test, and takes
screenshots of the dashboard and the digest page at 1280 and 390 px into test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import Engine

from syndication.clock import utc_now
from syndication.services.digests import approval
from syndication.settings import Settings
from tests.support.browser import ARTIFACTS, needs_chromium, serving
from tests.support.console import PASSWORD, add_users
from tests.support.outbox import PERIOD, queue_demo_digest

DIGEST = f"/admin/digests/weekly-city/{PERIOD}"

pytestmark = needs_chromium


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[tuple[str, Settings]]:
    """The app on 127.0.0.1 and a free port, served by uvicorn in a thread."""
    with serving(settings, engine) as (base, served):
        queue_demo_digest(served, engine, 3)
        add_users(engine, utc_now())
        yield base, served


def signed_in_page(browser: Browser, base: str, width: int) -> tuple[Page, list[str]]:
    """A fresh browser context ``width`` px wide, signed in as the operator through the
    form; the list collects Content-Security-Policy violations and script errors."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused" in message.text:
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(f"{base}/admin/login?next=%2Fadmin%2F")
    page.get_by_label("E-mail address").fill("op@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return page, problems


def test_sign_in_hold_a_digest_send_a_test_and_screenshots(
    site: tuple[str, Settings], browser: Browser, engine: Engine
) -> None:
    base, settings = site
    ARTIFACTS.mkdir(exist_ok=True)
    page, problems = signed_in_page(browser, base, 1280)
    expect(page.get_by_role("img", name="Per digest: sent, bounced and complained")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "console-dashboard-1280.png"), full_page=True)
    page.get_by_role("link", name=f"weekly-city {PERIOD}").first.click()
    expect(page).to_have_url(f"{base}{DIGEST}")

    page.get_by_role("button", name="Hold").click()
    expect(page.get_by_role("status")).to_contain_text("Held: nothing more")
    assert approval.digest_status(engine, "weekly-city", PERIOD).state == "held"
    expect(page.get_by_role("button", name="Resume")).to_be_visible()

    page.get_by_label("Send a test to").fill("editor@example.org")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("Test sent")
    tests = list((settings.mail.outbox_dir / "tests").rglob("*.eml"))
    assert len(tests) == 1 and b"To: editor@example.org" in tests[0].read_bytes()
    assert approval.digest_status(engine, "weekly-city", PERIOD).deliveries == {"queued": 3}

    preview = page.frame_locator("iframe.preview")
    expect(preview.locator("body")).to_contain_text("City Life Weekly")
    page.screenshot(path=str(ARTIFACTS / "console-digest-1280.png"), full_page=True)
    assert problems == []
    page.context.close()

    narrow, problems = signed_in_page(browser, base, 390)
    narrow.screenshot(path=str(ARTIFACTS / "console-dashboard-390.png"), full_page=True)
    narrow.goto(f"{base}{DIGEST}")
    expect(narrow.get_by_role("button", name="Resume")).to_be_visible()
    expect(narrow.frame_locator("iframe.preview").locator("body")).to_contain_text("City Life")
    wide = narrow.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the digest page scrolls sideways at 390 px ({wide} px wide)"
    narrow.screenshot(path=str(ARTIFACTS / "console-digest-390.png"), full_page=True)
    assert problems == []
