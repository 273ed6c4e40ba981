"""Helpers for console tests: a settable clock, users, signing in through the form, and
a store seeded for every console page with the list of those pages (:func:`seed`,
:func:`console_pages`: the browser's axe walk and the Nu HTML checker visit the same)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx2
from sqlalchemy import Engine, select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from syndication.core.audit import Actor
from syndication.services import articles, subscribers, users
from syndication.services.digests import approval
from syndication.settings import Settings
from syndication.store import clicks
from syndication.store import database as db
from syndication.store.models import Digest
from syndication.web.admin import admin_routes
from syndication.web.app import create_app
from tests.support.builders import AFTER_WEEK
from tests.support.outbox import PERIOD, queue_demo_digest

PASSWORD = "correct horse battery staple"


@dataclass
class Clock:
    """A clock the test moves by hand; the app reads it through ``now``."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def client_for(
    settings: Settings, engine: Engine, clock: Clock, host: str = "10.0.0.1"
) -> TestClient:
    """A client of the real app on ``clock``, its requests from ``host``."""
    return TestClient(create_app(settings, engine, now=clock.now), client=(host, 50000))


def add_users(engine: Engine, now: datetime) -> None:
    """``op@example.org`` (operator) and ``viewer@example.org`` (viewer)."""
    users.add_user(engine, "op@example.org", "operator", PASSWORD, now)
    users.add_user(engine, "viewer@example.org", "viewer", PASSWORD, now)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} in the page"
    return match.group(1)


def post_login(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = ""
) -> httpx2.Response:
    page = client.get("/admin/login")
    form = {"csrf": hidden(page.text, "csrf"), "email": email, "password": password}
    if next_path:
        form["next"] = next_path
    return client.post("/admin/login", data=form, follow_redirects=False)


def sign_in(client: TestClient, email: str) -> str:
    """Sign in through the form; returns the session's CSRF token from the dashboard."""
    response = post_login(client, email)
    assert response.status_code == 303, response.text
    return hidden(client.get("/admin/").text, "csrf")


OPERATOR = Actor.console("op@example.org", "127.0.0.1")
# Routes under /admin that are not pages to look at: files and the stylesheet.
NOT_PAGES = {
    "/subscribers/export.csv",
    "/audit/export.csv",
    "/static/admin.css",
    "/digests/{list_slug}/{period}/clicks.csv",
}


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
        # A "reader" list's Korean copy (issue 30): the page with its language choice, and
        # the copy's frame. Both walks serve weekly-city in each reader's language.
        f"/admin/digests/{params['list_slug']}/{PERIOD}?language=ko",
        f"/admin/digests/{params['list_slug']}/{PERIOD}/preview?language=ko",
    ]
