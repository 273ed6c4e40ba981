"""An upstream feed: RSS 2.0 or Atom through feedparser, JSON Feed 1.x read directly.

One conditional GET per poll: an unchanged feed answers ``304`` (or the same bytes again,
which change nothing). Entries map through :func:`syndication.core.source_items.feed_entry`.
A feed only shows its newest entries and cannot say what was deleted, so nothing is
ever retracted by inference.

feedparser 6.0 has no JSON Feed parser, so a ``application/feed+json`` answer (or a body
that is a JSON object with a jsonfeed.org ``version``) is turned into feedparser-shaped
entries here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from syndication.core.language_tags import LanguageTagError, language_tag
from syndication.core.source_items import ItemRejection, feed_entry
from syndication.edges.http_client import FetchError, HttpClient
from syndication.errors import RecordError
from syndication.sources.base import Batch, PollContext, with_validators

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
FEED = "feed"


def poll(context: PollContext, client: HttpClient) -> Iterator[Batch]:
    source = context.source
    validators = None if context.full else context.state.validators(FEED)
    answer = client.get(source.url, validators=validators, accept=ACCEPT)
    if answer.not_modified:
        return
    entries, language = parse_feed(answer.body, answer.headers.get("content-type", ""), answer.url)
    batch = Batch(fetched=len(entries))
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        try:
            record = feed_entry(
                entry,
                source=source.name,
                rules=context.rules,
                language=_language(language, context.language),
            )
        except RecordError as exc:
            item = str(entry.get("id") or entry.get("link") or f"entry {number}")
            batch.rejections.append(ItemRejection(source.name, item, exc.field, exc.reason))
            continue
        if record.source_id in seen:
            continue  # a feed listing an entry twice: the first (newest) one stands
        seen.add(record.source_id)
        batch.records.append(record)
    batch.memo = with_validators(dict(context.state.memo), FEED, answer.validators)
    yield batch


def parse_feed(body: bytes, content_type: str, url: str) -> tuple[list[Mapping[str, Any]], str]:
    """Entries (feedparser-shaped) and the feed's language; :class:`FetchError` if not a feed."""
    stripped = body.lstrip()
    if "json" in content_type or stripped.startswith(b"{"):
        return _json_feed(body, url)
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise FetchError(f"GET {url}: not a feed ({reason})")
    language = str(parsed.feed.get("language", "") or "")
    return list(parsed.entries), language


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
    entries: list[Mapping[str, Any]] = [_json_item(i) for i in items if isinstance(i, dict)]
    return entries, str(data.get("language", "") or "")


def _json_item(item: dict[str, Any]) -> dict[str, Any]:
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    entry: dict[str, Any] = {
        "id": str(item.get("id", "") or ""),
        "link": item.get("url"),
        "title": item.get("title", ""),
        "summary": item.get("summary", "") or "",
        "tags": [{"term": t} for t in item.get("tags") or [] if isinstance(t, str)],
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
    return entry


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
    return parsed.astimezone(UTC).timetuple()


def _language(declared: str, site: str) -> str:
    """The feed's own language (RSS ``<language>``, JSON Feed ``language``) for its
    items, or the site's when it declares none or one that is not a BCP 47 tag ("English"):
    a feed-wide slip must not reject every item of the feed."""
    try:
        return language_tag(declared.strip()) if declared.strip() else site
    except LanguageTagError:
        return site
