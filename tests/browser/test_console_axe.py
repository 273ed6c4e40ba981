"""Every console page in a real browser (Debian's Chromium) at 1280 and 390 px: axe-core
finds no violation, and no page scrolls sideways (issue 28 item 5).

The store holds real data: the demo newsroom's articles, a compiled and held digest,
readers (one with a long address, one with a Hangul name, one suppressed), a retraction,
and the audit records those actions left. The pages visited are checked against the
console's routes, so a page added later without a check here fails this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select
from starlette.routing import Mount, Route

from syndication.core.audit import Actor
from syndication.services import articles, subscribers
from syndication.services.digests import approval
from syndication.settings import Settings
from syndication.store import clicks
from syndication.store import database as db
from syndication.store.models import Digest
from syndication.web.admin import admin_routes
from tests.support.axe import axe_source, violations
from tests.support.browser import needs_chromium, serving
from tests.support.builders import AFTER_WEEK
from tests.support.console import PASSWORD, add_users
from tests.support.outbox import PERIOD, queue_demo_digest

pytestmark = needs_chromium

OPERATOR = Actor.console("op@example.org", "127.0.0.1")
# Routes under /admin that are not pages to look at: files and the stylesheet.
NOT_PAGES = {
    "/subscribers/export.csv",
    "/audit/export.csv",
    "/static/admin.css",
    "/digests/{list_slug}/{period}/clicks.csv",
}


@pytest.fixture(scope="module")
def axe_js() -> str:
    return axe_source()


def seed(settings: Settings, engine: Engine) -> dict[str, str]:
    """Real data for every page; returns the path parameters the pages need."""
    queue_demo_digest(settings, engine, 3)
    # The digest page's clicks section (issue 31): chart, ranking, the list's history.
    with db.write_session(engine) as session:
        digest_id = int(session.scalar(select(Digest.id)) or 0)
        links = clicks.digest_links(session, digest_id)
        assert links, "weekly-city counts clicks here: its digest has counted links"
        clicks.add_counts(
            session,
            {(digest_id, link.article_id): (7 * i % 23, 3) for i, link in enumerate(links)},
        )
    add_users(engine, AFTER_WEEK)
    long_one = "a-very-long-address-for-the-narrow-screen@departments.city.example.org"
    for email, name in ((long_one, "Long Address"), ("kim@example.org", "김민지")):
        subscribers.add_subscriber(
            settings, engine, email, ["weekly-city"], name, confirmed=True, actor=OPERATOR
        )
    found = subscribers.page(engine, subscribers.SubscriberFilter(query="reader0"), 1).rows[0]
    subscribers.suppress(engine, found.id, OPERATOR, AFTER_WEEK)
    approval.hold(settings, engine, "weekly-city", PERIOD, OPERATOR, AFTER_WEEK)
    newest = articles.search(engine, "")[0]
    articles.retract(
        engine, newest.id, "Wrong figures", AFTER_WEEK, reason_required=True, actor=OPERATOR
    )
    return {"list_slug": "weekly-city", "period": PERIOD, "subscriber_id": str(found.id)}


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[tuple[str, dict[str, str]]]:
    lists = tuple(
        replace(ml, count_clicks=True) if ml.slug == "weekly-city" else ml for ml in settings.lists
    )
    with serving(replace(settings, lists=lists), engine) as (base, served):
        yield base, seed(served, engine)


def console_pages(settings: Settings, engine: Engine, params: dict[str, str]) -> list[str]:
    """Every GET route under /admin, its parameters filled in, plus filtered and empty
    views of the lists; fails if a route has no page here."""
    [mount] = [
        r for r in admin_routes(settings, engine, lambda: AFTER_WEEK) if isinstance(r, Mount)
    ]
    paths = [
        r.path
        for r in mount.routes
        if isinstance(r, Route) and r.methods and "GET" in r.methods and r.path not in NOT_PAGES
    ]
    pages = []
    for path in paths:
        filled = path.replace("{subscriber_id:int}", params["subscriber_id"])
        filled = filled.replace("{list_slug}", params["list_slug"]).replace("{period}", PERIOD)
        assert "{" not in filled, f"{path}: a console page this test does not know how to visit"
        pages.append("/admin" + filled)
    assert {"/admin/login", "/admin/", "/admin/audit", "/admin/articles"} <= set(pages)
    return pages + [
        "/admin/subscribers?q=kim&status=active&list=weekly-city&from=2026-11-01&to=2026-12-31",
        "/admin/subscribers?q=nobody-at-all",
        "/admin/audit?kind=digest&key=weekly-city+2026-11-16",
        "/admin/articles?q=zzzz-nothing",
        "/admin/subscribers/999999",
    ]


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
    if width == 390:
        # The Retract column is on-screen: the button's right edge within the viewport.
        page.goto(f"{base}/admin/articles")
        button = page.get_by_role("button", name="Retract").first.bounding_box()
        assert button is not None and button["x"] + button["width"] <= width
    page.close()
    assert problems == []
