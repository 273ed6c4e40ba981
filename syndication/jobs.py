"""The units of work that the CLI and the scheduler both call.

Each function takes the settings and an engine, owns its transactions, and returns plain
data describing what it did; printing is the caller's business. No business logic lives in
the CLI or in ``scheduler.py``: they call these.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from syndication import db, store
from syndication.console import progress
from syndication.errors import InputError
from syndication.importer import ImportReport, Rejection, import_articles
from syndication.settings import Settings


def utc_now() -> datetime:
    """The one clock of the edges; the core takes ``now`` as an argument instead."""
    return datetime.now(UTC)


def open_engine(settings: Settings) -> Engine:
    return db.make_engine(settings.database.url)


def init_store(settings: Settings, engine: Engine) -> int:
    """Create or upgrade the schema and sync topics from the config; safe to repeat.

    Returns how many topic rows were added or changed.
    """
    db.upgrade(engine)
    with db.write_session(engine) as session:
        return store.sync_topics(session, settings.topics)


def import_articles_file(
    settings: Settings,
    engine: Engine,
    path: str,
    on_rejection: Callable[[Rejection], None],
    stdin: IO[bytes] | None = None,
) -> ImportReport:
    """Import a JSON Lines file (``-`` for standard input) with progress on a terminal."""
    db.require_current_schema(engine)
    known = {t.slug for t in settings.topics}
    with _open_lines(path, stdin) as (lines, total_bytes):
        with progress(f"importing {path}", total_bytes, unit="bytes") as bar:
            counter = _ByteCounter(lines)
            return import_articles(
                engine,
                counter,
                source="<stdin>" if path == "-" else path,
                known_topics=known,
                now=utc_now,
                on_rejection=on_rejection,
                on_progress=lambda n: bar.advance_to(counter.bytes, status=f"{n:,} lines"),
            )


class _ByteCounter:
    """Iterates raw lines while counting their size, for a byte-based progress bar."""

    def __init__(self, lines: IO[bytes]) -> None:
        self._lines = lines
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self._lines:
            self.bytes += len(line)
            yield line


@contextmanager
def _open_lines(path: str, stdin: IO[bytes] | None) -> Iterator[tuple[IO[bytes], int | None]]:
    # Bytes, not text: a line that is not UTF-8 is one rejected line, not a failed import.
    if path == "-":
        yield (stdin or sys.stdin.buffer), None
        return
    file = Path(path)
    try:
        handle = file.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        yield handle, file.stat().st_size


def retract_article(settings: Settings, engine: Engine, source_id: str, reason: str) -> bool:
    """Retract one article; False when it was already retracted for the same reason."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        return store.retract_article(session, source_id, reason, utc_now())


def store_status(engine: Engine) -> store.StoreSummary:
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.store_summary(session)
