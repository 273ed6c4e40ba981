"""What a feed contains, computed from plain data (pure: no I/O, no clock, no feedgen).

From the settings, a feed key (a topic slug or ``all``) and lists of
:class:`~syndication.articles.StoredArticle`, the functions here describe every document
the feeds job publishes as frozen dataclasses; :mod:`syndication.render.feeds` turns them
into bytes. Every date in a document comes from its articles, never from a clock, so the
same store always yields the same bytes.

Ids are tag URIs (RFC 4151) minted from the site's domain, the UTC date the article was
first published and its source id; editing a title, a slug or a URL never changes them.
Archives follow RFC 5005 (one document per calendar month of publication, site time);
retractions become RFC 6721 tombstones in Atom and leave RSS and JSON Feed.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import MAXYEAR, MINYEAR, UTC, datetime
from html import escape, unescape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3

from syndication.core.articles import StoredArticle
from syndication.core.urls import IMAGE_SCHEMES, LINK_SCHEMES, safe_url
from syndication.settings import Settings

ALL = "all"
"""The feed key of the whole-site feeds."""

# The date in a feed's own tag URI: when this service began minting ids for the domain
# (RFC 4151 section 2.1 asks for a date on which the authority owned the name).
FEED_ID_DATE = "2026"

# A feed with no entries still needs an `updated`; it must not come from the clock.
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)

RSS, ATOM, JSON, ARCHIVE = "rss", "atom", "json", "archive"
FILE_NAMES = {RSS: "rss.xml", ATOM: "atom.xml", JSON: "feed.json"}
OPML_PATH = "index.opml"

# XML 1.0 section 2.2 "Char": anything else (most C0 controls, lone surrogates, U+FFFE,
# U+FFFF) makes lxml raise "ValueError: All strings must be XML compatible" inside feedgen
# (the failure ckan/ckan#6378 fixed the same way) or leaves the document ill-formed, so it
# is removed from every string before feedgen sees it.
_XML_ILLEGAL = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Tags and attributes a feed reader may show; nh3 drops everything else, including
# script/style (with their content), event handlers and javascript: URLs.
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
_URL_ATTRIBUTES = {"href", "src", "cite"}
_TAG_CHAR = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]")
_TAG_SPECIFIC = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")


@dataclass(frozen=True)
class Link:
    """A feed-level link: ``self``, ``alternate``, ``current``, ``prev-archive``…"""

    href: str
    rel: str
    type: str = ""
    title: str = ""


@dataclass(frozen=True)
class Category:
    """A topic of an entry: slug as term, name as label."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True)
class Image:
    """The article's image, written as an enclosure; ``type`` is guessed from the URL."""

    url: str
    type: str


@dataclass(frozen=True)
class Entry:
    """One article as every format shows it; all strings are XML-safe."""

    id: str
    title: str
    url: str
    summary: str
    content_html: str
    author: str
    categories: tuple[Category, ...]
    image: Image | None
    published: datetime
    updated: datetime
    language: str


@dataclass(frozen=True)
class Tombstone:
    """An RFC 6721 ``at:deleted-entry``: the retracted article's id, when, and why."""

    ref: str
    when: datetime
    comment: str


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


# -- strings ------------------------------------------------------------------------------


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", text)


class _SanitiseCache:
    """Results of :func:`sanitise_html` by input, bounded by the bytes they hold.

    One article appears in up to a dozen documents of a build (its topics' RSS, Atom,
    JSON Feed and archive, and the same for ``all``); sanitising is the costly part, so it
    is done once per article version (issue 15 item 11). Keys are a SHA-256 of the HTML,
    so the cache holds only results, and at most ``limit`` bytes of them.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[tuple[bytes, str], str] = OrderedDict()

    def get(self, html: str, base_url: str) -> str:
        key = (hashlib.sha256(html.encode("utf-8", "surrogatepass")).digest(), base_url)
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
            return found
        result = _sanitise(html, base_url)
        self.items[key] = result
        self.size += len(result)
        while self.size > self.limit and self.items:
            _, dropped = self.items.popitem(last=False)
            self.size -= len(dropped)
        return result


# Small: feed builds keep rendered entries in the fragment cache across builds (issue 16),
# so this only spares the second format of an article within one build; a large one would
# make a full build's memory follow the store until it filled.
_SANITISED = _SanitiseCache(8 * 1024 * 1024)


def sanitise_html(html: str, base_url: str) -> str:
    """Clean article HTML for a feed reader, with every ``href``/``src`` made absolute.

    Relative URLs are resolved against ``base_url`` (the article's own URL); a URL that is
    not then http(s) or mailto (an image: http(s)) is dropped, as are scripts, styles and
    event handlers. nh3 checks schemes on the raw value, which a leading U+00A0 fools, so
    the check that counts is :func:`~syndication.core.urls.safe_url` on the final URL.
    The same input gives the same output, computed once (:class:`_SanitiseCache`).
    """
    return _SANITISED.get(html, base_url)


def _sanitise(html: str, base_url: str) -> str:
    _BASE.url = base_url
    try:
        return _CLEANER.clean(xml_safe(html))
    finally:
        _BASE.url = ""


class _Base(threading.local):
    """The URL relative links of the HTML being cleaned resolve against. An
    ``nh3.Cleaner`` is built once (building one per call, as ``nh3.clean`` does, was
    most of a sanitise: issue 16), so its attribute filter cannot close over the
    article's URL; nh3 calls the filter in the calling thread, which reads it here."""

    url = ""


_BASE = _Base()


def _absolute(tag: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        schemes = IMAGE_SCHEMES if (tag, attribute) == ("img", "src") else LINK_SCHEMES
        return safe_url(value, _BASE.url, schemes)
    return value


_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    attributes=_ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    attribute_filter=_absolute,
    link_rel="noopener",
)


def _plain(text: str) -> str:
    # Titles and summaries are plain text, but newsroom systems often hand them over
    # HTML-escaped (``&nbsp;``, ``&amp;``): decode entities so readers do not show them raw.
    return xml_safe(unescape(text)).strip()


# -- ids, months, URLs --------------------------------------------------------------------


def entry_id(settings: Settings, article: StoredArticle) -> str:
    """The article's tag URI: ``tag:<domain>,<first published, UTC date>:<source id>``.

    The date is the one the store minted when the article arrived (``id_date``), so a
    later correction of ``published_at`` does not change the id (RFC 4151 section 2.4:
    a tag is minted once and must never be reassigned).
    """
    day = article.id_date or article.published_at.astimezone(UTC).date().isoformat()
    return f"tag:{settings.site.domain},{day}:{_tag_specific(article.source_id)}"


def _tag_specific(source_id: str) -> str:
    # RFC 4151 section 2.1: the specific part is made of pchar, "/" and "?"; anything else
    # (spaces, Hangul) is percent-encoded as UTF-8 so the id stays a valid URI.
    if _TAG_SPECIFIC.fullmatch(source_id):
        return source_id  # the usual case, checked in one scan
    return "".join(
        ch if _TAG_CHAR.fullmatch(ch) else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in xml_safe(source_id)
    )


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
    """Every feed the site publishes: ``all`` first, then the topics in settings order."""
    return [ALL] + [t.slug for t in settings.topics]


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
    """The site's title, followed by the topic's name for a topic feed."""
    if key == ALL:
        return _plain(settings.site.title)
    return _plain(f"{settings.site.title}: {settings.topic(key).name}")


def feed_description(settings: Settings, key: str) -> str:
    """The site's or the topic's description, or the title when that is empty."""
    if key == ALL:
        return _plain(settings.site.description) or feed_title(settings, key)
    return _plain(settings.topic(key).description) or feed_title(settings, key)


# -- entries ------------------------------------------------------------------------------


def entry_for(settings: Settings, article: StoredArticle) -> Entry:
    """How ``article`` appears in every format (see the module docstring for ids)."""
    site = _site_parts(settings)
    categories = tuple(site.categories[slug] for slug in article.topics if slug in site.categories)
    image = None
    # The import checks these URLs too; checking the value as written keeps every URL in a
    # feed under one rule, whatever path the article took into the store.
    image_url = safe_url(xml_safe(article.image_url), "", IMAGE_SCHEMES)
    if image_url:
        image = Image(url=image_url, type=image_type(urlsplit(image_url).path))
    title = _plain(article.title) or xml_safe(article.source_id)
    summary = _plain(article.summary)
    # Atom content and content:encoded must not be empty: fall back to the summary.
    link = _link(settings, article)
    content = sanitise_html(article.body_html, link) or f"<p>{escape(summary or title)}</p>"
    return Entry(
        id=entry_id(settings, article),
        title=title,
        url=link,
        summary=summary,
        content_html=content,
        author=_plain(article.author) or site.author,
        categories=categories,
        image=image,
        published=article.published_at,
        updated=max(article.updated_at, article.published_at),
        language=_plain(article.language) or settings.site.language,
    )


@dataclass(frozen=True)
class _SiteParts:
    """What :func:`entry_for` takes from the settings, the same for every article."""

    categories: dict[str, Category]
    author: str


_SITE_PARTS: tuple[Settings, _SiteParts] | None = None


def _site_parts(settings: Settings) -> _SiteParts:
    # Worked out once per Settings object, not once per article (issue 16): a full build
    # makes tens of thousands of entries from one frozen Settings. Compared by identity,
    # since comparing two Settings by value costs more than working the parts out.
    global _SITE_PARTS
    last = _SITE_PARTS
    if last is not None and last[0] is settings:
        return last[1]
    scheme = f"{settings.site.feeds_url}/"
    parts = _SiteParts(
        categories={
            t.slug: Category(term=t.slug, label=_plain(t.name), scheme=scheme)
            for t in settings.topics
        },
        author=_plain(settings.site.author),
    )
    _SITE_PARTS = (settings, parts)
    return parts


def image_type(path: str) -> str:
    """The media type of an image at URL path ``path``, guessed from its name; JPEG when
    the name says nothing (or says it is not an image)."""
    name = path.rpartition("/")[2]
    stem, dot, suffixes = name.partition(".")
    if not stem or not dot or ":" in path:
        return _image_type(path)  # no suffix, a hidden name, or what could read as a scheme
    # Only the name's suffixes decide mimetypes' guess (".jpg", ".svg.gz"): one guess per
    # spelling of them rather than one per article.
    return _image_type_of_suffixes(suffixes)


@functools.lru_cache(maxsize=256)
def _image_type_of_suffixes(suffixes: str) -> str:
    return _image_type(f"x.{suffixes}")


def _image_type(path: str) -> str:
    guessed = mimetypes.guess_type(path)[0]
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def entry_context(settings: Settings, version: str) -> str:
    """Everything besides the article that goes into its entries: the settings
    :func:`entry_for` reads and ``version``, the renderer's own (a new sanitiser or a new
    entry layout must not reuse fragments of the old). Part of every :func:`entry_key`."""
    topics = [(t.slug, t.name) for t in settings.topics]
    site = settings.site
    return repr(
        (version, site.domain, site.feeds_url, site.base_url, site.author, site.language, topics)
    )


def entry_key(context: str, article: StoredArticle, kind: str) -> str:
    """The address of ``article``'s entry fragment in format ``kind``: a SHA-256 of every
    input of the fragment (``context`` from :func:`entry_context`, then each field
    :func:`entry_for` reads). Content-addressed, so a key can never name stale bytes:
    an edit, a retopicked article or a changed setting simply makes a new key."""
    if article.content_hash:
        # The store's SHA-256 of the whole record (title, body, topics…, see
        # ArticleRecord.content_hash) stands for those fields, so a build can address the
        # fragments of a month without reading its bodies; ``updated_at`` is not always the
        # record's (the store moves it forward on an edit that did not) and the id date
        # is the store's own, so both are named too.
        # Joined with NUL, which no field but the last (the source id) can hold: a repr
        # has none, nor do hashes and ISO dates. So the joining is unambiguous.
        stored = (context, kind, article.content_hash, article.updated_at.isoformat())
        material = "\0".join((*stored, article.id_date, article.source_id))
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()
    material = repr(
        (
            context,
            kind,
            article.source_id,
            article.id_date,
            article.title,
            article.url,
            article.published_at.isoformat(),
            article.updated_at.isoformat(),
            article.topics,
            article.summary,
            article.body_html,
            article.author,
            article.image_url,
            article.language,
        )
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def tombstone_for(settings: Settings, article: StoredArticle) -> Tombstone:
    """The RFC 6721 tombstone of a retracted article (``ref`` is its unchanged id)."""
    when = article.retracted_at or article.updated_at
    return Tombstone(
        ref=entry_id(settings, article),
        when=when,
        comment=_plain(article.retraction_reason) or "Retracted.",
    )


def _link(settings: Settings, article: StoredArticle) -> str:
    # An article whose canonical URL is not a safe http(s) link points at the site instead.
    return safe_url(xml_safe(article.url), "", IMAGE_SCHEMES) or settings.site.base_url


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
    """The planned document with its entries (what :func:`render.feeds.render` takes)."""
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
        language=settings.site.language,
        author=_plain(settings.site.author) or title,
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
) -> list[FeedDocument]:
    """:func:`subscription_plans` with their entries."""
    plans = subscription_plans(settings, key, recent_published, recent_updated, newest_month)
    return [with_entries(settings, plan) for plan in plans]


def subscription_plans(
    settings: Settings,
    key: str,
    recent_published: Iterable[StoredArticle],
    recent_updated: Iterable[StoredArticle],
    newest_month: str | None,
) -> list[DocumentPlan]:
    """The RSS, Atom and JSON Feed documents a reader subscribes to.

    ``recent_published`` should hold at least the newest ``feeds.entries`` published
    articles of the feed, ``recent_updated`` the newest ``feeds.entries`` by ``updated``
    (retracted ones included: they become tombstones); extra articles are cut here.
    ``newest_month`` is the newest archive month, which the Atom document links to as
    ``prev-archive`` (RFC 5005 section 4).
    """
    limit = settings.feeds.entries
    entries = [a for a in by_published(recent_published) if not a.is_retracted][:limit]
    changed = by_updated(recent_updated)[:limit]
    atom_entries = [a for a in changed if not a.is_retracted]
    tombstones = [tombstone_for(settings, a) for a in changed if a.is_retracted]
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


def archive_document(
    settings: Settings,
    key: str,
    month: str,
    articles: Iterable[StoredArticle],
    prev_month: str | None,
    next_month: str | None,
) -> FeedDocument:
    """:func:`archive_plan` with its entries."""
    plan = archive_plan(settings, key, month, articles, prev_month, next_month)
    return with_entries(settings, plan)


def archive_plan(
    settings: Settings,
    key: str,
    month: str,
    articles: Iterable[StoredArticle],
    prev_month: str | None,
    next_month: str | None,
) -> DocumentPlan:
    """The RFC 5005 archive of ``month``: every article published in it, oldest first.

    Links: ``self``, ``current`` (the Atom subscription document) and ``prev-archive`` /
    ``next-archive`` to the neighbouring months that have articles (RFC 5005 section 4).
    """
    ordered = list(reversed(by_published(articles)))
    entries = [a for a in ordered if not a.is_retracted]
    tombstones = [tombstone_for(settings, a) for a in ordered if a.is_retracted]
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
    if next_month is not None:
        links.append(Link(document_url(settings, key, ARCHIVE, next_month), "next-archive", kind))
    links.append(Link(settings.site.base_url, "alternate", "text/html"))
    return links


def months_of(articles: Iterable[StoredArticle], tz: ZoneInfo) -> list[str]:
    """The distinct publication months of ``articles`` (site time), oldest first."""
    return sorted({month_of(a.published_at, tz) for a in articles})


def all_documents(
    settings: Settings, key: str, articles: Sequence[StoredArticle]
) -> list[FeedDocument]:
    """Every document of feed ``key`` from its complete list of articles (a full build)."""
    tz = settings.site.tz
    by_month: dict[str, list[StoredArticle]] = {}
    for article in articles:
        by_month.setdefault(month_of(article.published_at, tz), []).append(article)
    months = sorted(by_month)
    documents = subscription_documents(
        settings, key, articles, articles, months[-1] if months else None
    )
    for index, month in enumerate(months):
        prev_month = months[index - 1] if index > 0 else None
        next_month = months[index + 1] if index + 1 < len(months) else None
        documents.append(
            archive_document(settings, key, month, by_month[month], prev_month, next_month)
        )
    return documents
