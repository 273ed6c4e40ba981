"""An import's lines read into batches of validated, hashed articles, here or in a worker.

:func:`parse_batches` is the reading half of the article import: lines in, batches out,
each batch at most ``batch_size`` lines' worth of records (with their line numbers and
content hashes) and rejections, and never the same article twice (a repeated source id
closes the batch first: the later line is an update of the earlier one, which must be
written before it). For a PostgreSQL store (``prepared=True``) each record is handed on as a
:class:`~syndication.store.copy_rows.PreparedArticle`, its row already ``COPY`` text, so
that the process writing to the database formats nothing.

:class:`ParsedInWorker` runs that same function in a forked worker process and hands its
batches over a pipe (issue 16): parsing and hashing are about half the CPU an import
spends, and in one process they shared one GIL with the database writes. On the wire a
batch is plain tuples of strings, bytes and numbers (``marshal``), datetimes in ISO form;
:func:`encode_batch` and :func:`decode_batch` are exact inverses, a test holds them so.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syndication.core.articles import ArticleRecord, parse_article_bytes, parse_article_line
from syndication.edges.worker_process import WorkerProcess
from syndication.errors import RecordError
from syndication.settings import ImportSettings
from syndication.store.copy_rows import PreparedArticle, prepare

BATCH_SIZE = 2000


@dataclass
class ParsedBatch:
    """Records and rejections of consecutive lines, and how far the reading has come.

    ``items`` are ``(line number, record, content hash)`` with distinct source ids, the
    record prepared for ``COPY`` when the batches were read with ``prepared=True``;
    ``lines`` and ``size`` count every line read so far and their length (bytes for byte
    lines, characters for text lines), this batch's included.
    """

    items: list[tuple[int, ArticleRecord | PreparedArticle, str]] = field(default_factory=list)
    rejections: list[tuple[int, RecordError]] = field(default_factory=list)
    lines: int = 0
    size: int = 0


_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_LONE_CR_BYTES = re.compile(rb"(?<=\r)(?!\n)")


def universal_lines(lines: Iterable[str | bytes]) -> Iterator[str | bytes]:
    """``lines`` (split at ``\\n``, as a file iterates) split at a lone ``\\r`` too: a file
    saved with classic Mac line ends (CR only) is many lines, as its author meant, not one
    rejected line. A line without a ``\\r`` inside (nearly all) costs one ``in`` test."""
    for line in lines:
        if isinstance(line, bytes):
            if b"\r" in line.rstrip(b"\r\n"):
                yield from (part for part in _LONE_CR_BYTES.split(line) if part)
                continue
        elif "\r" in line.rstrip("\r\n"):
            yield from (part for part in _LONE_CR.split(line) if part)
            continue
        yield line


def parse_batches(
    lines: Iterable[str | bytes],
    known_topics: Collection[str],
    limits: ImportSettings,
    batch_size: int = BATCH_SIZE,
    *,
    prepared: bool = False,
) -> Iterator[ParsedBatch]:
    """Batches of the lines (numbered from 1); the last one may be empty but always comes,
    with the final counts. Blank lines are counted and otherwise skipped. With
    ``prepared``, records come as :class:`PreparedArticle` (for PostgreSQL's ``COPY``)."""
    batch = ParsedBatch()
    seen: set[str] = set()
    size = 0
    number = 0
    for number, line in enumerate(universal_lines(lines), start=1):
        size += len(line)
        try:
            record = _parse(line, known_topics, limits)
            if record is not None:
                digest = record.content_hash()
                item = _prepared(record, digest) if prepared else record
        except RecordError as exc:
            batch.rejections.append((number, exc))
        else:
            if record is not None:
                if record.source_id in seen:
                    yield batch
                    batch, seen = ParsedBatch(), set()
                seen.add(record.source_id)
                batch.items.append((number, item, digest))
        batch.lines, batch.size = number, size
        if len(batch.items) + len(batch.rejections) >= batch_size:
            yield batch
            batch, seen = ParsedBatch(), set()
    batch.lines, batch.size = number, size
    yield batch


def _parse(
    line: str | bytes, known_topics: Collection[str], limits: ImportSettings
) -> ArticleRecord | None:
    """One line to a record; ``None`` for a blank line. Undecodable bytes are a bad line."""
    if isinstance(line, bytes):
        return parse_article_bytes(line, known_topics, limits)
    if not line.strip():
        return None
    return parse_article_line(line, known_topics, limits)


def _prepared(record: ArticleRecord, digest: str) -> PreparedArticle:
    try:
        return prepare(record, digest)
    except ValueError as exc:  # never from a parsed line; judged like any bad line if so
        raise RecordError("", f"the database cannot hold it: {exc}") from exc


class ParsedInWorker:
    """:func:`parse_batches` of ``lines``, run in a forked worker process from the moment
    this is made; iterate it for the batches, and close it when done.

    The worker reads ``lines`` itself (an open file, standard input, a list): this process
    must not read them too."""

    def __init__(
        self,
        lines: Iterable[str | bytes],
        known_topics: Collection[str],
        limits: ImportSettings,
        batch_size: int = BATCH_SIZE,
        *,
        prepared: bool = False,
    ) -> None:
        def produce() -> Iterator[bytes]:
            batches = parse_batches(lines, known_topics, limits, batch_size, prepared=prepared)
            for batch in batches:
                yield encode_batch(batch)

        self._worker = WorkerProcess(produce, name="article parsing")

    def __iter__(self) -> Iterator[ParsedBatch]:
        for message in self._worker:
            yield decode_batch(message)

    def close(self) -> None:
        """Stop the worker if it still runs (``contextlib.closing`` for a ``with``)."""
        self._worker.close()


def encode_batch(batch: ParsedBatch) -> bytes:
    """A batch as bytes for :func:`decode_batch`. Each item is tagged: a record goes field
    by field, in the order of :class:`ArticleRecord`'s constructor; a prepared article as
    its six fields."""
    items: list[tuple[Any, ...]] = []
    for number, r, digest in batch.items:
        if isinstance(r, PreparedArticle):
            items.append(
                (
                    number,
                    digest,
                    _PREPARED,
                    r.source_id,
                    r.updated_at.isoformat(),
                    r.status,
                    r.topics,
                    r.tail,
                    r.published_at.isoformat(),
                )
            )
        else:
            items.append(
                (
                    number,
                    digest,
                    _RECORD,
                    r.source_id,
                    r.title,
                    r.url,
                    r.published_at.isoformat(),
                    r.updated_at.isoformat(),
                    r.topics,
                    r.summary,
                    r.body_html,
                    r.author,
                    r.image_url,
                    r.language,
                    r.status,
                    r.retraction_reason,
                    r.translation_of,
                )
            )
    rejections = [(number, exc.field, exc.reason) for number, exc in batch.rejections]
    return marshal.dumps((items, rejections, batch.lines, batch.size))


def decode_batch(data: bytes) -> ParsedBatch:
    items, rejections, lines, size = marshal.loads(data)
    return ParsedBatch(
        items=[
            (number, _decode_item(kind, fields), digest) for number, digest, kind, *fields in items
        ],
        rejections=[(number, RecordError(name, reason)) for number, name, reason in rejections],
        lines=lines,
        size=size,
    )


_RECORD, _PREPARED = 0, 1


def _decode_item(kind: int, fields: list[Any]) -> ArticleRecord | PreparedArticle:
    parse_time = datetime.fromisoformat
    if kind == _PREPARED:
        source_id, updated_at, status, topics, tail, published_at = fields
        return PreparedArticle(
            source_id, parse_time(updated_at), status, topics, tail, parse_time(published_at)
        )
    source_id, title, url, published_at, updated_at, topics, *rest = fields
    return ArticleRecord(
        source_id, title, url, parse_time(published_at), parse_time(updated_at), topics, *rest
    )
