"""The dashboard's "Last digests" chart reads without hovering (issue 28): each digest
labelled with its list and period in full, in the table's order, values printed, an axis,
and drawn near its own size at 390 px."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.services.digests import compiling
from syndication.settings import Settings
from syndication.web.admin.charts import BAR_CHART_WIDTH, LABEL_SIZE, bar_chart
from syndication.web.app import create_app
from tests.support.builders import AFTER_WEEK
from tests.support.console import Clock, add_users, sign_in
from tests.support.outbox import WEEK, add_readers, queue_demo_digest

ROWS = [
    ("weekly-city 2026-11-16", {"sent": 300, "bounced": 4, "complained": 1}),
    ("weekly-manual 2026-11-16", {"sent": 8}),
]
KEYS = ("sent", "bounced", "complained")


def test_groups_keep_the_order_and_the_full_labels() -> None:
    chart = bar_chart(ROWS, KEYS)
    assert [g.label for g in chart.groups] == [label for label, _ in ROWS]
    assert chart.groups[0].label_y < chart.groups[1].label_y
    first = chart.groups[0].bars
    assert [(b.label, b.value) for b in first] == [("sent", 300), ("bounced", 4), ("complained", 1)]
    # One scale: the longest bar is the largest value; values are printed after bars.
    assert max(b.width for g in chart.groups for b in g.bars) == first[0].width
    assert all(b.value_x > chart.x0 + b.width for b in first)
    assert [t.value for t in chart.ticks] == [0, 150, 300]
    assert chart.ticks[-1].x == chart.x0 + first[0].width
    assert chart.height > chart.axis_y and all(b.y < chart.axis_y for b in first)


def test_labels_stay_legible_at_390_px() -> None:
    # The CSS caps the drawing at its own width; at 390 px the content is about 340 px.
    scale = 340 / BAR_CHART_WIDTH
    assert (LABEL_SIZE - 2) * scale >= 11, "values are drawn 2 px smaller than labels"
    chart = bar_chart([("x", {"sent": 1})] * 10, KEYS)
    assert (chart.groups[1].label_y - chart.groups[0].label_y) * scale >= 40


def test_the_dashboard_draws_it_in_the_tables_order(settings: Settings, engine: Engine) -> None:
    settings = replace(settings, site=replace(settings.site, base_url="http://testserver"))
    queue_demo_digest(settings, engine, 2, "weekly-city")
    add_readers(engine, 1, "weekly-international")
    compiling.compile_digest(settings, engine, "weekly-international", WEEK, AFTER_WEEK)
    add_users(engine, AFTER_WEEK)
    with TestClient(create_app(settings, engine, now=Clock(AFTER_WEEK).now)) as client:
        sign_in(client, "op@example.org")
        page = client.get("/admin/").text
    svg = page.split('aria-labelledby="funnel-title"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'font-weight="600"[^>]*>([^<]+)</text>', svg)
    table = page.split("<h2>Last digests</h2>", 1)[1]
    rows = re.findall(r'<a href="/admin/digests/[^"]+">([^<]+)</a>', table)
    assert len(labels) == 2 and labels == rows[:2]
    assert {label.split()[0] for label in labels} == {"weekly-city", "weekly-international"}
    assert "<line " in svg, "an axis"
