"""``/admin/subscribers`` at newsroom scale, over HTTP against the real app and database:
the count, pages of 50, filters by list, status and sign-up dates, search by address or
name, a 400 naming a bad filter, and the export for operators only (issue 28 item 6)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

from httpx2 import Response
from sqlalchemy import Engine, update
from starlette.testclient import TestClient

from syndication.core.subscriber_csv import EXPORT_HEADER
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import AuditEvent, Subscriber
from tests.support.console import sign_in

START = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)  # noon in Seoul, the demo's time zone


def add_many(engine: Engine) -> None:
    """130 readers, one signed up per day from 2026-10-01: even ones on weekly-city, odd
    ones on weekly-international; every tenth bounced; reader 7 is "김민지"."""
    with db.write_session(engine) as session:
        for i in range(130):
            subscribers.add_subscriber(
                session,
                f"reader{i:03d}@example.org",
                "김민지" if i == 7 else f"Reader {i}",
                ["weekly-city" if i % 2 == 0 else "weekly-international"],
                confirmed=True,
                now=START + timedelta(days=i),
            )
        session.execute(
            update(Subscriber)
            .where(Subscriber.email.in_([f"reader{i:03d}@example.org" for i in range(0, 130, 10)]))
            .values(status="bounced")
        )


def shown(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/subscribers/\d+">([^<]+)</a>', html)


def test_the_count_and_pages_of_fifty(client: TestClient, app_engine: Engine) -> None:
    add_many(app_engine)
    sign_in(client, "viewer@example.org")
    first = client.get("/admin/subscribers")
    assert "1–50 of 130 subscribers; page 1 of 3" in first.text
    assert shown(first.text) == [f"reader{i:03d}@example.org" for i in range(50)]
    assert 'href="/admin/subscribers?page=2"' in first.text and 'rel="prev"' not in first.text
    last = client.get("/admin/subscribers", params={"page": "3"})
    assert "101–130 of 130 subscribers; page 3 of 3" in last.text
    assert shown(last.text)[-1] == "reader129@example.org" and 'rel="next"' not in last.text
    assert client.get("/admin/subscribers", params={"page": "0"}).status_code == 400
    assert client.get("/admin/subscribers", params={"page": "x"}).status_code == 400


def test_filters_by_list_status_and_sign_up_dates_keep_their_place_in_the_pager(
    client: TestClient, app_engine: Engine
) -> None:
    add_many(app_engine)
    sign_in(client, "op@example.org")
    city = client.get("/admin/subscribers", params={"list": "weekly-city"})
    assert "of 65 subscribers" in city.text
    assert all(int(a[6:9]) % 2 == 0 for a in shown(city.text))
    assert 'href="/admin/subscribers?list=weekly-city&amp;page=2"' in city.text
    bounced = client.get("/admin/subscribers", params={"status": "bounced"})
    assert shown(bounced.text) == [f"reader{i:03d}@example.org" for i in range(0, 130, 10)]
    both = client.get("/admin/subscribers", params={"status": "bounced", "list": "weekly-city"})
    assert "1–13 of 13 subscribers" in both.text
    # Whole days in the site's time zone, both ends included: 2026-10-03 .. 2026-10-05.
    days = client.get("/admin/subscribers", params={"from": "2026-10-03", "to": "2026-10-05"})
    assert shown(days.text) == [
        "reader002@example.org",
        "reader003@example.org",
        "reader004@example.org",
    ]
    since = client.get("/admin/subscribers", params={"from": "2027-02-01"})
    assert "of 7 subscribers" in since.text


def test_search_by_part_of_an_address_or_a_name(client: TestClient, app_engine: Engine) -> None:
    add_many(app_engine)
    sign_in(client, "viewer@example.org")
    assert shown(client.get("/admin/subscribers", params={"q": "READER12"}).text) == [
        f"reader12{i}@example.org" for i in range(10)
    ]
    assert shown(client.get("/admin/subscribers", params={"q": "민지"}).text) == [
        "reader007@example.org"
    ]
    assert shown(client.get("/admin/subscribers", params={"q": "Reader 11"}).text) == [
        "reader011@example.org",
        *(f"reader11{i}@example.org" for i in range(10)),
    ]
    nobody = client.get("/admin/subscribers", params={"q": "50%"})
    assert "No subscribers match." in nobody.text


# Filter values that are not one, and what the 400 says (the page and its export alike).
BAD_FILTERS = (
    ({"list": "weekly-nope"}, "list: 'weekly-nope' is not a list"),
    ({"status": "gone"}, "status: 'gone': one of"),
    ({"from": "2026-13-01"}, "from: '2026-13-01' is not a date"),
    ({"to": "yesterday"}, "to: 'yesterday' is not a date"),
    ({"from": "2026-11-02", "to": "2026-11-01"}, "to: the range ends before it starts"),
)


def test_a_bad_filter_is_a_400_naming_it(client: TestClient, app_engine: Engine) -> None:
    sign_in(client, "viewer@example.org")
    for params, named in BAD_FILTERS:
        answer = client.get("/admin/subscribers", params=params)
        assert answer.status_code == 400 and named in html.unescape(answer.text), params


def test_the_export_is_for_operators_and_is_recorded(
    client: TestClient, app_engine: Engine
) -> None:
    add_many(app_engine)
    sign_in(client, "viewer@example.org")
    page = client.get("/admin/subscribers")
    assert "export.csv" not in page.text
    refused = client.get("/admin/subscribers/export.csv")
    assert refused.status_code == 403 and "reader000@example.org" not in refused.text
    client.cookies.clear()
    sign_in(client, "op@example.org")
    assert "export.csv" in client.get("/admin/subscribers").text
    export = client.get("/admin/subscribers/export.csv")
    assert export.status_code == 200 and export.text.count("\n") == 131
    with db.read_session(app_engine) as session:
        recorded = session.query(AuditEvent).filter_by(action="subscribers-export").one()
    assert (recorded.actor, recorded.source, recorded.client) == (
        "op@example.org",
        "console",
        "10.0.0.1",
    )


def exported(answer: Response) -> list[str]:
    """The addresses of a CSV export, in order, after checking its header."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == list(EXPORT_HEADER)
    return [row[0] for row in rows[1:]]


def test_the_export_holds_what_the_filters_show_and_the_page_says_which(
    client: TestClient, app_engine: Engine
) -> None:
    add_many(app_engine)
    with db.write_session(app_engine) as session:
        subscribers.suppress(session, "nobody-here@example.org", "complaint by phone", START)
    sign_in(client, "op@example.org")
    everything = client.get("/admin/subscribers")
    assert "Export every subscriber as CSV" in everything.text
    every_row = exported(client.get("/admin/subscribers/export.csv"))
    assert every_row == [f"reader{i:03d}@example.org" for i in range(130)] + [
        "nobody-here@example.org"
    ]

    for params, expected, said in (
        (
            {"list": "weekly-city", "status": "bounced"},
            [f"reader{i:03d}@example.org" for i in range(0, 130, 10)],
            "list weekly-city; status bounced",
        ),
        (
            {"q": "READER12", "page": "1"},
            [f"reader12{i}@example.org" for i in range(10)],
            "address or name containing “READER12”",
        ),
        (
            {"from": "2026-10-03", "to": "2026-10-05"},
            ["reader002@example.org", "reader003@example.org", "reader004@example.org"],
            "signed up 2026-10-03 to 2026-10-05",
        ),
        ({"q": "민지"}, ["reader007@example.org"], "address or name containing “민지”"),
    ):
        page = client.get("/admin/subscribers", params=params)
        assert shown(page.text) == expected, params
        text = html.unescape(page.text)
        assert f"Export these {len(expected)} subscribers as CSV" in text
        assert f"the export applies the filters shown here ({said})" in text
        # The page's own link carries its filters (not its page number) to the export.
        [link] = re.findall(r'href="(/admin/subscribers/export\.csv[^"]*)"', page.text)
        assert "page=" not in link
        assert exported(client.get(html.unescape(link))) == expected, params

    # More than a page: the export is every match, not the 50 shown.
    city = exported(client.get("/admin/subscribers/export.csv", params={"list": "weekly-city"}))
    assert city == [f"reader{i:03d}@example.org" for i in range(0, 130, 2)]
    assert exported(client.get("/admin/subscribers/export.csv", params={"q": "zzz"})) == []
    with db.read_session(app_engine) as session:
        details = [
            e.detail
            for e in session.query(AuditEvent)
            .filter_by(action="subscribers-export")
            .order_by(AuditEvent.id)
        ]
    assert details[0] == "everything"
    assert details[1] == "list=weekly-city&status=bounced"


def test_an_export_with_a_bad_filter_is_a_400_naming_it_and_exports_nothing(
    client: TestClient, app_engine: Engine
) -> None:
    add_many(app_engine)
    sign_in(client, "op@example.org")
    for params, named in BAD_FILTERS:
        answer = client.get("/admin/subscribers/export.csv", params=params)
        assert answer.status_code == 400 and named in html.unescape(answer.text), params
        assert "reader000@example.org" not in answer.text
    with db.read_session(app_engine) as session:
        assert session.query(AuditEvent).filter_by(action="subscribers-export").count() == 0
