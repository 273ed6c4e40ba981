"""Benchmark: ``syndication feeds build`` on a store of 100,000 articles over 20 topics.

Fills a fresh database with synthetic articles (through ``store.write_articles``, in
batches), then times, in this process: the full ``--all`` build; an incremental build
after one article changed (which must rewrite only that article's topics and ``all``); and
an idle build with nothing changed (which must write nothing). Prints milliseconds;
the incremental and idle figures are medians of 3 and 5 runs.

    .venv/bin/python bench/bench_feeds.py [--articles 100000] [--languages 1] [--pg URL]

``--languages N`` (issue 30) configures N languages and makes every run of N
consecutive articles one story: the first an original, the others its translations into
the other languages, so every entry links N - 1 translations and each language's feeds
hold 1/N of the articles.

PostgreSQL runs when ``--pg`` (or ``SYNDICATION_BENCH_PG_URL``) names a server; the
benchmark creates and drops its own database there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from syndication.core.articles import ArticleRecord
from syndication.services import feeds as feed_service
from syndication.settings import (
    DatabaseSettings,
    FeedSettings,
    LanguageSettings,
    Settings,
    Topic,
)
from syndication.store import articles as store
from syndication.store import database as db

TOPICS = tuple(Topic(f"topic-{n:02}", f"Topic {n:02}", f"Synthetic topic {n}.") for n in range(20))
BATCH = 2000
LANGUAGES = ("en", "ko", "ja", "zh-Hant")


def article(i: int, languages: int = 1) -> ArticleRecord:
    """Article ``i``; with several ``languages`` the translation ``i % languages`` of
    story ``i - i % languages``, in that language."""
    translation = i % languages
    published = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=10 * i)
    topics = (TOPICS[i % 20].slug,) if i % 10 else (TOPICS[i % 20].slug, TOPICS[(i + 7) % 20].slug)
    return ArticleRecord(
        source_id=f"bench-{i}",
        title=f"Seoul opens community centre number {i} 서울",
        url=f"https://news.example.org/articles/bench-{i}",
        published_at=published,
        updated_at=published,
        topics=topics,
        summary="A new neighbourhood centre opens its doors to residents.",
        body_html="<p>" + "The centre offers classes, care and meeting rooms. " * 6 + "</p>",
        author="Community Division",
        image_url=f"https://news.example.org/images/bench-{i}.jpg",
        language=LANGUAGES[translation],
        translation_of=f"bench-{i - translation}" if translation else "",
    )


def fill(settings: Settings, count: int, languages: int = 1) -> None:
    engine = db.make_engine(settings.database.url)
    db.upgrade(engine)
    with db.write_session(engine) as session:
        store.sync_topics(session, settings.topics)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    for start in range(0, count, BATCH):
        records = [article(i, languages) for i in range(start, min(start + BATCH, count))]
        with db.write_session(engine) as session:
            store.write_articles(session, records, now)
    engine.dispose()


def timed(settings: Settings, *, force_all: bool) -> tuple[float, feed_service.FeedBuildReport]:
    engine = db.make_engine(settings.database.url)
    with engine.connect():
        pass  # open the pool first: connecting is not part of a build
    started = time.perf_counter()
    report = feed_service.build_feeds(settings, engine, force_all=force_all)
    elapsed = (time.perf_counter() - started) * 1000
    engine.dispose()
    return elapsed, report


def run(label: str, database_url: str, count: int, workdir: Path, languages: int = 1) -> None:
    settings = Settings(
        database=DatabaseSettings(url=database_url),
        feeds=FeedSettings(dir=workdir / "feeds"),
        topics=TOPICS,
        lists=(),
        languages=LanguageSettings(available=LANGUAGES[:languages]),
    )
    started = time.perf_counter()
    fill(settings, count, languages)
    print(
        f"[{label}] {count:,} articles in {languages} language(s) over {len(TOPICS)} topics"
        f" stored in {time.perf_counter() - started:.1f} s"
    )

    full_ms, full = timed(settings, force_all=True)
    print(f"[{label}] full --all build: {full_ms:,.0f} ms, {len(full.changed):,} files written")

    incremental = []
    for number in range(3):
        engine = db.make_engine(database_url)
        edited = replace(
            article(count // 2 + number, languages), title=f"A corrected title {number}"
        )
        with db.write_session(engine) as session:
            store.write_articles(session, [edited], datetime(2026, 11, 29, number, tzinfo=UTC))
        engine.dispose()
        incremental.append(timed(settings, force_all=False))
    incremental_ms = statistics.median(ms for ms, _ in incremental)
    written = sorted({len(report.changed) for _, report in incremental})
    print(
        f"[{label}] incremental build after 1 article changed (median of 3): "
        f"{incremental_ms:,.0f} ms, {'/'.join(map(str, written))} files written "
        f"(feeds: {', '.join(incremental[0][1].feeds)})"
    )

    idle = [timed(settings, force_all=False) for _ in range(5)]
    assert all(not report.changed for _, report in idle)
    idle_ms = statistics.median(ms for ms, _ in idle)
    print(f"[{label}] idle build (median of 5): {idle_ms:,.1f} ms, 0 files written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--languages", type=int, choices=range(1, 5), default=1)
    parser.add_argument("--pg", default=os.environ.get("SYNDICATION_BENCH_PG_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        workdir = Path(tmp)
        run(
            "sqlite",
            f"sqlite:///{workdir / 'bench.db'}",
            args.articles,
            workdir / "sqlite",
            args.languages,
        )
        if args.pg:
            admin_url = make_url(args.pg).set(drivername="postgresql+psycopg")
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            name = f"bench_feeds_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = admin_url.set(database=name).render_as_string(hide_password=False)
                run("postgresql", url, args.articles, workdir / "pg", args.languages)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
