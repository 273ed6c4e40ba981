"""The units of work that the CLI and the scheduler both call.

Each function takes the settings and an engine, owns its transactions, and returns plain
data describing what it did; printing is the caller's business. No business logic lives in
the CLI or in ``scheduler.py``: they call these.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from syndication import (
    db,
    digest,
    feeds,
    feedwriter,
    mail,
    outbox,
    publish,
    rendering,
    store,
    subscribers,
    websub,
)
from syndication.console import progress
from syndication.delivery import (
    CompileReport,
    compile_digest,
    mailing_list,
    send_confirmation,
    send_digests,
)
from syndication.digest import Period
from syndication.errors import EmptyDigestError, InputError, RecordError
from syndication.importer import ImportReport, Rejection, import_articles
from syndication.models import ARTICLE_CHANGES
from syndication.settings import Settings

# Units of work that live in their own modules, re-exported so that the CLI, the scheduler
# and the web app reach every one of them through this module.
__all__ = ["CompileReport", "compile_digest", "send_confirmation", "send_digests"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class StatusReport:
    """What ``syndication status`` shows: the store, the lists and the outbox."""

    store: store.StoreSummary
    lists: dict[str, dict[str, int]]
    digests: list[outbox.DigestCounts]
    # Bounce events per (list, period) and kind; reports stored but not processed.
    bounces: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    intake_backlog: int = 0


def store_status(engine: Engine) -> StatusReport:
    from syndication import bounce_store

    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return StatusReport(
            store.store_summary(session),
            subscribers.list_counts(session),
            outbox.digest_counts(session),
            bounce_store.digest_event_counts(session),
            bounce_store.backlog(session),
        )


# -- digests ------------------------------------------------------------------------------

SAMPLE_RECIPIENT = "Sample Reader <sample.reader@example.org>"
# Real signed tokens come with subscribers; a preview's links say plainly what they are.
SAMPLE_TOKEN = "SAMPLE-TOKEN-preview-only"


@dataclass(frozen=True)
class PreviewReport:
    """What ``digest preview`` wrote: the digest's numbers and the files."""

    list_slug: str
    period_key: str
    period: Period
    subject: str
    article_count: int
    shown: int
    html_bytes: int
    message_bytes: int
    files: tuple[Path, ...]


def preview_digest(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_date: date | None,
    to: str | None,
    out_dir: Path,
    now: Callable[[], datetime] = utc_now,
) -> PreviewReport:
    """Render one list's digest for a sample recipient into ``out_dir``.

    The period is the one containing the end of ``period_date`` in site time (so a
    period's own key names it), or else the most recent complete period. Writes
    ``digest.html`` and ``digest.txt`` (the parts as a mail client shows them) and
    ``message.eml`` (the bytes a subscriber would get). Raises :class:`NotFoundError` for an
    unknown list, :class:`InputError` for a bad ``to``, :class:`EmptyDigestError` when the
    period has no articles.
    """
    db.require_current_schema(engine)
    the_list = mailing_list(settings, list_slug)
    to = to or SAMPLE_RECIPIENT
    recipient = _sample_recipient(settings, to)
    tz = settings.site.tz
    if period_date is None:
        period = digest.latest_complete_period(the_list.schedule, tz, now())
    else:
        period = digest.period_for_date(the_list.schedule, tz, period_date)
    with db.read_session(engine) as session:
        articles = store.load_articles_published_between(
            session, the_list.topics, period.start, period.end
        )
    content = digest.build_digest(settings, the_list, period, articles)
    if content is None:
        start, end = period.start.astimezone(tz), period.end.astimezone(tz)
        raise EmptyDigestError(
            f"{list_slug}: no articles published from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} {end:%Z} (period {period.key(tz)}); nothing to preview"
        )
    rendered = rendering.render_digest(settings, content)
    template = mail.digest_template(settings, the_list, content.period_key, rendered, now())
    try:
        data = mail.personalise(template, recipient)
    except mail.MailError as exc:
        raise InputError(f"--to {to!r}: {exc}") from None
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    files = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, subtype in (("digest.html", "html"), ("digest.txt", "plain")):
        part = message.get_body((subtype,))
        assert part is not None
        path = out_dir / name
        path.write_text(part.get_content().replace("\r\n", "\n"), encoding="utf-8")
        files.append(path)
    eml = out_dir / "message.eml"
    eml.write_bytes(data)
    files.append(eml)
    return PreviewReport(
        list_slug=list_slug,
        period_key=content.period_key,
        period=period,
        subject=content.subject,
        article_count=content.article_count,
        shown=content.shown,
        html_bytes=len(rendered.html.encode()),
        message_bytes=len(data),
        files=tuple(files),
    )


def _sample_recipient(settings: Settings, to: str) -> mail.Recipient:
    name, address = parseaddr(to)
    base = settings.site.base_url
    return mail.Recipient(
        address=address,
        name=name,
        unsubscribe_url=f"{base}/unsubscribe/{SAMPLE_TOKEN}",
        preferences_url=f"{base}/preferences/{SAMPLE_TOKEN}",
    )


# -- subscribers ----------------------------------------------------------------------------

SECRET_KEY_FILE = Path(".secret_key")


def with_secret_key(settings: Settings, key_file: Path = SECRET_KEY_FILE) -> tuple[Settings, str]:
    """Settings with a signing key: ``$SYNDICATION_SECRET_KEY``, else a local key file.

    Without either, a new random key is written to ``key_file`` (mode 0600) so the demo
    works out of the box; the second value is a warning for the operator in that case.
    Links signed with one key stop working under another, so production sets the variable.
    """
    if settings.secret_key:
        return settings, ""
    try:
        key = key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise InputError(f"{key_file}: cannot read the secret key: {exc.strerror}") from exc
    warning = ""
    if not key:
        key = secrets.token_urlsafe(32)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        warning = f"generated a signing key in {key_file}; set SYNDICATION_SECRET_KEY in production"
    return replace(settings, secret_key=key), warning


@dataclass
class SubscriberImportReport:
    added: int = 0
    updated: int = 0
    rejected: int = 0
    confirmations: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.rejected} rejected, "
            f"{self.confirmations} confirmation mails sent"
        )


def import_subscribers_file(
    settings: Settings,
    engine: Engine,
    path: str,
    *,
    confirmed: bool,
    on_rejection: Callable[[Rejection], None],
    batch_size: int = 500,
) -> SubscriberImportReport:
    """Import ``email,name,lists`` CSV rows; bad rows are reported and skipped.

    New addresses are ``pending`` and are sent the confirmation mail (after their batch
    is committed), unless ``confirmed`` says the operator holds their consent already.
    """
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    report = SubscriberImportReport()
    source = Path(path)
    try:
        handle = source.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc

    def reject(line: int, error: RecordError) -> None:
        rejection = Rejection(path, line, error.field, error.reason)
        report.rejected += 1
        report.rejections.append(rejection)
        on_rejection(rejection)

    with handle:
        rows = subscribers.read_subscriber_csv(handle, known)
        try:
            while True:
                batch = list(itertools.islice(rows, batch_size))
                if not batch:
                    break
                to_confirm: list[int] = []
                now = utc_now()
                with db.write_session(engine) as session:
                    for line, row in batch:
                        if isinstance(row, RecordError):
                            reject(line, row)
                            continue
                        try:
                            result = subscribers.add_subscriber(
                                session,
                                row.email,
                                row.name,
                                row.lists,
                                confirmed=confirmed,
                                now=now,
                            )
                        except RecordError as exc:
                            reject(line, exc)
                            continue
                        if result.created:
                            report.added += 1
                        else:
                            report.updated += 1
                        if result.needs_confirmation:
                            to_confirm.append(result.subscriber_id)
                for subscriber_id in to_confirm:
                    send_confirmation(settings, engine, subscriber_id, now)
                    report.confirmations += 1
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    return report


def add_subscriber(
    settings: Settings,
    engine: Engine,
    email: str,
    lists: list[str],
    name: str,
    *,
    confirmed: bool,
) -> subscribers.AddResult:
    """Add one address to ``lists`` (see :func:`subscribers.add_subscriber`)."""
    db.require_current_schema(engine)
    known = {ml.slug for ml in settings.lists}
    unknown = [slug for slug in lists if slug not in known]
    if unknown or not lists:
        choices = ", ".join(sorted(known))
        raise InputError(
            f"--list: unknown list {unknown[0]!r} (lists: {choices})"
            if unknown
            else f"--list: name at least one list ({choices})"
        )
    now = utc_now()
    try:
        with db.write_session(engine) as session:
            result = subscribers.add_subscriber(
                session, email, name, lists, confirmed=confirmed, now=now
            )
    except RecordError as exc:
        raise InputError(f"{email}: {exc.reason}") from exc
    if result.needs_confirmation:
        send_confirmation(settings, engine, result.subscriber_id, now)
    return result


def remove_subscriber(engine: Engine, email: str) -> None:
    """Unsubscribe an address from every list at once (the row is kept, for the record)."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        subscriber = subscribers.find_subscriber(session, email)
        subscribers.unsubscribe(session, subscriber.id, utc_now())


def export_subscribers(engine: Engine, out: IO[str]) -> int:
    """Write every subscriber as CSV ``email,name,lists,status``; returns how many."""
    db.require_current_schema(engine)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*subscribers.CSV_HEADER, "status"])
    count = 0
    with db.read_session(engine) as session:
        for row in subscribers.export_rows(session):
            writer.writerow(row)
            count += 1
    return count


def compile_digests(
    settings: Settings, engine: Engine, list_slug: str | None, period_date: date | None
) -> list[CompileReport]:
    """Compile one list's digest, or every list's, for the given or latest complete period."""
    slugs = [list_slug] if list_slug else [ml.slug for ml in settings.lists]
    now = utc_now()
    return [compile_digest(settings, engine, slug, period_date, now) for slug in slugs]


def outbox_backlog(engine: Engine) -> int:
    """Deliveries still to be sent (queued, or claimed by a sender)."""
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return outbox.pending_count(session)


# -- feeds (issue 3) ----------------------------------------------------------------------
# A build reads the store's change sequence against its watermark (counter
# ``feeds_built``): nothing changed means two small queries and no file touched. Otherwise
# only the topics touched since the watermark (and ``all``) are rebuilt, and of their
# archives only the months of the changed articles, plus the neighbouring months whose
# prev/next links move when a month appears or empties. ``--all`` (and the very first
# build) renders everything from one pass over the store.

FEEDS_BUILT = "feeds_built"
WEBSUB_ANNOUNCED = "websub_announced"


@dataclass(frozen=True)
class FeedBuildReport:
    """What a feed build did. Paths are relative to ``feeds.dir``.

    ``feeds`` are the feed keys rebuilt (topic slugs, ``all``); ``changed`` the files
    written because their bytes changed; ``removed`` archive files of months left empty;
    ``watermark`` the change number the feeds now reflect. ``announced`` are the URLs the
    WebSub hub accepted; ``websub_error`` says why the rest will be retried next build.
    """

    full: bool
    feeds: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    watermark: int
    announced: tuple[str, ...] = ()
    websub_error: str = ""


def build_feeds(settings: Settings, engine: Engine, *, force_all: bool) -> FeedBuildReport:
    """Bring ``feeds.dir`` up to date with the store; see the block comment above."""
    names = [ARTICLE_CHANGES, FEEDS_BUILT, WEBSUB_ANNOUNCED]
    try:
        with db.read_session(engine) as session:
            # A watermark never written reads -1: "never built" differs from "built when
            # the store was empty", so an empty store is not rebuilt in full every poll.
            counters = store.read_counters(session, names, missing=-1)
            current, built = max(0, counters[ARTICLE_CHANGES]), counters[FEEDS_BUILT]
            if force_all or built < 0:
                outputs, keys = _full_outputs(settings, session)
            elif current == built:
                outputs, keys = [], []
            else:
                outputs, keys = _incremental_outputs(settings, session, built)
    except (OperationalError, ProgrammingError):
        db.require_current_schema(engine)  # a clear message when the schema is missing
        raise
    changed, removed = _publish_all(settings, outputs)
    if current != built:
        with db.write_session(engine) as session:
            store.write_counter(session, FEEDS_BUILT, current)
    report = FeedBuildReport(
        full=force_all or built < 0,
        feeds=tuple(keys),
        changed=tuple(changed),
        removed=tuple(removed),
        watermark=current,
    )
    if settings.feeds.websub_hub:
        report = _announce(settings, engine, report, max(0, counters[WEBSUB_ANNOUNCED]))
    return report


# A rendered file (path under feeds.dir, bytes), or None for an archive month to remove.
_Output = tuple[str, bytes | None]


def _full_outputs(settings: Settings, session: Session) -> tuple[list[_Output], list[str]]:
    articles = store.load_articles(session)
    keys = feeds.feed_keys(settings)
    outputs: list[_Output] = []
    with progress("building feeds", len(keys)) as bar:
        for done, key in enumerate(keys, 1):
            mine = articles if key == feeds.ALL else [a for a in articles if key in a.topics]
            documents = feeds.all_documents(settings, key, mine)
            outputs += [(d.path, feedwriter.render(d)) for d in documents]
            # Archive files of months that no longer hold any article of this feed.
            kept = {d.path for d in documents}
            archive = settings.feeds.dir / key / "archive"
            if archive.is_dir():
                for path in sorted(archive.glob("*.atom")):
                    relative = f"{key}/archive/{path.name}"
                    if relative not in kept:
                        outputs.append((relative, None))
            bar.advance_to(done, status=key)
    outputs.append(("index.opml", feedwriter.render_opml(settings, keys)))
    return outputs, keys


def _incremental_outputs(
    settings: Settings, session: Session, built: int
) -> tuple[list[_Output], list[str]]:
    touched = store.topics_changed_since(session, built)
    if not touched:
        return [], []
    configured = [t.slug for t in settings.topics]
    keys = [feeds.ALL] + [slug for slug in configured if slug in touched]
    tz = settings.site.tz
    months = feeds.months_of(store.load_articles(session, changed_since=built), tz)
    outputs: list[_Output] = []
    for key in keys:
        topic = None if key == feeds.ALL else key
        limit = settings.feeds.entries
        newest = store.last_published_before(session, topic)
        documents = feeds.subscription_documents(
            settings,
            key,
            store.newest_published_articles(session, topic, limit),
            store.newest_updated_articles(session, topic, limit),
            None if newest is None else feeds.month_of(newest, tz),
        )
        outputs += [(d.path, feedwriter.render(d)) for d in documents]
        neighbours: set[str] = set()
        for month in months:
            output, appeared_or_emptied, around = _archive_output(settings, session, key, month)
            outputs.append(output)
            if appeared_or_emptied:
                neighbours.update(around)
        for month in sorted(neighbours - set(months)):
            outputs.append(_archive_output(settings, session, key, month)[0])
    return outputs, keys


def _archive_output(
    settings: Settings, session: Session, key: str, month: str
) -> tuple[_Output, bool, list[str]]:
    """One month's archive of ``key``; whether the month appeared or emptied; neighbours."""
    tz = settings.site.tz
    topic = None if key == feeds.ALL else key
    start, end = feeds.month_bounds(month, tz)
    articles = store.articles_published_between(session, topic, start, end)
    before = store.last_published_before(session, topic, start)
    after = store.first_published_from(session, topic, end)
    prev_month = None if before is None else feeds.month_of(before, tz)
    next_month = None if after is None else feeds.month_of(after, tz)
    around = [m for m in (prev_month, next_month) if m is not None]
    path = feeds.document_path(key, feeds.ARCHIVE, month)
    existed = (settings.feeds.dir / path).exists()
    if not articles:
        return (path, None), existed, around
    document = feeds.archive_document(settings, key, month, articles, prev_month, next_month)
    return (path, feedwriter.render(document)), not existed, around


def _publish_all(settings: Settings, outputs: list[_Output]) -> tuple[list[str], list[str]]:
    changed: list[str] = []
    removed: list[str] = []
    for relative, data in outputs:
        path = settings.feeds.dir / relative
        if data is None:
            if publish.unpublish(path):
                removed.append(relative)
        elif publish.publish(path, data):
            changed.append(relative)
    return changed, removed


def _announce(
    settings: Settings, engine: Engine, report: FeedBuildReport, announced: int
) -> FeedBuildReport:
    """Announce the feeds written now, plus those a failed announcement left pending.

    ``announced`` is the change number up to which the hub has heard of every change; it
    moves to the build's watermark only when the hub accepted everything.
    """
    pending: set[str] = set()
    if announced < report.watermark:
        if announced == 0:
            pending = set(feeds.feed_keys(settings))
        else:
            with db.read_session(engine) as session:
                touched = set(store.topics_changed_since(session, announced))
            if touched:
                pending = {feeds.ALL} | {t.slug for t in settings.topics if t.slug in touched}
    written = set(report.changed)
    urls = [
        feeds.document_url(settings, key, kind)
        for key in feeds.feed_keys(settings)
        for kind in (feeds.RSS, feeds.ATOM, feeds.JSON)
        if key in pending or feeds.document_path(key, kind) in written
    ]
    result = websub.announce(settings.feeds.websub_hub, urls) if urls else websub.Announcement(())
    if not result.ok:
        log.warning("WebSub announcement failed; will retry at the next build: %s", result.error)
    elif announced < report.watermark:
        with db.write_session(engine) as session:
            store.write_counter(session, WEBSUB_ANNOUNCED, report.watermark)
    return replace(report, announced=result.accepted, websub_error=result.error)
