"""The web app against a real database: subscribe, confirm, unsubscribe, preferences,
digest archive, health check, and the protections around them."""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from syndication.core import feeds
from syndication.core.articles import ArticleRecord
from syndication.core.subscribers import Event
from syndication.core.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, make_token
from syndication.errors import ConfigError
from syndication.services import feeds as feed_service
from syndication.settings import Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store import subscribers
from syndication.store.models import (
    Delivery,
    Digest,
    DigestState,
    JobRun,
    Subscriber,
    TransactionalMail,
)
from syndication.web.app import create_app
from syndication.web.security import ClientRateLimiter, new_csrf_token
from tests.support.net import free_port

BASE = "http://testserver"


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return replace(settings, site=replace(settings.site, base_url=BASE))


@pytest.fixture
def client(web_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, engine)) as test_client:
        yield test_client


def csrf_token(client: TestClient) -> str:
    """Load the home page (which sets the cookie) and read the form's hidden token."""
    page = client.get("/")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "the subscribe form has no CSRF field"
    return match.group(1)


def subscribe(
    client: TestClient, address: str, lists: tuple[str, ...] = ("weekly-city",), name: str = ""
) -> str:
    token = csrf_token(client)
    response = client.post(
        "/subscribe", data={"csrf": token, "email": address, "name": name, "lists": list(lists)}
    )
    assert response.status_code == 200, response.text
    return response.text


def confirmation_mails(settings: Settings) -> list[EmailMessage]:
    folder = settings.mail.outbox_dir / "confirmations"
    files = sorted(folder.rglob("*.eml")) if folder.is_dir() else []
    return [email.message_from_bytes(path.read_bytes(), policy=default) for path in files]


def recipient(message: EmailMessage) -> tuple[str, str]:
    """(display name, address) of the message's To header, decoded."""
    return parseaddr(str(message["To"]))


def link_in(message: EmailMessage, prefix: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(re.escape(BASE) + prefix + r"[A-Za-z0-9_.-]+", body.get_content())
    assert match, f"no {prefix} link in the message"
    return match.group(0)[len(BASE) :]


def add_active(engine: Engine, address: str, lists: tuple[str, ...], now: datetime) -> int:
    with db.write_session(engine) as session:
        result = subscribers.add_subscriber(session, address, "", lists, confirmed=True, now=now)
    return result.subscriber_id


def subscriber(engine: Engine, address: str) -> tuple[str, str, list[str]]:
    with db.read_session(engine) as session:
        row = session.execute(select(Subscriber).where(Subscriber.email == address)).scalar_one()
        return row.status, row.name, subscribers.subscriber_lists(session, row.id)


# -- home page --------------------------------------------------------------------------


def test_home_page_has_every_feed_autodiscovery_and_the_form(
    client: TestClient, web_settings: Settings
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    alternates = re.findall(
        r'<link rel="alternate" type="([^"]+)"[^>]*href="([^"]+)"', response.text
    )
    assert len(alternates) == 3 * (len(web_settings.topics) + 1)
    hrefs = {href for _, href in alternates}
    feeds = web_settings.site.feeds_url
    assert f"{feeds}/transport/atom.xml" in hrefs
    assert f"{feeds}/all/rss.xml" in hrefs
    assert f"{feeds}/index.opml" in response.text
    assert '<form method="post" action="/subscribe">' in response.text
    assert "<script" not in response.text
    assert "syndication_csrf" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "SameSite=strict" in response.headers["set-cookie"]


def test_security_headers_on_every_kind_of_response(client: TestClient) -> None:
    for path in ("/", "/healthz", "/digests/", "/no-such-page", "/confirm/nonsense"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    stylesheet = client.get("/static/site.css")
    assert stylesheet.headers["content-type"] == "text/css; charset=utf-8"


def test_a_non_ascii_csrf_cookie_or_field_is_a_4xx_not_a_500(client: TestClient) -> None:
    # hmac.compare_digest raised TypeError on non-ASCII strings (issue 15 item 5).
    cookie = "syndication_csrf=é.é".encode()
    home = client.get("/", headers={b"cookie": cookie})
    assert home.status_code == 200
    assert "syndication_csrf" in home.headers["set-cookie"]  # a fresh, good one
    token = csrf_token(client)
    for value in ("é", token + "é"):
        response = client.post(
            "/subscribe",
            data={"csrf": value, "email": "a@example.org", "lists": "weekly-city"},
        )
        assert response.status_code == 403
    client.cookies.clear()
    response = client.post(
        "/subscribe",
        data={"csrf": "é.é", "email": "a@example.org", "lists": "weekly-city"},
        headers={b"cookie": cookie},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/digests/weekly-city/2026-11-16%00", "/digests/we%00ek/x"])
def test_a_nul_in_a_digest_address_is_a_404(client: TestClient, path: str) -> None:
    # PostgreSQL refuses NUL in a parameter: that was a 500 (issue 15 item 5).
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_500_carries_the_security_headers_too(
    web_settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(digest_store, "digest_index", broken)
    with TestClient(create_app(web_settings, engine), raise_server_exceptions=False) as client:
        response = client.get("/digests/")
    assert response.status_code == 500
    assert "content-security-policy" in response.headers
    assert response.headers["x-frame-options"] == "DENY"
    assert "a bug" not in response.text


def test_unknown_page_is_a_404_page(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_a_wrong_method_is_a_405_that_names_the_allowed_ones(client: TestClient) -> None:
    response = client.delete("/")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


# -- subscribe and confirm ----------------------------------------------------------------


def test_subscribe_mails_a_link_that_confirms(
    client: TestClient, web_settings: Settings, engine: Engine
) -> None:
    page = subscribe(
        client, "Min-ji.Kim@Example.org", ("weekly-city", "weekly-international"), "김민지"
    )
    assert "Check your inbox" in page
    assert subscriber(engine, "min-ji.kim@example.org")[0] == "pending"

    [mail] = confirmation_mails(web_settings)
    assert recipient(mail) == ("김민지", "min-ji.kim@example.org")
    assert mail["Message-ID"]
    link = link_in(mail, "/confirm/")

    button = client.get(link)
    assert button.status_code == 200
    assert f'<form method="post" action="{link}">' in button.text
    confirmed = client.post(link)
    assert confirmed.status_code == 200
    assert "You are subscribed" in confirmed.text
    status, name, lists = subscriber(engine, "min-ji.kim@example.org")
    assert (status, name, lists) == ("active", "김민지", ["weekly-city", "weekly-international"])
    assert client.post(link).status_code == 200  # following it twice is fine


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fetching_a_confirmation_link_confirms_nothing(
    client: TestClient, web_settings: Settings, engine: Engine, method: str
) -> None:
    # Mail scanners (Safe Links and the like) fetch every link in a message: only the
    # button's POST may complete the double opt-in (issue 15 item 2).
    subscribe(client, "reader@example.org")
    link = link_in(confirmation_mails(web_settings)[0], "/confirm/")
    assert client.request(method, link).status_code == 200
    assert subscriber(engine, "reader@example.org")[0] == "pending"


def test_a_confirmation_link_confirms_only_the_request_it_was_sent_for(
    web_settings: Settings, engine: Engine
) -> None:
    # A stranger re-submits a pending address with other lists and another name: the
    # owner's link must not activate the stranger's choices (issue 15 item 3).
    with TestClient(create_app(web_settings, engine)) as client:
        subscribe(client, "owner@example.org", ("weekly-city",), "Owner")
        owners = link_in(confirmation_mails(web_settings)[0], "/confirm/")
        subscribe(client, "owner@example.org", ("weekly-international",), "Stranger")
        refused = client.post(owners)
        assert refused.status_code == 409
        assert subscriber(engine, "owner@example.org")[0] == "pending"
        # The newest mail names the newest request, and its link works.
        newest = link_in(confirmation_mails(web_settings)[0], "/confirm/")
        assert newest != owners
        assert client.post(newest).status_code == 200
        assert subscriber(engine, "owner@example.org")[0] == "active"


def test_an_old_confirmation_link_dies_when_the_address_is_removed_and_resubmitted(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    subscribe(client, "reader@example.org")
    old = link_in(confirmation_mails(web_settings)[0], "/confirm/")
    assert client.post(old).status_code == 200
    with db.write_session(engine) as session:
        sid = subscribers.find_subscriber(session, "reader@example.org").id
        subscribers.unsubscribe(session, sid, now)
    subscribe(client, "reader@example.org", ("weekly-international",))
    assert client.post(old).status_code == 409
    assert subscriber(engine, "reader@example.org")[0] == "pending"


def test_the_answer_is_the_same_for_new_pending_active_and_suppressed_addresses(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    add_active(engine, "active@example.org", ("weekly-city",), now)
    with db.write_session(engine) as session:
        subscribers.suppress(
            session, "bounced@example.org", "550 no such user", now, Event.HARD_BOUNCE
        )
    pages = [
        subscribe(client, "new@example.org"),
        subscribe(client, "new@example.org"),  # now pending
        subscribe(client, "active@example.org"),
        subscribe(client, "bounced@example.org"),
    ]
    assert len(set(pages)) == 1
    # A stranger cannot change an active subscriber's lists, nor mail them.
    assert subscriber(engine, "active@example.org")[2] == ["weekly-city"]
    recipients = [recipient(m)[1] for m in confirmation_mails(web_settings)]
    assert "active@example.org" not in recipients
    assert "bounced@example.org" not in recipients


def test_a_bad_address_is_shown_again_escaped(client: TestClient) -> None:
    token = csrf_token(client)
    response = client.post(
        "/subscribe",
        data={
            "csrf": token,
            "email": "<script>x</script>",
            "name": "<b>Kim</b>",
            "lists": "weekly-city",
        },
    )
    assert response.status_code == 400
    assert "is not a valid e-mail address" in response.text
    assert "<script>x</script>" not in response.text
    assert "&lt;b&gt;Kim&lt;/b&gt;" in response.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Win a prize at https://evil.example/x", "cannot contain a web or e-mail address"),
        ("visit www.evil.example", "cannot contain a web or e-mail address"),
        ("bit.ly/free", "cannot contain a web or e-mail address"),
        ("write to me@evil.example", "cannot contain a web or e-mail address"),
        ("x" * 61, "at most 60 characters"),
    ],
)
def test_a_sign_up_name_is_short_and_plain(
    client: TestClient, web_settings: Settings, engine: Engine, name: str, reason: str
) -> None:
    # The name goes into a mail to whatever address is typed next to it: no adverts
    # (issue 15 item 6).
    token = csrf_token(client)
    response = client.post(
        "/subscribe",
        data={"csrf": token, "email": "victim@example.org", "name": name, "lists": "weekly-city"},
    )
    assert response.status_code == 400
    assert reason in response.text
    assert confirmation_mails(web_settings) == []
    for fine in ("김민지", "Kim Min-ji", "Dr. J. R. Smith"):
        subscribe(client, "reader@example.org", name=fine)


def test_at_least_one_known_list_is_needed(client: TestClient) -> None:
    token = csrf_token(client)
    response = client.post(
        "/subscribe", data={"csrf": token, "email": "a@example.org", "lists": "no-such-list"}
    )
    assert response.status_code == 400
    assert "Choose at least one list" in response.text


@pytest.mark.parametrize("case", ["no cookie", "no field", "other value", "forged"])
def test_subscribe_without_a_good_csrf_token_is_refused(
    client: TestClient, engine: Engine, case: str
) -> None:
    token = csrf_token(client)
    data = {"email": "victim@example.org", "lists": "weekly-city", "csrf": token}
    if case == "no cookie":
        client.cookies.clear()
    elif case == "no field":
        del data["csrf"]
    elif case == "other value":
        data["csrf"] = new_csrf_token("test-secret-key-not-for-production")
    else:
        forged = new_csrf_token("attacker's own key")
        client.cookies.set("syndication_csrf", forged)
        data["csrf"] = forged
    response = client.post("/subscribe", data=data)
    assert response.status_code == 403
    with db.read_session(engine) as session:
        assert session.execute(select(Subscriber)).first() is None


def test_subscribe_is_rate_limited_per_client(web_settings: Settings, engine: Engine) -> None:
    app = create_app(web_settings, engine, subscribe_limit=ClientRateLimiter(3, 600))
    with TestClient(app) as client:
        for n in range(3):
            subscribe(client, f"reader{n}@example.org")
        token = csrf_token(client)
        response = client.post(
            "/subscribe", data={"csrf": token, "email": "x@example.org", "lists": "weekly-city"}
        )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


def test_confirmation_mails_to_one_address_are_limited(
    web_settings: Settings, engine: Engine
) -> None:
    app = create_app(web_settings, engine, confirm_limit=ClientRateLimiter(2, 86400))
    with TestClient(app) as client:
        for _ in range(4):
            subscribe(client, "bombed@example.org")
    with db.read_session(engine) as session:
        queued = session.scalars(select(TransactionalMail.email)).all()
    assert queued == ["bombed@example.org"] * 2
    assert len(confirmation_mails(web_settings)) == 1  # one file per address, rewritten


@pytest.mark.parametrize("damage", ["flip", "truncate", "purpose", "expired", "empty"])
def test_bad_confirmation_links_get_a_clear_4xx_page(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime, damage: str
) -> None:
    subscribe(client, "reader@example.org")
    link = link_in(confirmation_mails(web_settings)[0], "/confirm/")
    token = link.removeprefix("/confirm/")
    secret = web_settings.secret_key
    sid = add_active(engine, "other@example.org", ("weekly-city",), now)
    bad = {
        "flip": token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],
        "truncate": token.partition(".")[0],
        "purpose": make_token(secret, UNSUBSCRIBE, sid, datetime.now(UTC)),
        "expired": make_token(secret, CONFIRM, sid, datetime.now(UTC) - timedelta(days=8)),
        "empty": "x.",
    }[damage]
    response = client.post(f"/confirm/{bad}")
    assert response.status_code == 400
    assert "This link does not work" in response.text
    assert subscriber(engine, "reader@example.org")[0] == "pending"


def test_a_link_for_a_subscriber_who_is_gone_is_a_404(
    client: TestClient, web_settings: Settings
) -> None:
    token = make_token(web_settings.secret_key, CONFIRM, 999_999, datetime.now(UTC))
    assert client.post(f"/confirm/{token}").status_code == 404


# -- unsubscribe --------------------------------------------------------------------------


def test_get_shows_one_button_and_changes_nothing(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, sid, now, "weekly-city")
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert page.text.count("<button") == 1
    assert "City Life Weekly" in page.text
    assert subscriber(engine, "reader@example.org")[0] == "active"


def test_head_on_an_unsubscribe_link_changes_nothing(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    # Link scanners and mail gateways send HEAD; Starlette routes it to the GET handler,
    # which must not take it for the POST (issue 15 item 1).
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, sid, now, "weekly-city")
    assert client.head(f"/unsubscribe/{token}").status_code == 200
    assert subscriber(engine, "reader@example.org") == ("active", "", ["weekly-city"])


def test_one_click_post_unsubscribes_at_once_without_cookies(
    web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city", "weekly-international"), now)
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, sid, now, "weekly-city")
    with TestClient(create_app(web_settings, engine)) as client:
        for _ in range(2):  # what Gmail sends (RFC 8058 §3.2); twice is fine
            response = client.post(
                f"/unsubscribe/{token}",
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 200
            assert not client.cookies
    assert subscriber(engine, "reader@example.org") == ("active", "", ["weekly-international"])


def test_one_click_as_multipart_and_for_every_list(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city", "weekly-international"), now)
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, sid, now)
    response = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert subscriber(engine, "reader@example.org") == ("unsubscribed", "", [])


def test_unsubscribe_with_a_tampered_token_is_refused(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, sid, now)
    other = make_token(web_settings.secret_key, UNSUBSCRIBE, sid + 1, now)
    forged = other.partition(".")[0] + "." + token.partition(".")[2]
    assert client.post(f"/unsubscribe/{forged}").status_code == 400
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    assert subscriber(engine, "reader@example.org")[0] == "active"


def test_unsubscribe_for_a_subscriber_who_is_gone_still_answers_200(
    client: TestClient, web_settings: Settings, now: datetime
) -> None:
    token = make_token(web_settings.secret_key, UNSUBSCRIBE, 424242, now)
    assert client.post(f"/unsubscribe/{token}").status_code == 200


# -- preferences ----------------------------------------------------------------------------


def test_preferences_choose_lists_and_change_the_name(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    url = f"/preferences/{make_token(web_settings.secret_key, PREFERENCES, sid, now)}"
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="weekly-city" checked' in page.text
    assert 'value="weekly-international">' in page.text

    saved = client.post(
        url, data={"action": "save", "name": "<i>박서준</i>", "lists": ["weekly-international"]}
    )
    assert saved.status_code == 200
    assert "Saved." in saved.text
    assert "&lt;i&gt;박서준&lt;/i&gt;" in saved.text
    assert subscriber(engine, "reader@example.org") == (
        "active",
        "<i>박서준</i>",
        ["weekly-international"],
    )


def test_preferences_leave_everything_and_come_back(
    client: TestClient, web_settings: Settings, engine: Engine, now: datetime
) -> None:
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    url = f"/preferences/{make_token(web_settings.secret_key, PREFERENCES, sid, now)}"
    client.post(url, data={"action": "leave", "lists": ["weekly-city"]})
    assert subscriber(engine, "reader@example.org") == ("unsubscribed", "", [])
    client.post(url, data={"action": "save", "lists": ["weekly-city"]})
    assert subscriber(engine, "reader@example.org") == ("active", "", ["weekly-city"])


def test_preferences_with_a_bad_token(client: TestClient, web_settings: Settings) -> None:
    confirm = make_token(web_settings.secret_key, CONFIRM, 1, datetime.now(UTC))
    assert client.get(f"/preferences/{confirm}").status_code == 400
    assert client.post(f"/preferences/{confirm}", data={"action": "leave"}).status_code == 400


# -- digest archive and health -----------------------------------------------------------------


def store_digest(engine: Engine, now: datetime, html: str) -> None:
    with db.write_session(engine) as session:
        session.add(
            Digest(
                list_slug="weekly-city",
                period_key="2026-11-16",
                period_start=now - timedelta(days=12),
                period_end=now - timedelta(days=5),
                subject="City Life Weekly: 16 November",
                preheader="",
                html=html,
                text="text",
                article_count=3,
                created_at=now,
            )
        )


def test_digest_archive(client: TestClient, engine: Engine, now: datetime) -> None:
    assert "No digest has been sent yet" in client.get("/digests/").text
    html = (
        '<html><body style="margin:0"><p>Hello %%SYNDICATION:NAME%%,</p>'
        '<a href="%%SYNDICATION:UNSUBSCRIBE_URL%%">Unsubscribe</a> %%SYNDICATION:ADDRESS%%'
        "</body></html>"
    )
    store_digest(engine, now, html)
    # Compiled, not sent yet: not on the archive.
    assert "weekly-city/2026-11-16" not in client.get("/digests/").text
    assert client.get("/digests/weekly-city/2026-11-16").status_code == 404
    with db.write_session(engine) as session:
        digest_id = session.scalars(select(Digest.id)).one()
        reader = subscribers.add_subscriber(
            session, "r@example.org", "", ["weekly-city"], confirmed=True, now=now
        )
        session.add(
            Delivery(
                digest_id=digest_id,
                subscriber_id=reader.subscriber_id,
                status="sent",
                attempts=1,
                next_attempt_at=now,
                claimed_by="",
                last_error="",
                message_id="<m@x>",
            )
        )
    index = client.get("/digests/")
    assert (
        '<a href="/digests/weekly-city/2026-11-16">City Life Weekly: 16 November</a>' in index.text
    )
    page = client.get("/digests/weekly-city/2026-11-16")
    assert page.status_code == 200
    assert "%%SYNDICATION" not in page.text
    assert "Hello there," in page.text
    assert f'href="{BASE}/"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "public, max-age=300"
    assert client.get("/digests/weekly-city/2026-11-23").status_code == 404
    for state in ("held", "cancelled"):
        with db.write_session(engine) as session:
            session.merge(
                DigestState(digest_id=digest_id, state=state, changed_at=now, approved_by="")
            )
        assert client.get("/digests/weekly-city/2026-11-16").status_code == 404, state
        assert "weekly-city/2026-11-16" not in client.get("/digests/").text, state


def test_healthz(
    client: TestClient,
    web_settings: Settings,
    engine: Engine,
    now: datetime,
    make_article: Callable[..., ArticleRecord],
) -> None:
    body = client.get("/healthz").json()
    # No feeds built yet: every file a build writes is missing, and that is being behind.
    missing = len(feeds.expected_paths(web_settings))
    assert body == {
        "status": "ok",
        "database": "ok",
        "feeds": {"built_to": 0, "store_at": 0, "behind": missing, "missing_files": missing},
        "last_poll": None,
        "outbox_backlog": 0,
        "outbox_held": 0,
        "bounce_intake_backlog": 0,
        "bounce_intake_failed": 0,
        "transactional_mail": {
            "awaiting_confirmation": 0,
            "queued": 0,
            "retrying": 0,
            "gave_up": 0,
            "oldest_queued_at": None,
        },
    }
    feed_service.build_feeds(web_settings, engine, force_all=True)
    assert client.get("/healthz").json()["feeds"]["behind"] == 0
    (web_settings.feeds.dir / "index.opml").unlink()
    assert client.get("/healthz").json()["feeds"]["missing_files"] == 1
    store_digest(engine, now, "<p>x</p>")
    sid = add_active(engine, "reader@example.org", ("weekly-city",), now)
    with db.write_session(engine) as session:
        digest_id = session.execute(select(Digest.id)).scalar_one()
        session.add(Delivery(digest_id=digest_id, subscriber_id=sid, next_attempt_at=now))
        store.write_articles(session, [make_article("smg-1"), make_article("smg-2")], now)
        store.write_counter(session, "feeds_built", 1)
        session.add(
            JobRun(job_id="poll", started_at=now, finished_at=now, ok=True, summary="", error="")
        )
    body = client.get("/healthz").json()
    assert body["outbox_backlog"] == 1
    assert body["feeds"] == {"built_to": 1, "store_at": 2, "behind": 2, "missing_files": 1}
    assert body["last_poll"] == {"finished_at": now.isoformat(), "ok": True}


def test_healthz_when_the_database_is_away(web_settings: Settings, tmp_path: Path) -> None:
    dead = db.make_engine(f"sqlite:///{tmp_path / 'missing' / 'x' / 'no.db'}")
    (tmp_path / "missing" / "x").rmdir()
    with TestClient(create_app(web_settings, dead)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


# -- the serve command ----------------------------------------------------------------------


def serve_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = database_url
    return env


def test_serve_runs_the_app(tmp_path: Path, database_url: str) -> None:
    # No settings file and no SYNDICATION_SECRET_KEY: the demo, whose key serve makes in
    # ./.secret_key like every command that signs.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "syndication", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=serve_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                    assert json.loads(response.read())["database"] == "ok"
                    break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "syndication serve did not answer"
                time.sleep(0.1)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert (tmp_path / ".secret_key").is_file()
    assert b"demo: made a signing key in .secret_key" in stderr


def test_the_app_needs_a_secret_key(settings: Settings, engine: Engine) -> None:
    with pytest.raises(ConfigError, match="SYNDICATION_SECRET_KEY"):
        create_app(replace(settings, secret_key=""), engine)
