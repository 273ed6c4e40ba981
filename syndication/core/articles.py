"""What an article is, as plain data, and how one JSON line becomes one (pure; no I/O).

:class:`ArticleRecord` is an article as the newsroom hands it to us, validated.
:class:`StoredArticle` is an article as the store keeps it, which is what feeds and digests
are computed from. Both are frozen: the core computes from them and never changes them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from syndication.errors import RecordError

STATUSES = ("published", "retracted")
REQUIRED = ("id", "title", "url", "published_at", "topics")
OPTIONAL = ("updated_at", "summary", "body_html", "author", "image_url", "language", "status")
OPTIONAL_EXTRA = ("retraction_reason",)
MAX_SOURCE_ID = 200
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class ArticleRecord:
    """One validated article from an import: the newsroom's version of the truth."""

    source_id: str
    title: str
    url: str
    published_at: datetime
    updated_at: datetime
    topics: tuple[str, ...]
    summary: str = ""
    body_html: str = ""
    author: str = ""
    image_url: str = ""
    language: str = "en"
    status: str = "published"
    retraction_reason: str = ""

    def content_hash(self) -> str:
        """A digest of every field, so that re-importing an unchanged article writes nothing."""
        payload = {
            "id": self.source_id,
            "title": self.title,
            "url": self.url,
            "published_at": self.published_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "topics": sorted(self.topics),
            "summary": self.summary,
            "body_html": self.body_html,
            "author": self.author,
            "image_url": self.image_url,
            "language": self.language,
            "status": self.status,
            "retraction_reason": self.retraction_reason,
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it: the input to feeds and digests.

    ``topics`` are slugs in a stable order. ``retracted_at`` is set when ``status`` is
    ``retracted``; ``change_seq`` is the store's number for the article's latest write.
    """

    source_id: str
    title: str
    url: str
    published_at: datetime
    updated_at: datetime
    topics: tuple[str, ...]
    summary: str
    body_html: str
    author: str
    image_url: str
    language: str
    status: str
    retracted_at: datetime | None
    retraction_reason: str
    change_seq: int

    @property
    def is_retracted(self) -> bool:
        return self.status == "retracted"


def parse_article_line(line: str, known_topics: Collection[str]) -> ArticleRecord:
    """Parse one JSON Lines record into an :class:`ArticleRecord`.

    Raises :class:`RecordError` naming the first offending field: malformed JSON, a missing
    or mistyped field, a naive or unparsable datetime, ``updated_at`` before
    ``published_at``, a non-http(s) URL, an unknown topic or status.
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError("", f"malformed JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise RecordError("", "a line must hold one JSON object")
    return article_from_mapping(data, known_topics)


def article_from_mapping(data: dict[str, Any], known_topics: Collection[str]) -> ArticleRecord:
    """Validate an already-decoded article object (see :func:`parse_article_line`)."""
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL) - set(OPTIONAL_EXTRA))
    if unknown:
        raise RecordError(unknown[0], "unknown field")
    for name in REQUIRED:
        if name not in data or data[name] is None:
            raise RecordError(name, "missing")

    source_id = _text(data, "id").strip()
    if not source_id:
        raise RecordError("id", "must not be empty")
    if len(source_id) > MAX_SOURCE_ID:
        raise RecordError("id", f"longer than {MAX_SOURCE_ID} characters")
    title = _text(data, "title").strip()
    if not title:
        raise RecordError("title", "must not be empty")
    published_at = _datetime(data, "published_at")
    updated_at = _datetime(data, "updated_at") if data.get("updated_at") else published_at
    if updated_at < published_at:
        raise RecordError("updated_at", "is before published_at")

    topics = data["topics"]
    if not isinstance(topics, list) or not topics:
        raise RecordError("topics", "must be a non-empty array of topic slugs")
    for topic in topics:
        if not isinstance(topic, str):
            raise RecordError("topics", f"{topic!r} is not a topic slug")
        if topic not in known_topics:
            raise RecordError("topics", f"unknown topic {topic!r}")
    status = _text(data, "status") if data.get("status") is not None else "published"
    if status not in STATUSES:
        raise RecordError("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    image_url = _text(data, "image_url").strip()
    language = _text(data, "language").strip() or "en"
    return ArticleRecord(
        source_id=source_id,
        title=title,
        url=_absolute_url(_text(data, "url").strip(), "url"),
        published_at=published_at,
        updated_at=updated_at,
        topics=tuple(dict.fromkeys(topics)),
        summary=_text(data, "summary"),
        body_html=_text(data, "body_html"),
        author=_text(data, "author").strip(),
        image_url=_absolute_url(image_url, "image_url") if image_url else "",
        language=language,
        status=status,
        retraction_reason=_text(data, "retraction_reason"),
    )


def parse_aware_datetime(value: str, field: str) -> datetime:
    """ISO 8601 with an offset, converted to UTC; a naive time is refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(field, f"{value!r} is not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RecordError(field, f"{value!r} has no UTC offset (write e.g. +09:00 or Z)")
    return parsed.astimezone(UTC)


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, not {type(value).__name__}")
    return value


def _datetime(data: dict[str, Any], field: str) -> datetime:
    return parse_aware_datetime(_text(data, field), field)


def _absolute_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecordError(field, f"{value!r} is not an absolute http(s) URL")
    if _WHITESPACE.search(value):
        raise RecordError(field, "must not contain white space")
    return value
