"""Click counting's use cases (issue 31): where a ``/r/<token>`` link goes, the tally
``serve`` keeps in memory and flushes in batches, and what editors read back.

The redirect path never writes to the database: :class:`ClickCounter` adds each request
to a :class:`~syndication.core.clicks.ClickTally` in memory and :meth:`ClickCounter.flush`
writes the sums in one transaction every :data:`FLUSH_SECONDS` (the web app's background
task), so a crash loses at most one flush interval of counts. The URL is read from the
store (never from the token) and kept in a small cache, read again in the background
once older than :data:`TARGET_TTL` seconds (:meth:`ClickCounter.cached`).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from syndication.core import clicks
from syndication.core.digests import period_for_date
from syndication.errors import NotFoundError
from syndication.settings import Settings
from syndication.store import clicks as store
from syndication.store import database as db
from syndication.store import digests

log = logging.getLogger(__name__)
ArticleClicks = store.ArticleClicks  # what the console and the CLI read
FLUSH_SECONDS = 5.0  # counts reach the store (and `digest clicks`) within ~8 s: 5 + 3 pending
TARGET_TTL = 5.0  # an article's changed URL is followed within this and one read
STALE_LIMIT = 3 * TARGET_TTL  # a target older than this (no refresh came) is read again


@dataclass(frozen=True)
class Resolved:
    """What a ``/r/`` request resolved to: the target URL (``None``: no redirect) and,
    for a token that is not valid, the article's URL to show if the ids name one.
    ``refresh``: the URL came from a cache older than :data:`TARGET_TTL` and the caller
    should run :meth:`ClickCounter.refresh` in a thread."""

    url: str | None
    link: clicks.LinkClaims | None = None
    copy: clicks.CopyClaims | None = None
    hint: str | None = None
    refresh: bool = False


@dataclass
class _Link:
    """A link part verified once, with its target as read at ``read_at`` (monotonic)."""

    claims: clicks.LinkClaims
    url: str | None
    read_at: float
    refreshing: bool = False


class ClickCounter:
    """One ``serve`` process's redirect resolver and click tally."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.now = now
        self.monotonic = monotonic
        self.tally = clicks.ClickTally()
        self._targets: dict[tuple[int, int, int], tuple[float, str | None]] = {}
        self._links: dict[str, _Link] = {}
        self._stale: list[_Link] = []  # waiting for the next refresh
        self._lock = threading.Lock()

    def _target(self, claims: clicks.LinkClaims) -> str | None:
        """The link's URL from the cache when younger than :data:`TARGET_TTL`, else
        from the store."""
        key = (claims.digest_id, claims.article_id, claims.position)
        at = self.monotonic()
        cached = self._targets.get(key)
        if cached is not None and at - cached[0] < TARGET_TTL:
            return cached[1]
        url = self._read(claims)
        if len(self._targets) > 10_000:
            self._targets.clear()
        self._targets[key] = (at, url)
        return url

    def _read(self, claims: clicks.LinkClaims) -> str | None:
        with db.read_session(self.engine) as session:
            return store.link_target(session, claims.digest_id, claims.article_id, claims.position)

    def cached(self, token: str) -> Resolved | None:
        """:meth:`resolve` when it needs no database read (a link part verified before,
        whose target was read), else ``None``: the event loop answers most clicks without
        a thread. A target older than :data:`TARGET_TTL` is still answered, once asking
        the caller to :meth:`refresh` it (so no click waits for the store, and a changed
        URL is followed within the TTL and one read); one older than :data:`STALE_LIMIT`
        is not. Link parts are remembered (a digest has a few dozen; every copy shares
        them); copy parts are checked each time and never kept."""
        link_part, _, copy_part = token.partition(".")
        link = self._links.get(link_part)
        if link is None or link.url is None:
            return None
        age = self.monotonic() - link.read_at
        refresh = False
        if age >= TARGET_TTL:
            if age >= STALE_LIMIT:
                return None
            if not link.refreshing:
                link.refreshing = True
                with self._lock:  # one refresh reads all that went stale meanwhile
                    refresh = not self._stale
                    self._stale.append(link)
        claims = link.claims
        copy = clicks.check_copy(self.settings.secret_key, claims.digest_id, copy_part)
        return Resolved(link.url, claims, copy, refresh=refresh)

    def refresh(self) -> None:
        """Read the targets :meth:`cached` found stale again, in one session (in a thread).
        Never raises: with the store away the old URLs keep answering until
        :data:`STALE_LIMIT`, then :meth:`resolve` reads (and the request gets the 503 page
        if it still fails)."""
        with self._lock:
            stale, self._stale = self._stale, []
        try:
            with db.read_session(self.engine) as session:
                for link in stale:
                    claims = link.claims
                    link.url = store.link_target(
                        session, claims.digest_id, claims.article_id, claims.position
                    )
                    link.read_at, link.refreshing = self.monotonic(), False
        except Exception:
            # The links not read stay "refreshing": no second try before STALE_LIMIT.
            log.exception("click targets not refreshed")

    def resolve(self, token: str) -> Resolved:
        """Where ``<link>.<copy>`` leads; reads only (safe to run in a thread)."""
        link_part, _, copy_part = token.partition(".")
        try:
            claims = clicks.check_link(self.settings.secret_key, link_part)
        except clicks.ClickTokenError:
            readable, _ = clicks.read_link(link_part)
            # Not ours: no redirect. If its ids name a real link, the page shows the
            # article's address to follow by hand (read from the store, like a redirect).
            hint = self._target(readable) if readable is not None else None
            return Resolved(None, hint=hint)
        at = self.monotonic()
        link = self._links.get(link_part)
        if link is None or at - link.read_at >= TARGET_TTL:
            link = _Link(claims, self._read(claims), at)
            if len(self._links) > 10_000:
                self._links.clear()
            self._links[link_part] = link
        url = link.url
        if url is None:
            return Resolved(None)
        copy = clicks.check_copy(self.settings.secret_key, claims.digest_id, copy_part)
        return Resolved(url, claims, copy)

    def record(self, resolved: Resolved, *, head: bool, user_agent: str) -> str:
        """Count a resolved request (no I/O); returns its kind as decided so far."""
        assert resolved.link is not None
        with self._lock:
            return self.tally.record(
                resolved.link.digest_id,
                resolved.link.article_id,
                resolved.link.position,
                head=head,
                user_agent=user_agent,
                copy=resolved.copy,
                at=self.monotonic(),
                now_epoch=self.now().timestamp(),
            )

    def flush(self, everything: bool = False) -> int:
        """Write what the tally has settled (``everything``: pending clicks too, at
        shutdown), in one transaction; returns requests written. On a database error the
        counts go back into the tally for the next flush."""
        with self._lock:
            counts = self.tally.settled(self.monotonic(), everything)
        if not counts:
            return 0
        try:
            with db.write_session(self.engine) as session:
                store.add_counts(session, counts)
        except Exception:
            log.exception("click counts not written; kept for the next flush")
            with self._lock:
                self.tally.restore(counts)
            return 0
        return sum(r + s for r, s in counts.values())


# -- what editors read ---------------------------------------------------------------------


def digest_report(engine: Engine, digest_id: int) -> list[store.ArticleClicks]:
    """A digest's stories ranked by readers' clicks."""
    with db.read_session(engine) as session:
        return store.digest_clicks(session, digest_id)


def report_for(
    settings: Settings, engine: Engine, list_slug: str, day: date
) -> list[store.ArticleClicks]:
    """The report of ``list_slug``'s digest for the period holding ``day`` (what
    ``syndication digest clicks`` prints). :class:`NotFoundError` without one."""
    the_list = settings.mailing_list(list_slug)
    key = period_for_date(the_list.schedule, settings.site.tz, day).key(settings.site.tz)
    with db.read_session(engine) as session:
        found = digests.find_digest(session, list_slug, key)
        if found is None:
            raise NotFoundError(f"{list_slug}: no digest for the period {key}")
        return store.digest_clicks(session, found.digest_id)


def list_history(engine: Engine, list_slug: str) -> list[tuple[str, int, int, int]]:
    """Per digest of the list: ``(period, readers' clicks, scanner requests, delivered)``."""
    with db.read_session(engine) as session:
        return list(store.list_digests(session, list_slug))


def topic_history(
    settings: Settings, engine: Engine, list_slug: str
) -> tuple[list[tuple[str, str]], list[tuple[str, list[int]]]]:
    """Readers' clicks per topic of the list (its order) per digest, oldest first:
    ``(topics as (slug, name), [(period, [clicks per topic])])``."""
    the_list = settings.mailing_list(list_slug)
    topics = [(slug, settings.topic(slug).name) for slug in the_list.topics]
    with db.read_session(engine) as session:
        found = store.topic_history(session, list_slug)
    rows = [
        (period, [found[period].get(slug, 0) for slug, _ in topics]) for period in sorted(found)
    ]
    return topics, rows


def totals(engine: Engine) -> dict[tuple[str, str], int]:
    """Sums per list and kind, for ``/metrics``."""
    with db.read_session(engine) as session:
        return store.list_totals(session)


def as_json(rows: list[store.ArticleClicks]) -> list[dict[str, object]]:
    """The report as ``digest clicks --json`` prints it."""
    return [
        {
            "article_id": row.source_id,
            "title": row.title,
            "reader_clicks": row.reader_clicks,
            "scanner_requests": row.scanner_requests,
            "delivered": row.delivered,
        }
        for row in rows
    ]


def as_csv(rows: list[store.ArticleClicks]) -> str:
    """The report as CSV (the console's export)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["article_id", "title", "reader_clicks", "scanner_requests", "delivered", "click_through"]
    )
    for row in rows:
        writer.writerow(
            [
                row.source_id,
                row.title,
                row.reader_clicks,
                row.scanner_requests,
                row.delivered,
                f"{row.click_through:.4f}",
            ]
        )
    return out.getvalue()
