"""Streaming article import: JSON Lines in, batched upserts out, constant memory.

Lines are parsed one at a time and written in batches, each batch one transaction, so a
million-line file costs the memory of one batch and a crash loses at most the batch in
flight (the import is an upsert: running it again is safe). A bad line is reported with its
file and line number and skipped; the lines around it are kept. Reading the lines into
batches is :mod:`syndication.services.article_batches`; the file import
(:mod:`syndication.services.article_files`) does it in a forked worker process while
this one writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from syndication.clock import utc_now
from syndication.core.articles import ArticleRecord
from syndication.errors import RecordError
from syndication.services.article_batches import (
    BATCH_SIZE,
    ParsedBatch,
    parse_batches,
)
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings, Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.articles import WriteCounts, write_articles
from syndication.store.copy_rows import PreparedArticle
from syndication.store.database import write_session


@dataclass(frozen=True)
class Rejection:
    """One rejected line: ``PATH:LINE: field: reason``."""

    source: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class ImportReport:
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejections: list[Rejection] = field(default_factory=list)
    rejected: int = 0

    @property
    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged, "
            f"{self.rejected} rejected"
        )


def import_articles(
    engine: Engine,
    lines: Iterable[str | bytes],
    *,
    source: str,
    known_topics: Collection[str],
    now: Callable[[], datetime],
    on_rejection: Callable[[Rejection], None] = lambda _r: None,
    on_progress: Callable[[int, int], None] = lambda _n, _s: None,
    batch_size: int = BATCH_SIZE,
    keep_rejections: int = 1000,
    limits: ImportSettings = DEFAULT_IMPORT_LIMITS,
) -> ImportReport:
    """Import JSON Lines from ``lines`` (numbered from 1) into the store.

    Each rejection goes to ``on_rejection`` as it happens; the report keeps the first
    ``keep_rejections`` of them and the total. ``on_progress`` gets the number of lines
    handled and their size after each batch. Blank lines are skipped silently. ``limits``
    bounds the size of each field. The lines are parsed in this process while a thread
    writes; ``article_files.import_articles_file`` parses in a worker process instead.
    """
    return write_batches(
        engine,
        parse_batches(lines, known_topics, limits, batch_size, prepared=_copies(engine)),
        source=source,
        now=now,
        on_rejection=on_rejection,
        on_progress=on_progress,
        keep_rejections=keep_rejections,
    )


def write_batches(
    engine: Engine,
    batches: Iterable[ParsedBatch],
    *,
    source: str,
    now: Callable[[], datetime],
    on_rejection: Callable[[Rejection], None] = lambda _r: None,
    on_progress: Callable[[int, int], None] = lambda _n, _s: None,
    keep_rejections: int = 1000,
) -> ImportReport:
    """Write parsed batches, each in its own transaction, in order; report as
    :func:`import_articles` does (``source`` names the input in rejections)."""
    report = ImportReport()
    # Rejections come from this thread (parsing) and from the writer (the database).
    rejecting = threading.Lock()

    def reject(number: int, exc: RecordError) -> None:
        rejection = Rejection(source, number, exc.field, exc.reason)
        with rejecting:
            report.rejected += 1
            if len(report.rejections) < keep_rejections:
                report.rejections.append(rejection)
            on_rejection(rejection)

    def write(items: list[tuple[int, ArticleRecord | PreparedArticle, str]]) -> None:
        records = [record for _, record, _ in items]
        digests = [digest for _, _, digest in items]
        try:
            with write_session(engine) as session:
                report.counts.add(write_articles(session, records, now(), digests=digests))
        except OperationalError:
            raise  # the database itself is unwell (read-only, gone): not one line's fault
        except (DBAPIError, StatementError, UnicodeError):
            # Validation should have caught anything the database refuses; if it did
            # not, one bad line must not cost the batch: write them one by one and
            # reject only those the database refuses.
            for number, record, digest in sorted(items, key=lambda item: item[0]):
                try:
                    with write_session(engine) as session:
                        counts = write_articles(session, [record], now(), digests=[digest])
                        report.counts.add(counts)
                except (DBAPIError, StatementError, UnicodeError) as exc:
                    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                    reject(number, RecordError("", f"the database refused it: {reason}"))

    # One writer thread, at most one batch in flight: while the database works on batch N
    # (its own process, its own core) the next batch is parsed, here or in the worker
    # process; the driver waits without the GIL. Batches are still written one after
    # another, in file order, each in its own transaction, so a later line still
    # overwrites an earlier one.
    in_flight: Future[None] | None = None

    def settle() -> None:
        nonlocal in_flight
        if in_flight is not None:
            done, in_flight = in_flight, None
            done.result()  # re-raises the writer's error here, in the caller's thread

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="article-import") as writer:
        for batch in batches:
            settle()
            for number, exc in batch.rejections:
                reject(number, exc)
            if batch.items:
                in_flight = writer.submit(write, batch.items)
            on_progress(batch.lines, batch.size)
        settle()
    return report


def _copies(engine: Engine) -> bool:
    """Whether the store writes articles through ``COPY`` (PostgreSQL): the parsing side
    then hands on rows already in ``COPY`` text (``store.copy_rows``)."""
    return engine.dialect.name == "postgresql"


def retract_article(settings: Settings, engine: Engine, source_id: str, reason: str) -> bool:
    """Retract one article; False when it was already retracted for the same reason."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        return store.retract_article(session, source_id, reason, utc_now())
