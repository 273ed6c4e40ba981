"""Articles into the store, and their retraction: the one home of both.

Every way an article enters goes through :func:`write_records`: the file import and the
push API (JSON Lines, :func:`import_articles` and :func:`write_batches`) and the sources
job (:mod:`syndication.services.sources`). When the database refuses a batch that
validation let through, the records are written one by one and only those it refuses are
rejected, each with one line saying why. Every retraction (the CLI, the console, the push
API, a source reconciling what vanished upstream) goes through :func:`retract` or, inside
a source's own transaction, :func:`retract_in`, and its reason through
:func:`retraction_reason`.

Lines are parsed one at a time and written in batches, each batch one transaction, so a
million-line file costs the memory of one batch and a crash loses at most the batch in
flight (the import is an upsert: running it again is safe). A bad line is reported with its
file and line number and skipped; the lines around it are kept. Reading the lines into
batches is :mod:`syndication.services.article_batches`; the file import
(:mod:`syndication.services.article_files`) does it in a forked worker process while
this one writes.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError
from sqlalchemy.orm import Session

from syndication.core.articles import ArticleRecord
from syndication.core.audit import SYSTEM, Actor
from syndication.errors import InputError, NotFoundError, RecordError
from syndication.services.article_batches import (
    BATCH_SIZE,
    ParsedBatch,
    parse_batches,
)
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings
from syndication.store import approval as approval_store
from syndication.store import article_queries as queries
from syndication.store import articles as store
from syndication.store import audit
from syndication.store import database as db
from syndication.store.article_queries import ArticleRow as ArticleRow
from syndication.store.articles import WriteCounts as WriteCounts
from syndication.store.articles import write_articles
from syndication.store.copy_rows import PreparedArticle
from syndication.store.models import Article

log = logging.getLogger(__name__)

# One record to write: its line (or position) number, the record and its content hash.
Item = tuple[int, ArticleRecord | PreparedArticle, str]
# What the database's refusal of one record looks like; OperationalError is not one of
# them: the database itself is unwell (read-only, gone), which is no record's fault.
# ValueError (UnicodeError among them) and OverflowError are what a driver raises for a
# value it cannot bind: that record's fault, like a refusal.
_REFUSALS = (DBAPIError, StatementError, ValueError, OverflowError)


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

    def refused(number: int, reason: str) -> None:
        reject(number, RecordError("", reason))

    def write(items: list[Item]) -> None:
        report.counts.add(write_records(engine, items, now(), refused))

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


class _Refused(Exception):
    """The database refused the batch's records (not what was written with them)."""


def write_records(
    engine: Engine,
    items: Sequence[Item],
    now: datetime,
    on_refused: Callable[[int, str], None],
    with_records: Callable[[Session], None] = lambda _s: None,
) -> WriteCounts:
    """Upsert ``items`` (distinct source ids) in one transaction, with ``with_records``.

    Validation should have caught anything the database refuses; if it did not, one bad
    record must not cost the others: they are then written one by one, each in its own
    transaction, ``on_refused(number, reason)`` is told of each the database refuses, and
    ``with_records`` (what must be stored with the records, such as a source's cursor)
    runs afterwards in a transaction of its own, so it never covers records not yet
    written. A database that is unwell (``OperationalError``) fails the whole write.
    """
    try:
        with db.write_session(engine) as session:
            try:
                records = [record for _, record, _ in items]
                digests = [digest for _, _, digest in items]
                counts = write_articles(session, records, now, digests=digests)
            except OperationalError:
                raise
            except _REFUSALS as exc:
                raise _Refused from exc
            with_records(session)
        return counts
    except _Refused:
        pass
    counts = WriteCounts()
    for number, record, digest in sorted(items, key=lambda item: item[0]):
        try:
            with db.write_session(engine) as session:
                counts.add(write_articles(session, [record], now, digests=[digest]))
        except OperationalError:
            raise
        except _REFUSALS as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            on_refused(number, f"the database refused it: {reason}")
    with db.write_session(engine) as session:
        with_records(session)
    return counts


# -- retracting ---------------------------------------------------------------------------

MAX_REASON_CHARS = 2000
REASON_REQUIRED = "give a reason for the retraction; feed readers are shown it"
# Line breaks and tabs are what a text box or a shell gives; they are folded into spaces.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def retraction_reason(raw: str, *, required: bool) -> str:
    """The one reason policy: whitespace trimmed and folded, cut to at most
    :data:`MAX_REASON_CHARS` characters; an :class:`InputError` for a control character
    (NUL included: feeds are XML, which cannot carry one) or, when ``required``, for a
    reason left empty."""
    for char in raw:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            raise InputError(
                f"the retraction reason contains the control character U+{ord(char):04X}; "
                "give plain text (feed readers are shown it)"
            )
    reason = " ".join(raw.split())
    if required and not reason:
        raise InputError(REASON_REQUIRED)
    return reason[:MAX_REASON_CHARS].rstrip()  # the cut may fall after a space


@dataclass(frozen=True)
class Retraction:
    """What :func:`retract` did: ``changed`` is False when the article was already
    retracted for the same reason; ``held``: the digests (``"list period"``) it held
    because they carry the article and had copies left to send."""

    source_id: str
    changed: bool
    held: tuple[str, ...] = ()

    @property
    def held_note(self) -> str:
        """What the operator must hear about the digests held (empty when none)."""
        if not self.held:
            return ""
        return (
            f"held {', '.join(self.held)}: it carries the retracted article; cancel it, or "
            "resume it to send it as compiled"
        )


def _retract_and_hold(session: Session, source_id: str, reason: str, now: datetime) -> Retraction:
    """Retract, and on the first retraction hold every digest still sending the article
    (issue 28); an operator decides whether it goes on. Logged, for the sources job."""
    was = session.scalar(select(Article.status).where(Article.source_id == source_id))
    changed = store.retract_article(session, source_id, reason, now)
    held: tuple[str, ...] = ()
    if changed and was != "retracted":
        by = f"retraction of article {source_id}"
        held = tuple(
            f"{slug} {period}"
            for slug, period in approval_store.hold_digests_linking(session, source_id, now, by)
        )
    done = Retraction(source_id, changed, held)
    if held:
        log.warning("article %s retracted: %s", source_id, done.held_note)
    return done


def retract(
    engine: Engine,
    article: str | int,
    reason: str,
    now: datetime,
    *,
    reason_required: bool,
    actor: Actor | None = None,
) -> Retraction:
    """Retract one article, by source id (the CLI, the push API) or by its row id (the
    console); it stays in the store and the next feed build publishes its tombstone.

    The reason goes through :func:`retraction_reason`; a :class:`NotFoundError` names an
    unknown article. A retraction that changed something is an audit record of ``actor``
    in the same transaction.
    """
    clean = retraction_reason(reason, required=reason_required)
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        if isinstance(article, int):
            source_id = queries.article_source_id(session, article)
            if source_id is None:
                raise NotFoundError(f"article {article}: no such article")
        else:
            source_id = article
        done = _retract_and_hold(session, source_id, clean, now)
        if done.changed:
            who = actor or SYSTEM
            detail = f"reason: {clean}" + (f"; held {', '.join(done.held)}" if done.held else "")
            audit.record(session, who, "article-retract", "article", source_id, now, detail)
            for digest in done.held:
                why = f"held: it carries the retracted article {source_id}"
                audit.record(session, who, "digest-hold", "digest", digest, now, why)
        return done


def retract_in(session: Session, source_id: str, reason: str, now: datetime) -> bool:
    """:func:`retract` inside the caller's transaction (a source's batch, which must
    store its cursor with it); the reason is required. False if nothing changed."""
    clean = retraction_reason(reason, required=True)
    return _retract_and_hold(session, source_id, clean, now).changed


def search(engine: Engine, query: str) -> list[ArticleRow]:
    """The console's article list: newest first, narrowed by ``query`` when given."""
    with db.read_session(engine) as session:
        return queries.search_articles(session, query)
