"""An upstream feed: RSS 2.0 or Atom through feedparser, JSON Feed 1.x read directly.

One conditional GET per poll: an unchanged feed answers ``304`` (or the same bytes again,
which change nothing). Entries map through :func:`syndication.core.source_items.feed_entry`.
A feed only shows its newest entries and cannot say what was deleted, so nothing is
ever retracted by inference.

Dates: an entry's published time, else its updated time, else its creation time
(``dcterms:created``, Atom 0.3 ``<created>``). An entry with none of them, where the format
lets it be undated (RSS 2.0's ``pubDate`` and JSON Feed's ``date_published`` are
optional), is dated when this source first saw it: that time is kept in the source's memo
for as long as the feed lists the entry, so later polls give it the same date. An Atom
1.0 entry must carry ``<updated>`` (RFC 4287 §4.1.2): an undated one is rejected.

feedparser 6.0 has no JSON Feed parser, so a ``application/feed+json`` answer (or a body
that is a JSON object with a jsonfeed.org ``version``) is turned into feedparser-shaped
entries here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from syndication.core.language_tags import LanguageTagError, language_tag
from syndication.core.source_items import ItemRejection, entry_time, feed_entry
from syndication.edges.http_client import FetchError, HttpClient
from syndication.errors import RecordError
from syndication.sources.base import Batch, PollContext, unexpected, with_validators

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
FEED = "feed"
FIRST_SEEN = "first_seen"  # memo: upstream id of an undated entry -> when first seen
# The key of an entry whose JSON Feed item could not be read; its value says why.
UNREADABLE = "_unreadable"


def poll(context: PollContext, client: HttpClient) -> Iterator[Batch]:
    source = context.source
    validators = None if context.full else context.state.validators(FEED)
    answer = client.get(source.url, validators=validators, accept=ACCEPT)
    if answer.not_modified:
        return
    parsed = parse_feed(answer.body, answer.headers.get("content-type", ""), answer.url)
    entries, language = parsed.entries, parsed.language
    batch = Batch(fetched=len(entries), warnings=[parsed.warning] if parsed.warning else [])
    seen: set[str] = set()
    known_first_seen: dict[str, str] = dict(context.state.memo.get(FIRST_SEEN, {}))
    first_seen: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            if entry.get(UNREADABLE):
                raise RecordError(*entry[UNREADABLE])
            when = None
            if parsed.undated_allowed and entry_time(entry) is None:
                key = str(entry.get("id") or entry.get("guid") or entry.get("link") or "")
                if key.strip():
                    first_seen[key] = known_first_seen.get(key) or context.now.isoformat()
                    when = datetime.fromisoformat(first_seen[key])
            record = feed_entry(
                entry,
                source=source.name,
                rules=context.rules,
                language=_entry_language(entry, _language(language, context.language)),
                first_seen=when,
            )
        except RecordError as exc:
            item = str(entry.get("id") or entry.get("link") or f"entry {number}")
            batch.rejections.append(ItemRejection(source.name, item, exc.field, exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - one entry must not cost the feed
            item = str(entry.get("id") or entry.get("link") or f"entry {number}")
            batch.rejections.append(ItemRejection(source.name, item, "", unexpected(exc)))
            continue
        if record.source_id in seen:
            continue  # a feed listing an entry twice: the first (newest) one stands
        seen.add(record.source_id)
        batch.records.append(record)
    memo = with_validators(dict(context.state.memo), FEED, answer.validators)
    memo.pop(FIRST_SEEN, None)
    if first_seen:
        memo[FIRST_SEEN] = dict(sorted(first_seen.items()))
    batch.memo = memo
    yield batch


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's entries (feedparser-shaped), its language, and whether its format lets an
    entry be undated (RSS, JSON Feed; not Atom 1.0)."""

    entries: list[Mapping[str, Any]]
    language: str
    undated_allowed: bool
    warning: str = ""


def parse_feed(body: bytes, content_type: str, url: str) -> ParsedFeed:
    """The feed in ``body``; :class:`FetchError` if it is not a feed."""
    stripped = body.lstrip()
    if "json" in content_type or stripped.startswith(b"{"):
        entries, language = _json_feed(body, url)
        return ParsedFeed(entries, language, undated_allowed=True)
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    version = str(parsed.get("version") or "")
    if not version:
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise FetchError(f"GET {url}: not a feed ({reason})")
    language = str(parsed.feed.get("language", "") or "")
    entries = list(parsed.entries)
    warning = ""
    if parsed.get("bozo") and not entries:
        # feedparser recovers what it can from broken XML; when that is nothing, say so
        # rather than report a quiet "0 fetched".
        reason = parsed.get("bozo_exception") or "not well-formed"
        warning = f"GET {url}: the feed is broken ({reason}) and no entry could be read"
    return ParsedFeed(entries, language, undated_allowed=version != "atom10", warning=warning)


def _json_feed(body: bytes, url: str) -> tuple[list[Mapping[str, Any]], str]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise FetchError(f"GET {url}: not a JSON Feed ({exc})") from exc
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise FetchError(f"GET {url}: not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FetchError(f"GET {url}: a JSON Feed needs an items array")
    entries: list[Mapping[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        why: tuple[str, str]
        try:
            entries.append(_json_item(item))
            continue
        except RecordError as exc:
            why = (exc.field, exc.reason)
        except Exception as exc:  # noqa: BLE001 - judged alone: one rejection in poll()
            why = ("", unexpected(exc))
        entries.append({"id": str(item.get("id", "")), UNREADABLE: why})
    return entries, str(data.get("language", "") or "")


def _json_item(item: dict[str, Any]) -> dict[str, Any]:
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    entry: dict[str, Any] = {
        "id": str(item.get("id", "") or ""),
        "link": item.get("url"),
        "title": item.get("title", ""),
        "summary": item.get("summary", "") or "",
        "tags": [{"term": t} for t in _list(item.get("tags")) if isinstance(t, str)],
        "author": str(authors[0].get("name", ""))
        if authors and isinstance(authors[0], dict)
        else "",
        "published_parsed": _struct(item.get("date_published")),
        "updated_parsed": _struct(item.get("date_modified")),
    }
    if item.get("content_html"):
        entry["content"] = [{"value": item["content_html"]}]
    elif item.get("content_text") and not entry["summary"]:
        entry["summary"] = item["content_text"]
    if isinstance(item.get("image"), str):
        entry["image"] = {"href": item["image"]}
    if isinstance(item.get("language"), str):
        entry["language"] = item["language"]  # JSON Feed 1.1's item language
    return entry


def _list(value: Any) -> list[Any]:
    """A JSON array, or nothing: ``"tags": 5`` is no tags, not a failed feed."""
    return value if isinstance(value, list) else []


def _struct(value: Any) -> time.struct_time | None:
    """RFC 3339 (JSON Feed's dates) to the UTC struct_time feedparser would give."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC).timetuple()
    except OverflowError as exc:  # 9999-12-31T23:59:59-14:00: past year 9999 in UTC
        raise RecordError("date_published", f"{value!r} is out of range") from exc


def _entry_language(entry: Mapping[str, Any], feed: str) -> str:
    """An entry's own language when it declares one (issue 30), else ``feed``'s: a JSON
    Feed item's ``language``, an Atom entry's ``xml:lang`` (feedparser gives it on the
    entry's title and content, inherited from the feed when the entry has none)."""
    declared = dict.get(entry, "language") if isinstance(entry, dict) else None
    for detail in (entry.get("title_detail"), *(entry.get("content") or [])[:1]):
        if not declared and isinstance(detail, Mapping):
            declared = detail.get("language")
    return _language(declared, feed) if isinstance(declared, str) else feed


def _language(declared: str, site: str) -> str:
    """The feed's own language (RSS ``<language>``, JSON Feed ``language``) for its
    items, or the site's when it declares none or one that is not a BCP 47 tag ("English"):
    a feed-wide slip must not reject every item of the feed."""
    try:
        return language_tag(declared.strip()) if declared.strip() else site
    except LanguageTagError:
        return site
