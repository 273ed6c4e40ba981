"""One entry to the bytes it has inside a document, per format, without feedgen.

A document is assembled from these fragments (:func:`syndication.render.feeds.assemble`),
so an entry is serialised once per article version instead of once per document it
appears in (issue 16). The bytes are exactly those feedgen 1.0 writes for the same entry
inside a whole document with ``pretty=True``: the elements in feedgen's order
(``FeedEntry.atom_entry``/``rss_entry``, then our entry extension), at the depth and with
the namespace prefixes of the real document, escaped as libxml2 escapes text and
attribute values (titles and summaries as render.feeds writes them: see "plain text"
below). They are written as text: a full build makes one for every article, and
building an lxml tree to cut an entry out of its serialisation cost more than
everything else about the entry. tests/render/test_entries.py holds the fragments to
feedgen's documents byte for byte, with every character that is escaped somewhere.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import escape, unescape
from typing import Any

from syndication.core.entries import Entry
from syndication.core.feeds import ATOM, JSON, RSS

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Part of every fragment's cache key: change it whenever the bytes an entry renders to
# change (layout here, sanitising rules in core.entries), so no old fragment is reused.
VERSION = "entries-6"
ATOM_PREFIX = "atom"  # RSS documents declare Atom's namespace under this prefix (feedgen)


def fragment(entry: Entry, kind: str, language: str) -> bytes:
    """``entry`` as it appears in a document of ``kind`` (``atom``, ``rss``, ``json``) in
    ``language`` (the document's: an entry in another language says so, see
    :func:`own_language`).

    XML fragments are whole lines (indentation included, ending in a newline); JSON
    fragments are an object indented for the ``items`` array, joined with ``",\\n    "``.
    Atom archives use the ``atom`` fragment: an entry is written the same in both.
    """
    own = own_language(entry, language)
    if kind == ATOM:
        return _atom(entry, own)
    if kind == RSS:
        return _rss(entry, own)
    if kind == JSON:
        return _indented(json_item(entry), "    ").encode()
    raise ValueError(f"unknown entry format {kind!r}")


def own_language(entry: Entry, language: str) -> str:
    """``entry``'s language when it is not the document's ``language``, else "".

    Atom says it with ``xml:lang`` on the entry (RFC 4287 section 2: inherited from the
    feed's otherwise), RSS 2.0 items have no language element of their own: Dublin Core's
    ``dc:language`` (the namespace RSS already declares for ``dc:creator``), which
    feedparser reads as the item's ``language``. JSON Feed 1.1 items always carry
    ``language``. Tags compare without case (RFC 5646 section 2.1.1)."""
    return entry.language if entry.language.lower() != language.lower() else ""


def _atom(entry: Entry, own: str) -> bytes:
    parts = [
        f'  <entry xml:lang="{_attribute(own)}">\n    <id>' if own else "  <entry>\n    <id>",
        _text(entry.id),
        "</id>\n    ",
        _atom_text("title", entry.title),
        "\n    <updated>",
        entry.updated.isoformat(),
        "</updated>\n",
    ]
    if entry.author:
        parts += ["    <author>\n      <name>", _text(entry.author), "</name>\n    </author>\n"]
    parts += ['    <content type="html">', _text(entry.content_html), "</content>\n"]
    if entry.summary:
        parts += ["    ", _atom_text("summary", entry.summary), "\n"]
    for category in entry.categories:
        parts += ['    <category term="', _attribute(category.term), '"']
        if category.scheme:
            parts += [' scheme="', _attribute(category.scheme), '"']
        if category.label:
            parts += [' label="', _attribute(category.label), '"']
        parts.append("/>\n")
    parts += [
        "    <published>",
        entry.published.isoformat(),
        '</published>\n    <link href="',
        _attribute(entry.url),
        '" rel="alternate" type="text/html"/>\n',
    ]
    parts += _translation_links(entry, "    <link")
    if entry.image is not None:
        url, kind = _attribute(entry.image.url), _attribute(entry.image.type)
        parts.append(f'    <link href="{url}" rel="enclosure" type="{kind}"/>\n')
    parts.append("  </entry>\n")
    return "".join(parts).encode()


# The media type of a translation link. Readers pick an entry's link among its
# ``alternate`` ones differently: gofeed, rss-parser and feed-extractor take the first,
# feedparser the last whose type is exactly ``text/html`` (or XHTML), in RSS items too
# (an ``atom:link`` overrides ``<link>``). With the charset parameter (RFC 2854; article
# pages are UTF-8 as the import is) a translation is still an HTML alternate by RFC 4287,
# and every one of them keeps the article's own URL as the entry's link
# (tests/render/test_readers.py reads a multilingual newsroom with all four).
TRANSLATION_TYPE = "text/html; charset=utf-8"


def _translation_links(entry: Entry, opening: str) -> list[str]:
    """An ``alternate`` link with ``hreflang`` to each translation (issue 30; RFC 4287
    section 4.2.7.4, and the same ``atom:link`` in an RSS item)."""
    return [
        f'{opening} href="{_attribute(t.url)}" rel="alternate" type="{TRANSLATION_TYPE}"'
        f' hreflang="{_attribute(t.language)}"/>\n'
        for t in entry.translations
    ]


# What libxml2 escapes when it serialises text and attribute values (the strings are
# XML-safe already: core.entries removes what XML 1.0 cannot carry).
def _text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;") if "\r" in value else value


def _attribute(value: str) -> str:
    value = _text(value).replace('"', "&quot;")
    return value.replace("\n", "&#10;").replace("\t", "&#9;")


# -- plain text (issue 26 item 1) ----------------------------------------------------------
#
# An RSS item's <description> is HTML to every reader (feedparser, the W3C validator's
# safeHtml): the plain-text summary is HTML-escaped into it (issue 15 item 8). An RSS
# <title> (and the channel's <title> and <description>) is not said to be text or HTML,
# and readers split: rss-parser and most apps show the parsed text; feedparser (and the
# readers built on it) render it as HTML when it has an end tag or an entity, and
# feed-extractor decodes character references once more. Plain text that reads the same
# either way is written once escaped, with ``&``, ``<`` and ``>`` as the hexadecimal
# character references the RSS Advisory Board's profile asks for in plain text
# (https://www.rssboard.org/rss-profile#data-types-characterdata): "Seoul & Tokyo" is
# "Seoul & Tokyo" everywhere (issue 15 item 8's escaping of every title showed
# "Seoul &amp; Tokyo" to every reader), and the W3C validator, seeing a hexadecimal
# reference on the line, takes the text as character data instead of warning "title
# should not contain HTML". Atom says which it is: such text is ``type="text"``.
#
# Text an HTML reader would take as markup (a tag, a comment, a character reference) is
# HTML-escaped first, so markup never comes alive in a reader that renders titles (the
# security fix of issue 15 item 8), and Atom declares it ``type="html"``
# (:func:`text_content`). The HTML level escapes ``&`` and ``<`` as ``&amp;``/``&lt;``,
# and the XML level writes that ``&`` as ``&amp;``: a named reference, which the readers
# built on fast-xml-parser (feed-extractor) decode in their first pass before decoding
# the HTML level, so they show the text as stored, as feedparser does. ``>`` is written
# as the hexadecimal reference, and where the text has none, its first other character
# is, so the line always carries the RSS profile's mark and the W3C validator reads no
# HTML in RSS (an Atom ``type="html"`` title is HTML by declaration). rss-parser, which
# shows the parsed text whatever Atom's type says, then shows such a title escaped
# ("&lt;b>"): no bytes give the literal "<b>" to a reader that shows the parsed text and
# keep it dead in one that renders it. Issue 26 kept Atom titles ``type="text"`` for a
# while for rss-parser's sake; the W3C validator then warned on every title holding an
# end tag ("</b>"), and the issue asks for none.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&#")
REFERENCES = {"&": "&#x26;", "<": "&#x3C;", ">": "&#x3E;"}
_SPECIAL = re.compile("[&<>]")
_MARKUP_LEVELS = {"&": "&amp;amp;", "<": "&amp;lt;", ">": "&#x3E;", "\r": "&#13;"}


def reads_as_markup(plain: str) -> bool:
    """Whether an HTML reader would find markup in ``plain`` (a tag, an end tag, a
    comment or declaration, a character reference)."""
    return _MARKUP.search(plain) is not None or ("&" in plain and unescape(plain) != plain)


def _references(text: str) -> str:
    value = _SPECIAL.sub(lambda m: REFERENCES[m.group()], text)
    return value.replace("\r", "&#13;") if "\r" in value else value


def _markup_text(plain: str) -> str:
    pieces: list[str] = []
    marked = ">" in plain
    for char in plain:
        level = _MARKUP_LEVELS.get(char)
        if level is not None:
            pieces.append(level)
        elif marked:
            pieces.append(char)
        else:
            pieces.append(f"&#x{ord(char):X};")
            marked = True
    return "".join(pieces)


def text_content(plain: str) -> tuple[str, bool]:
    """``plain`` as the character data of an RSS or Atom text element (raw XML), and
    whether it is written as HTML (Atom then says ``type="html"``); see above."""
    if reads_as_markup(plain):
        return _markup_text(plain), True
    return _references(plain), False


def _atom_text(tag: str, plain: str) -> str:
    content, markup = text_content(plain)
    kind = ' type="html"' if markup else ""
    return f"<{tag}{kind}>{content}</{tag}>"


def _rss(entry: Entry, own: str) -> bytes:
    parts = [
        "    <item>\n      <title>",
        text_content(entry.title)[0],
        "</title>\n      <description>",
        _text(escape(entry.summary or entry.title, quote=False)),
        "</description>\n      <content:encoded>",
        _text(entry.content_html),
        '</content:encoded>\n      <guid isPermaLink="false">',
        _text(entry.id),
        "</guid>\n",
    ]
    for category in entry.categories:
        parts.append("      <category")
        if category.scheme:
            parts += [' domain="', _attribute(category.scheme), '"']
        parts += [">", _text(category.label), "</category>\n"]
    parts += [
        "      <pubDate>",
        rfc2822(entry.published),
        "</pubDate>\n      <link>",
        _text(entry.url),
        "</link>\n      <dc:creator>",
        _text(entry.author),
        "</dc:creator>\n",
    ]
    if own:
        parts += ["      <dc:language>", _text(own), "</dc:language>\n"]
    parts += _translation_links(entry, f"      <{ATOM_PREFIX}:link")
    if entry.image is not None:
        # RSS 2.0 requires a length; 0 is the convention for "not known".
        url, kind = _attribute(entry.image.url), _attribute(entry.image.type)
        parts.append(f'      <enclosure url="{url}" length="0" type="{kind}"/>\n')
    parts.append("    </item>\n")
    return "".join(parts).encode()


# json.dumps with ``indent`` falls back to the json module's pure-Python encoder, which
# cost more than the rest of a JSON Feed item; values are encoded by the C one here and
# laid out as ``indent=2`` lays them out (tests compare with render.feeds.render_json).
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _indented(value: Any, indent: str) -> str:
    """``value`` as ``json.dumps(value, ensure_ascii=False, indent=2)`` writes it, every
    line after the first starting with ``indent`` more."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        members = (
            f"{inner}{_ENCODE(key)}: {_indented(item, inner)}" for key, item in value.items()
        )
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    if isinstance(value, list) and value:
        return (
            "[\n"
            + ",\n".join(inner + _indented(item, inner) for item in value)
            + "\n"
            + indent
            + "]"
        )
    return _ENCODE(value)


def rfc2822(moment: datetime) -> str:
    """feedgen's ``formatRFC2822`` (``strftime`` in the C locale) without touching the
    process locale, which feedgen sets and resets around every date."""
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        + moment.strftime("%Y %H:%M:%S %z")
    )


def rfc3339(moment: datetime) -> str:
    """A UTC timestamp ending in ``Z``, as JSON Feed and the tombstones carry it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_item(entry: Entry) -> dict[str, Any]:
    """A JSON Feed 1.1 item (https://www.jsonfeed.org/version/1.1/#items-a-name-items-a)."""
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "content_html": entry.content_html,
    }
    if entry.summary:
        item["summary"] = entry.summary
    if entry.image is not None:
        item["image"] = entry.image.url
        # As RSS and Atom enclose it: readers list attachments, not the "image" key.
        item["attachments"] = [{"url": entry.image.url, "mime_type": entry.image.type}]
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    item["authors"] = [{"name": entry.author}]
    item["tags"] = [category.label for category in entry.categories]
    item["language"] = entry.language
    if entry.translations:
        # A JSON Feed extension (names starting with "_" are the publisher's, section
        # "Extensions"): the story in other languages, as Atom's hreflang links say it.
        item["_translations"] = [{"language": t.language, "url": t.url} for t in entry.translations]
    return item
