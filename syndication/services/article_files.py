"""``articles import`` of a file or standard input: parsing starts before the store loads.

The command's first job is to fork the worker that reads, parses and hashes the lines
(:class:`~syndication.services.article_batches.ParsedInWorker`); only then does this
process load the store (SQLAlchemy's ORM, the models, the database driver), connect and
check the schema, while the worker is already at work. Those ~0.3 s used to come before
the first line was read (issue 16: start-up counts against the import's speed). This
module therefore imports nothing of the store at load time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING

from syndication.clock import utc_now
from syndication.edges.worker_process import fork_available
from syndication.errors import InputError
from syndication.services.article_batches import ParsedBatch, ParsedInWorker, parse_batches
from syndication.settings import ImportSettings, Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from syndication.core.audit import Actor
    from syndication.services.articles import ImportReport, Rejection


def import_articles_file(
    settings: Settings,
    engine: Callable[[], Engine],
    path: str,
    on_rejection: Callable[[Rejection], None],
    stdin: IO[bytes] | None = None,
    actor: Actor | None = None,
) -> ImportReport:
    """Import a JSON Lines file (``-`` for standard input) with progress on a terminal.

    ``engine`` makes (or returns) the store's engine; it is called once the lines are
    being parsed. Where the platform can fork, they are read, parsed and hashed in a worker
    process while this one writes: on two cores the import then runs about as fast as the
    slower half instead of the sum of both (issue 16). The import is one audit record of
    ``actor`` once its batches are written (its counts).
    """
    known = {t.slug for t in settings.topics}
    prepared = settings.database.is_postgresql
    with (
        _open_lines(path, stdin) as (lines, total_bytes),
        _parsed(lines, known, settings.imports, prepared) as batches,
    ):
        # Loaded here, while the worker reads: see the module's docstring.
        from syndication.core.audit import SYSTEM
        from syndication.services import audit
        from syndication.services.articles import write_batches
        from syndication.store.database import require_current_schema
        from syndication.terminal import progress

        store = engine()
        require_current_schema(store)
        # Started after the fork: the progress display runs a refresh thread.
        with progress(f"importing {path}", total_bytes, unit="bytes") as bar:
            report = write_batches(
                store,
                batches,
                source="<stdin>" if path == "-" else path,
                now=utc_now,
                on_rejection=on_rejection,
                on_progress=lambda n, size: bar.advance_to(size, status=f"{n:,} lines"),
            )
        source = "<stdin>" if path == "-" else path
        who = actor or SYSTEM
        audit.record(store, who, "articles-import", "import", source, utc_now(), report.summary)
        return report


def _parsed(
    lines: Iterable[bytes], known_topics: Collection[str], limits: ImportSettings, prepared: bool
) -> AbstractContextManager[Iterable[ParsedBatch]]:
    if fork_available():
        return closing(ParsedInWorker(lines, known_topics, limits, prepared=prepared))
    return nullcontext(parse_batches(lines, known_topics, limits, prepared=prepared))


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
