"""The console's subscribers page at newsroom scale: its queries' time at 100,000 readers.

Fills a fresh database with ``--subscribers`` readers (default 100,000: two lists, five
statuses, one sign-up a minute over ten weeks, names of a few hundred kinds, Hangul among
them), then times the page's own call (:func:`syndication.services.subscribers.page`: one
page of 50 by address and the count of every match, in one transaction) for each kind of
view an operator asks for: no filter, the last page, a list, a status, sign-up dates, a
search by part of an address, by a name, for nothing at all, and all filters at once.
SQLite always; PostgreSQL when ``--pg`` (or ``SYNDICATION_BENCH_PG_URL``) names a server
to create a scratch database on.

    .venv/bin/python bench/bench_console.py [--subscribers 100000] [--repeat 7] [--pg URL]

Prints the median and the slowest of ``--repeat`` runs per view, in milliseconds; the
figures are written down in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

sys.path.insert(0, str(Path(__file__).parent))

from bench_import import drop_pg, pg_database  # noqa: E402

from syndication.services import subscribers  # noqa: E402
from syndication.services.subscribers import SubscriberFilter  # noqa: E402
from syndication.store import database as db  # noqa: E402
from syndication.store.models import Subscriber, Subscription  # noqa: E402

START = datetime(2026, 9, 1, tzinfo=UTC)
STATUSES = ("active",) * 6 + ("pending", "unsubscribed", "bounced", "complained")
FAMILY = ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "김", "이")
GIVEN = ("Min-ji", "Seo-yeon", "Ji-ho", "Do-yun", "Ha-eun", "María", "John", "Aiko", "민지", "서연")


def fill(engine: Engine, count: int) -> None:
    """``count`` readers in batches of 5,000, each on one or both lists."""
    for first in range(0, count, 5_000):
        people, lists = [], []
        for n in range(first, min(first + 5_000, count)):
            joined = START + timedelta(minutes=n)
            people.append(
                {
                    "id": n + 1,
                    "email": f"reader{n:06d}@{('example.org', 'city.example.kr')[n % 2]}",
                    "name": f"{FAMILY[n % len(FAMILY)]} {GIVEN[n // 7 % len(GIVEN)]} {n % 97}",
                    "locale": "en",
                    "status": STATUSES[n % len(STATUSES)],
                    "created_at": joined,
                    "updated_at": joined,
                    "confirmed_at": joined,
                }
            )
            for slug in ("weekly-city", "weekly-international")[: 1 + n % 3 // 2]:
                lists.append({"subscriber_id": n + 1, "list_slug": slug, "created_at": joined})
        with db.write_session(engine) as session:
            session.execute(insert(Subscriber), people)
            session.execute(insert(Subscription), lists)


VIEWS: dict[str, tuple[SubscriberFilter, int]] = {
    "first page, no filter": (SubscriberFilter(), 0),
    "page 1,000 (offset 49,950)": (SubscriberFilter(), 49_950),
    "list weekly-international": (SubscriberFilter(list_slug="weekly-international"), 0),
    "status bounced": (SubscriberFilter(status="bounced"), 0),
    "signed up in one week": (
        SubscriberFilter(since=START + timedelta(days=30), until=START + timedelta(days=37)),
        0,
    ),
    "search 'reader04321' (address)": (SubscriberFilter(query="reader04321"), 0),
    "search 'city.example.kr' (half match)": (SubscriberFilter(query="city.example.kr"), 0),
    "search 'seo-yeon' (name)": (SubscriberFilter(query="seo-yeon"), 0),
    "search '민지' (Hangul name)": (SubscriberFilter(query="민지"), 0),
    "search 'nobody-at-all' (no match)": (SubscriberFilter(query="nobody-at-all"), 0),
    "all filters + search 'park'": (
        SubscriberFilter(
            query="park",
            list_slug="weekly-city",
            status="active",
            since=START,
            until=START + timedelta(days=40),
        ),
        0,
    ),
}


def run(label: str, url: str, count: int, repeat: int) -> None:
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        before = time.perf_counter()
        fill(engine, count)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
        print(f"[{label}] {count:,} subscribers written in {time.perf_counter() - before:.1f} s")
        for name, (where, offset) in VIEWS.items():
            times, found = [], None
            for _ in range(repeat):
                start = time.perf_counter()
                found = subscribers.page(engine, where, 50, offset)
                times.append((time.perf_counter() - start) * 1000)
            assert found is not None
            print(
                f"[{label}] {name:<40} {statistics.median(times):8.1f} ms median "
                f"{max(times):8.1f} ms slowest  ({found.total:,} match, {len(found.rows)} shown)"
            )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg", default=os.environ.get("SYNDICATION_BENCH_PG_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.subscribers, args.repeat)
    if args.pg:
        url, name = pg_database(args.pg)
        try:
            run("postgresql", url, args.subscribers, args.repeat)
        finally:
            drop_pg(args.pg, name)


if __name__ == "__main__":
    main()
