"""Benchmark (issue 16): feed builds at 5,000 / 30,000 / 100,000 articles, next to the limit.

For each size, a fresh SQLite store is filled with the synthetic articles of
``bench_feeds.py`` (20 topics, one article every 10 minutes, a tenth in two topics), then:

* **full build**: ``build_feeds(force_all=True)`` on an empty ``feeds.dir`` (so an empty
  fragment cache: every entry sanitised and serialised) in a child process, which reports
  its wall time and peak RSS (``ru_maxrss``: the whole process, interpreter included);
  the same again with the fragment cache of that build present ("warm");
* **µs per rendered entry**: the full build's time over the entries its documents hold
  (each article's entry in the archive of ``all`` and of each of its topics, plus the
  RSS, Atom and JSON documents' ``feeds.entries`` newest of each feed);
* **CPU**: the same per entry in CPU seconds of the process (``time.process_time``), which
  other work on the machine disturbs far less than wall time; the ratio is taken on it;
* **limit**: a plain ``lxml.etree.xmlfile`` writer producing Atom entries of the same shape
  (same elements, attributes and text, one file per feed and month) for as many entries,
  from data already in memory, in the same run: the goal is at most 2.5× its µs (issue
  26; 3× in issue 16);
* **incremental**: after one article's title is edited, median of 3 (each a new edit);
* **idle**: nothing changed, median of 5. The goal (issue 26): incremental − idle ≤ 0.2 s
  at 30,000 (0.3 s at 100,000); the same difference in CPU seconds beside it;
* **PostgreSQL import** (with ``--pg URL`` or ``SYNDICATION_BENCH_PG_URL``): the real
  ``syndication articles import`` of as many articles (``bench_import.py``'s JSON Lines,
  start-up included) into a fresh database, and in the same run ``psql``'s ``\\copy`` of
  the same rows into another: the goal is at least 0.5 of COPY's speed.

    .venv/bin/python bench/bench_scale.py [--articles 5000 30000 100000] [--pg URL]
    .venv/bin/python bench/bench_scale.py --full-only --articles 1000000

No figure here is asserted anywhere; bench/README.md keeps them with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).parent))

from bench_feeds import TOPICS, article, fill  # noqa: E402
from bench_import import write_articles  # noqa: E402

from syndication.core import feeds  # noqa: E402
from syndication.services import feeds as feed_service  # noqa: E402
from syndication.settings import DatabaseSettings, FeedSettings, Settings  # noqa: E402
from syndication.store import articles as store  # noqa: E402
from syndication.store import database as db  # noqa: E402


def settings_for(workdir: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite:///{workdir / 'bench.db'}"),
        feeds=FeedSettings(dir=workdir / "feeds"),
        topics=TOPICS,
        lists=(),
    )


def child(workdir: Path) -> None:
    """One full build in this process; prints seconds and peak RSS as JSON."""
    settings = settings_for(workdir)
    engine = db.make_engine(settings.database.url)
    with engine.connect():
        pass
    started, cpu = time.perf_counter(), time.process_time()
    feed_service.build_feeds(settings, engine, force_all=True)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mib": peak}))


def full_build(workdir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def rendered_entries(settings: Settings, count: int) -> int:
    """How many entries the documents of a full build hold (see the module docstring)."""
    archived = sum(1 + len(article(i).topics) for i in range(count))
    per_key = {key: 0 for key in feeds.feed_keys(settings)}
    for i in range(count):
        per_key[feeds.ALL] += 1
        for slug in article(i).topics:
            per_key[slug] += 1
    limit = settings.feeds.entries
    return archived + sum(3 * min(limit, n) for n in per_key.values())


def lxml_limit(settings: Settings, count: int, entries: int, folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds a plain xmlfile writer takes for ``entries`` Atom entries of
    the same shape."""
    Row = tuple[str, str, str, str, str, str, str, str, tuple[str, ...], str]
    rows: list[Row] = []
    for i in range(count):
        record = article(i)
        rows.append(
            (
                f"tag:{settings.site.domain},{record.published_at.date()}:{record.source_id}",
                record.title,
                record.published_at.isoformat(),
                record.summary,
                record.body_html,
                record.author,
                record.url,
                record.image_url,
                record.topics,
                feeds.month_of(record.published_at, settings.site.tz),
            )
        )
    scheme = f"{settings.site.feeds_url}/"
    names = {t.slug: t.name for t in settings.topics}
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    started, cpu = time.perf_counter(), time.process_time()
    keys = feeds.feed_keys(settings)
    for key in keys:
        by_month: dict[str, list[Row]] = {}
        for row in rows:
            if key == feeds.ALL or key in row[8]:
                by_month.setdefault(row[9], []).append(row)
        for month, chunk in by_month.items():
            with etree.xmlfile(str(folder / f"{key}-{month}.atom"), encoding="utf-8") as xf:
                xf.write_declaration()
                with xf.element("feed", nsmap={None: "http://www.w3.org/2005/Atom"}):
                    for row in chunk:
                        (ident, title, when, summary, body, author, url, image, topics, _) = row
                        entry = etree.Element("entry")
                        sub = etree.SubElement
                        sub(entry, "id").text = ident
                        sub(entry, "title").text = title
                        sub(entry, "updated").text = when
                        sub(sub(entry, "author"), "name").text = author
                        sub(entry, "content", type="html").text = body
                        sub(entry, "summary").text = summary
                        for slug in topics:
                            sub(entry, "category", term=slug, scheme=scheme, label=names[slug])
                        sub(entry, "published").text = when
                        sub(entry, "link", href=url, rel="alternate", type="text/html")
                        sub(entry, "link", href=image, rel="enclosure", type="image/jpeg")
                        xf.write(entry, pretty_print=True)
                        written += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # Scaled to the build's count (which adds the subscription documents' entries).
    return elapsed * entries / written, cpu * entries / written


def timed(settings: Settings) -> tuple[float, float]:
    """Wall and CPU seconds of one build (CPU: what a shared machine disturbs least)."""
    engine = db.make_engine(settings.database.url)
    with engine.connect():
        pass
    started, cpu = time.perf_counter(), time.process_time()
    feed_service.build_feeds(settings, engine, force_all=False)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return elapsed, cpu


def edit(settings: Settings, count: int, number: int) -> None:
    engine = db.make_engine(settings.database.url)
    edited = replace(article(count // 2 + number), title=f"A corrected title {number}")
    with db.write_session(engine) as session:
        store.write_articles(session, [edited], datetime(2026, 11, 29, number, tzinfo=UTC))
    engine.dispose()


def pg_import(count: int, workdir: Path, pg_url: str) -> tuple[float, float]:
    """Seconds of the PostgreSQL import of ``count`` articles and of a plain COPY of the
    same rows, measured in a child (bench_import.versus_copy)."""
    lines = workdir / "import.jsonl"
    write_articles(lines, count)
    code = (
        "import sys, json; sys.path.insert(0, 'bench'); import bench_import as b;"
        "from pathlib import Path;"
        f"r = b.versus_copy(Path({str(lines)!r}), Path({str(workdir)!r}), {pg_url!r});"
        "print(json.dumps([r[0], r[3]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    ).stdout
    seconds, limit = json.loads(out.strip().splitlines()[-1])
    return float(seconds), float(limit)


def run(count: int, workdir: Path, pg_url: str) -> dict[str, float]:
    settings = settings_for(workdir)
    fill(settings, count)
    entries = rendered_entries(settings, count)
    cold = full_build(workdir)
    warm = full_build(workdir)
    limit, limit_cpu = lxml_limit(settings, count, entries, workdir / "limit")
    incremental = []
    for number in range(3):
        edit(settings, count, number)
        incremental.append(timed(settings))
    idles = [timed(settings) for _ in range(5)]
    imported, copied = pg_import(count, workdir, pg_url) if pg_url else (0.0, 0.0)
    return {
        "pg_import_s": imported,
        "pg_copy_s": copied,
        "articles": count,
        "entries": entries,
        "full_s": cold["seconds"],
        "full_us": cold["seconds"] / entries * 1e6,
        "full_cpu_us": cold["cpu"] / entries * 1e6,
        "limit_cpu_us": limit_cpu / entries * 1e6,
        "full_rss": cold["rss_mib"],
        "warm_s": warm["seconds"],
        "warm_rss": warm["rss_mib"],
        "limit_us": limit / entries * 1e6,
        "incremental_s": statistics.median(wall for wall, _ in incremental),
        "idle_s": statistics.median(wall for wall, _ in idles),
        "incremental_cpu_s": statistics.median(cpu for _, cpu in incremental),
        "idle_cpu_s": statistics.median(cpu for _, cpu in idles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[5_000, 30_000, 100_000])
    parser.add_argument(
        "--full-only",
        action="store_true",
        help="only the full build's time and peak RSS (for a million articles)",
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("SYNDICATION_BENCH_PG_URL", ""),
        help="a PostgreSQL server URL for the import-versus-COPY column (databases are "
        "created and dropped there)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.full_only:
        for count in args.articles:
            with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
                settings = settings_for(Path(tmp))
                fill(settings, count)
                entries = rendered_entries(settings, count)
                cold = full_build(Path(tmp))
                print(
                    f"{count:,} articles, {entries:,} entries: full build {cold['seconds']:.1f} s, "
                    f"{cold['seconds'] / entries * 1e6:.0f} µs/entry, "
                    f"peak RSS {cold['rss_mib']:.0f} MiB (load {os.getloadavg()[0]:.2f})"
                )
        return
    load = os.getloadavg()
    rows = []
    for count in args.articles:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            rows.append(run(count, Path(tmp), args.pg))
            print(f"... {count:,} articles done", file=sys.stderr)
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f}; at end: {os.getloadavg()[0]:.2f}")
    print(
        "| articles | rendered entries | full build | µs/entry wall (limit) | µs/entry CPU "
        "(limit) | ratio CPU (goal ≤ 2.5×) | peak RSS | full, cache warm "
        "| incremental after 1 edit | idle | edit cost (goal ≤ 0.2 s) | edit cost CPU "
        "| PG import (plain COPY) | share of COPY (goal ≥ 0.5) |"
    )
    print("| ---: " * 14 + "|")
    for r in rows:
        print(
            f"| {r['articles']:,.0f} | {r['entries']:,.0f} | {r['full_s']:.2f} s "
            f"| {r['full_us']:.0f} ({r['limit_us']:.0f}) "
            f"| {r['full_cpu_us']:.0f} ({r['limit_cpu_us']:.0f}) "
            f"| {r['full_cpu_us'] / r['limit_cpu_us']:.1f}× "
            f"| {r['full_rss']:.0f} MiB | {r['warm_s']:.2f} s ({r['warm_rss']:.0f} MiB) "
            f"| {r['incremental_s']:.3f} s | {r['idle_s']:.3f} s "
            f"| {r['incremental_s'] - r['idle_s']:+.3f} s "
            f"| {r['incremental_cpu_s'] - r['idle_cpu_s']:+.3f} s "
            + (
                f"| {r['pg_import_s']:.2f} s ({r['pg_copy_s']:.2f} s) "
                f"| {r['pg_copy_s'] / r['pg_import_s']:.2f} |"
                if r["pg_import_s"]
                else "| – | – |"
            )
        )


if __name__ == "__main__":
    main()
