"""What one article is in every feed format, computed from plain data (pure: no I/O).

:func:`entry_for` turns a :class:`~syndication.core.articles.StoredArticle` into an
:class:`Entry`: its text made XML-safe, its HTML sanitised for feed readers with every
URL made absolute and checked, its tag URI id (RFC 4151) minted from the site's domain,
the UTC date the article was first published and its source id (editing a title, a slug
or a URL never changes it). :func:`entry_key` addresses the rendered entry by everything
it is made from, so a build can reuse it (issue 16). What documents hold these entries is
:mod:`syndication.core.feeds`; :mod:`syndication.render.entries` turns one into bytes.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape, unescape
from urllib.parse import urlsplit

import nh3

from syndication.core.articles import StoredArticle
from syndication.core.language_tags import site_or_own
from syndication.core.urls import IMAGE_SCHEMES, LINK_SCHEMES, safe_url
from syndication.settings import Settings

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
class Translation:
    """The same story in another language (issue 30): where it is, and in what tag."""

    language: str
    url: str


@dataclass(frozen=True)
class Entry:
    """One article as every format shows it; all strings are XML-safe. ``language`` is
    the article's BCP 47 tag, or the site's when it has none; ``translations`` are the
    other languages the story is in (:mod:`syndication.core.translations`)."""

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
    translations: tuple[Translation, ...] = ()


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


def plain_text(text: str) -> str:
    # Titles and summaries are plain text, but newsroom systems often hand them over
    # HTML-escaped (``&nbsp;``, ``&amp;``): decode entities so readers do not show them raw.
    return xml_safe(unescape(text)).strip()


# -- ids ---------------------------------------------------------------------------------


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


# -- entries ------------------------------------------------------------------------------


def entry_for(
    settings: Settings, article: StoredArticle, translations: tuple[Translation, ...] = ()
) -> Entry:
    """How ``article`` appears in every format (see the module docstring for ids),
    linking ``translations``."""
    site = _site_parts(settings)
    categories = tuple(site.categories[slug] for slug in article.topics if slug in site.categories)
    image = None
    # The import checks these URLs too; checking the value as written keeps every URL in a
    # feed under one rule, whatever path the article took into the store.
    image_url = safe_url(xml_safe(article.image_url), "", IMAGE_SCHEMES)
    if image_url:
        image = Image(url=image_url, type=image_type(urlsplit(image_url).path))
    title = plain_text(article.title) or xml_safe(article.source_id)
    summary = plain_text(article.summary)
    # Atom content and content:encoded must not be empty: fall back to the summary.
    link = _link(settings, article)
    content = sanitise_html(article.body_html, link) or f"<p>{escape(summary or title)}</p>"
    return Entry(
        id=entry_id(settings, article),
        title=title,
        url=link,
        summary=summary,
        content_html=content,
        author=plain_text(article.author) or site.author,
        categories=categories,
        image=image,
        published=article.published_at,
        updated=max(article.updated_at, article.published_at),
        language=site_or_own(article.language, settings.site.language),
        translations=translations,
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
            t.slug: Category(term=t.slug, label=plain_text(t.name), scheme=scheme)
            for t in settings.topics
        },
        author=plain_text(settings.site.author),
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


def entry_key(
    context: str, article: StoredArticle, kind: str, translations: tuple[Translation, ...] = ()
) -> str:
    """The address of ``article``'s entry fragment in format ``kind``: a SHA-256 of every
    input of the fragment (``context`` from :func:`entry_context`, then each field
    :func:`entry_for` reads, then the ``translations`` it links when it links any).
    Content-addressed, so a key can never name stale bytes: an edit, a retopicked
    article, a new or retracted translation or a changed setting simply makes a new key."""
    if article.content_hash:
        # The store's SHA-256 of the whole record (title, body, topics…, see
        # ArticleRecord.content_hash) stands for those fields, so a build can address the
        # fragments of a month without reading its bodies; ``updated_at`` is not always the
        # record's (the store moves it forward on an edit that did not) and the id date
        # is the store's own, so both are named too.
        # Joined with NUL, which no field but the last (the source id) can hold: a repr
        # has none, nor do hashes and ISO dates. So the joining is unambiguous.
        # The context and kind (a kilobyte of settings) are hashed once per build, not
        # once per entry: hashing goes on from a copy of that state, which gives the
        # digest of the whole joined string (an edit's build keys a month of entries).
        digest = _prefix_hash(context, kind).copy()
        rest = (article.content_hash, article.updated_at.isoformat(), article.id_date)
        material = "\0" + "\0".join((*rest, article.source_id))
        if translations:
            material += "\0" + repr(translations)
        digest.update(material.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()
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
        + ((translations,) if translations else ())
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


@functools.lru_cache(maxsize=16)
def _prefix_hash(context: str, kind: str) -> hashlib._Hash:
    """SHA-256 fed with ``context``, NUL, ``kind``: copied, never updated in place."""
    return hashlib.sha256(f"{context}\0{kind}".encode("utf-8", "surrogatepass"))


def _link(settings: Settings, article: StoredArticle) -> str:
    # An article whose canonical URL is not a safe http(s) link points at the site instead.
    return safe_url(xml_safe(article.url), "", IMAGE_SCHEMES) or settings.site.base_url
