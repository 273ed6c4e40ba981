"""The console over HTTP against the real app and database: sign-in, lockout, roles,
CSRF, sessions that end, and what every action does to the outbox."""

from __future__ import annotations

import csv
import email
import io
from dataclasses import replace
from datetime import timedelta
from email import policy

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from syndication.edges.transport import MemoryTransport
from syndication.services import delivery, users
from syndication.services.digests import approval
from syndication.settings import LanguageSettings, Settings, SourceSettings
from syndication.store import database as db
from syndication.store.models import Article, BounceEvent, Delivery, Subscriber, Suppression
from syndication.store.sources import record_poll
from syndication.web.app import create_app
from tests.support.builders import (
    AFTER_WEEK,
    add_korean_and_english_readers,
    import_demo_translations,
)
from tests.support.console import PASSWORD, Clock, client_for, post_login, sign_in
from tests.support.outbox import (
    PERIOD,
    queue_demo_digest,
)

LIST = "weekly-city"
DIGEST = f"/admin/digests/{LIST}/{PERIOD}"


def outbox(engine: Engine) -> dict[str, int]:
    with db.read_session(engine) as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {str(s): int(n) for s, n in rows}


def send_all(settings: Settings, engine: Engine) -> int:
    sink = MemoryTransport()
    delivery.send_digests(
        settings, engine, workers=1, now=lambda: AFTER_WEEK, transport_factory=lambda: sink
    )
    return len(sink.sent)


# -- signing in -----------------------------------------------------------------------------


def test_pages_need_a_session_and_sign_in_starts_one(client: TestClient) -> None:
    response = client.get("/admin/subscribers", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2Fsubscribers"
    login = post_login(client, "Op@Example.org", next_path="/admin/subscribers")
    assert login.status_code == 303 and login.headers["location"] == "/admin/subscribers"
    cookie = login.headers["set-cookie"]
    assert "syndication_admin=" in cookie
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/admin"):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here; see the https test
    page = client.get("/admin/subscribers")
    assert page.status_code == 200 and "op@example.org (operator)" in page.text


def test_the_session_cookie_is_secure_over_https(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    with TestClient(create_app(web_settings, app_engine, now=clock.now), "https://testserver") as c:
        login = post_login(c, "op@example.org")
    assert login.status_code == 303 and "secure" in login.headers["set-cookie"].lower()


def test_sign_in_never_redirects_off_the_console(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/admin/", "/feeds/"):
        client.cookies.clear()
        login = post_login(client, "viewer@example.org", next_path=target)
        assert login.headers["location"] == "/admin/"


def test_unknown_address_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    wrong = post_login(client, "op@example.org", "not the password at all")
    unknown = post_login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 403
    assert "syndication_admin" not in wrong.headers.get("set-cookie", "")
    same = [
        r.text.replace(address, "X")
        for r, address in ((wrong, "op@example.org"), (unknown, "nobody@example.org"))
    ]
    assert same[0] == same[1]
    assert "do not match an account" in wrong.text


def test_sign_in_without_the_form_token_is_refused(client: TestClient) -> None:
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"email": "op@example.org", "password": PASSWORD, "csrf": "forged.token"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_five_failures_lock_the_account_not_the_client_for_15_minutes(
    web_settings: Settings, app_engine: Engine, clock: Clock, client: TestClient
) -> None:
    for _ in range(5):
        assert post_login(client, "op@example.org", "wrong password here").status_code == 403
    locked = post_login(client, "op@example.org")  # the right password, too late
    assert locked.status_code == 429 and locked.headers["retry-after"] == "900"
    with client_for(web_settings, app_engine, clock, "10.0.0.2") as elsewhere:
        assert post_login(elsewhere, "op@example.org").status_code == 429  # by address
        assert post_login(elsewhere, "viewer@example.org").status_code == 303
    # Not the client: behind one office NAT, one person's typos lock only their account.
    with client_for(web_settings, app_engine, clock) as same_office:
        assert post_login(same_office, "viewer@example.org").status_code == 303
    clock.advance(timedelta(minutes=15, seconds=1))
    assert post_login(client, "op@example.org").status_code == 303


# -- sessions end ---------------------------------------------------------------------------


def test_sign_out_ends_the_session_even_for_a_copied_cookie(client: TestClient) -> None:
    token = sign_in(client, "op@example.org")
    stolen = client.cookies["syndication_admin"]
    response = client.post("/admin/logout", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("syndication_admin", stolen, path="/admin")
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_removing_a_user_ends_their_session_at_once(
    client: TestClient, app_engine: Engine, clock: Clock
) -> None:
    sign_in(client, "viewer@example.org")
    assert client.get("/admin/", follow_redirects=False).status_code == 200
    users.remove_user(app_engine, "viewer@example.org", clock.now())
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_a_session_idle_for_12_hours_ends(client: TestClient, clock: Clock) -> None:
    sign_in(client, "viewer@example.org")
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/admin/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=12))
    assert client.get("/admin/", follow_redirects=False).status_code == 303


# -- roles and CSRF ---------------------------------------------------------------------------


def test_a_viewer_can_look_and_gets_403_on_every_action(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 2)
    token = sign_in(client, "viewer@example.org")
    for path in ("/admin/", "/admin/digests/", DIGEST, "/admin/subscribers", "/admin/articles"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'action="' + DIGEST + '/hold"' not in page.text
    for action in ("hold", "resume", "approve", "cancel"):
        assert client.post(f"{DIGEST}/{action}", data={"csrf": token}).status_code == 403
    test = client.post(f"{DIGEST}/test", data={"csrf": token, "email": "v@example.org"})
    assert test.status_code == 403
    assert client.post("/admin/subscribers/1/suppress", data={"csrf": token}).status_code == 403
    assert (
        client.post("/admin/articles/1/retract", data={"csrf": token, "reason": "x"}).status_code
        == 403
    )
    assert approval.digest_status(app_engine, LIST, PERIOD).state == "ready"
    assert outbox(app_engine) == {"queued": 2}


def test_every_action_needs_the_sessions_csrf_token(
    web_settings: Settings, client: TestClient, app_engine: Engine, clock: Clock
) -> None:
    queue_demo_digest(web_settings, app_engine, 1)
    with client_for(web_settings, app_engine, clock) as other:
        other_token = sign_in(other, "op@example.org")
    sign_in(client, "op@example.org")
    for data in ({}, {"csrf": ""}, {"csrf": "x" * 43}, {"csrf": other_token}, {"csrf": "ü"}):
        response = client.post(f"{DIGEST}/hold", data=data)
        assert response.status_code == 403, data
    assert approval.digest_status(app_engine, LIST, PERIOD).state == "ready"


def test_actions_are_post_only_and_bad_paths_are_404(client: TestClient) -> None:
    sign_in(client, "op@example.org")
    for method in ("GET", "HEAD"):
        assert client.request(method, f"{DIGEST}/hold").status_code == 405
    assert client.get("/admin/digests/weekly-city/2026-11-16%00").status_code == 404
    assert client.get("/admin/digests/Weekly_City/2026-11-16").status_code == 404
    assert client.get("/admin/subscribers/99999999999").status_code == 404
    # A NUL is refused at the edge, in any query or form (N12: a 500 on PostgreSQL).
    assert client.get("/admin/subscribers?q=%00a%27").status_code == 400
    assert client.get("/admin/subscribers?q=a%27").status_code == 200
    assert client.get("/admin/articles?q=%25_%5C").status_code == 200


def test_every_console_answer_is_no_store_with_the_security_headers(client: TestClient) -> None:
    responses = [client.get("/admin/login"), post_login(client, "op@example.org", "wrong one!")]
    sign_in(client, "op@example.org")
    responses += [client.get(p) for p in ("/admin/", "/admin/articles", "/admin/nope", DIGEST)]
    for response in responses:
        assert response.headers["cache-control"] == "no-store", response.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# -- actions and the outbox -------------------------------------------------------------------


def test_hold_resume_and_cancel_from_the_console_are_exact(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 3)
    token = sign_in(client, "op@example.org")
    held = client.post(f"{DIGEST}/hold", data={"csrf": token}, follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"] == f"{DIGEST}?done=hold"
    page = client.get(held.headers["location"])
    assert "Held: nothing more" in page.text and 'action="' + DIGEST + '/resume"' in page.text
    status = approval.digest_status(app_engine, LIST, PERIOD)
    assert (status.state, status.changed_by) == ("held", "op@example.org")
    assert send_all(web_settings, app_engine) == 0
    assert client.post(f"{DIGEST}/resume", data={"csrf": token}).status_code == 200
    assert send_all(web_settings, app_engine) == 3
    assert outbox(app_engine) == {"sent": 3}
    finished = client.post(f"{DIGEST}/cancel", data={"csrf": token})
    assert finished.status_code == 409 and "nothing left to cancel" in finished.text


def test_a_hold_during_a_send_says_what_may_still_go_out(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    """A sender holds 2 rows (one connection: the file transport): the answer says that
    at most 1 message may still go out, not "nothing more"."""
    from syndication.store import outbox as store_outbox

    queue_demo_digest(web_settings, app_engine, 3)
    with db.write_session(app_engine) as session:
        store_outbox.claim_batch(session, "w1", AFTER_WEEK, timedelta(minutes=2), 2, "c1")
    token = sign_in(client, "op@example.org")
    held = client.post(f"{DIGEST}/hold", data={"csrf": token})
    assert held.status_code == 200
    assert (
        "until it is resumed; at most 1 message already being handed to the mail server "
        "may still go out." in held.text
    )


def test_approve_is_refused_once_the_digest_is_stale(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    lists = tuple(replace(ml, approval="manual") for ml in web_settings.lists)
    manual = replace(web_settings, lists=lists)
    queue_demo_digest(manual, app_engine, 2)
    clock.at = approval.digest_status(app_engine, LIST, PERIOD).period_end + timedelta(hours=25)
    with client_for(manual, app_engine, clock) as client:
        token = sign_in(client, "op@example.org")
        assert 'action="' + DIGEST + '/approve"' in client.get(DIGEST).text
        stale = client.post(f"{DIGEST}/approve", data={"csrf": token})
        assert stale.status_code == 409 and "a stale digest should not go out" in stale.text
        clock.at -= timedelta(hours=2)
        assert client.post(f"{DIGEST}/approve", data={"csrf": token}).status_code == 200
    assert approval.digest_status(app_engine, LIST, PERIOD).state == "approved"
    assert send_all(manual, app_engine) == 2


def test_send_test_mails_one_marked_copy_and_leaves_the_outbox_alone(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 2)
    token = sign_in(client, "op@example.org")
    response = client.post(f"{DIGEST}/test", data={"csrf": token, "email": "editor@example.org"})
    assert response.status_code == 200 and "Test sent" in response.text
    files = list((web_settings.mail.outbox_dir / "tests").rglob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert str(message["subject"]).startswith("[TEST] City Life Weekly")
    assert outbox(app_engine) == {"queued": 2}
    bad = client.post(f"{DIGEST}/test", data={"csrf": token, "email": "a@b\r\nBcc: x@y.z"})
    assert bad.status_code == 400


def test_the_digest_page_shows_the_mail_and_frames_it_sandboxed(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 1)
    sign_in(client, "viewer@example.org")
    page = client.get(DIGEST)
    assert '<iframe class="preview" sandbox src="' + DIGEST + '/preview"' in page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    for part in (
        "List-Unsubscribe-Post",
        "of the 104,448 bytes above which Gmail clips",
        "1 queued",
    ):
        assert part in page.text.replace("</span> ", " "), part
    preview = client.get(f"{DIGEST}/preview")
    assert preview.status_code == 200 and "%%SYNDICATION" not in preview.text
    assert preview.headers["content-security-policy"].startswith("sandbox;")
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"


def test_subscriber_actions_and_export(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 2)
    with db.write_session(app_engine) as session:
        reader = session.scalars(
            select(Subscriber).where(Subscriber.email == "reader0@example.org")
        ).one()
        reader.name = "=HYPERLINK(1)"
        reader_id = reader.id
    token = sign_in(client, "op@example.org")
    found = client.get("/admin/subscribers", params={"q": "READER0"})
    assert f'/admin/subscribers/{reader_id}"' in found.text and "reader1@" not in found.text
    page = client.get(f"/admin/subscribers/{reader_id}")
    assert "weekly-city 2026-11-16" in page.text and "queued" in page.text
    base = f"/admin/subscribers/{reader_id}"
    assert client.post(f"{base}/suppress", data={"csrf": token}).status_code == 200
    with db.read_session(app_engine) as session:
        assert session.get(Suppression, "reader0@example.org") is not None
    assert send_all(web_settings, app_engine) == 1  # reader1 only
    with db.write_session(app_engine) as session:
        session.get(Subscriber, reader_id).status = "bounced"  # type: ignore[union-attr]
        session.add(
            BounceEvent(
                report_key="dsn-1",
                created_at=AFTER_WEEK,
                source="smtp",
                kind="hard",
                status_code="5.1.1",
                diagnostic="550 5.1.1 user unknown",
                subscriber_id=reader_id,
                report=b"",
                reason="userunknown",
                evidence="Diagnostic-Code: 550 5.1.1",
            )
        )
    shown = client.get(base).text
    assert "550 5.1.1 user unknown" in shown
    assert "<td>userunknown</td>" in shown and "(Diagnostic-Code: 550 5.1.1)" in shown
    assert client.post(f"{base}/restore", data={"csrf": token}).status_code == 200
    assert "restored by an operator: bounced -&gt; active" in client.get(base).text
    with db.read_session(app_engine) as session:
        assert session.get(Suppression, "reader0@example.org") is None
        assert session.get(Subscriber, reader_id).status == "active"  # type: ignore[union-attr]
    assert client.post(f"{base}/unsubscribe", data={"csrf": token}).status_code == 200
    with db.read_session(app_engine) as session:
        assert session.get(Subscriber, reader_id).status == "unsubscribed"  # type: ignore[union-attr]
    export = client.get("/admin/subscribers/export.csv")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["email", "name", "lists", "status", "created_at", "confirmed_at", "language"]
    assert ["reader0@example.org", "'=HYPERLINK(1)", "", "unsubscribed"] in [r[:4] for r in rows]


def test_retract_an_article_with_a_reason(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 0)
    with db.read_session(app_engine) as session:
        article = session.scalars(select(Article).order_by(Article.published_at.desc())).first()
        assert article is not None
    token = sign_in(client, "op@example.org")
    listing = client.get("/admin/articles")
    assert listing.text.index(article.source_id) < listing.text.index("</tbody>")
    path = f"/admin/articles/{article.id}/retract"
    assert client.post(path, data={"csrf": token, "reason": "  "}).status_code == 400
    control = client.post(path, data={"csrf": token, "reason": "Wrong\x1bfigures"})
    assert control.status_code == 400 and "control character U+001B" in control.text
    done = client.post(path, data={"csrf": token, "reason": " Wrong\r\n figures "})
    assert done.status_code == 200 and f"Retracted {article.source_id}" in done.text
    with db.read_session(app_engine) as session:
        stored = session.get(Article, article.id)
        assert stored is not None
        assert (stored.status, stored.retraction_reason) == ("retracted", "Wrong figures")


def test_the_dashboard_shows_each_configured_source_and_its_last_poll(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    sources = (
        SourceSettings(name="city-wp", kind="wordpress", url="https://cms.example.org"),
        SourceSettings(name="agency", kind="feed", url="https://agency.example.org/feed"),
    )
    with db.write_session(app_engine) as session:
        record_poll(
            session, "city-wp", "wordpress", now=clock.now(), ok=False, result="", error="HTTP 503"
        )
    with client_for(replace(web_settings, sources=sources), app_engine, clock) as client:
        sign_in(client, "viewer@example.org")
        page = client.get("/admin/").text
    table = page[page.index("<h2>Sources</h2>") : page.index("<h2>Lists</h2>")]
    assert "city-wp" in table and "HTTP 503" in table and "agency" in table
    assert "never polled" in table


def test_the_dashboard_counts_readers_and_articles_by_language(
    web_settings: Settings, app_engine: Engine, clock: Clock
) -> None:
    settings = replace(web_settings, languages=LanguageSettings(available=("en", "ko")))
    import_demo_translations(settings, app_engine)
    add_korean_and_english_readers(app_engine, "weekly-city")
    with client_for(settings, app_engine, clock) as client:
        sign_in(client, "viewer@example.org")
        page = client.get("/admin/").text
    table = page[page.index("<h2>Languages</h2>") : page.index("<h2>Subscribers per list")]
    assert '<th scope="col" class="num" lang="ko">한국어</th>' in table
    assert '<th scope="col" class="num" lang="ja">日本語</th>' in table  # an article's language
    city = table[table.index("weekly-city") : table.index("</tr>", table.index("weekly-city"))]
    assert city.count('<td class="num">1</td>') == 2
    articles = table[table.index("Published articles") :]
    assert '<td class="num">2</td>' in articles  # two in Korean, two in Japanese


def test_a_finished_digest_offers_no_hold_or_cancel(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 3)
    token = sign_in(client, "op@example.org")
    page = client.get(DIGEST).text
    assert f'action="{DIGEST}/hold"' in page and f'action="{DIGEST}/cancel"' in page
    assert send_all(web_settings, app_engine) == 3
    page = client.get(DIGEST).text
    assert '<span class="state finished">finished</span>' in page
    assert f'action="{DIGEST}/hold"' not in page and f'action="{DIGEST}/cancel"' not in page
    listed = client.get("/admin/digests").text
    assert '<span class="state finished">finished</span>' in listed
    refused = client.post(f"{DIGEST}/cancel", data={"csrf": token})
    assert refused.status_code == 409 and "nothing left to cancel" in refused.text
    assert approval.digest_status(app_engine, LIST, PERIOD).state == "ready"
    assert outbox(app_engine) == {"sent": 3}


def test_restore_is_offered_only_to_a_reader_with_something_to_restore(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 1)
    with db.read_session(app_engine) as session:
        reader_id = session.scalars(select(Subscriber.id)).one()
    token = sign_in(client, "op@example.org")
    base = f"/admin/subscribers/{reader_id}"
    assert f'action="{base}/restore"' not in client.get(base).text
    refused = client.post(f"{base}/restore", data={"csrf": token})
    assert refused.status_code == 409 and "nothing to restore" in refused.text
    with db.read_session(app_engine) as session:
        events = session.scalars(select(BounceEvent).where(BounceEvent.kind == "restored"))
        assert list(events) == []
    assert client.post(f"{base}/suppress", data={"csrf": token}).status_code == 200
    assert f'action="{base}/restore"' in client.get(base).text
    assert client.post(f"{base}/restore", data={"csrf": token}).status_code == 200


def test_retracting_an_article_in_a_queued_digest_holds_it_and_says_so(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    from syndication.core.retractions import link_to
    from syndication.services.digests import archive

    queue_demo_digest(web_settings, app_engine, 2)
    html = archive.console_preview(web_settings, app_engine, LIST, PERIOD)
    with db.read_session(app_engine) as session:
        carried = [a for a in session.scalars(select(Article)) if link_to(a.url) in html]
    token = sign_in(client, "op@example.org")
    path = f"/admin/articles/{carried[0].id}/retract"
    done = client.post(path, data={"csrf": token, "reason": "Wrong figures"})
    assert done.status_code == 200
    assert f"Held {LIST} {PERIOD}: it carries the retracted article" in done.text
    assert approval.digest_status(app_engine, LIST, PERIOD).state == "held"
    assert send_all(web_settings, app_engine) == 0


def test_a_nul_in_any_console_form_or_query_is_a_400(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 1)
    login = post_login(client, "op\x00@example.org")
    assert login.status_code == 400
    token = sign_in(client, "op@example.org")
    retract = client.post("/admin/articles/1/retract", data={"csrf": token, "reason": "a\x00b"})
    assert retract.status_code == 400 and "NUL" in retract.text
    test = client.post(f"{DIGEST}/test", data={"csrf": token, "email": "a\x00@example.org"})
    assert test.status_code == 400
    for page in ("/admin/articles?q=x%00", f"{DIGEST}?done=hold%00", "/admin/?x%00=1"):
        assert client.get(page).status_code == 400, page
    with db.read_session(app_engine) as session:
        assert session.scalars(select(Article.status).where(Article.id == 1)).one() == "published"
