"""One scenario read on every surface of the status report: ``syndication status``,
``/healthz``, the console's dashboard and digest list, and ``/metrics`` show the same
numbers (issue 24: a held digest, one reader bounced, one complained, one unsubscribed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.services import bounces, delivery
from syndication.services.digests import approval, compiling
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.web.app import create_app
from tests.support.bounces import add_active, arf, dsn, send_week, with_bounces
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.console import Clock, add_users, sign_in
from tests.support.processes import syndication

LIST = "weekly-city"
OTHER = "weekly-international"  # its digest of the second week is cancelled
FIRST, SECOND = "2026-11-16", "2026-11-23"
LATER = AFTER_WEEK + timedelta(days=7)  # the second week has ended
TOKEN = "scrape-token-for-the-test"
READERS = [
    "dead@reader.example.net",
    "angry@reader.example.net",
    "leaving@reader.example.net",
    "fine1@reader.example.net",
    "fine2@reader.example.net",
]


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    engine: Engine


@pytest.fixture
def scenario(settings: Settings, engine: Engine) -> Scenario:
    """A digest sent to five readers: one hard bounce (a DSN), one complaint (ARF), one
    one-click unsubscribe; then next week's digest compiled for the two left, and held."""
    settings = replace(with_bounces(settings), metrics_token=TOKEN)
    settings = replace(settings, site=replace(settings.site, base_url="http://testserver"))
    import_demo_articles(settings, engine)
    add_active(engine, READERS, LIST)
    add_users(engine, AFTER_WEEK)
    week = send_week(settings, engine, date(2026, 11, 18), AFTER_WEEK)
    dead, angry = week["dead@reader.example.net"], week["angry@reader.example.net"]
    reports = (
        (dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id),
         dead.return_path),
        (arf("fbl@news.example.org", original_mail_from=f"<{angry.return_path}>",
             original_to=angry.email, original_message_id=angry.message_id), ""),
    )  # fmt: skip
    for data, to in reports:
        bounces.accept(
            engine, data, source="smtp", sender="", recipients=[to] if to else [], now=AFTER_WEEK
        )
    assert bounces.process_pending(settings, engine, lambda: AFTER_WEEK).applied == 2
    leaving = "leaving@reader.example.net"
    url = delivery.unsubscribe_url(settings, subscriber_id(engine, leaving), LIST, AFTER_WEEK)
    with TestClient(create_app(settings, engine, now=Clock(AFTER_WEEK).now)) as client:
        response = client.post(
            url.removeprefix("http://testserver"),
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
    report = compiling.compile_digest(settings, engine, LIST, date(2026, 11, 25), LATER)
    assert report.created and report.period_key == SECOND
    approval.hold(settings, engine, LIST, SECOND, "op@example.org", LATER)
    other = compiling.compile_digest(settings, engine, OTHER, date(2026, 11, 25), LATER)
    assert other.created and other.period_key == SECOND
    approval.cancel(settings, engine, OTHER, SECOND, "op@example.org", LATER)
    return Scenario(settings, engine)


def subscriber_id(engine: Engine, address: str) -> int:
    with db.read_session(engine) as session:
        return subscribers.find_subscriber(session, address).id


# What every surface must show: the second digest held with its 2 deliveries (fine1 and
# fine2 are the only active members left), nothing queued for a sender; the first digest
# bounced 1 (hard) and complained 1; the list 2 active, 1 bounced, 1 complained, 1 left.
HELD, QUEUED = 2, 0
BOUNCED, COMPLAINED = 1, 1
LIST_COUNTS = {"active": 2, "bounced": 1, "complained": 1, "unsubscribed": 1, "pending": 0}


def test_every_surface_shows_the_same_numbers(scenario: Scenario, tmp_path: Path) -> None:
    settings, engine = scenario.settings, scenario.engine
    cli = syndication("status", cwd=tmp_path, database_url=settings.database.url)
    assert cli.returncode == 0, cli.stderr
    lines = cli.stdout.splitlines()
    second = next(line for line in lines if SECOND in line and LIST in line)
    assert f"held: {HELD} queued" in second
    cancelled = next(line for line in lines if SECOND in line and OTHER in line)
    assert "cancelled: no recipients" in cancelled
    first_at = next(i for i, line in enumerate(lines) if FIRST in line and LIST in line)
    assert "finished: " in lines[first_at]
    assert (
        f"bounced {BOUNCED} (hard 1, soft 0, blocked 0); complained {COMPLAINED} "
        in lines[first_at + 1]
    )
    listed = next(line for line in lines if line.startswith(f"  {LIST} "))
    shown = {s: int(n) for n, s in re.findall(r"(\d+) (\w+)", listed)}
    assert shown == {k: v for k, v in LIST_COUNTS.items() if v}

    app = create_app(settings, engine, now=Clock(LATER).now)
    with TestClient(app, client=("203.0.113.9", 40000)) as client:
        health = client.get("/healthz").json()
        assert (health["outbox_held"], health["outbox_backlog"]) == (HELD, HELD + QUEUED)

        metrics = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
        assert gauge(metrics, "syndication_outbox_held") == HELD
        assert gauge(metrics, "syndication_outbox_queued") == QUEUED
        for status, count in LIST_COUNTS.items():
            labels = f'list="{LIST}",status="{status}"'
            assert gauge(metrics, "syndication_subscribers", labels) == count, status
        assert gauge(metrics, "syndication_digests", 'state="held"') == 1
        assert gauge(metrics, "syndication_digests", 'state="cancelled"') == 1
        assert gauge(metrics, "syndication_digests", 'state="finished"') == 1

        sign_in(client, "op@example.org")
        dashboard = client.get("/admin/").text
        assert tile(dashboard, "deliveries held") == HELD
        assert tile(dashboard, "deliveries queued") == QUEUED
        row = dict(zip(LIST_COLUMNS, cells(dashboard, f"{LIST}</span></th>"), strict=True))
        assert row == LIST_COUNTS
        first = dict(zip(DIGEST_COLUMNS, cells(dashboard, f"{LIST} {FIRST}</a>"), strict=True))
        assert (first["bounced"], first["complained"]) == (BOUNCED, COMPLAINED)
        second_row = cells(dashboard, f"{LIST} {SECOND}</a>")
        assert second_row[DIGEST_COLUMNS.index("queued")] == HELD
        assert '<span class="state held">held</span>' in dashboard
        assert '<span class="state cancelled">cancelled</span>' in dashboard
        assert '<span class="state finished">finished</span>' in dashboard

        page = client.get("/admin/digests").text
        listed_first = dict(zip(LIST_PAGE, cells(page, f"{LIST} {FIRST}</a>"), strict=True))
        assert (listed_first["bounced"], listed_first["complained"]) == (BOUNCED, COMPLAINED)
        assert cells(page, f"{LIST} {SECOND}</a>")[0] == HELD

        one = client.get(f"/admin/digests/{LIST}/{FIRST}").text
        assert (tile(one, "bounced"), tile(one, "complained")) == (BOUNCED, COMPLAINED)
        held = client.get(f"/admin/digests/{LIST}/{SECOND}").text
        assert tile(held, "queued") == HELD


LIST_COLUMNS = ("active", "pending", "bounced", "complained", "unsubscribed")
DIGEST_COLUMNS = ("queued", "sending", "sent", "failed", "skipped", "bounced", "complained")
LIST_PAGE = ("queued", "sent", "bounced", "complained")


def gauge(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{name}{{{re.escape(labels)}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"{name}{{{labels}}} not in /metrics"
    return float(match.group(1))


def tile(html: str, label: str) -> int:
    match = re.search(rf'<span class="n">([\d,]+)</span> {label}', html)
    assert match, label
    return int(match.group(1).replace(",", ""))


def cells(html: str, row_head: str) -> list[int]:
    """The numeric cells of the table row whose header ends with ``row_head``."""
    start = html.index(row_head)
    row = html[start : html.index("</tr>", start)]
    return [int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>', row)]
