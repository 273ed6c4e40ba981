"""Every console page in a real browser (Debian's Chromium) at 1280 and 390 px: axe-core
finds no violation, and no page scrolls sideways (issue 28 item 5).

The store holds real data: the demo newsroom's articles, a compiled and held digest (of
a list written in each reader's language: its Korean copy has a page too), readers (one
with a long address, one with a Hangul name, one suppressed), a retraction, and the audit
records those actions left. The pages visited are checked against the
console's routes, so a page added later without a check here fails this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from syndication.settings import LanguageSettings, Settings
from tests.support.axe import axe_source, violations
from tests.support.browser import needs_chromium, serving
from tests.support.console import PASSWORD, console_pages, seed

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def axe_js() -> str:
    return axe_source()


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[tuple[str, dict[str, str]]]:
    # weekly-city counts clicks and is written in each reader's language, English and
    # Korean (issue 30): its digest page offers the Korean copy.
    lists = tuple(
        replace(ml, count_clicks=True, language="reader") if ml.slug == "weekly-city" else ml
        for ml in settings.lists
    )
    languages = LanguageSettings(available=("en", "ko"))
    with serving(replace(settings, lists=lists, languages=languages), engine) as (base, served):
        yield base, seed(served, engine)


def check(page: Page, axe: str, width: int) -> list[str]:
    found = [f"{page.url}: {v}" for v in violations(page, axe)]
    wide = int(page.evaluate("document.documentElement.scrollWidth"))
    if wide > width:
        found.append(f"{page.url}: the page scrolls sideways at {width} px ({wide} px wide)")
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_every_console_page_passes_axe_and_fits_the_screen(
    site: tuple[str, dict[str, str]],
    browser: Browser,
    settings: Settings,
    engine: Engine,
    axe_js: str,
    width: int,
) -> None:
    base, params = site
    pages = console_pages(settings, engine, params)
    # bypass_csp: axe-core is injected as a script; our CSP rightly refuses inline ones.
    page = browser.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(f"{base}/admin/login")
    problems = check(page, axe_js, width)
    page.get_by_label("E-mail address").fill("op@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for path in pages:
        if path == "/admin/login":
            continue
        page.goto(base + path)
        problems += check(page, axe_js, width)
        if path.endswith("?language=ko") and "/preview" not in path:
            # The language choice was on the page checked, the Korean copy marked.
            korean = page.get_by_role("link", name="한국어")
            expect(korean).to_have_attribute("aria-current", "page")
    if width == 390:
        # The Retract column is on-screen: the button's right edge within the viewport.
        page.goto(f"{base}/admin/articles")
        button = page.get_by_role("button", name="Retract").first.bounding_box()
        assert button is not None and button["x"] + button["width"] <= width
    page.close()
    assert problems == []
