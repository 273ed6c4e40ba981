"""The unit of work of the sources job: poll one source, or all, into the store.

Each source is polled on its own: its batches are written one transaction each, with the
cursor and memo that cover them, so a crash mid-poll loses nothing already stored and
never moves the cursor past what was written. A batch in which nothing changed is not
written at all, so an idle poll leaves the articles and the store's change sequence
alone; only the source's own row records when it was polled and how it went.

A source that fails (network, TLS, timeout, 5xx, bad JSON) is recorded and reported and
the next source is polled all the same. In the scheduler a failing source backs off
exponentially (``sources_seconds`` doubled per failure in a row, capped at
:data:`BACKOFF_CAP`, or longer when ``Retry-After`` says so); an explicit
``syndication sources poll`` always asks, and any success ends the back-off.

One story, one article: a source with ``dedupe`` on (the default for feed sources) does
not store an item whose link, or whose guid when that is a URL, is the link of an article
another source stored first (a site feed and its category feeds list the same post): the
item is recorded as an alias of that article (``article_aliases``) and left to the source
that owns it. An item already stored under its own id stays its own article.

Records are written through :func:`syndication.services.articles.write_records`, as every
import is: a record the database refuses is one rejection, and the rest of its batch is
stored. Retractions take :mod:`syndication.services.articles`' one reason policy.

The poll's machinery (the HTTP client, the parsers, the article writer) is imported where
it is used, so that a command that only imports this module stays quick to start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.errors import ConfigError, NotFoundError, SyndicationError
from syndication.settings import Settings, SourceSettings
from syndication.store import database as db
from syndication.store import sources as source_store
from syndication.store.sources import SourceStatus as SourceStatus

if TYPE_CHECKING:
    import httpx2 as httpx

    from syndication.core.articles import ArticleRecord
    from syndication.core.source_items import ItemRejection
    from syndication.sources.base import Batch, PollFunction

BACKOFF_CAP = timedelta(hours=1)
RETRY_AFTER_CAP = timedelta(hours=24)
RECONCILE_EVERY = timedelta(days=1)
REMOVED_REASON = "removed from {name}"
WITHDRAWN_REASON = "no longer public on {name} ({why})"

log = logging.getLogger(__name__)


def poll_function(kind: str) -> PollFunction:
    """The ``poll`` of a source kind (one of ``settings.SOURCE_KINDS``)."""
    from syndication.sources import feed, jsonl, wordpress

    kinds: dict[str, PollFunction] = {
        "wordpress": wordpress.poll,
        "feed": feed.poll,
        "jsonl": jsonl.poll,
    }
    return kinds[kind]


@dataclass
class SourceReport:
    """What one source's poll did; ``error`` is set when it failed, ``waiting`` when the
    scheduler left it alone because it is backing off."""

    name: str
    kind: str
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    retracted: int = 0
    skipped: int = 0
    aliased: int = 0
    requests: int = 0
    error: str = ""
    waiting: str = ""
    rejections: list[ItemRejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def summary(self) -> str:
        if self.waiting:
            return f"{self.name}: backing off until {self.waiting}"
        counts = (
            f"{self.fetched} fetched, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected, {self.retracted} retracted"
        )
        if self.skipped:
            counts += f", {self.skipped} skipped (not public)"
        if self.aliased:
            counts += f", {self.aliased} already stored from another source"
        warned = "".join(f"; warning: {w}" for w in self.warnings)
        return f"{self.name}: {counts}{warned}" + (f"; FAILED: {self.error}" if self.error else "")


def poll_sources(
    settings: Settings,
    engine: Engine,
    names: Sequence[str] = (),
    *,
    full: bool = False,
    scheduled: bool = False,
    now: Callable[[], datetime],
    on_rejection: Callable[[ItemRejection], None] = lambda _r: None,
    transport: httpx.BaseTransport | None = None,
) -> list[SourceReport]:
    """Poll the named sources (all when none are named); one report each, in order.

    ``scheduled`` polls skip a source that is backing off; explicit ones always ask.
    ``full`` re-reads everything and runs the reconciliation pass (WordPress).
    """
    db.require_current_schema(engine)
    chosen = _choose(settings, names)
    reports = []
    for source in chosen:
        try:
            report = poll_source(
                settings,
                engine,
                source,
                full=full,
                scheduled=scheduled,
                now=now,
                on_rejection=on_rejection,
                transport=transport,
            )
        except Exception as exc:  # noqa: BLE001 - one source's failure never stops the others
            # poll_source records its own failures; this is the rest (the store refusing
            # to record it, say): reported here, and the next source is polled all the same.
            log.exception("source %s: the poll could not be recorded", source.name)
            report = SourceReport(source.name, source.kind)
            report.error = f"{source.name}: unexpected {type(exc).__name__}: {exc} (see the log)"
        reports.append(report)
    return reports


def _choose(settings: Settings, names: Sequence[str]) -> list[SourceSettings]:
    if not names:
        return list(settings.sources)
    by_name = {s.name: s for s in settings.sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none configured; add [[sources]] to the settings"
        raise NotFoundError(f"source {unknown[0]!r}: no such source (sources: {known})")
    return [by_name[n] for n in dict.fromkeys(names)]


def poll_source(
    settings: Settings,
    engine: Engine,
    source: SourceSettings,
    *,
    full: bool,
    scheduled: bool,
    now: Callable[[], datetime],
    on_rejection: Callable[[ItemRejection], None] = lambda _r: None,
    transport: httpx.BaseTransport | None = None,
) -> SourceReport:
    """Poll one source (see the module docstring); never raises for the source's failure."""
    from syndication.core.source_items import TopicRules
    from syndication.edges.http_client import USER_AGENT, HttpClient, RetryLater
    from syndication.sources.base import PollContext, PollState

    report = SourceReport(source.name, source.kind)
    started = now()
    with db.read_session(engine) as session:
        status = source_store.load_source(session, source.name)
    if scheduled and status and status.next_attempt_at and status.next_attempt_at > started:
        report.waiting = status.next_attempt_at.isoformat(timespec="seconds")
        return report
    reconcile = full or (
        source.kind == "wordpress"
        and (
            status is None
            or not status.last_full_at
            or started - status.last_full_at >= RECONCILE_EVERY
        )
    )
    context = PollContext(
        source=source,
        state=PollState(status.cursor, status.memo) if status else PollState(),
        rules=TopicRules(
            source.category_map,
            source.default_topics,
            {t.slug for t in settings.topics},
            settings.imports,
        ),
        language=settings.site.language,
        full=full,
        reconcile=reconcile,
        now=started,
    )
    retry_after: float | None = None
    try:
        auth = _credentials(source)
        with HttpClient(
            timeout=source.timeout_seconds,
            auth=auth,
            user_agent=f"{USER_AGENT} (+{settings.site.base_url})",
            transport=transport,
            total_seconds=source.max_poll_seconds,
            follow_redirects=source.follow_redirects,
        ) as client:
            try:
                for batch in poll_function(source.kind)(context, client):
                    _write(engine, source, batch, report, now(), on_rejection)
            finally:
                report.requests = client.requests
    except RetryLater as exc:
        report.error, retry_after = f"{source.name}: {exc}", exc.retry_after
    except SyndicationError as exc:
        report.error = f"{source.name}: {exc}"
    except Exception as exc:  # noqa: BLE001 - one source's surprise must not stop the others
        log.exception("source %s: unexpected error", source.name)
        report.error = f"{source.name}: unexpected {type(exc).__name__}: {exc} (see the log)"
    _record(settings, engine, source, report, started, retry_after, reconcile)
    return report


def _credentials(source: SourceSettings) -> tuple[str, str] | None:
    """HTTP basic credentials from the environment variables the settings name."""
    if not (source.username_env or source.password_env):
        return None
    pairs = (
        ("username_env", source.username_env, source.username),
        ("password_env", source.password_env, source.password),
    )
    for key, variable, value in pairs:
        if variable and not value:
            raise ConfigError(f"${variable} is not set; export it or remove the {key} setting")
    return source.username, source.password


def _write(
    engine: Engine,
    source: SourceSettings,
    batch: Batch,
    report: SourceReport,
    now: datetime,
    on_rejection: Callable[[ItemRejection], None],
) -> None:
    from syndication.core.source_items import ItemRejection
    from syndication.services import articles
    from syndication.store import articles as store

    def reject(rejection: ItemRejection) -> None:
        report.rejected += 1
        if len(report.rejections) < 1000:
            report.rejections.append(rejection)
        on_rejection(rejection)

    report.fetched += batch.fetched
    report.skipped += len(batch.withdrawn)
    for warning in batch.warnings:
        log.warning("source %s: %s", source.name, warning)
        report.warnings.append(warning)
    for rejection in batch.rejections:
        reject(rejection)
    records = batch.records
    with db.read_session(engine) as session:
        status = source_store.load_source(session, source.name)
        new_aliases: dict[str, str] = {}
        if source.deduplicates and records:
            records, new_aliases = _without_duplicates(session, source, records, report)
        # Which records would change, and which articles a reconciliation retracts, are
        # decided before taking the write lock, so an idle batch takes none.
        changed = store.changed_records(session, records) if records else []
        gone: dict[str, str] = {}
        if batch.live_ids is not None:
            live = source_store.published_ids(session, f"{source.name}:") - batch.live_ids
            gone = dict.fromkeys(live, REMOVED_REASON.format(name=source.name))
        for withdrawn in source_store.published_among(session, batch.withdrawn):
            why = batch.withdrawn[withdrawn]
            gone[withdrawn] = WITHDRAWN_REASON.format(name=source.name, why=why)
    report.unchanged += len(records) - len(changed)
    cursor_moves = batch.cursor is not None and (status is None or batch.cursor != status.cursor)
    memo_moves = batch.memo is not None and (status is None or batch.memo != status.memo)
    if not (changed or gone or new_aliases or cursor_moves or memo_moves):
        return

    def refused(number: int, reason: str) -> None:
        reject(ItemRejection(source.name, changed[number].source_id, "", reason))

    def with_records(session: Session) -> None:
        source_store.add_aliases(session, new_aliases, now)
        for source_id, reason in sorted(gone.items()):
            if articles.retract_in(session, source_id, reason, now):
                report.retracted += 1
        source_store.save_progress(
            session, source.name, source.kind, batch.cursor, batch.memo if memo_moves else None
        )

    items = [(number, record, record.content_hash()) for number, record in enumerate(changed)]
    counts = articles.write_records(engine, items, now, refused, with_records)
    report.inserted += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged


def _without_duplicates(
    session: Session, source: SourceSettings, records: list[ArticleRecord], report: SourceReport
) -> tuple[list[ArticleRecord], dict[str, str]]:
    """``records`` less those that are another source's article (see the module
    docstring), and the aliases to record for those not recorded yet."""
    ids = [r.source_id for r in records]
    known = source_store.aliases_of(session, ids)
    own = source_store.stored_ids(session, ids)
    candidates: dict[str, list[str]] = {}
    for record in records:
        if record.source_id in known or record.source_id in own:
            continue
        links = [record.url]
        guid = record.source_id.removeprefix(f"{source.name}:")
        if guid.startswith(("https://", "http://")) and guid != record.url:
            links.append(guid)
        candidates[record.source_id] = links
    urls = {url for links in candidates.values() for url in links}
    stored = source_store.articles_at(session, urls, f"{source.name}:")
    new_aliases: dict[str, str] = {}
    for source_id, links in candidates.items():
        found = next((stored[url] for url in links if url in stored), None)
        if found is not None:
            new_aliases[source_id] = found
    kept = [r for r in records if r.source_id not in known and r.source_id not in new_aliases]
    report.aliased += len(records) - len(kept)
    return kept, new_aliases


def _record(
    settings: Settings,
    engine: Engine,
    source: SourceSettings,
    report: SourceReport,
    started: datetime,
    retry_after: float | None,
    reconciled: bool,
) -> None:
    with db.write_session(engine) as session:
        previous = source_store.load_source(session, source.name)
        failures = (previous.failures if previous else 0) + 1
        delay = backoff(settings.scheduler.sources_seconds, failures, retry_after)
        source_store.record_poll(
            session,
            source.name,
            source.kind,
            now=started,
            ok=report.ok,
            result=report.summary,
            error=report.error,
            next_attempt_at=None if report.ok else started + delay,
            full=reconciled,
        )


def backoff(interval_seconds: int, failures: int, retry_after: float | None) -> timedelta:
    """Pure: how long the scheduler waits after ``failures`` failures in a row.

    ``interval_seconds`` doubled per failure beyond the first, capped at
    :data:`BACKOFF_CAP`; a longer ``Retry-After`` wins (capped at a day).
    """
    exponent = min(max(failures - 1, 0), 20)
    seconds = min(float(interval_seconds) * 2**exponent, BACKOFF_CAP.total_seconds())
    if retry_after is not None and retry_after == retry_after:  # NaN: not a delay
        # Clamped as a number, before it becomes a timedelta (which overflows past 1e9 days).
        seconds = max(seconds, min(max(retry_after, 0.0), RETRY_AFTER_CAP.total_seconds()))
    return timedelta(seconds=seconds)
