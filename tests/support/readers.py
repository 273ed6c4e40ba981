"""Judges of built feeds: the software readers use, and the W3C validator's rules (issue 26).

A test builds feeds through the real build, then asks each judge what a reader would see.
Every judge returns failures as sentences that name the client and what it saw, e.g.
"feedparser read title 'Seoul &amp; Tokyo' for smg-4106 in all/rss.xml, the store has
'Seoul & Tokyo'"; an empty list means the client read everything as the store holds it.

- :func:`feedparser_failures`: feedparser (a dependency already) on every RSS and Atom file;
  JSON Feed files, which feedparser 6.0 cannot read, by :func:`json_feed_failures`.
- :func:`npm_reader_failures`: rss-parser, @extractus/feed-extractor and
  @rowanmanning/feed-parser, three JavaScript reader libraries, installed with npm into
  ``test-artifacts/npm-readers`` on first use (git-ignored, as axe-core is for the
  browser tests) and run with node.
- :func:`w3c_failures`: the W3C Feed Validator's rules that concern what we write (plain
  text that must not read as HTML, plausible dates, archives that can be walked), re-stated
  from its source (``feedvalidator/validators.py`` class ``nonhtml``, ``implausible_*``;
  ``feedvalidator/feed.py`` ArchiveIncomplete, MissingCurrentInArchive), since the
  validator itself is not packaged.
  No warning is accepted.

The expected text is the newsroom's, decoded the way the store's text is (``html.unescape``:
newsrooms hand over ``&amp;``). A title that an HTML reader would show differently (it
holds a tag or a character reference) may reach feedparser as ``text/html`` whose text is
the title; every other title must reach it as ``text/plain``, exactly.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import feedparser
import lxml.html
import pytest
from lxml import etree

from syndication.core.articles import ArticleRecord
from tests.support.browser import ARTIFACTS

NPM_DIR = ARTIFACTS / "npm-readers"
NPM_PACKAGES = (
    "rss-parser@3.13.0",
    "@extractus/feed-extractor@8.0.3",
    "@rowanmanning/feed-parser@2.1.5",
)
ATOM = "{http://www.w3.org/2005/Atom}"
HISTORY = "{http://purl.org/syndication/history/1.0}"


@dataclass(frozen=True)
class Expected:
    """One article as the store holds it, in the terms a reader compares."""

    source_id: str
    title: str
    url: str
    summary: str
    published: datetime
    updated: datetime


def expected_articles(records: Iterable[ArticleRecord]) -> dict[str, Expected]:
    """The published ``records`` by source id, text decoded as the store's is."""
    return {
        r.source_id: Expected(
            source_id=r.source_id,
            title=html.unescape(r.title).strip(),
            url=r.url,
            summary=html.unescape(r.summary).strip(),
            published=r.published_at.astimezone(UTC),
            updated=max(r.updated_at, r.published_at).astimezone(UTC),
        )
        for r in records
        if r.status == "published"
    }


def html_text(value: str) -> str:
    """What a reader rendering ``value`` as HTML shows: its text."""
    if not value.strip():
        return value
    text: str = lxml.html.fragment_fromstring(value, create_parent="div").text_content()
    return text


def reads_as_markup(text: str) -> bool:
    """Whether an HTML reader would show ``text`` differently from the text itself."""
    return html_text(text) != text


def source_id(entry_id: str) -> str:
    """The source id at the end of a tag URI ``tag:<domain>,<date>:<source id>``."""
    return unquote(entry_id.split(":", 2)[-1])


_TAG = re.compile(r"tag:[a-z0-9.-]+,(\d{4}-\d{2}-\d{2}):[^\s]+")


def id_failures(client: str, name: str, entry_id: str, want: Expected) -> list[str]:
    """An entry id must be the article's tag URI (RFC 4151), dated the day (UTC) it was
    first published."""
    found = _TAG.fullmatch(entry_id)
    if found is None or found.group(1) != want.published.date().isoformat():
        day = want.published.date().isoformat()
        return [
            f"{client} read id {entry_id!r} for {want.source_id} in {name}, "
            f"expected tag:<domain>,{day}:<source id>"
        ]
    return []


def feed_files(root: Path) -> list[Path]:
    """Every RSS, Atom and JSON Feed file under ``root`` (archives included)."""
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".atom", ".json")
    )


# -- feedparser ------------------------------------------------------------------------------


def feedparser_failures(root: Path, expected: dict[str, Expected]) -> list[str]:
    """What feedparser read differently from the store, over every XML feed under ``root``."""
    failures: list[str] = []
    for path in feed_files(root):
        name = str(path.relative_to(root))
        if path.suffix == ".json":
            failures += json_feed_failures(name, path.read_bytes(), expected)
            continue
        parsed = feedparser.parse(path.read_bytes())
        if parsed.bozo:
            failures.append(f"feedparser could not read {name}: {parsed.bozo_exception}")
        atom = not name.endswith("rss.xml")
        for entry in parsed.entries:
            failures += _feedparser_entry(name, entry, expected, atom=atom)
    return failures


def _feedparser_entry(
    name: str, entry: Any, expected: dict[str, Expected], *, atom: bool
) -> list[str]:
    sid = source_id(entry.id)
    want = expected.get(sid)
    if want is None:
        return [f"feedparser read an entry {entry.id!r} in {name} that the store does not have"]
    where = f"for {sid} in {name}"
    failures = id_failures("feedparser", name, entry.id, want)
    if entry.title_detail.type != "text/html":
        if entry.title != want.title:
            failures.append(
                f"feedparser read title {entry.title!r} {where}, the store has {want.title!r}"
            )
    elif not reads_as_markup(want.title):
        # A reader honouring the type renders it: "&amp;" would show as written.
        failures.append(
            f"feedparser read title {entry.title!r} as HTML {where}, "
            f"the store has the plain text {want.title!r}"
        )
    elif html_text(entry.title) != want.title:
        failures.append(
            f"feedparser read title {entry.title!r} (HTML) {where}, the store has {want.title!r}"
        )
    if entry.get("link") != want.url:
        failures.append(
            f"feedparser read link {entry.get('link')!r} {where}, the store has {want.url!r}"
        )
    failures += _date(
        "feedparser", "published", entry.get("published_parsed"), want.published, where
    )
    if atom:
        failures += _date("feedparser", "updated", entry.get("updated_parsed"), want.updated, where)
    summary = want.summary or ("" if atom else want.title)
    seen = entry.get("summary", "")
    if entry.get("summary_detail", {}).get("type") == "text/html":
        seen = html_text(seen)
    if seen != summary:
        failures.append(f"feedparser read summary {seen!r} {where}, the store has {summary!r}")
    return failures


def _date(client: str, field: str, seen: Any, want: datetime, where: str) -> list[str]:
    got = datetime(*seen[:6]).replace(tzinfo=UTC) if seen else None
    if got != want.replace(microsecond=0):
        return [f"{client} read {field} {got} {where}, the store has {want}"]
    return []


def json_feed_failures(name: str, data: bytes, expected: dict[str, Expected]) -> list[str]:
    """A JSON Feed 1.1 file against the store (feedparser 6.0 does not read JSON Feed)."""
    failures: list[str] = []
    for item in json.loads(data)["items"]:
        sid = source_id(item["id"])
        want = expected.get(sid)
        if want is None:
            failures.append(f"JSON Feed {name} has an item {item['id']!r} the store does not have")
            continue
        seen = {
            "title": item["title"],
            "url": item["url"],
            "summary": item.get("summary", ""),
            "date_published": item["date_published"],
            "date_modified": item["date_modified"],
        }
        wanted = {
            "title": want.title,
            "url": want.url,
            "summary": want.summary,
            "date_published": want.published.isoformat().replace("+00:00", "Z"),
            "date_modified": want.updated.isoformat().replace("+00:00", "Z"),
        }
        failures += id_failures(f"JSON Feed {name}", name, item["id"], want)
        failures += [
            f"JSON Feed {name} has {field} {seen[field]!r} for {sid}, the store has {value!r}"
            for field, value in wanted.items()
            if seen[field] != value
        ]
    return failures


# -- JavaScript reader libraries ---------------------------------------------------------

# Prints, for every file named on the command line, what each library read of each entry.
_NODE_SCRIPT = r"""
const fs = require('fs');
const path = require('path');
const prefix = path.join(process.argv[1], 'node_modules');
const Parser = require(path.join(prefix, 'rss-parser'));
const extractor = require(path.join(prefix, '@extractus', 'feed-extractor'));
const rowanmanning = require(path.join(prefix, '@rowanmanning', 'feed-parser'));
(async () => {
  const out = {};
  for (const file of process.argv.slice(2)) {
    const text = fs.readFileSync(file, 'utf8');
    const seen = { 'rss-parser': [], 'feed-extractor': [], 'feed-parser': [] };
    if (!file.endsWith('.json')) {
      const feed = await new Parser().parseString(text);
      seen['rss-parser'] = feed.items.map(i => ({
        id: i.id || i.guid, title: i.title, link: i.link, date: i.isoDate }));
      seen['rss-parser-channel'] = feed.title;
      try {
        const fx = extractor.extractFromXml(text, { normalization: true });
        seen['feed-extractor'] = fx.entries.map(e => ({ id: e.id, title: e.title, link: e.link }));
      } catch (error) {
        seen['feed-extractor-error'] = error.message;
      }
      const fp = rowanmanning.parseFeed(text);
      seen['feed-parser'] = fp.items.map(i => ({ id: i.id, title: i.title, link: i.url }));
    } else {
      const fx = extractor.extractFromJson(JSON.parse(text), { normalization: true });
      seen['feed-extractor'] = fx.entries.map(e => ({ id: e.id, title: e.title, link: e.link }));
    }
    out[file] = seen;
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def npm_readers() -> Path:
    """The folder the reader libraries are installed in (npm on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the reader-library checks need node and npm (apt-get install npm)")
    if not all((NPM_DIR / "node_modules" / p.rpartition("@")[0]).is_dir() for p in NPM_PACKAGES):
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(NPM_DIR), "--no-save", "--no-audit", "--no-fund"]
            + list(NPM_PACKAGES),
            check=True,
            capture_output=True,
            timeout=300,
        )
    return NPM_DIR


def npm_reader_failures(
    root: Path, expected: dict[str, Expected], channel_titles: dict[str, str]
) -> list[str]:
    """What rss-parser, feed-extractor and @rowanmanning/feed-parser read differently
    from the store.

    feed-extractor and feed-parser decode a title's character references after the XML
    parser has: every title must reach them exactly as stored. rss-parser shows the
    parsed text whatever an Atom ``type`` says: a title that reads as markup is written
    HTML-escaped (Atom says ``type="html"``), so that it never comes alive in a reader
    that renders titles, and rss-parser then shows that HTML ("&lt;b>"), which is what
    is expected of it; every other title exactly as stored (see render/entries.py).
    ``channel_titles`` maps a feed file (relative to ``root``) to its title.
    """
    folder = npm_readers()
    files = feed_files(root)
    result = subprocess.run(
        ["node", "-e", _NODE_SCRIPT, str(folder), *map(str, files)],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, f"the reader libraries failed: {result.stderr.decode()}"
    seen_by_file: dict[str, dict[str, Any]] = json.loads(result.stdout)
    failures: list[str] = []
    for path in files:
        name = str(path.relative_to(root))
        rss = name.endswith("rss.xml")
        seen = seen_by_file[str(path)]
        if rss and seen.get("rss-parser-channel") != channel_titles.get(name):
            failures.append(
                f"rss-parser read channel title {seen.get('rss-parser-channel')!r} in {name}, "
                f"the settings have {channel_titles.get(name)!r}"
            )
        # feed-extractor refuses an Atom feed without entries ("Unrecognized feed
        # format"), valid as it is (RFC 4287 requires none): only its own limit.
        refused = seen.get("feed-extractor-error")
        if refused and seen["rss-parser"]:
            failures.append(f"feed-extractor could not read {name}: {refused}")
        for client in ("rss-parser", "feed-extractor", "feed-parser"):
            for entry in seen[client]:
                failures += _npm_entry(client, name, entry, expected)
    return failures


def _npm_entry(
    client: str, name: str, entry: dict[str, Any], expected: dict[str, Expected]
) -> list[str]:
    sid = source_id(entry["id"])
    want = expected.get(sid)
    if want is None:
        return [f"{client} read an entry {entry['id']!r} in {name} the store does not have"]
    title = want.title
    if client == "rss-parser" and not name.endswith(".json") and reads_as_markup(title):
        # It shows the parsed text, whatever Atom's type says: the HTML level, "&lt;b>".
        title = title.replace("&", "&amp;").replace("<", "&lt;")
    where = f"for {sid} in {name}, the store has"
    failures = id_failures(client, name, entry["id"], want)
    if entry["title"] != title:
        failures.append(f"{client} read title {entry['title']!r} {where} {want.title!r}")
    if entry["link"] != want.url:
        failures.append(f"{client} read link {entry['link']!r} {where} {want.url!r}")
    if "date" in entry:
        published = want.published.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if entry["date"] != published:
            failures.append(f"{client} read date {entry['date']!r} {where} {published}")
    return failures


# -- the W3C Feed Validator's rules ----------------------------------------------------------

_END_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&(#?\w+)")
_CHARACTER_DATA = re.compile(r"&#[x0-9]|<[/a-zA-Z]")


def _nonhtml(text: str, raw_lines: list[str], *, rss: bool) -> str:
    """The validator's ``nonhtml`` check on a decoded text: a warning's name, or ""."""
    tags = _END_TAG.findall(text)
    if tags:
        return f"ContainsHTML (end tag </{tags[0]}>)"
    profile = any("&#x" in line for line in raw_lines)  # RSS-profile hex references
    entities = _ENTITY.findall(text)
    if entities:
        for name in entities:
            if name in name2codepoint or name == "apos" or not name.isalpha():
                if not profile:
                    return f"ContainsHTML (&{name};)"
        return ""
    if rss and _CHARACTER_DATA.search(text) and not profile:
        return "CharacterData"
    return ""


def w3c_failures(root: Path, newest: datetime) -> list[str]:
    """The validator's warnings and errors about text, dates and archives, by file.

    A date is implausible before 1990 or after ``newest`` (the newest date in the data;
    the validator takes tomorrow, which would make the test depend on the day it runs).
    """
    failures: list[str] = []
    for path in feed_files(root):
        if path.suffix == ".json":
            continue
        name = str(path.relative_to(root))
        data = path.read_bytes()
        lines = data.decode().split("\n")
        tree = etree.fromstring(data)
        for element, rss in _plain_text_elements(tree):
            text = "".join(element.itertext())
            start = element.sourceline
            warning = _nonhtml(text, lines[start - 1 : start + text.count("\n")], rss=rss)
            if warning:
                failures.append(f"W3C validator: {warning} in {name} line {start}: {text!r}")
        for element in _declared_html_text(tree):
            # Plain text declared type="html" (it reads as markup): escaped, so the
            # validator's safeHtml check, and every reader rendering it, finds no element.
            text = "".join(element.itertext())
            live = lxml.html.fragment_fromstring(text, create_parent="div").xpath("./*")
            if live:
                failures.append(
                    f"W3C validator: <{live[0].tag}> is markup in {name} line "
                    f"{element.sourceline}: {text!r}"
                )
        failures += _dates(name, tree, newest)
        if tree.find(f"{HISTORY}archive") is not None:
            rels = {link.get("rel") for link in tree.findall(f"{ATOM}link")}
            complete = tree.find(f"{HISTORY}complete") is not None
            if not rels & {"prev-archive", "next-archive"} and not complete:
                failures.append(f"W3C validator: ArchiveIncomplete in {name}")
            if "current" not in rels and not complete:
                failures.append(f"W3C validator: MissingCurrentInArchive in {name}")
    return failures


def _plain_text_elements(tree: Any) -> list[tuple[Any, bool]]:
    if tree.tag == "rss":
        channel = tree.find("channel")
        found = [channel.find("title"), channel.find("description")]
        found += channel.findall("item/title")
        return [(e, True) for e in found if e is not None]
    # Atom text (type="text", the default): "should not contain HTML unless declared".
    texts = [f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}summary"]
    found = [e for tag in texts for e in tree.iter(tag) if e.get("type", "text") == "text"]
    return [(e, False) for e in found]


def _declared_html_text(tree: Any) -> list[Any]:
    if tree.tag == "rss":
        return []
    texts = [f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}summary"]
    return [e for tag in texts for e in tree.iter(tag) if e.get("type") == "html"]


def _dates(name: str, tree: Any, newest: datetime) -> list[str]:
    moments: list[tuple[str, datetime]] = []
    if tree.tag == "rss":
        for tag in ("lastBuildDate", "pubDate"):
            for element in tree.iter(tag):
                moments.append((tag, parsedate_to_datetime(element.text)))
    else:
        for tag in ("updated", "published"):
            for element in tree.iter(f"{ATOM}{tag}"):
                moments.append((tag, datetime.fromisoformat(element.text)))
    earliest = datetime(1990, 1, 1, tzinfo=UTC)
    latest = newest + timedelta(days=1)
    return [
        f"W3C validator: ImplausibleDate {tag} {moment.isoformat()} in {name}"
        for tag, moment in moments
        if not earliest <= moment <= latest
    ]
