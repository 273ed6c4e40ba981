"""Every e-mail template in Chromium at a phone's width and a desktop client's (issue 26).

The confirmation mail was 889 px wide on a 375 px phone: its raw confirmation URL was a
link text with no break opportunity, and the 600 px container grew around it. Each
template's HTML part, personalised as the sender does (tests/support/mail.py), is laid out
at 375 and 600 px: the document must not scroll sideways, and axe-core must find nothing.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.support.axe import axe_source, violations
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.mail import NAMES, html_part, messages

pytestmark = needs_chromium

WIDTHS = (375, 600)


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.mark.parametrize("name", NAMES)
def test_no_template_scrolls_sideways_and_axe_finds_nothing(
    browser: Browser, axe: str, name: str
) -> None:
    html = html_part(messages()[name])
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 800})
        # Pictures are not fetched (the mail's hosts are not reachable from a test).
        page.route("**/*", lambda route: route.abort())
        page.set_content(html)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"mail-{name}-{width}.png"), full_page=True)
        assert scroll <= width, f"the {name} mail is {scroll} px wide at {width} px"
        assert violations(page, axe) == [], f"the {name} mail at {width} px"
        page.close()
