"""What a feed contains, computed from plain data (pure: no I/O, no clock, no feedgen).

From the settings, a feed key (a topic slug or ``all``) and lists of
:class:`~syndication.articles.StoredArticle`, the functions here describe every document
the feeds job publishes as frozen dataclasses; :mod:`syndication.render.feeds` turns them
into bytes. Every date in a document comes from its articles, never from a clock, so the
same store always yields the same bytes.

What each article looks like inside them (its :class:`~syndication.core.entries.Entry`:
id, sanitised HTML) is :mod:`syndication.core.entries`. Archives follow RFC 5005 (one
document per calendar month of publication, site time); retractions become RFC 6721
tombstones in Atom and leave RSS and JSON Feed, and so does an article that left a topic,
in that topic's feeds (a :class:`Departure`, issue 26 item 3).

Languages (issue 30): every feed exists once per language of ``[languages] available``.
The primary language's feeds keep their keys and URLs (``culture/atom.xml``); another
language's key is prefixed with its tag (``ko/culture``, so ``ko/culture/atom.xml`` and
``ko/all/archive/2026-11.atom``). An article belongs to the feeds of one language, the
one :func:`feed_language` gives its tag; with a single language configured every
article is in the primary feeds, as before languages existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import MAXYEAR, MINYEAR, UTC, datetime
from zoneinfo import ZoneInfo

from syndication.core.articles import StoredArticle
from syndication.core.entries import Entry, entry_for, entry_id, plain_text
from syndication.settings import Settings

ALL = "all"
"""The feed key of the whole-site feeds."""

# The date in a feed's own tag URI: when this service began minting ids for the domain
# (RFC 4151 section 2.1 asks for a date on which the authority owned the name).
FEED_ID_DATE = "2026"

# A feed with no entries (a topic with no article yet) still needs an `updated`; it must
# not come from the clock, and 1970 is an "Implausible date" to the W3C validator (issue
# 26 item 3). The date in the feed's own id says when it began: 1 January of that year.
# Not the site's newest entry: a build rewrites only the feeds whose articles changed, so
# an empty topic's files would keep whichever date the last build that wrote them saw.
EMPTY_UPDATED = datetime(int(FEED_ID_DATE), 1, 1, tzinfo=UTC)

RSS, ATOM, JSON, ARCHIVE = "rss", "atom", "json", "archive"
FILE_NAMES = {RSS: "rss.xml", ATOM: "atom.xml", JSON: "feed.json"}
OPML_PATH = "index.opml"


@dataclass(frozen=True)
class Link:
    """A feed-level link: ``self``, ``alternate``, ``current``, ``prev-archive``…"""

    href: str
    rel: str
    type: str = ""
    title: str = ""


@dataclass(frozen=True)
class Tombstone:
    """An RFC 6721 ``at:deleted-entry``: the retracted article's id, when, and why."""

    ref: str
    when: datetime
    comment: str


@dataclass(frozen=True)
class Departure:
    """An article that left the topic of the feed at hand, at ``when``, for ``reason``
    ("moved to Economy"). ``article`` needs only what its id and month are made of (a
    stamp will do). The topic's Atom feed and the archive of the article's month keep an
    RFC 6721 tombstone for it, so a partner mirroring the topic drops the entry."""

    article: StoredArticle
    when: datetime
    reason: str


@dataclass(frozen=True)
class FeedDocument:
    """One file to publish: ``path`` is relative to ``feeds.dir``, ``url`` is public.

    ``kind`` is ``rss``, ``atom``, ``json`` or ``archive`` (an RFC 5005 Atom archive).
    ``entries`` are in the order they are written.
    """

    kind: str
    key: str
    path: str
    url: str
    id: str
    title: str
    description: str
    home_url: str
    language: str
    author: str
    updated: datetime
    links: tuple[Link, ...]
    entries: tuple[Entry, ...]
    tombstones: tuple[Tombstone, ...] = ()
    hub: str = ""


@dataclass(frozen=True)
class DocumentPlan:
    """A document whose entries are not rendered yet: ``document`` has every feed-level
    field (``updated`` included) and no ``entries``; ``articles`` are the articles whose
    entries go in, in order. Lets a build assemble the document from cached entry
    fragments instead of building an :class:`Entry` per article (issue 16)."""

    document: FeedDocument
    articles: tuple[StoredArticle, ...]


# -- languages (issue 30) -----------------------------------------------------------------


def feed_language(available: Sequence[str], tag: str) -> str:
    """The language of ``available`` whose feeds carry an article in ``tag``: the longest
    available tag that is ``tag`` or a prefix of it at a subtag boundary (RFC 4647
    section 3.4's lookup, so ``zh-Hant-TW`` goes to ``zh-Hant``, then ``zh``), else the
    primary (the first): an article in a language the newsroom does not list is kept in
    the primary feeds, as it was before languages existed. Tags compare without case."""
    lowered = tag.lower()
    best = ""
    for language in available:
        candidate = language.lower()
        if (lowered == candidate or lowered.startswith(candidate + "-")) and len(language) > len(
            best
        ):
            best = language
    return best or available[0]


@dataclass(frozen=True)
class LanguageScope:
    """The articles of one language's feeds: those :func:`feed_language` sends to
    ``language`` among ``available`` (the store turns this into SQL)."""

    language: str
    available: tuple[str, ...]


def language_key(settings: Settings, language: str, key: str) -> str:
    """The key of feed ``key`` (``all`` or a topic slug) in ``language``."""
    return key if language == settings.site.language else f"{language}/{key}"


def language_of(settings: Settings, key: str) -> str:
    """The language of feed ``key``: its prefix, or the primary language (the site's)."""
    prefix, _, _ = key.rpartition("/")
    return prefix or settings.site.language


def topic_of(key: str) -> str | None:
    """The topic slug of feed ``key``, or None for a whole-site (``all``) feed."""
    base = key.rpartition("/")[2]
    return None if base == ALL else base


def scope_of(settings: Settings, key: str) -> LanguageScope | None:
    """Which articles feed ``key`` holds by language; None (all of them) when the
    newsroom has a single language."""
    available = settings.languages.available
    if len(available) < 2:
        return None
    return LanguageScope(language_of(settings, key), available)


# -- ids, months, URLs --------------------------------------------------------------------


def feed_id(settings: Settings, key: str, suffix: str = "") -> str:
    """The tag URI of feed ``key`` (``suffix`` names an archive month): never changes."""
    return f"tag:{settings.site.domain},{FEED_ID_DATE}:feeds/{key}{suffix}"


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    """The calendar month (``YYYY-MM``) of ``moment`` in the site's timezone.

    Total: the year is always four digits (``strftime("%Y")`` writes year 1 as ``1``), and
    a moment whose site time falls past year 9999 belongs to December 9999.
    """
    try:
        local = moment.astimezone(tz)
    except OverflowError:
        local = datetime.max if moment.year == MAXYEAR else datetime.min
    return f"{local.year:04d}-{local.month:02d}"


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``month`` (site time) starts and where the next one starts.

    Total over every month :func:`month_of` can return: at the ends of the calendar the
    bounds are the first and last instants ``datetime`` can hold.
    """
    year, number = int(month[:4]), int(month[5:7])
    return _month_start(year, number, tz), _month_start(year + number // 12, number % 12 + 1, tz)


def _month_start(year: int, month: int, tz: ZoneInfo) -> datetime:
    if year > MAXYEAR:
        return datetime.max.replace(tzinfo=UTC)
    try:
        return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return (datetime.min if year == MINYEAR else datetime.max).replace(tzinfo=UTC)


def feed_keys(settings: Settings) -> list[str]:
    """Every feed the site publishes: ``all`` first, then the topics in settings order,
    for each language of ``[languages] available`` in order (see the module docstring)."""
    keys = [ALL] + [t.slug for t in settings.topics]
    languages = settings.languages.available[1:] if scope_of(settings, ALL) else ()
    return keys + [language_key(settings, lang, key) for lang in languages for key in keys]


def expected_paths(settings: Settings) -> list[str]:
    """The files every build leaves in ``feeds.dir`` whatever the store holds (archives
    depend on the articles): each feed in each format and the OPML index."""
    paths = [document_path(key, kind) for key in feed_keys(settings) for kind in FILE_NAMES]
    return [*paths, OPML_PATH]


def document_path(key: str, kind: str, month: str = "") -> str:
    """Where a document lives under ``feeds.dir``, e.g. ``culture/archive/2026-11.atom``."""
    if kind == ARCHIVE:
        return f"{key}/archive/{month}.atom"
    return f"{key}/{FILE_NAMES[kind]}"


def document_url(settings: Settings, key: str, kind: str, month: str = "") -> str:
    """The public URL of a document: ``site.feeds_url`` joined with its path."""
    return f"{settings.site.feeds_url}/{document_path(key, kind, month)}"


def feed_title(settings: Settings, key: str) -> str:
    """The site's title, followed by the topic's name for a topic feed, and by the
    language's name (``[languages] names``) for a feed not in the primary language."""
    topic = topic_of(key)
    title = settings.site.title if topic is None else f"{settings.site.title}: "
    if topic is not None:
        title += settings.topic(topic).name
    if "/" in key:
        title += f" ({settings.languages.name(language_of(settings, key))})"
    return plain_text(title)


def feed_description(settings: Settings, key: str) -> str:
    """The site's or the topic's description, or the title when that is empty."""
    topic = topic_of(key)
    if topic is None:
        return plain_text(settings.site.description) or feed_title(settings, key)
    return plain_text(settings.topic(topic).description) or feed_title(settings, key)


def tombstone_for(settings: Settings, article: StoredArticle) -> Tombstone:
    """The RFC 6721 tombstone of a retracted article (``ref`` is its unchanged id)."""
    when = article.retracted_at or article.updated_at
    return Tombstone(
        ref=entry_id(settings, article),
        when=when,
        comment=plain_text(article.retraction_reason) or "Retracted.",
    )


def departure_tombstone(settings: Settings, departure: Departure) -> Tombstone:
    """The RFC 6721 tombstone of an article in the topic it left (``ref`` is its id)."""
    return Tombstone(
        ref=entry_id(settings, departure.article),
        when=departure.when,
        comment=plain_text(departure.reason),
    )


def by_published(articles: Iterable[StoredArticle]) -> list[StoredArticle]:
    """Newest publication first; ties broken by source id so the order is total."""
    ordered = sorted(articles, key=lambda a: a.source_id)
    return sorted(ordered, key=lambda a: a.published_at, reverse=True)


def by_updated(articles: Iterable[StoredArticle]) -> list[StoredArticle]:
    """Newest change first (``updated``, then publication, then source id)."""
    ordered = sorted(articles, key=lambda a: a.source_id)
    return sorted(ordered, key=lambda a: (a.updated_at, a.published_at), reverse=True)


# -- documents ----------------------------------------------------------------------------


def entry_updated(article: StoredArticle) -> datetime:
    """The ``updated`` of ``article``'s entry (never before its publication)."""
    return max(article.updated_at, article.published_at)


def _newest(articles: Sequence[StoredArticle], tombstones: Sequence[Tombstone] = ()) -> datetime:
    moments = [entry_updated(a) for a in articles] + [t.when for t in tombstones]
    return max(moments, default=EMPTY_UPDATED)


def with_entries(settings: Settings, plan: DocumentPlan) -> FeedDocument:
    """The planned document with its entries (what :func:`render.feeds.render` takes);
    without translation links, which the feeds job adds (services.feeds)."""
    entries = tuple(entry_for(settings, a) for a in plan.articles)
    return replace(plan.document, entries=entries)


def _document(
    settings: Settings,
    key: str,
    kind: str,
    links: list[Link],
    articles: list[StoredArticle],
    tombstones: Sequence[Tombstone] = (),
    month: str = "",
) -> DocumentPlan:
    hub = settings.feeds.websub_hub
    url = document_url(settings, key, kind, month)
    title = feed_title(settings, key)
    if month:
        title = f"{title} ({month})"
    document = FeedDocument(
        kind=kind,
        key=key,
        path=document_path(key, kind, month),
        url=url,
        id=feed_id(settings, key, f"/archive/{month}" if month else ""),
        title=title,
        description=feed_description(settings, key),
        home_url=settings.site.base_url,
        language=language_of(settings, key),
        author=plain_text(settings.site.author) or title,
        updated=_newest(articles, tombstones),
        links=tuple(links),
        entries=(),
        tombstones=tuple(tombstones),
        hub=hub,
    )
    return DocumentPlan(document, tuple(articles))


def subscription_documents(
    settings: Settings,
    key: str,
    recent_published: Iterable[StoredArticle],
    recent_updated: Iterable[StoredArticle],
    newest_month: str | None,
    departures: Iterable[Departure] = (),
) -> list[FeedDocument]:
    """:func:`subscription_plans` with their entries."""
    plans = subscription_plans(
        settings, key, recent_published, recent_updated, newest_month, departures
    )
    return [with_entries(settings, plan) for plan in plans]


def subscription_plans(
    settings: Settings,
    key: str,
    recent_published: Iterable[StoredArticle],
    recent_updated: Iterable[StoredArticle],
    newest_month: str | None,
    departures: Iterable[Departure] = (),
) -> list[DocumentPlan]:
    """The RSS, Atom and JSON Feed documents a reader subscribes to.

    ``recent_published`` should hold at least the newest ``feeds.entries`` published
    articles of the feed, ``recent_updated`` the newest ``feeds.entries`` by ``updated``
    (retracted ones included: they become tombstones), ``departures`` the newest
    ``feeds.entries`` articles that left the topic (tombstones too); extra ones are cut
    here. The Atom document is the feed's change log: its newest ``feeds.entries``
    changes, entries and tombstones alike. ``newest_month`` is the newest archive month,
    which the Atom document links to as ``prev-archive`` (RFC 5005 section 4).
    """
    limit = settings.feeds.entries
    entries = [a for a in by_published(recent_published) if not a.is_retracted][:limit]
    changed = _change_log(recent_updated, departures)[:limit]
    atom_entries = [a for a in changed if isinstance(a, StoredArticle) and not a.is_retracted]
    tombstones = [
        departure_tombstone(settings, a) if isinstance(a, Departure) else tombstone_for(settings, a)
        for a in changed
        if isinstance(a, Departure) or a.is_retracted
    ]
    alternate = Link(settings.site.base_url, "alternate", "text/html")
    atom_links = [Link(document_url(settings, key, ATOM), "self", "application/atom+xml")]
    if newest_month is not None:
        archive = document_url(settings, key, ARCHIVE, newest_month)
        atom_links.append(Link(archive, "prev-archive", "application/atom+xml"))
    return [
        _document(
            settings,
            key,
            RSS,
            [Link(document_url(settings, key, RSS), "self", "application/rss+xml"), alternate],
            entries,
        ),
        _document(settings, key, ATOM, [*atom_links, alternate], atom_entries, tombstones),
        _document(
            settings,
            key,
            JSON,
            [Link(document_url(settings, key, JSON), "self", "application/feed+json"), alternate],
            entries,
        ),
    ]


def _change_log(
    articles: Iterable[StoredArticle], departures: Iterable[Departure]
) -> list[StoredArticle | Departure]:
    """Articles by ``updated`` and departures by ``when``, newest first (as :func:`by_updated`)."""
    items: list[StoredArticle | Departure] = [*articles, *departures]
    ordered = sorted(items, key=lambda a: _article(a).source_id)
    return sorted(ordered, key=_changed, reverse=True)


def _article(item: StoredArticle | Departure) -> StoredArticle:
    return item.article if isinstance(item, Departure) else item


def _changed(item: StoredArticle | Departure) -> tuple[datetime, datetime]:
    if isinstance(item, Departure):
        return item.when, item.article.published_at
    return item.updated_at, item.published_at


def archive_document(
    settings: Settings,
    key: str,
    month: str,
    articles: Iterable[StoredArticle],
    prev_month: str | None,
    next_month: str | None,
    departures: Iterable[Departure] = (),
) -> FeedDocument:
    """:func:`archive_plan` with its entries."""
    plan = archive_plan(settings, key, month, articles, prev_month, next_month, departures)
    return with_entries(settings, plan)


def archive_plan(
    settings: Settings,
    key: str,
    month: str,
    articles: Iterable[StoredArticle],
    prev_month: str | None,
    next_month: str | None,
    departures: Iterable[Departure] = (),
) -> DocumentPlan:
    """The RFC 5005 archive of ``month``: every article published in it, oldest first,
    retracted ones and ``departures`` (those published in it that left the topic) as
    tombstones, in the same order.

    Links: ``self``, ``current`` (the Atom subscription document) and ``prev-archive`` /
    ``next-archive`` to the neighbouring months that have articles or departures (RFC
    5005 section 4); the newest month's ``next-archive`` is the Atom subscription
    document (see :func:`archive_links`).
    """
    left = {d.article.source_id: d for d in departures}
    members = list(articles)
    ordered = list(reversed(by_published([*members, *(d.article for d in left.values())])))
    member_ids = {id(a) for a in members}
    entries = [a for a in ordered if id(a) in member_ids and not a.is_retracted]
    tombstones = [
        tombstone_for(settings, a)
        if id(a) in member_ids
        else departure_tombstone(settings, left[a.source_id])
        for a in ordered
        if id(a) not in member_ids or a.is_retracted
    ]
    links = archive_links(settings, key, month, prev_month, next_month)
    return _document(settings, key, ARCHIVE, links, entries, tombstones, month)


def archive_links(
    settings: Settings, key: str, month: str, prev_month: str | None, next_month: str | None
) -> list[Link]:
    """The links of ``month``'s archive of feed ``key`` (see :func:`archive_plan`)."""
    kind = "application/atom+xml"
    links = [
        Link(document_url(settings, key, ARCHIVE, month), "self", kind),
        Link(document_url(settings, key, ATOM), "current", kind),
    ]
    if prev_month is not None:
        links.append(Link(document_url(settings, key, ARCHIVE, prev_month), "prev-archive", kind))
    # The newest month is still filling, and the document after it is the subscription
    # document (atom.xml), where its entries go on: that is its next-archive. So every
    # archive, a feed's only month included, links onwards, and a reader can walk the
    # series both ways; an archive with neither link is "Archive incomplete" to the W3C
    # validator (feedvalidator/feed.py; issue 26), and RFC 5005's fh:complete, the other
    # way out, would claim the month holds the whole feed for good.
    following = document_url(settings, key, ATOM)
    if next_month is not None:
        following = document_url(settings, key, ARCHIVE, next_month)
    links.append(Link(following, "next-archive", kind))
    links.append(Link(settings.site.base_url, "alternate", "text/html"))
    return links


def months_of(articles: Iterable[StoredArticle], tz: ZoneInfo) -> list[str]:
    """The distinct publication months of ``articles`` (site time), oldest first."""
    return sorted({month_of(a.published_at, tz) for a in articles})


def all_documents(
    settings: Settings,
    key: str,
    articles: Sequence[StoredArticle],
    departures: Sequence[Departure] = (),
) -> list[FeedDocument]:
    """Every document of feed ``key`` from its complete lists of articles and of
    departures (a full build)."""
    tz = settings.site.tz
    by_month: dict[str, list[StoredArticle]] = {}
    left: dict[str, list[Departure]] = {}
    for article in articles:
        by_month.setdefault(month_of(article.published_at, tz), []).append(article)
    for departure in departures:
        left.setdefault(month_of(departure.article.published_at, tz), []).append(departure)
    months = sorted(by_month.keys() | left.keys())
    documents = subscription_documents(
        settings, key, articles, articles, months[-1] if months else None, departures
    )
    for index, month in enumerate(months):
        prev_month = months[index - 1] if index > 0 else None
        next_month = months[index + 1] if index + 1 < len(months) else None
        documents.append(
            archive_document(
                settings,
                key,
                month,
                by_month.get(month, []),
                prev_month,
                next_month,
                left.get(month, []),
            )
        )
    return documents
