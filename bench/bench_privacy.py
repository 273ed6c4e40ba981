"""Retention and erasure at scale (issue 29 item 8).

20,000 readers whose records last changed 400 days ago, half of them unsubscribed: the
``retention`` job's work (``privacy.apply_retention``) deletes the 10,000 unsubscribed
ones and keeps their keyed hashes; then one ``subscribers erase`` among the 10,000 left.
SQLite in a temporary folder; PostgreSQL too with ``--pg URL`` (a database is created
for the run and dropped after it).

    .venv/bin/python bench/bench_privacy.py --pg postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from syndication.services import privacy
from syndication.settings import DatabaseSettings, Settings
from syndication.store import database as db
from syndication.store.models import Subscriber

NOW = datetime(2026, 12, 1, tzinfo=UTC)
READERS = 20_000


def measure(url: str) -> tuple[float, float]:
    """Seconds for the retention run, and for one erase after it."""
    settings = replace(Settings(), database=DatabaseSettings(url=url), secret_key="k" * 40)
    engine = db.make_engine(url)
    db.upgrade(engine)
    old = NOW - timedelta(days=400)
    with db.write_session(engine) as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "email": f"r{i}@example.org",
                    "name": "",
                    "locale": "en",
                    "status": "unsubscribed" if i % 2 else "active",
                    "created_at": old,
                    "updated_at": old,
                    "confirmed_at": old,
                }
                for i in range(READERS)
            ],
        )
    started = time.perf_counter()
    done = privacy.apply_retention(settings, engine, NOW)
    retention = time.perf_counter() - started
    assert done.unsubscribed == READERS // 2
    started = time.perf_counter()
    privacy.erase_person(settings, engine, "r10@example.org", NOW)
    erase = time.perf_counter() - started
    engine.dispose()
    return retention, erase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL to create the run's database from")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = [("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")]
        admin = None
        if args.pg:
            base = make_url(args.pg).set(drivername="postgresql+psycopg")
            name = f"bench_privacy_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            runs.append(("PostgreSQL", base.set(database=name).render_as_string(False)))
        try:
            for backend, url in runs:
                retention, erase = measure(url)
                rate = READERS // 2 / retention
                print(
                    f"{backend}: retention {READERS // 2:,} records {retention:.2f} s "
                    f"({rate:,.0f}/s); one erase {erase * 1000:.0f} ms"
                )
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
