"""Upstream items to article records: WordPress posts and feed entries (pure; no I/O).

Each mapping builds the import format (see :mod:`syndication.articles`) and validates it
with the import's own rules, so an article that came from WordPress or a feed obeys
exactly what ``syndication articles import`` obeys. Ids are ``<source>:<upstream id>``:
stable across edits, and never colliding between two sources. A bad item raises
:class:`RecordError`; the caller turns it into one :class:`ItemRejection`.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

from syndication.core.articles import ArticleRecord, article_from_mapping
from syndication.core.language_tags import LanguageTagError, language_tag
from syndication.errors import RecordError
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings


@dataclass(frozen=True)
class ItemRejection:
    """One upstream item that was not stored: ``SOURCE: ITEM: field: reason``."""

    source: str
    item: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.item}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass(frozen=True)
class TopicRules:
    """How one source's categories become topics (from its ``[[sources]]`` table)."""

    categories: Mapping[str, str]
    default_topics: Sequence[str]
    known_topics: Collection[str]
    # The same size and nesting limits as an imported file ([import] in the settings).
    limits: ImportSettings = DEFAULT_IMPORT_LIMITS

    def topics_for(self, upstream: Sequence[str]) -> list[str]:
        """The topics of an item filed under ``upstream`` categories (may be empty)."""
        mapped = [self.categories[c] for c in upstream if c in self.categories]
        return list(dict.fromkeys(mapped or self.default_topics))

    def require(self, upstream: Sequence[str]) -> list[str]:
        topics = self.topics_for(upstream)
        if not topics:
            shown = ", ".join(upstream) or "none"
            raise RecordError(
                "categories",
                f"no category maps to a topic (categories: {shown}); map one in the "
                "source's categories or give it default_topics",
            )
        return topics


def source_id(source: str, upstream_id: str) -> str:
    return f"{source}:{upstream_id}"


# -- WordPress ----------------------------------------------------------------------------

# The fields a poll asks WordPress for (``_fields``): everything the mapping reads.
WORDPRESS_FIELDS = (
    "id",
    "status",
    "date_gmt",
    "modified_gmt",
    "link",
    "title",
    "excerpt",
    "content",
    "categories",
    "jetpack_featured_media_url",
    # Languages and translations (issue 30): Polylang's REST fields, and those the
    # "WPML REST API" plugin adds (WordPress ignores names it does not know).
    "lang",
    "translations",
    "wpml_current_locale",
    "wpml_translations",
)


def wordpress_gmt(value: Any, field: str) -> datetime:
    """A ``date_gmt``/``modified_gmt`` value: ISO 8601 *without* an offset, meaning UTC."""
    if not isinstance(value, str) or not value:
        raise RecordError(field, "missing (the post has never been published?)")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RecordError(field, f"{value!r} is not an ISO 8601 date and time") from exc
    # WordPress documents *_gmt as GMT and sends no offset; one that does is honoured.
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
        raise RecordError(field, f"{value!r} is out of range") from exc


def wordpress_not_public(post: Mapping[str, Any]) -> str:
    """Why a post must not be syndicated, or ``""``: it is password-protected
    (``content.protected`` or ``excerpt.protected``: WordPress then sends an empty body to
    the anonymous, and the text itself to an editor with ``context=edit``), or its
    ``status`` is anything but ``publish`` (a draft, a pending, private or future post,
    which an authenticated request or a plugin may list)."""
    for field in ("content", "excerpt"):
        value = post.get(field)
        if isinstance(value, Mapping) and value.get("protected") is True:
            return "password-protected"
    status = post.get("status", "publish")
    if status != "publish":
        return f"status {status!r}" if isinstance(status, str) else "status unknown"
    return ""


def wordpress_post(
    post: Mapping[str, Any],
    *,
    source: str,
    category_slugs: Mapping[int, str],
    rules: TopicRules,
    language: str,
) -> ArticleRecord:
    """One post of ``/wp-json/wp/v2/posts`` (``context=view``) as an article record.

    Rendered titles carry HTML entities (``&#8217;``) and may carry inline tags: both are
    turned into plain text. The excerpt becomes the summary as plain text, without the
    ``[&hellip;]`` WordPress appends. The body is kept as rendered; feeds sanitise it and
    make its links absolute against the post's link, as for any import. The language and
    translation group come from Polylang or WPML when the answer carries them
    (:func:`wordpress_languages`); ``language`` (the site's) otherwise.
    """
    post_id = post.get("id")
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise RecordError("id", f"{post_id!r} is not a post id")
    published = wordpress_gmt(post.get("date_gmt"), "date_gmt")
    modified = wordpress_gmt(post.get("modified_gmt"), "modified_gmt")
    category_ids = post.get("categories") or []
    if not isinstance(category_ids, list):
        raise RecordError("categories", "must be a list of category ids")
    slugs = [category_slugs.get(c, str(c)) for c in category_ids]
    data: dict[str, Any] = {
        "id": source_id(source, str(post_id)),
        "title": plain_text(_rendered(post, "title")),
        "url": post.get("link"),
        "published_at": published.isoformat(),
        # A post scheduled, then edited before it went out, has modified < date.
        "updated_at": max(published, modified).isoformat(),
        "topics": rules.require(slugs),
        "summary": cut_at_word(
            _without_more(plain_text(_rendered(post, "excerpt"))), rules.limits.max_summary_bytes
        ),
        "body_html": _rendered(post, "content"),
    }
    data["language"], translation_of = wordpress_languages(post, post_id, language)
    if translation_of is not None:
        data["translation_of"] = source_id(source, str(translation_of))
    image = post.get("jetpack_featured_media_url")
    if isinstance(image, str) and image:
        data["image_url"] = image
    return article_from_mapping(data, rules.known_topics, rules.limits)


def wordpress_languages(
    post: Mapping[str, Any], post_id: int, primary: str
) -> tuple[str, int | None]:
    """A post's language tag and the id of the post it translates (None: an original).

    Polylang (Pro's REST API) answers ``lang`` (``"ko"``) and ``translations``, a map
    from language to post id that includes the post itself. The "WPML REST API" plugin
    answers ``wpml_current_locale`` (a WordPress locale, ``"ko_KR"``) and
    ``wpml_translations``, the other posts as ``{"locale", "id", ...}`` objects (a list,
    or a map by locale since its 2.0). WordPress does not say which post of a group is
    the original: it is the one in the site's ``primary`` language, else the lowest id,
    so every post of the group names the same one. Without either plugin's fields the
    post is in ``primary``, an original. A language that is no BCP 47 tag is refused
    with the post, naming the field.
    """
    tag, field = post.get("lang"), "lang"
    if not tag:
        tag, field = post.get("wpml_current_locale"), "wpml_current_locale"
    if not tag:
        return primary, None
    own = _wordpress_tag(tag, field)
    members: dict[int, str] = {post_id: own}
    polylang = post.get("translations")
    if isinstance(polylang, Mapping):
        for code, other in polylang.items():
            if isinstance(other, int) and not isinstance(other, bool):
                members[other] = _wordpress_tag(code, "translations")
    wpml = post.get("wpml_translations")
    items = wpml.values() if isinstance(wpml, Mapping) else wpml if isinstance(wpml, list) else []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("id"), int):
            members[item["id"]] = _wordpress_tag(item.get("locale"), "wpml_translations")
    members[post_id] = own
    in_primary = sorted(i for i, t in members.items() if _same_language(t, primary))
    original = in_primary[0] if in_primary else min(members)
    return own, None if original == post_id else original


def _wordpress_tag(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError(field, f"{value!r} is not a language")
    try:
        return language_tag(value.strip().replace("_", "-"))
    except LanguageTagError as exc:
        raise RecordError(field, str(exc)) from exc


def _same_language(tag: str, primary: str) -> bool:
    """Whether ``tag`` is ``primary`` or a variety of it (``en-US`` of ``en``)."""
    tag, primary = tag.lower(), primary.lower()
    return tag == primary or tag.startswith(primary + "-")


def _rendered(post: Mapping[str, Any], field: str) -> str:
    value = post.get(field)
    if value is None:
        return ""
    if isinstance(value, Mapping):
        value = value.get("rendered", "")
    if not isinstance(value, str):
        raise RecordError(field, "must be an object with a rendered string")
    return value


def _without_more(text: str) -> str:
    for marker in ("[…]", "[...]"):
        if text.endswith(marker):
            return text[: -len(marker)].rstrip()
    return text


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """``html`` as plain text: tags dropped, entities decoded, white space collapsed."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return " ".join(unescape("".join(parser.parts)).split())


# -- feeds (feedparser) -------------------------------------------------------------------

# A title derived from an untitled item's text is at most this many characters.
DERIVED_TITLE_CHARS = 80
ELLIPSIS = "\u2026"


def cut_at_word(text: str, max_bytes: int) -> str:
    """``text`` if it fits in ``max_bytes`` of UTF-8, else cut at the last word boundary
    that leaves room for an ellipsis (a single word longer than that is cut inside)."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode("utf-8"))
    head = text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
    cut = head.rsplit(None, 1)[0] if " " in head.strip() else head
    return cut.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS


def derived_title(text: str) -> str:
    """A title for an item that has none (RSS 2.0 makes ``<title>`` optional when there is
    a ``<description>``; Mastodon's feeds have none): the start of its text, at most
    :data:`DERIVED_TITLE_CHARS` characters, cut at a word boundary. ``""`` if no text."""
    text = " ".join(text.split())
    if len(text) <= DERIVED_TITLE_CHARS:
        return text
    head = text[: DERIVED_TITLE_CHARS - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """When an entry was published: its published time, else its updated time, else its
    creation time (``dcterms:created``, Atom 0.3 ``<created>``); ``None`` if undated."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        moment = _parsed_time(_own(entry, key))
        if moment is not None:
            return moment
    return None


def feed_entry(
    entry: Mapping[str, Any],
    *,
    source: str,
    rules: TopicRules,
    language: str,
    first_seen: datetime | None = None,
) -> ArticleRecord:
    """One feedparser entry (RSS 2.0, Atom or JSON Feed) as an article record.

    The id is ``<source>:<entry id, else guid, else link>`` (feedparser puts an RSS guid
    in ``id``). Times come from feedparser's ``*_parsed`` fields, which are UTC
    (:func:`entry_time`). An undated entry takes ``first_seen`` (when the poller first
    saw it) if given, else is rejected. An untitled entry gets :func:`derived_title`; a
    summary over the size limit is cut at a word boundary (:func:`cut_at_word`).
    """
    upstream = entry.get("id") or entry.get("guid") or entry.get("link")
    if not isinstance(upstream, str) or not upstream.strip():
        raise RecordError("id", "the entry has no id, guid or link")
    published = entry_time(entry) or first_seen
    if published is None:
        raise RecordError("published", "the entry has no date")
    updated = _parsed_time(_own(entry, "updated_parsed")) or published
    terms = [t.get("term", "") for t in entry.get("tags") or [] if isinstance(t, Mapping)]
    body = ""
    contents = entry.get("content") or []
    if contents and isinstance(contents[0], Mapping):
        body = str(contents[0].get("value", ""))
    summary = str(entry.get("summary", ""))
    if not body and summary and summary.lstrip().startswith("<"):
        body, summary = summary, ""
    summary = plain_text(summary)
    title = plain_text(str(entry.get("title", ""))) or derived_title(summary or plain_text(body))
    data: dict[str, Any] = {
        "id": source_id(source, upstream.strip()),
        "title": title,
        "url": entry.get("link"),
        "published_at": published.isoformat(),
        "updated_at": max(published, updated).isoformat(),
        "topics": rules.require([t for t in terms if t]),
        "summary": cut_at_word(summary, rules.limits.max_summary_bytes),
        "body_html": body,
        "author": str(entry.get("author", "")),
        "language": language,
    }
    image = _image(entry)
    if image:
        data["image_url"] = image
    return article_from_mapping(data, rules.known_topics, rules.limits)


def _own(entry: Mapping[str, Any], key: str) -> Any:
    """``entry[key]`` if the entry itself has it: feedparser's dict answers a missing
    ``updated_parsed`` with ``published_parsed`` (and a DeprecationWarning, its issue 310),
    which would make every dated entry look updated."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _parsed_time(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        shown = time.strftime("%Y-%m-%d", value)
        raise RecordError("published", f"{shown} is out of range") from exc


def _image(entry: Mapping[str, Any]) -> str:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    image = entry.get("image")
    if isinstance(image, Mapping) and image.get("href"):
        return str(image["href"])
    return ""
