"""Streaming article import: JSON Lines in, batched upserts out, constant memory.

Lines are parsed one at a time and written in batches, each batch one transaction, so a
million-line file costs the memory of one batch and a crash loses at most the batch in
flight (the import is an upsert: running it again is safe). A bad line is reported with its
file and line number and skipped; the lines around it are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from syndication.articles import ArticleRecord, parse_article_line
from syndication.db import write_session
from syndication.errors import RecordError
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings
from syndication.store import WriteCounts, write_articles

BATCH_SIZE = 2000


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
    on_progress: Callable[[int], None] = lambda _n: None,
    batch_size: int = BATCH_SIZE,
    keep_rejections: int = 1000,
    limits: ImportSettings = DEFAULT_IMPORT_LIMITS,
) -> ImportReport:
    """Import JSON Lines from ``lines`` (numbered from 1) into the store.

    Each rejection goes to ``on_rejection`` as it happens; the report keeps the first
    ``keep_rejections`` of them and the total. ``on_progress`` gets the number of lines
    handled after each batch. Blank lines are skipped silently. ``limits`` bounds the
    size of each field.
    """
    report = ImportReport()
    batch: dict[str, tuple[int, ArticleRecord]] = {}
    handled = 0

    def reject(number: int, exc: RecordError) -> None:
        rejection = Rejection(source, number, exc.field, exc.reason)
        report.rejected += 1
        if len(report.rejections) < keep_rejections:
            report.rejections.append(rejection)
        on_rejection(rejection)

    def flush() -> None:
        if batch:
            records = [record for _, record in batch.values()]
            try:
                with write_session(engine) as session:
                    report.counts.add(write_articles(session, records, now()))
            except OperationalError:
                raise  # the database itself is unwell (read-only, gone): not one line's fault
            except (DBAPIError, StatementError, UnicodeError):
                # Validation should have caught anything the database refuses; if it did
                # not, one bad line must not cost the batch: write them one by one and
                # reject only those the database refuses.
                for number, record in sorted(batch.values(), key=lambda item: item[0]):
                    try:
                        with write_session(engine) as session:
                            report.counts.add(write_articles(session, [record], now()))
                    except (DBAPIError, StatementError, UnicodeError) as exc:
                        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                        reject(number, RecordError("", f"the database refused it: {reason}"))
            batch.clear()
        on_progress(handled)

    for number, line in enumerate(lines, start=1):
        handled = number
        try:
            record = _parse(line, known_topics, limits)
        except RecordError as exc:
            reject(number, exc)
            continue
        if record is None:
            continue
        if record.source_id in batch:
            # The same article twice in one batch: the later line is an update of the
            # earlier one, so the earlier one must be written first.
            flush()
        batch[record.source_id] = (number, record)
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def _parse(
    line: str | bytes, known_topics: Collection[str], limits: ImportSettings
) -> ArticleRecord | None:
    """One line to a record; ``None`` for a blank line. Undecodable bytes are a bad line."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError("", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not line.strip():
        return None
    return parse_article_line(line, known_topics, limits)
