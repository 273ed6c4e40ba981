"""The feeds job: bring ``feeds.dir`` up to date with the store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from syndication.clock import utc_now
from syndication.core import feeds
from syndication.edges import files as publish
from syndication.edges import websub
from syndication.errors import SyndicationError
from syndication.render import feeds as feedwriter
from syndication.settings import Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import ARTICLE_CHANGES
from syndication.terminal import progress

log = logging.getLogger(__name__)


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


class BuildInterrupted(SyndicationError):
    """A shutdown was asked for in the middle of a feed build; nothing was published."""


def build_feeds(
    settings: Settings,
    engine: Engine,
    *,
    force_all: bool,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = utc_now,
) -> FeedBuildReport:
    """Bring ``feeds.dir`` up to date with the store; see the block comment above.

    ``now`` is when a changed file's bytes are recorded as modified (its Last-Modified).

    ``stop`` (the scheduler's shutdown event) is looked at between feeds: when it is set
    the build ends with :class:`BuildInterrupted`, before publishing anything and without
    moving the watermark, so the next build does the work again.
    """
    stopped = stop or threading.Event()
    names = [ARTICLE_CHANGES, FEEDS_BUILT, WEBSUB_ANNOUNCED]
    try:
        with db.read_session(engine) as session:
            # A watermark never written reads -1: "never built" differs from "built when
            # the store was empty", so an empty store is not rebuilt in full every poll.
            counters = store.read_counters(session, names, missing=-1)
            current, built = max(0, counters[ARTICLE_CHANGES]), counters[FEEDS_BUILT]
            # Files lost since the last build (a deleted folder, a restore) are not in the
            # change sequence: without this, only the topics changed since would come back.
            lost = built >= 0 and bool(missing_feed_files(settings))
            if force_all or built < 0 or lost:
                outputs, keys = _full_outputs(settings, session, stopped)
            elif current == built:
                outputs, keys = [], []
            else:
                outputs, keys = _incremental_outputs(settings, session, built, stopped)
    except (OperationalError, ProgrammingError):
        db.require_current_schema(engine)  # a clear message when the schema is missing
        raise
    changed, removed = _publish_all(settings, outputs, now())
    if current != built:
        with db.write_session(engine) as session:
            store.write_counter(session, FEEDS_BUILT, current)
    report = FeedBuildReport(
        full=force_all or built < 0 or lost,
        feeds=tuple(keys),
        changed=tuple(changed),
        removed=tuple(removed),
        watermark=current,
    )
    if settings.feeds.websub_hub:
        report = _announce(settings, engine, report, max(0, counters[WEBSUB_ANNOUNCED]))
    return report


def missing_feed_files(settings: Settings) -> list[str]:
    """The files a build always writes that are not in ``feeds.dir`` (paths relative to it)."""
    return publish.missing_files(settings.feeds.dir, feeds.expected_paths(settings))


# A rendered file (path under feeds.dir, bytes), or None for an archive month to remove.
_Output = tuple[str, bytes | None]


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise BuildInterrupted("feed build interrupted by a shutdown; the next build redoes it")


def _full_outputs(
    settings: Settings, session: Session, stop: threading.Event
) -> tuple[list[_Output], list[str]]:
    articles = store.load_articles(session)
    keys = feeds.feed_keys(settings)
    outputs: list[_Output] = []
    with progress("building feeds", len(keys)) as bar:
        for done, key in enumerate(keys, 1):
            _check(stop)
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
    outputs.append((feeds.OPML_PATH, feedwriter.render_opml(settings, keys)))
    return outputs, keys


def _incremental_outputs(
    settings: Settings, session: Session, built: int, stop: threading.Event
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
        _check(stop)
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


def _publish_all(
    settings: Settings, outputs: list[_Output], now: datetime
) -> tuple[list[str], list[str]]:
    changed: list[str] = []
    removed: list[str] = []
    for relative, data in outputs:
        path = settings.feeds.dir / relative
        if data is None:
            if publish.unpublish(path):
                removed.append(relative)
        elif publish.publish(path, data, now):
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
