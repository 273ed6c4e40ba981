"""The audit log of operator actions over HTTP against the real app and database (issue
28): who, what, when and from where for every console action, shown per subscriber, per
digest and per article, filtered on ``/admin/audit``, exported by operators only."""

from __future__ import annotations

import csv
import html
import io

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from syndication.services import users
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.models import Article, AuditEvent, Subscriber
from tests.support.console import Clock, client_for, post_login, sign_in
from tests.support.outbox import PERIOD, queue_demo_digest

DIGEST = f"/admin/digests/weekly-city/{PERIOD}"


def recorded(engine: Engine) -> list[tuple[str, str, str, str, str, str]]:
    """Every audit row as (actor, source, client, action, subject kind, subject key), but
    the fixture's (users added by the test, a system actor)."""
    with db.read_session(engine) as session:
        return [
            (e.actor, e.source, e.client, e.action, e.subject_kind, e.subject_key)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if e.source != "system"
        ]


def test_every_console_action_is_recorded_with_who_and_from_where(
    web_settings: Settings, client: TestClient, app_engine: Engine, clock: Clock
) -> None:
    queue_demo_digest(web_settings, app_engine, 2)
    with db.read_session(app_engine) as session:
        reader = session.scalars(
            select(Subscriber).where(Subscriber.email == "reader0@example.org")
        ).one()
        article = session.scalars(select(Article).order_by(Article.published_at.desc())).first()
        assert article is not None
    with client_for(web_settings, app_engine, clock, "10.0.0.2") as stranger:
        assert post_login(stranger, "op@example.org", "wrong password!").status_code == 403
    token = sign_in(client, "op@example.org")
    base = f"/admin/subscribers/{reader.id}"
    for path, data in (
        (f"{DIGEST}/hold", {}),
        (f"{DIGEST}/resume", {}),
        (f"{DIGEST}/test", {"email": "editor@example.org"}),
        (f"{base}/suppress", {}),
        (f"{base}/restore", {}),
        (f"{base}/unsubscribe", {}),
        (f"/admin/articles/{article.id}/retract", {"reason": "Wrong figures"}),
    ):
        assert client.post(path, data={"csrf": token, **data}).status_code == 200, path
    client.post("/admin/logout", data={"csrf": token})
    console = ("op@example.org", "console", "10.0.0.1")
    subscriber, digest = ("subscriber", str(reader.id)), ("digest", f"weekly-city {PERIOD}")
    assert recorded(app_engine) == [
        ("op@example.org", "console", "10.0.0.2", "sign-in-failed", "user", "op@example.org"),
        (*console, "sign-in", "user", "op@example.org"),
        (*console, "digest-hold", *digest),
        (*console, "digest-resume", *digest),
        (*console, "digest-test", *digest),
        (*console, "subscriber-suppress", *subscriber),
        (*console, "subscriber-restore", *subscriber),
        (*console, "subscriber-unsubscribe", *subscriber),
        (*console, "article-retract", "article", article.source_id),
        (*console, "sign-out", "user", "op@example.org"),
    ]
    with db.read_session(app_engine) as session:
        details = {a: d for a, d in session.execute(select(AuditEvent.action, AuditEvent.detail))}
    assert details["digest-hold"] == "ready -> held"
    assert details["digest-test"].startswith("to editor@example.org, <")
    assert details["subscriber-suppress"] == "reader0@example.org: active -> unsubscribed"
    assert details["article-retract"] == "reason: Wrong figures"


def test_an_action_refused_leaves_no_record(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 1)
    token = sign_in(client, "op@example.org")
    with db.read_session(app_engine) as session:
        reader_id = session.scalars(select(Subscriber.id)).one()
    # Nothing to restore (409): refused in its transaction, so no record either.
    assert (
        client.post(f"/admin/subscribers/{reader_id}/restore", data={"csrf": token}).status_code
        == 409
    )
    assert [row[3] for row in recorded(app_engine)] == ["sign-in"]


def test_each_page_shows_the_actions_on_its_subject(
    web_settings: Settings, client: TestClient, app_engine: Engine
) -> None:
    queue_demo_digest(web_settings, app_engine, 2)
    with db.read_session(app_engine) as session:
        reader_id = session.scalars(select(Subscriber.id).order_by(Subscriber.id)).first()
        article = session.scalars(select(Article).order_by(Article.published_at.desc())).first()
        assert article is not None
    token = sign_in(client, "op@example.org")
    client.post(f"{DIGEST}/hold", data={"csrf": token})
    client.post(f"/admin/subscribers/{reader_id}/suppress", data={"csrf": token})
    client.post(f"/admin/articles/{article.id}/retract", data={"csrf": token, "reason": "Typo"})
    digest_page = html.unescape(client.get(DIGEST).text)
    actions = digest_page[digest_page.index("<h2>Operator actions</h2>") :]
    assert "digest-hold" in actions and "ready -> held" in actions and "10.0.0.1" in actions
    assert "subscriber-suppress" not in actions
    subscriber_page = html.unescape(client.get(f"/admin/subscribers/{reader_id}").text)
    actions = subscriber_page[subscriber_page.index("<h2>Operator actions</h2>") :]
    assert "subscriber-suppress" in actions and "digest-hold" not in actions
    listing = client.get("/admin/articles").text
    link = f"/admin/audit?kind=article&amp;key={article.source_id}"
    assert link in listing
    about = client.get(html.unescape(link)).text
    about = about[about.index("<table") :]
    assert "article-retract" in about and "reason: Typo" in about
    assert "digest-hold" not in about and "subscriber-suppress" not in about


def test_the_audit_page_filters_and_pages(
    web_settings: Settings, client: TestClient, app_engine: Engine, clock: Clock
) -> None:
    for i in range(51):
        users.sign_in(app_engine, f"nobody{i}@example.org", "guess", f"10.9.0.{i}", clock.now())
    sign_in(client, "viewer@example.org")
    page = client.get("/admin/audit", params={"action": "sign-in-failed"})
    assert "1–50 of 51 actions; page 1 of 2" in page.text
    assert "export.csv" not in page.text  # a viewer may look, not export
    mine = client.get("/admin/audit", params={"actor": "viewer@example.org"}).text
    assert "1–1 of 1 actions" in mine and ">sign-in<" in mine
    cli = client.get("/admin/audit", params={"source": "cli"}).text
    assert "No actions match." in cli
    assert client.get("/admin/audit", params={"action": "drop-table"}).status_code == 400
    assert client.get("/admin/audit", params={"from": "2026-02-30"}).status_code == 400
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_operators_export_the_rows_they_filtered(
    web_settings: Settings, client: TestClient, app_engine: Engine, clock: Clock
) -> None:
    users.sign_in(app_engine, "=cmd@example.org", "guess", "10.9.0.1", clock.now())
    sign_in(client, "op@example.org")
    export = client.get("/admin/audit/export.csv", params={"action": "sign-in-failed"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-' in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == [
        "at",
        "actor",
        "source",
        "client",
        "action",
        "subject_kind",
        "subject_key",
        "detail",
    ]
    assert [r[1:7] for r in rows[1:]] == [
        ["'=cmd@example.org", "console", "10.9.0.1", "sign-in-failed", "user", "'=cmd@example.org"]
    ]
    assert rows[1][0] == clock.now().isoformat()
    assert recorded(app_engine)[-1][:4] == ("op@example.org", "console", "10.0.0.1", "audit-export")
