"""Benchmark: ``syndication articles import`` throughput and memory, SQLite and PostgreSQL.

Generates a JSON Lines file of N synthetic articles, then runs the real command in a
subprocess on a fresh database: once to insert everything, once more on the same file
(every line unchanged). Reports articles per second and the child's peak RSS; running two
sizes shows whether memory stays flat as the file grows.

    .venv/bin/python bench/bench_import.py [--lines 100000 1000000] [--pg URL] [--repeat 3]

PostgreSQL runs when ``--pg`` (or ``SYNDICATION_BENCH_PG_URL``) names a server; the
benchmark creates and drops its own database there. On PostgreSQL it also measures the
limit in the same run: ``psql`` ``\\copy`` of the very rows the import writes (articles and
topic links, as CSV prepared beforehand) into another freshly initialised store, process
start-up included as for the import, and prints the import's share of that speed. The
import and the COPY alternate ``--repeat`` times and the best of each is compared (every
pair is listed too): one pair alone is at the mercy of a shared machine's drifting speed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TOPICS = ["international-relations", "environment", "transport", "culture", "welfare"]


def write_articles(path: Path, count: int) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            published = start + timedelta(minutes=7 * i)
            article = {
                "id": f"bench-{i}",
                "title": f"Seoul opens community centre number {i} 서울",
                "url": f"https://english.seoul.example/news/bench-{i}",
                "published_at": published.isoformat(),
                "summary": "A new neighbourhood centre opens its doors to residents.",
                "body_html": "<p>"
                + "The centre offers classes, care and meeting rooms. " * 6
                + "</p>",
                "author": "Community Division",
                "image_url": f"https://english.seoul.example/images/bench-{i}.jpg",
                "topics": [TOPICS[i % len(TOPICS)]],
            }
            out.write(json.dumps(article, ensure_ascii=False) + "\n")


def run_import(database_url: str, path: Path, workdir: Path) -> tuple[float, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "syndication"]
    subprocess.run([*command, "init"], env=env, cwd=workdir, check=True, capture_output=True)
    timings = []
    summary = ""
    for _ in range(2):
        before = time.perf_counter()
        result = subprocess.run(
            [*command, "articles", "import", str(path)],
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
            text=True,
        )
        timings.append(time.perf_counter() - before)
        summary += result.stdout.strip().split(": ", 1)[1] + " | "
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return timings[0], peak_kib, f"{summary} second run {timings[1]:.2f}s"


def plain_copy(database_url: str, path: Path, workdir: Path) -> float:
    """Seconds for ``psql`` to ``\\copy`` the rows the import writes into a fresh store."""
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from syndication.core.articles import parse_article_line

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = database_url
    subprocess.run(
        [sys.executable, "-m", "syndication", "init"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT slug, id FROM topics"))
        topic_ids: dict[str, int] = {slug: id_ for slug, id_ in rows}
    engine.dispose()
    articles_csv, links_csv = workdir / "copy-articles.csv", workdir / "copy-links.csv"
    with (
        path.open(encoding="utf-8") as lines,
        articles_csv.open("w", newline="") as a,
        links_csv.open("w", newline="") as t,
    ):
        # Quoted, so that an empty text is an empty string and not NULL to COPY.
        articles, links = csv.writer(a, quoting=csv.QUOTE_ALL), csv.writer(t)
        for number, line in enumerate(lines, start=1):
            r = parse_article_line(line, set(topic_ids))
            articles.writerow(
                [number, r.source_id, r.title, r.summary, r.body_html, r.url, r.author]
                + [r.image_url, r.language, r.published_at.isoformat(), r.updated_at.isoformat()]
                + [r.status, r.retraction_reason, r.content_hash(), number]
                + [r.published_at.date().isoformat()]
            )
            links.writerows([number, topic_ids[slug]] for slug in r.topics)
    columns = (
        "id, source_id, title, summary, body_html, url, author, image_url, language,"
        " published_at, updated_at, status, retraction_reason, content_hash, change_seq, id_date"
    )
    before = time.perf_counter()
    subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            libpq,
            "-c",
            f"\\copy articles ({columns}) FROM '{articles_csv}' CSV",
            "-c",
            f"\\copy article_topics (article_id, topic_id) FROM '{links_csv}' CSV",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - before


def pg_database(admin_url: str) -> tuple[str, str]:
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"syndication_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_pg(admin_url: str, name: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--pg", default=os.environ.get("SYNDICATION_BENCH_PG_URL", ""))
    parser.add_argument(
        "--repeat", type=int, default=3, help="PostgreSQL import/COPY pairs; the best of each"
    )
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"{'backend':<11} {'lines':>9} {'seconds':>8} {'articles/s':>11}  notes")
    for count in args.lines:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            path = workdir / "articles.jsonl"
            write_articles(path, count)
            for backend in backends:
                # Each measurement in its own child so RUSAGE_CHILDREN's peak is its own.
                code = (
                    "import sys, json; sys.path.insert(0, 'bench');"
                    "import bench_import as b; from pathlib import Path;"
                    f"print(json.dumps(b.measure({backend!r}, Path({str(path)!r}),"
                    f" Path({tmp!r}), {args.pg!r}, {args.repeat})))"
                )
                out = subprocess.run(
                    [sys.executable, "-c", code],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=Path(__file__).parent.parent,
                ).stdout
                seconds, peak_kib, notes = json.loads(out)
                print(
                    f"{backend:<11} {count:>9,} {seconds:>8.2f} {count / seconds:>11,.0f}"
                    f"  peak RSS {peak_kib / 1024:.0f} MiB; {notes}",
                    flush=True,
                )


def measure(
    backend: str, path: Path, workdir: Path, pg_url: str, repeat: int = 3
) -> tuple[float, int, str]:
    if backend == "sqlite":
        database = workdir / f"bench-{uuid.uuid4().hex[:6]}.db"
        return run_import(f"sqlite:///{database}", path, workdir)
    seconds, peak_kib, notes, limit = versus_copy(path, workdir, pg_url, repeat)
    notes += f" | best plain COPY {limit:.2f}s: best import at {limit / seconds:.2f} of COPY"
    return seconds, peak_kib, notes


def versus_copy(
    path: Path, workdir: Path, pg_url: str, repeat: int = 3
) -> tuple[float, int, str, float]:
    """The PostgreSQL import of ``path`` (seconds, peak KiB, notes) and, in the same run,
    the seconds of a plain COPY of the same rows, each into a fresh database.

    The two alternate ``repeat`` times and the best of each is kept: on a shared machine
    whose speed drifts from minute to minute (seen here: the same import 7.0 s, then
    10.4 s), one pair can catch the import in a slow minute and the COPY in a fast one.
    The notes list every pair."""
    imports: list[tuple[float, str]] = []
    copies: list[float] = []
    for _ in range(repeat):
        url, name = pg_database(pg_url)
        copy_url, copy_name = pg_database(pg_url)
        try:
            seconds, _, notes = run_import(url, path, workdir)
            imports.append((seconds, notes))
            copies.append(plain_copy(copy_url, path, workdir))
        finally:
            drop_pg(pg_url, name)
            drop_pg(pg_url, copy_name)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, notes = min(imports)
    pairs = ", ".join(f"{i:.2f}/{c:.2f}" for (i, _), c in zip(imports, copies, strict=True))
    return seconds, peak_kib, f"{notes} | import/COPY pairs {pairs}", min(copies)


if __name__ == "__main__":
    main()
