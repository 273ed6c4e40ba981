"""Feed documents to bytes: the one module that imports feedgen.

:func:`render` turns a :class:`~syndication.feeds.FeedDocument` into the bytes of its file
(RSS 2.0, Atom 1.0, an RFC 5005 Atom archive, or JSON Feed 1.1); :func:`render_opml` writes
the index of every feed. The same document always gives the same bytes.

feedgen 1.0 has pitfalls this module works around, each proven in tests/test_feedwriter.py:

* ``add_entry`` prepends by default (lkiesow/python-feedgen#55, option added in #70):
  entries are added with ``order="append"`` in the order the document lists them.
* An entry's ``<link>`` keeps only ``href`` in Atom, losing ``rel`` and ``type``
  (lkiesow/python-feedgen#135), which would turn an image enclosure into a second
  ``alternate`` link: entry links are written by our entry extension instead.
* The RSS channel ``<link>`` is the last link added (``FeedGenerator.link``), so in RSS the
  site's ``alternate`` link is added last; RSS gets only the first ``self`` link as
  ``atom:link``, so the WebSub ``hub`` link is added by our feed extension. In Atom the
  ``alternate`` link comes first, before ``self``: feed-extractor and other readers take
  the first ``<link>`` as the site (issue 14).
* Strings with characters XML cannot carry raise ``ValueError`` in lxml:
  :mod:`syndication.core.entries` strips them before anything reaches feedgen.
* ``lastBuildDate`` defaults to the clock: it is always set from the document.
* lxml escapes ``&`` as ``&amp;`` and cannot write a character reference from text: RSS
  titles, the channel description and Atom text are set by the extensions as text and
  entity nodes, so they carry the RSS profile's ``&#x26;`` ``&#x3C;`` ``&#x3E;``
  (issue 26; the rules, RSS's and Atom's, are in :mod:`syndication.render.entries`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from html import escape
from typing import Any
from xml.etree import ElementTree

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml.etree import Entity

from syndication.core.entries import Entry
from syndication.core.feeds import (
    ARCHIVE,
    ATOM,
    JSON,
    RSS,
    FeedDocument,
    document_url,
    feed_title,
    language_of,
)
from syndication.render.entries import (
    TRANSLATION_TYPE,
    json_item,
    own_language,
    rfc3339,
    text_content,
)
from syndication.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721
DC_NS = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EXTENSION = "synd"
GENERATOR = "syndication"


def render(document: FeedDocument) -> bytes:
    """The bytes of ``document``'s file, by its ``kind``."""
    if document.kind == JSON:
        return render_json(document)
    if document.kind == RSS:
        return _generator(document, rss=True).rss_str(pretty=True)  # type: ignore[no-any-return]
    if document.kind in (ATOM, ARCHIVE):
        return _generator(document, rss=False).atom_str(pretty=True)  # type: ignore[no-any-return]
    raise ValueError(f"unknown feed document kind {document.kind!r}")


# The id of the one entry a document's skeleton is rendered with: its lines are where the
# fragments go. A URN no article can have (ids are tag URIs).
_PLACEHOLDER = "urn:x-syndication:entries"


def assemble(document: FeedDocument, fragments: Iterable[bytes]) -> bytes:
    """The bytes of ``document`` (whose ``entries`` are left empty) with the entry
    fragments of :func:`syndication.render.entries.fragment` in order.

    feedgen renders only the feed-level part, once per document, with one placeholder
    entry whose lines are then replaced by the fragments: the same bytes as
    :func:`render` gives for the document with its entries, at the cost of joining bytes
    (issue 16). Where feedgen puts entries (after the tombstones, before ``fh:archive``)
    stays feedgen's business.
    """
    parts = list(fragments)
    if not parts:
        return render(document)
    if document.kind == JSON:
        skeleton = render_json(replace(document, entries=(_placeholder(document),)))
        marker = json.dumps(_PLACEHOLDER).encode()
        head, _, tail = skeleton.partition(b'{\n      "id": ' + marker)
        # The placeholder item runs to the first line closing an item.
        _, _, tail = tail.partition(b"\n    }")
        return head + b",\n    ".join(parts) + tail
    skeleton = render(replace(document, entries=(_placeholder(document),)))
    rss = document.kind == RSS
    found = skeleton.index(_PLACEHOLDER.encode())
    start = skeleton.rindex(b"\n", 0, skeleton.rindex(b"<item>" if rss else b"<entry>", 0, found))
    close = b"</item>\n" if rss else b"</entry>\n"
    end = skeleton.index(close, found) + len(close)
    return skeleton[: start + 1] + b"".join(parts) + skeleton[end:]


def _placeholder(document: FeedDocument) -> Entry:
    return Entry(
        id=_PLACEHOLDER,
        title="-",
        url=document.home_url,
        summary="",
        content_html="-",
        author="",
        categories=(),
        image=None,
        published=document.updated,
        updated=document.updated,
        language=document.language,
    )


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level XML feedgen lacks: hub link in RSS, fh:archive, at:deleted-entry."""

    document: FeedDocument | None = None
    rss = False

    def extend_ns(self) -> dict[str, str]:
        if self.rss:
            return {"dc": DC_NS}
        namespaces = {}
        if self.document is not None and self.document.kind == ARCHIVE:
            namespaces["fh"] = HISTORY_NS
        if self.document is not None and self.document.tombstones:
            namespaces["at"] = TOMBSTONES_NS
        return namespaces

    def extend_rss(self, feed: Any) -> Any:
        assert self.document is not None
        channel = feed.find("channel")
        _plain_text(channel.find("title"), self.document.title)
        _plain_text(channel.find("description"), self.document.description)
        if self.document.hub:
            _sub(channel, f"{{{ATOM_NS}}}link", href=self.document.hub, rel="hub")
        return feed

    def extend_atom(self, feed: Any) -> Any:
        assert self.document is not None
        _atom_text(feed.find("{*}title"), self.document.title)
        _atom_text(feed.find("{*}subtitle"), self.document.description)
        if self.document.kind == ARCHIVE:
            # RFC 5005 section 4: an archive document says so with an empty fh:archive.
            _sub(feed, f"{{{HISTORY_NS}}}archive")
        for tombstone in self.document.tombstones:
            # RFC 6721 section 2: ref is the deleted entry's atom:id, when is required.
            deleted = _sub(
                feed,
                f"{{{TOMBSTONES_NS}}}deleted-entry",
                ref=tombstone.ref,
                when=rfc3339(tombstone.when),
            )
            # No <link> in the tombstone (RFC 6721 makes it optional): feedparser and the
            # readers built on it (lemon24/reader) do not know at:deleted-entry and took
            # its link for the feed's own, pointing "the site" at a retracted article.
            comment = _sub(deleted, f"{{{TOMBSTONES_NS}}}comment")
            comment.text = tombstone.comment
        return feed


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry links (with rel/type: lkiesow/python-feedgen#135), enclosure, dc:creator."""

    entry: Entry | None = None
    language = ""  # the document's: an entry in another says so (render.entries)

    def extend_atom(self, element: Any) -> Any:
        assert self.entry is not None
        own = own_language(self.entry, self.language)
        if own:
            element.set(XML_LANG, own)
        _atom_text(element.find("{*}title"), self.entry.title)
        summary = element.find("{*}summary")
        if summary is not None:
            _atom_text(summary, self.entry.summary)
        # feedgen writes Atom elements unqualified under a default xmlns, so ours are too.
        _sub(element, "link", href=self.entry.url, rel="alternate", type="text/html")
        for translation in self.entry.translations:
            # RFC 4287 section 4.2.7.4: the same story in another language (issue 30).
            _sub(
                element,
                "link",
                href=translation.url,
                rel="alternate",
                type=TRANSLATION_TYPE,
                hreflang=translation.language,
            )
        if self.entry.image is not None:
            _sub(
                element,
                "link",
                href=self.entry.image.url,
                rel="enclosure",
                type=self.entry.image.type,
            )
        return element

    def extend_rss(self, element: Any) -> Any:
        assert self.entry is not None
        _plain_text(element.find("title"), self.entry.title)
        _sub(element, "link").text = self.entry.url
        _sub(element, f"{{{DC_NS}}}creator").text = self.entry.author
        own = own_language(self.entry, self.language)
        if own:
            _sub(element, f"{{{DC_NS}}}language").text = own
        for translation in self.entry.translations:
            _sub(
                element,
                f"{{{ATOM_NS}}}link",
                href=translation.url,
                rel="alternate",
                type=TRANSLATION_TYPE,
                hreflang=translation.language,
            )
        if self.entry.image is not None:
            # RSS 2.0 requires a length; 0 is the convention for "not known".
            _sub(
                element,
                "enclosure",
                url=self.entry.image.url,
                length="0",
                type=self.entry.image.type,
            )
        return element


def _generator(document: FeedDocument, *, rss: bool) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension(EXTENSION, _FeedExtension, _EntryExtension, atom=not rss, rss=rss)
    extension: _FeedExtension = getattr(fg, EXTENSION)
    extension.document, extension.rss = document, rss
    # RSS titles, the channel description and Atom text are rewritten by the extensions
    # (_plain_text); an RSS item's description is escaped HTML. JSON Feed's title and
    # summary are plain text: they need nothing.
    fg.id(document.id)
    fg.title(document.title)
    fg.subtitle(document.description)
    fg.description(document.description)
    fg.language(document.language)
    fg.author({"name": document.author})
    fg.generator(GENERATOR)
    fg.updated(document.updated)  # also lastBuildDate, which would default to the clock
    alternates = [link for link in document.links if link.rel == "alternate"]
    if not rss:
        for link in alternates:
            fg.link(href=link.href, rel="alternate", type=link.type or None)
    for link in [link for link in document.links if link.rel != "alternate"]:
        fg.link(href=link.href, rel=link.rel, type=link.type or None)
    if document.hub and not rss:
        fg.link(href=document.hub, rel="hub")
    if rss:
        # Last, because feedgen makes the last link added the RSS channel <link>.
        for link in alternates:
            fg.link(href=link.href, rel="alternate", type=link.type or None)
    for entry in document.entries:
        fe: FeedEntry = fg.add_entry(order="append")
        getattr(fe, EXTENSION).entry = entry
        getattr(fe, EXTENSION).language = document.language
        fe.id(entry.id)  # RSS: <guid isPermaLink="false">, a tag URI that never changes
        fe.title(entry.title)
        fe.content(entry.content_html, type="html")
        if rss:
            # An item's <description> is HTML (see render.entries): escaped plain text.
            fe.summary(escape(entry.summary or entry.title, quote=False))
        elif entry.summary:
            fe.summary(entry.summary)
        if not rss:
            fe.author({"name": entry.author})
        fe.published(entry.published)
        fe.updated(entry.updated)
        for category in entry.categories:
            fe.category(term=category.term, label=category.label, scheme=category.scheme)
    return fg


_REFERENCE = re.compile(r"(&#x?[0-9A-Fa-f]+;)")


def _plain_text(element: Any, plain: str) -> bool:
    """Set ``element``'s text to ``plain`` as RSS and Atom carry plain text
    (:func:`syndication.render.entries.text_content`, the same bytes); returns whether it
    is written as HTML."""
    content, markup = text_content(plain)
    for child in list(element):
        element.remove(child)
    # lxml writes a character reference only from an entity node; "&amp;" is its own.
    chunks = _REFERENCE.split(content)
    element.text = chunks[0].replace("&amp;", "&")
    for index in range(1, len(chunks), 2):
        reference = Entity(chunks[index][1:-1])
        reference.tail = chunks[index + 1].replace("&amp;", "&")
        element.append(reference)
    return markup


def _atom_text(element: Any, plain: str) -> None:
    """Atom text (a title, summary or subtitle): declared ``type="html"`` when it reads
    as markup (see render.entries)."""
    if _plain_text(element, plain):
        element.set("type", "html")
    elif "type" in element.attrib:
        del element.attrib["type"]


def _sub(parent: Any, tag: str, **attributes: str) -> Any:
    """A child element, through feedgen's own helper."""
    return xml_elem(tag, parent, **attributes)


def render_json(document: FeedDocument) -> bytes:
    """A JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/)."""
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": document.title,
        "home_page_url": document.home_url,
        "feed_url": document.url,
        "description": document.description,
        "language": document.language,
        "authors": [{"name": document.author}],
    }
    if document.hub:
        feed["hubs"] = [{"type": "WebSub", "url": document.hub}]
    feed["items"] = [json_item(entry) for entry in document.entries]
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def render_opml(settings: Settings, keys: list[str]) -> bytes:
    """OPML 2.0 listing every feed of ``keys`` in every format, titled, by public URL.

    Every subscription is ``type="rss"``, whatever its format: OPML 2.0 defines that type
    for "a feed" and readers import nothing else (``atom``/``json`` are not OPML types).
    A feed's three formats sit in a grouping outline that carries only ``text``, as the
    spec has it for outlines without a type (the W3C validator warns otherwise). With
    several languages, those groups sit in one outline per language.
    """
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = f"{feed_title(settings, 'all')}: feeds"
    body = ElementTree.SubElement(root, "body")
    formats = ((RSS, "RSS 2.0"), (ATOM, "Atom"), (JSON, "JSON Feed"))
    parents: dict[str, ElementTree.Element] = {}
    for key in keys:
        title = feed_title(settings, key)
        parent = body
        if len(settings.languages.available) > 1:
            # Several languages (issue 30): one grouping outline per language, named
            # as the language calls itself; only ``text``, as for the feed groups.
            language = language_of(settings, key)
            if language not in parents:
                parents[language] = ElementTree.SubElement(
                    body, "outline", text=settings.languages.name(language)
                )
            parent = parents[language]
        group = ElementTree.SubElement(parent, "outline", text=title)
        for kind, label in formats:
            ElementTree.SubElement(
                group,
                "outline",
                type="rss",
                text=f"{title} ({label})",
                title=f"{title} ({label})",
                xmlUrl=document_url(settings, key, kind),
                htmlUrl=settings.site.base_url,
            )
    ElementTree.indent(root)
    return bytes(ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)) + b"\n"
