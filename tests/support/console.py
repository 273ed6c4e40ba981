"""Helpers for console tests: a settable clock, users, signing in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx2
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.services import users
from syndication.settings import Settings
from syndication.web.app import create_app

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
