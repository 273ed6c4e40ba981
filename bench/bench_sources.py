"""Polling a 10,000-post WordPress site: from scratch, then idle, with requests counted.

Serves a fake WordPress (the one the tests use: real paging headers, per_page at most 100,
modified_after) on loopback, then runs the real sources unit of work against a fresh
SQLite (or ``--pg``) database: a first poll that reads every post, and an idle poll.

    .venv/bin/python bench/bench_sources.py [--posts 10000] [--pg URL]

Prints one line per case; the figures are written down in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support: the benchmark serves the tests' fake site

from syndication.services.sources import poll_sources  # noqa: E402
from syndication.settings import DatabaseSettings, Settings, SourceSettings  # noqa: E402
from syndication.store import articles as store  # noqa: E402
from syndication.store import database as db  # noqa: E402
from tests.support.http import serve  # noqa: E402
from tests.support.wordpress import FakeWordPress  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--pg", help="a PostgreSQL URL to use instead of a SQLite file")
    options = parser.parse_args()
    site = FakeWordPress()
    for post_id in range(1, options.posts + 1):
        site.add_post(post_id, categories=(7,) if post_id % 2 else (8,))
    with tempfile.TemporaryDirectory() as folder, serve(site) as server:
        url = options.pg or f"sqlite:///{folder}/bench.db"
        source = SourceSettings(
            "cms",
            "wordpress",
            server.url,
            (
                ("environment-news", "environment"),
                ("international-relations-news", "international-relations"),
            ),
        )
        settings = Settings(database=DatabaseSettings(url=url), sources=(source,))
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.write_session(engine) as session:
            store.sync_topics(session, settings.topics)

        def now() -> datetime:
            return datetime.now(UTC)

        for case in ("from scratch", "idle", "full (re-read + reconciliation)"):
            server.requests.clear()
            started = time.perf_counter()
            [report] = poll_sources(settings, engine, full=case.startswith("full"), now=now)
            elapsed = time.perf_counter() - started
            assert not report.error, report.error
            print(
                f"{case:<34} {elapsed:7.2f} s  {len(server.requests):4d} requests  "
                f"{report.fetched:6d} fetched  {report.inserted:6d} inserted  "
                f"{report.unchanged:6d} unchanged"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
