"""One entry to the bytes it has inside a document, per format, without feedgen.

A document is assembled from these fragments (:func:`syndication.render.feeds.assemble`),
so an entry is serialised once per article version instead of once per document it
appears in (issue 16). The bytes are exactly those feedgen 1.0 writes for the same entry
inside a whole document with ``pretty=True``: the elements are built in feedgen's order
(``FeedEntry.atom_entry``/``rss_entry``, then our entry extension) under a parent at the
depth and with the namespace prefixes of the real document, and cut out of that parent's
pretty-printed serialisation. tests/render/test_entries.py compares both renderers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from lxml import etree

from syndication.core.feeds import ATOM, JSON, RSS, Entry

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
# feedgen's RSS root declares atom and content; our feed extension adds dc.
_RSS_NSMAP = {"atom": ATOM_NS, "content": CONTENT_NS, "dc": DC_NS}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Part of every fragment's cache key: change it whenever the bytes an entry renders to
# change (layout here, sanitising rules in core.feeds), so no old fragment is reused.
VERSION = "entries-1"


def fragment(entry: Entry, kind: str) -> bytes:
    """``entry`` as it appears in a document of ``kind`` (``atom``, ``rss``, ``json``).

    XML fragments are whole lines (indentation included, ending in a newline); JSON
    fragments are an object indented for the ``items`` array, joined with ``",\\n    "``.
    Atom archives use the ``atom`` fragment: an entry is written the same in both.
    """
    if kind == ATOM:
        return _atom(entry)
    if kind == RSS:
        return _rss(entry)
    if kind == JSON:
        text = json.dumps(json_item(entry), ensure_ascii=False, indent=2)
        return text.replace("\n", "\n    ").encode()
    raise ValueError(f"unknown entry format {kind!r}")


def _cut(root: Any, open_tag: bytes, close_tag: bytes) -> bytes:
    data: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    start = data.index(b"\n", data.index(open_tag)) + 1
    return data[start : data.rindex(close_tag)]


def _atom(entry: Entry) -> bytes:
    # Written as text rather than through lxml: the Atom fragment is the one a full build
    # makes for every article, and building a tree to cut one entry out of its
    # serialisation cost more than the rest of the entry (issue 16). The escaping is
    # libxml2's; tests/render/test_entries.py holds the bytes to what feedgen writes,
    # awkward strings included.
    parts = [
        "  <entry>\n    <id>",
        _text(entry.id),
        "</id>\n    <title>",
        _text(entry.title),
        "</title>\n    <updated>",
        entry.updated.isoformat(),
        "</updated>\n",
    ]
    if entry.author:
        parts += ["    <author>\n      <name>", _text(entry.author), "</name>\n    </author>\n"]
    parts += ['    <content type="html">', _text(entry.content_html), "</content>\n"]
    if entry.summary:
        parts += ["    <summary>", _text(entry.summary), "</summary>\n"]
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
    if entry.image is not None:
        parts += [
            '    <link href="',
            _attribute(entry.image.url),
            '" rel="enclosure" type="',
            _attribute(entry.image.type),
            '"/>\n',
        ]
    parts.append("  </entry>\n")
    return "".join(parts).encode()


# What libxml2 escapes when it serialises text and attribute values (the strings are
# XML-safe already: core.feeds removes what XML 1.0 cannot carry).
def _text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;") if "\r" in value else value


def _attribute(value: str) -> str:
    value = _text(value).replace('"', "&quot;")
    return value.replace("\n", "&#10;").replace("\t", "&#9;")


def _rss(entry: Entry) -> bytes:
    root = etree.Element("rss", nsmap=_RSS_NSMAP)
    channel = etree.SubElement(root, "channel")
    element = etree.SubElement(channel, "item")
    sub = etree.SubElement
    # As render.feeds does for RSS: plain text escaped once more (issue 15 item 8).
    sub(element, "title").text = escape(entry.title, quote=False)
    sub(element, "description").text = escape(entry.summary or entry.title, quote=False)
    sub(element, f"{{{CONTENT_NS}}}encoded").text = entry.content_html
    sub(element, "guid", isPermaLink="false").text = entry.id
    for category in entry.categories:
        node = sub(element, "category")
        node.text = category.label
        if category.scheme:
            node.set("domain", category.scheme)
    sub(element, "pubDate").text = rfc2822(entry.published)
    sub(element, "link").text = entry.url
    sub(element, f"{{{DC_NS}}}creator").text = entry.author
    if entry.image is not None:
        sub(element, "enclosure", url=entry.image.url, length="0", type=entry.image.type)
    return _cut(root, b"<channel", b"  </channel>")


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
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    item["authors"] = [{"name": entry.author}]
    item["tags"] = [category.label for category in entry.categories]
    item["language"] = entry.language
    return item
