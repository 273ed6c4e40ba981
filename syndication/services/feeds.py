"""The feeds job: bring ``feeds.dir`` up to date with the store.

With several languages (issue 30) every feed is built once per language, each from the
articles :func:`syndication.core.feeds.feed_language` gives it, and every entry links
the translations of its story (:mod:`syndication.core.translations`), read once per build.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from syndication import __version__
from syndication.clock import utc_now
from syndication.core import feeds
from syndication.core.articles import StoredArticle
from syndication.core.entries import Entry, entry_context, entry_for, entry_key
from syndication.core.translations import TranslationIndex, translation_index
from syndication.edges import files as publish
from syndication.edges import websub
from syndication.edges.fragments import FILE_NAME as FRAGMENTS
from syndication.edges.fragments import FragmentCache
from syndication.errors import SyndicationError
from syndication.render import entries
from syndication.render import feeds as feedwriter
from syndication.settings import Settings
from syndication.store import article_queries
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import ARTICLE_CHANGES
from syndication.terminal import progress

log = logging.getLogger(__name__)


# -- feeds (issue 3) ----------------------------------------------------------------------
# A build reads the store's change sequence against its watermark (counter
# ``feeds_built``): nothing changed means two small queries and no file touched. Otherwise
# only the topics touched since the watermark (and ``all``) are rebuilt, and of their
# archives only the months of the changed articles (and the months a corrected
# publication date left: ``store.moves_since``), plus the neighbouring months whose
# prev/next links move when a month appears or empties. A changed article's translations
# count as changed too: their entries link it (or stop linking it when it is retracted).
# ``--all`` (and the very first build) renders everything from one pass over the store.

FEEDS_BUILT = store.FEEDS_BUILT
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
    stage = publish.Staging(settings.feeds.dir)
    try:
        with db.read_session(engine) as session:
            # A watermark never written reads -1: "never built" differs from "built when
            # the store was empty", so an empty store is not rebuilt in full every poll.
            counters = store.read_counters(session, names, missing=-1)
            current, built = max(0, counters[ARTICLE_CHANGES]), counters[FEEDS_BUILT]
            # Files lost since the last build (a deleted folder, a restore) are not in the
            # change sequence: without this, only the topics changed since would come back.
            lost = built >= 0 and bool(missing_feed_files(settings))
            cache = FragmentCache(settings.feeds.dir / FRAGMENTS)
            builder = _Builder(settings, session, stage, cache, stopped)
            with cache:
                keys = builder.build(force_all or built < 0 or lost, built, current)
        changed, removed = stage.commit(now())
    except (OperationalError, ProgrammingError):
        db.require_current_schema(engine)  # a clear message when the schema is missing
        raise
    finally:
        stage.discard()
    if current != built:
        with db.write_session(engine) as session:
            store.write_counter(session, FEEDS_BUILT, current)
            store.forget_moves(session, current)
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


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise BuildInterrupted("feed build interrupted by a shutdown; the next build redoes it")


class _Builder:
    """Renders documents from entry fragments and hands each to the staging as produced.

    Memory (issue 16): a full build streams the store's articles oldest first, once for
    every feed, and holds the current month of ``all`` plus at most one month of each
    topic (see :class:`_Archives`); a document is assembled from fragments
    (:mod:`syndication.edges.fragments`) and staged before the next is made. Time: an
    entry is sanitised and serialised once per article version and format, whichever
    documents (topic, ``all``, archive, subscription) and builds it appears in.
    """

    def __init__(
        self,
        settings: Settings,
        session: Session,
        stage: publish.Staging,
        cache: FragmentCache,
        stop: threading.Event,
    ) -> None:
        self.settings, self.session, self.stage, self.stop = settings, session, stage, stop
        self.cache = cache
        self.departed: dict[str, list[tuple[str, feeds.Departure]]] = {}
        self.context = entry_context(settings, f"{entries.VERSION} {__version__}")
        self.index: TranslationIndex | None = None

    def translations(self) -> TranslationIndex:
        """The store's translation groups, read once per build."""
        if self.index is None:
            members = article_queries.translation_members(self.session)
            self.index = translation_index(members)
        return self.index

    def language(self, tag: str) -> str:
        """The language whose feeds carry an article in ``tag``."""
        if len(self.settings.languages.available) < 2:
            return self.settings.site.language
        return feeds.feed_language(self.settings.languages.available, tag)

    def build(self, full: bool, built: int, current: int) -> list[str]:
        """A full build, an incremental one from change ``built``, or (when nothing
        changed since) none; returns the feed keys rebuilt."""
        if full:
            return self.full()
        if current == built:
            return []
        return self.incremental(built)

    def fragments(
        self,
        articles: Sequence[StoredArticle],
        kind: str,
        language: str,
        *,
        stamps: bool = False,
        made: dict[str, Entry] | None = None,
    ) -> list[bytes]:
        """The fragments of ``articles`` in a document in ``language``, from the cache or
        rendered (and cached).

        ``stamps``: the articles are :func:`article_queries.stamps_published_between` rows,
        without their text; those not in the cache are read whole from the store to be
        rendered. ``made``: entries already made for other formats of documents read in
        the same session, by source id (a feed's RSS, Atom and JSON Feed share articles).
        """
        slots = [f"{kind} {article.source_id}" for article in articles]
        index = self.translations()
        links = [index.links(article.source_id) for article in articles]
        # An entry is written relative to its document's language (xml:lang when they
        # differ): the language is part of the key, but not for the primary one, whose
        # keys stay those of a newsroom with one language.
        key_kind = kind if language == self.settings.site.language else f"{kind} {language}"
        keys = [
            entry_key(self.context, article, key_kind, translations)
            for article, translations in zip(articles, links, strict=True)
        ]
        found = self.cache.get_many(list(zip(slots, keys, strict=True)))
        missing = [a.source_id for a, f in zip(articles, found, strict=True) if f is None]
        whole = (
            article_queries.articles_by_source_id(self.session, missing)
            if stamps and missing
            else {}
        )
        result: list[bytes] = []
        for article, slot, key, fragment, translations in zip(
            articles, slots, keys, found, links, strict=True
        ):
            if fragment is None:
                source = whole.get(article.source_id, article) if stamps else article
                entry = None if made is None else made.get(source.source_id)
                if entry is None:
                    entry = entry_for(self.settings, source, translations)
                    if made is not None:
                        made[source.source_id] = entry
                fragment = entries.fragment(entry, kind, language)
                self.cache.put(slot, key, fragment)
            result.append(fragment)
        return result

    def write(
        self,
        plan: feeds.DocumentPlan,
        *,
        stamps: bool = False,
        made: dict[str, Entry] | None = None,
    ) -> None:
        document = plan.document
        kind = feeds.ATOM if document.kind == feeds.ARCHIVE else document.kind
        fragments = self.fragments(plan.articles, kind, document.language, stamps=stamps, made=made)
        self.stage.add(document.path, feedwriter.assemble(document, fragments))

    def subscriptions(self, key: str) -> None:
        topic, scope = feeds.topic_of(key), feeds.scope_of(self.settings, key)
        limit, tz = self.settings.feeds.entries, self.settings.site.tz
        newest = article_queries.last_published_before(self.session, topic, scope=scope)
        made: dict[str, Entry] = {}
        for plan in feeds.subscription_plans(
            self.settings,
            key,
            article_queries.newest_published_articles(self.session, topic, limit, scope),
            article_queries.newest_updated_articles(self.session, topic, limit, scope),
            None if newest is None else feeds.month_of(newest, tz),
            article_queries.newest_departures(self.session, topic, limit, scope),
        ):
            self.write(plan, made=made)

    def full(self) -> list[str]:
        """Every document of every feed, and the OPML index; returns the feed keys.

        The archives come from one pass over the store, oldest month first: a month's
        entries are rendered (or found in the cache) once, and that month's archive of
        ``all`` and of each of its topics assembled from the same fragments (issue 16).
        """
        settings, tz = self.settings, self.settings.site.tz
        keys = feeds.feed_keys(settings)
        for key in keys:
            _check(self.stop)
            self.subscriptions(key)
        archives = {key: _Archives(self, key) for key in keys}
        # Few (an article moving between topics): held whole, handed out month by month.
        self.departed = article_queries.departures_by_article(self.session)
        total = article_queries.count_articles(self.session)
        with progress("building feed archives", total) as bar:
            done, month, held = 0, "", list[StoredArticle]()
            for article in article_queries.iter_articles(self.session):
                this = feeds.month_of(article.published_at, tz)
                if this != month and held:
                    _check(self.stop)
                    self._month(archives, month, held)
                    done += len(held)
                    bar.advance_to(done, status=month)
                    held = []
                month = this
                held.append(article)
            if held:
                self._month(archives, month, held)
                bar.advance_to(done + len(held), status=month)
        for stream in archives.values():
            stream.close()
        self.stage.add(feeds.OPML_PATH, feedwriter.render_opml(settings, keys))
        return keys

    def _month(self, archives: dict[str, _Archives], month: str, held: list[StoredArticle]) -> None:
        """Hand one month's articles to the archives of ``all`` and of their topics, in
        their languages."""
        by_language: dict[str, list[StoredArticle]] = {}
        for article in held:
            by_language.setdefault(self.language(article.language), []).append(article)
        for language, articles in by_language.items():
            self._language_month(archives, month, language, articles)

    def _language_month(
        self,
        archives: dict[str, _Archives],
        month: str,
        language: str,
        held: list[StoredArticle],
    ) -> None:
        live = [a for a in held if not a.is_retracted]
        fragments = self.fragments(live, feeds.ATOM, language)
        by_id = dict(zip((a.source_id for a in live), fragments, strict=True))
        prefix = feeds.language_key(self.settings, language, "")
        by_key: dict[str, list[StoredArticle]] = {prefix + feeds.ALL: held}
        left: dict[str, list[feeds.Departure]] = {}
        for article in held:
            for slug in article.topics:
                if prefix + slug in archives:
                    by_key.setdefault(prefix + slug, []).append(article)
            for slug, departure in self.departed.get(article.source_id, ()):
                if prefix + slug in archives:
                    # The stamp read with the departure would do; the article is at hand.
                    left.setdefault(prefix + slug, []).append(replace(departure, article=article))
        for key in [*by_key, *(key for key in left if key not in by_key)]:
            archives[key].add(month, by_key.get(key, []), by_id, left.get(key, []))

    def incremental(self, built: int) -> list[str]:
        """The feeds touched since change ``built``: their subscription documents and the
        archive months of the changed articles (and neighbours whose links move)."""
        settings, session = self.settings, self.session
        touched = set(store.topics_changed_since(session, built))
        if not touched:
            return []
        tz = settings.site.tz
        changed = article_queries.published_times_changed_since(session, built)
        # An article whose publication date moved to another month is in the archive of
        # the month it left too (issue 26): that date was recorded when it moved.
        changed += store.moves_since(session, built)
        # The translations of a changed article link it: their entries change too.
        index = self.translations()
        for source_id in article_queries.sources_changed_since(session, built):
            for member in index.group(source_id):
                touched.update(member.topics)
                changed.append(member.published_at)
        months = sorted({feeds.month_of(moment, tz) for moment in changed})
        keys = [k for k in feeds.feed_keys(settings) if feeds.topic_of(k) in (None, *touched)]
        for key in keys:
            _check(self.stop)
            self.subscriptions(key)
            neighbours: set[str] = set()
            for month in months:
                appeared_or_emptied, around = self._archive_month(key, month)
                if appeared_or_emptied:
                    neighbours.update(around)
            for month in sorted(neighbours - set(months)):
                self._archive_month(key, month)
        return keys

    def _archive_month(self, key: str, month: str) -> tuple[bool, list[str]]:
        """Stage one month's archive of ``key``; whether it appeared or emptied; its
        neighbouring months."""
        session, tz = self.session, self.settings.site.tz
        topic, scope = feeds.topic_of(key), feeds.scope_of(self.settings, key)
        start, end = feeds.month_bounds(month, tz)
        # Light rows: the month's unchanged entries come from the cache by content hash,
        # so an edit reads one body, not a month of them (issue 16).
        articles = article_queries.stamps_published_between(session, topic, start, end, scope)
        departures = article_queries.departures_published_between(session, topic, start, end, scope)
        before = article_queries.last_published_before(session, topic, start, scope)
        after = article_queries.first_published_from(session, topic, end, scope)
        prev_month = None if before is None else feeds.month_of(before, tz)
        next_month = None if after is None else feeds.month_of(after, tz)
        around = [m for m in (prev_month, next_month) if m is not None]
        path = feeds.document_path(key, feeds.ARCHIVE, month)
        existed = (self.settings.feeds.dir / path).exists()
        if not articles and not departures:
            self.stage.add(path, None)
            return existed, around
        plan = feeds.archive_plan(
            self.settings, key, month, articles, prev_month, next_month, departures
        )
        self.write(plan, stamps=True)
        return not existed, around


class _Archives:
    """The archive documents of one feed in a full build, fed a month at a time.

    A month is written when the feed's next month with articles arrives (it names it as
    ``next-archive``) or at :meth:`close`. Until then only its document (links to come)
    and its entries' fragments are held, not the articles: memory follows a month of
    fragments per feed, not the store.
    """

    def __init__(self, builder: _Builder, key: str) -> None:
        self.builder, self.key = builder, key
        self.previous: str | None = None
        self.held: tuple[str, feeds.FeedDocument, list[bytes]] | None = None
        self.kept: set[str] = set()

    def add(
        self,
        month: str,
        articles: list[StoredArticle],
        fragments: dict[str, bytes],
        departures: list[feeds.Departure],
    ) -> None:
        """The feed's articles of ``month`` (the next month it has), with the fragments
        of (at least) its live ones by source id, and the departures from it of articles
        published in ``month``."""
        self._write(month)
        settings = self.builder.settings
        plan = feeds.archive_plan(
            settings, self.key, month, articles, self.previous, None, departures
        )
        self.held = (month, plan.document, [fragments[a.source_id] for a in plan.articles])

    def close(self) -> None:
        """Write the last month, and remove archive files of months left without articles."""
        self._write(None)
        folder = self.builder.settings.feeds.dir / self.key / "archive"
        if folder.is_dir():
            for path in sorted(folder.glob("*.atom")):
                relative = f"{self.key}/archive/{path.name}"
                if relative not in self.kept:
                    self.builder.stage.add(relative, None)

    def _write(self, next_month: str | None) -> None:
        if self.held is None:
            return
        month, document, fragments = self.held
        links = feeds.archive_links(
            self.builder.settings, self.key, month, self.previous, next_month
        )
        document = replace(document, links=tuple(links))
        self.kept.add(document.path)
        self.builder.stage.add(document.path, feedwriter.assemble(document, fragments))
        self.previous, self.held = month, None


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
                pending = {
                    key
                    for key in feeds.feed_keys(settings)
                    if feeds.topic_of(key) in (None, *touched)
                }
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
