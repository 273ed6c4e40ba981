"""An upgrade loses nothing: a database at the previous release's schema, with rows in every
table it has, upgraded by ``syndication init`` (the real command), on every backend.

The previous schema is revision 0009, the head of the tree of 2026-12-01 (4c3c85a) that the
operators' walkthroughs ran, plus the scheduler's job store (APScheduler's own table). Rows
are written through tables reflected from that database, not through today's models, so
they have exactly the columns that schema had. Every column
of every row is read back after the upgrade; tables and columns added since may be new, but
nothing that was there may change or go.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, MetaData, select

from syndication.services.job_runs import JOBS_TABLE
from syndication.settings import DEMO_TOPICS
from syndication.store import database as db
from tests.support.processes import syndication

PREVIOUS = "0009"
Rows = dict[str, list[dict[str, Any]]]


def rows_at_previous_schema(at: Callable[[int, int], datetime]) -> Rows:
    """A newsroom's data as the 0009 schema holds it: every table, every status."""
    topics = [
        {"id": n, "slug": t.slug, "name": t.name, "description": t.description, "change_seq": n}
        for n, t in enumerate(DEMO_TOPICS, start=1)
    ]

    def article(n: int, status: str, reason: str = "") -> dict[str, Any]:
        return {
            "id": n,
            "source_id": f"smg-{n}",
            "title": f"서울 기사 {n}: the city's news",
            "summary": "A summary.",
            "body_html": "<p>Body.</p>",
            "url": f"https://news.example.org/articles/{n}",
            "author": "Press Office",
            "image_url": "",
            "language": "ko-KR",
            "published_at": at(16 + n, 1),
            "updated_at": at(16 + n, 2),
            "status": status,
            "retracted_at": at(20, 9) if status == "retracted" else None,
            "retraction_reason": reason,
            "content_hash": f"{n:064x}",
            "change_seq": 10 + n,
            "id_date": f"2026-11-{16 + n}",
        }

    statuses = ("pending", "active", "unsubscribed", "bounced", "complained")
    subscribers = [
        {
            "id": n,
            "email": f"{status}@reader.example.net",
            "name": f"Reader {n}",
            "locale": "en",
            "status": status,
            "created_at": at(1, n),
            "updated_at": at(2, n),
            "confirmed_at": None if status == "pending" else at(1, n + 1),
            "request_nonce": "n" * 32 if status == "pending" else None,
        }
        for n, status in enumerate(statuses, start=1)
    ]
    digests = [
        {
            "id": n,
            "list_slug": slug,
            "period_key": "2026-11-16",
            "period_start": at(16, 0),
            "period_end": at(23, 0),
            "subject": f"{slug}: the week",
            "preheader": "This week",
            "html": "<p>digest</p>",
            "text": "digest",
            "article_count": 2,
            "created_at": at(24, 1),
        }
        for n, slug in enumerate(("weekly-city", "weekly-international"), start=1)
    ]
    # (status, digest, subscriber): a delivery is unique per digest and subscriber.
    delivery_statuses = (
        ("queued", 1, 2),
        ("sending", 2, 2),
        ("sent", 1, 3),
        ("failed", 2, 3),
        ("bounced", 1, 4),
        ("skipped", 1, 5),
    )
    deliveries = [
        {
            "id": n,
            "digest_id": digest,
            "subscriber_id": subscriber,
            "status": status,
            "attempts": n,
            "next_attempt_at": at(24, 2),
            "lease_until": at(24, 3) if status == "sending" else None,
            "claimed_by": "host:123" if status == "sending" else "",
            "last_error": "550 5.1.1 no such user" if status in {"failed", "bounced"} else "",
            "message_id": f"<digest-1-{n}@news.example.org>",
            "sent_at": at(24, 4) if status in {"sent", "bounced"} else None,
            "claim_token": f"claim-{n}",
        }
        for n, (status, digest, subscriber) in enumerate(delivery_statuses, start=1)
    ]
    return {
        "topics": topics,
        "counters": [{"name": "article_changes", "value": 13}],
        "articles": [article(1, "published"), article(2, "published"), article(3, "retracted")],
        "article_topics": [
            {"article_id": 1, "topic_id": 2},
            {"article_id": 1, "topic_id": 3},
            {"article_id": 2, "topic_id": 1},
            {"article_id": 3, "topic_id": 4},
        ],
        "subscribers": subscribers,
        "subscriptions": [
            {"subscriber_id": s, "list_slug": slug, "created_at": at(1, s)}
            for s, slug in ((1, "weekly-city"), (2, "weekly-city"), (2, "weekly-international"))
            + ((4, "weekly-city"),)
        ],
        "suppressions": [
            {
                "email": "bounced@reader.example.net",
                "reason": "hard bounce 5.1.1",
                "created_at": at(25, 1),
            },
            {
                "email": "complained@reader.example.net",
                "reason": "complaint",
                "created_at": at(25, 2),
            },
        ],
        "digests": digests,
        "digest_states": [
            {
                "digest_id": 1,
                "state": "approved",
                "changed_at": at(24, 1),
                "changed_by": "editor@news.example.org",
                "approved_at": at(24, 1),
                "approved_by": "editor@news.example.org",
            },
            {
                "digest_id": 2,
                "state": "held",
                "changed_at": at(24, 1),
                "changed_by": "awaiting approval",
                "approved_at": None,
                "approved_by": "",
            },
        ],
        "deliveries": deliveries,
        "bounce_intake": [
            {
                "id": n,
                "received_at": at(25, n),
                "source": "smtp",
                "envelope_sender": "",
                "envelope_recipients": "bounces+d5@bounces.news.example.org",
                "data": b"From: MAILER-DAEMON\r\n\r\nreport " + state.encode(),
                "state": state,
                "processed_at": None if state == "queued" else at(25, n + 1),
                "note": "" if state == "queued" else f"{state} note",
            }
            for n, state in enumerate(("queued", "done", "ignored"), start=1)
        ],
        "bounce_events": [
            {
                "id": n,
                "report_key": f"report-{n}",
                "created_at": at(25, n),
                "source": "smtp",
                "kind": kind,
                "status_code": code,
                "action": action,
                "diagnostic": f"{code} diagnostic",
                "recipient": f"{who}@reader.example.net",
                "subscriber_id": subscriber,
                "delivery_id": 5 if kind == "hard" else None,
                "digest_id": 1,
                "effect": f"{kind}: recorded",
                "report": b"raw report",
            }
            for n, (kind, code, action, who, subscriber) in enumerate(
                (
                    ("hard", "5.1.1", "failed", "bounced", 4),
                    ("soft", "4.2.2", "delayed", "active", 2),
                    ("complaint", "", "", "complained", 5),
                ),
                start=1,
            )
        ],
        "soft_bounces": [{"subscriber_id": 2, "digest_id": 1, "created_at": at(25, 2)}],
        "job_runs": [
            {
                "id": 1,
                "job_id": "poll",
                "started_at": at(24, 1),
                "finished_at": at(24, 2),
                "ok": True,
                "skipped": False,
                "summary": "rebuilt all, transport",
                "error": "",
            },
            {
                "id": 2,
                "job_id": "deliver",
                "started_at": at(24, 3),
                "finished_at": at(24, 4),
                "ok": False,
                "skipped": False,
                "summary": "",
                "error": "cannot connect to 127.0.0.1:25",
            },
        ],
        "source_states": [
            {
                "name": "wp",
                "kind": "wordpress",
                "cursor": "2026-11-24T00:00:00",
                "memo": "{}",
                "last_poll_at": at(24, 5),
                "last_success_at": at(24, 5),
                "last_full_at": None,
                "last_result": "7 fetched",
                "last_error": "",
                "failures": 0,
                "next_attempt_at": None,
            }
        ],
        "api_keys": [
            {
                "id": 1,
                "name": "cms",
                "key_hash": "a" * 64,
                "created_at": at(3, 1),
                "revoked_at": None,
            },
            {
                "id": 2,
                "name": "old",
                "key_hash": "b" * 64,
                "created_at": at(3, 2),
                "revoked_at": at(4, 1),
            },
        ],
        "users": [
            {
                "id": 1,
                "email": "editor@news.example.org",
                "role": "operator",
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                "created_at": at(3, 1),
                "password_changed_at": at(3, 1),
            },
            {
                "id": 2,
                "email": "viewer@news.example.org",
                "role": "viewer",
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI",
                "created_at": at(3, 2),
                "password_changed_at": at(3, 2),
            },
        ],
        "user_sessions": [
            {
                "id_hash": "c" * 64,
                "user_id": 1,
                "csrf_token": "t" * 43,
                "created_at": at(24, 1),
                "last_seen_at": at(24, 2),
            }
        ],
        "login_failures": [
            {"id": 1, "email": "editor@news.example.org", "client": "203.0.113.7", "at": at(24, 1)}
        ],
        "rate_limits": [{"name": "smtp", "next_at": 1795000000.25}],
        JOBS_TABLE: [{"id": "poll", "next_run_time": 1795000000.5, "job_state": b"\x80state"}],
    }


def snapshot(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as tuples of the given columns, in a stable order."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as connection:
        return {
            name: sorted(
                (
                    tuple(row)
                    for row in connection.execute(
                        select(*(metadata.tables[name].c[c] for c in names))
                    )
                ),
                key=repr,
            )
            for name, names in columns.items()
        }


def test_init_upgrades_the_previous_release_and_keeps_every_row(
    empty_database_url: str, backend: str, tmp_path: Path
) -> None:
    engine = db.make_engine(empty_database_url)
    try:
        db.upgrade(engine, PREVIOUS)
        # The scheduler's job store lives in the same database (made by APScheduler, not by
        # a migration): a running service has it, and an upgrade must leave it alone.
        SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE).jobs_t.create(engine)

        def at(day: int, hour: int) -> datetime:
            moment = datetime(2026, 11, day, hour, tzinfo=UTC)
            # As the store writes them: naive UTC on SQLite (store/models.py UTCDateTime).
            return moment.replace(tzinfo=None) if backend == "sqlite" else moment

        rows = rows_at_previous_schema(at)
        metadata = MetaData()
        metadata.reflect(bind=engine)
        tables = set(metadata.tables) - {db.VERSION_TABLE}
        assert tables == set(rows), "a row for every table the previous schema has"
        with engine.begin() as connection:
            for table in metadata.sorted_tables:
                if table.name in rows:
                    assert {c.name for c in table.columns} == set(rows[table.name][0])
                    # What a migration seeded (the article_changes counter) is replaced.
                    connection.execute(table.delete())
                    connection.execute(table.insert(), rows[table.name])
        columns = {name: sorted(rows[name][0]) for name in rows}
        before = snapshot(engine, columns)
    finally:
        engine.dispose()
    assert {name: len(before[name]) for name in rows} == {name: len(rows[name]) for name in rows}

    result = syndication("init", cwd=tmp_path, database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("7 topics (0 added or changed)\n")

    engine = db.make_engine(empty_database_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
        after = snapshot(engine, columns)
    finally:
        engine.dispose()
    for name in rows:
        assert after[name] == before[name], f"{name}: rows changed by the upgrade"

    # The upgraded store reads as the service reads it.
    status = syndication("status", cwd=tmp_path, database_url=empty_database_url)
    assert status.returncode == 0, status.stderr
    assert "articles: 3 (2 published, 1 retracted); change sequence 13" in status.stdout
    words = [line.split() for line in status.stdout.splitlines()]
    # Topic links survive (a SQLite upgrade to 0014 once emptied them: migrations/env.py).
    assert ["environment", "1", "published", "0", "retracted"] in words
    assert "weekly-city 1 active, 1 bounced, 1 complained, 1 pending, 1 unsubscribed".split() in (
        words
    )
    assert "weekly-international 2026-11-16 held: 1 failed, 1 sending".split() in words
    assert "bounce intake: 1 reports stored, not yet processed" in status.stdout
