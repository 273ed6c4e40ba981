"""The audit log's services on every backend: sign-in failures, the lock and the refusals
it causes are recorded with the client; reading by filter and date; the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.core.audit import Actor
from syndication.services import audit, users

PASSWORD = "correct horse battery staple"


def test_failures_the_lock_and_refusals_are_recorded_with_the_client(
    engine: Engine, now: datetime
) -> None:
    users.add_user(engine, "op@example.org", "operator", PASSWORD, now)
    for i in range(users.LOCKOUT_FAILURES):
        users.sign_in(engine, "op@example.org", "wrong", f"10.0.0.{i}", now)
    refused = users.sign_in(engine, "op@example.org", PASSWORD, "10.0.0.9", now)
    assert refused.outcome is users.LoginOutcome.LOCKED
    users.unlock(engine, "op@example.org", Actor.cli("root"), now)
    rows = audit.events(engine, audit.AuditFilter(subject_key="op@example.org"), 50).rows
    shown = [(r.action, r.actor, r.source, r.client) for r in reversed(rows)]
    assert shown == [
        ("user-add", "syndication", "system", ""),
        *(
            ("sign-in-failed", "op@example.org", "console", f"10.0.0.{i}")
            for i in range(users.LOCKOUT_FAILURES)
        ),
        ("lock", "op@example.org", "console", "10.0.0.4"),
        ("sign-in-refused", "op@example.org", "console", "10.0.0.9"),
        ("unlock", "root", "cli", ""),
    ]
    assert rows[0].detail == f"{users.LOCKOUT_FAILURES} failed sign-ins forgotten"


def test_filters_dates_and_the_export(engine: Engine, now: datetime) -> None:
    op = Actor.console("op@example.org", "192.0.2.1")
    for day in range(3):
        audit.record(
            engine, op, "digest-test", "digest", "weekly-city 2026-11-16", now + timedelta(days=day)
        )
    audit.record(engine, Actor.cli("root"), "audit-export", "export", "audit", now, "=1+1")
    since = audit.AuditFilter(since=now + timedelta(days=1))
    assert audit.events(engine, since, 50).total == 2
    until = audit.AuditFilter(until=now + timedelta(days=1), source="console")
    assert [r.at for r in audit.events(engine, until, 50).rows] == [now]
    page = audit.events(engine, audit.AuditFilter(), 2, 2)
    assert page.total == 4 and len(page.rows) == 2
    about = audit.about(engine, "digest", "weekly-city 2026-11-16")
    assert [r.at for r in about] == [now + timedelta(days=d) for d in (2, 1, 0)]
    rows = list(csv.reader(io.StringIO("".join(audit.export_csv(engine, audit.AuditFilter())))))
    assert rows[0] == list(audit.CSV_HEADER) and len(rows) == 5
    assert rows[1][0] == now.isoformat() and rows[-1][1:] == [
        "op@example.org",
        "console",
        "192.0.2.1",
        "digest-test",
        "digest",
        "weekly-city 2026-11-16",
        "",
    ]
    assert ["root", "cli", "", "audit-export", "export", "audit", "'=1+1"] in [r[1:] for r in rows]
