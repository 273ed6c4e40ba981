"""What an article is, as plain data, and how one JSON line becomes one (pure; no I/O).

:class:`ArticleRecord` is an article as the newsroom hands it to us, validated.
:class:`StoredArticle` is an article as the store keeps it, which is what feeds and digests
are computed from. Both are frozen: the core computes from them and never changes them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _json_string
from typing import Any
from urllib.parse import urlsplit

import orjson

from syndication.core.language_tags import LanguageTagError, language_tag, site_or_own
from syndication.errors import RecordError
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings

STATUSES = ("published", "retracted")
REQUIRED = ("id", "title", "url", "published_at", "topics")
OPTIONAL = ("updated_at", "summary", "body_html", "author", "image_url", "language", "status")
OPTIONAL_EXTRA = ("retraction_reason", "translation_of")
MAX_SOURCE_ID = 200
_BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark
# C0 controls and DEL/C1 in an id: one can never be named in a URL path or a feed (a NUL
# cannot be stored on PostgreSQL; a line break cannot be matched by the API's route).
_ID_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_URL = 2048
MAX_SHORT_TEXT = 1_000  # author, retraction reason
# Publication dates a newsroom can mean. Outside them, site-time month arithmetic runs off
# the end of the calendar (year 10000, year 1 written "1-01") and stops every feed build.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_WHITESPACE = re.compile(r"\s")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Elements a parser closes by itself when a sibling opens (HTML "optional end tags") and
# void elements: neither can nest by being repeated, so neither counts towards the depth.
_NO_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr p li dt dd tr td th "
    "thead tbody tfoot option optgroup rb rt rp colgroup caption".split()
)
# An http(s) URL whose host is plain ASCII letters, digits, dots and dashes and which holds
# no white space: urlsplit() finds its scheme and a non-empty host (no brackets, no user
# part, nothing for its NFKC check), so _absolute_url may accept it without the split.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#]\S*)?")
_FIELDS = frozenset(REQUIRED + OPTIONAL + OPTIONAL_EXTRA)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
# Characters that must never reach a reader (issue 26 item 7): C0 controls but tab, line
# feed and carriage return (NUL is refused, not removed), DEL, the C1 controls, and the
# bidi embeddings and overrides U+202A-U+202E, which reorder what a reader sees ("txt.exe"
# shown as "exe.txt") and leak into whatever follows them. The isolates U+2066-U+2069
# are the safe way to mark direction and stay. Removed once, where articles come in, so
# feeds, digests and pages all carry the text exactly as stored.
_UNSAFE = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]")
_UNSAFE_ASCII = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_BIDI_OVERRIDES = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e")


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
    # The source id of the article this one translates ("" for an original; issue 30).
    translation_of: str = ""

    def content_hash(self) -> str:
        """A digest of every field, so that re-importing an unchanged article writes nothing.

        The SHA-256 of ``json.dumps(payload, sort_keys=True, ensure_ascii=False)`` of every
        field (``id`` for ``source_id``, datetimes in ISO form, topics sorted): stores hold
        these digests, so the bytes must never change: ``translation_of`` (issue 30) is
        named only when set, so an article that is no translation keeps the digest it
        had before the field existed. They are written out directly with
        the ``json`` module's own string encoder, a third of the cost of building the dict
        and dumping it (issue 16: the hash was 15 µs of an import's ~50 µs a line); a test
        holds the two byte-equal.
        """
        s = _json_string
        encoded = (
            f'{{"author": {s(self.author)}, "body_html": {s(self.body_html)},'
            f' "id": {s(self.source_id)}, "image_url": {s(self.image_url)},'
            f' "language": {s(self.language)}, "published_at": "{self.published_at.isoformat()}",'
            f' "retraction_reason": {s(self.retraction_reason)}, "status": {s(self.status)},'
            f' "summary": {s(self.summary)}, "title": {s(self.title)},'
            f' "topics": [{", ".join(map(s, sorted(self.topics)))}],'
            + (f' "translation_of": {s(self.translation_of)},' if self.translation_of else "")
            + f' "updated_at": "{self.updated_at.isoformat()}", "url": {s(self.url)}}}'
        ).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it: the input to feeds and digests.

    ``topics`` are slugs in a stable order. ``retracted_at`` is set when ``status`` is
    ``retracted``; ``change_seq`` is the store's number for the article's latest write.
    ``id_date`` (``YYYY-MM-DD``) is the UTC date the store minted the article's id with,
    when it first arrived; it outlives any later correction of ``published_at``. Empty
    means "not minted yet" (an article that never went through the store), and the id
    then takes the date of ``published_at``. ``content_hash`` is the store's
    :meth:`ArticleRecord.content_hash` of the version it holds ("" outside the store).
    ``translation_of`` is the source id the article translates, as it was given ("" for
    an original; :mod:`syndication.core.translations` resolves groups).
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
    id_date: str = ""
    content_hash: str = ""
    translation_of: str = ""

    @property
    def is_retracted(self) -> bool:
        return self.status == "retracted"


def parse_article_line(
    line: str, known_topics: Collection[str], limits: ImportSettings = DEFAULT_IMPORT_LIMITS
) -> ArticleRecord:
    """Parse one JSON Lines record into an :class:`ArticleRecord`.

    Raises :class:`RecordError` naming the first offending field: malformed JSON, a missing
    or mistyped field, a naive or unparsable datetime, ``updated_at`` before
    ``published_at``, a non-http(s) URL, an unknown topic or status, a ``language`` that
    is not a BCP 47 tag (:mod:`syndication.core.language_tags`), a field over its
    size limit (``limits``), a NUL or an unpaired surrogate in any string, a date outside
    1900-2200, a ``translation_of`` that is not a possible source id or names the article
    itself.
    """
    line = line.removeprefix("\ufeff")  # a byte-order mark belongs to the file
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError("", f"malformed JSON: {exc.msg} at column {exc.colno}") from exc
    except RecursionError as exc:
        raise RecordError("", "malformed JSON: nested too deeply") from exc
    except ValueError as exc:
        # Python refuses integers over 4,300 digits (CVE-2020-10735) with a ValueError.
        raise RecordError("", f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RecordError("", "a line must hold one JSON object")
    # A decoded string holds a NUL or an unpaired surrogate only if the line spelt it as a
    # \u escape or (a str line) held the surrogate itself: a line with neither needs no
    # per-field look (one scan of the line instead of thirteen; issue 16).
    plain = "\\u" not in line and (line.isascii() or _SURROGATE.search(line) is None)
    clean = _may_hold_unsafe(line.encode("utf-8", "surrogatepass"), "\\u" in line)
    return _record(data, known_topics, limits, _checked_text if plain else _text, clean)


def parse_article_bytes(
    line: bytes, known_topics: Collection[str], limits: ImportSettings = DEFAULT_IMPORT_LIMITS
) -> ArticleRecord | None:
    """One raw line as :func:`parse_article_line` judges it; ``None`` for a blank line.

    Bytes that are not UTF-8 are a :class:`RecordError` like any other bad line. A line is
    first read with orjson, a third of ``json.loads``'s cost (issue 16); whatever orjson
    or the validation refuses is judged again exactly as ``json`` reads it, so that a
    refused line gets the same verdict and message either way (orjson refuses NaN and
    lone surrogates that ``json`` reads, and reads big integers as floats).
    """
    if line.startswith(_BOM):
        # A byte-order mark (Windows editors add one) belongs to the file, not the line.
        line = line[len(_BOM) :]
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _parse_text(line, known_topics, limits)
    if isinstance(data, dict):
        # orjson refuses invalid UTF-8 and raw control characters: only an escape can
        # have put a NUL or an unpaired surrogate into a string.
        try:
            escaped = b"\\u" in line
            text = _text if escaped else _checked_text
            return _record(data, known_topics, limits, text, _may_hold_unsafe(line, escaped))
        except RecordError:
            pass
    return _parse_text(line, known_topics, limits)


def _parse_text(
    line: bytes, known_topics: Collection[str], limits: ImportSettings
) -> ArticleRecord | None:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        return None
    return parse_article_line(text, known_topics, limits)


def article_from_mapping(
    data: dict[str, Any],
    known_topics: Collection[str],
    limits: ImportSettings = DEFAULT_IMPORT_LIMITS,
) -> ArticleRecord:
    """Validate an already-decoded article object (see :func:`parse_article_line`)."""
    return _record(data, known_topics, limits, _text)


def _record(
    data: dict[str, Any],
    known_topics: Collection[str],
    limits: ImportSettings,
    text: Callable[[dict[str, Any], str], str],
    clean: bool = True,
) -> ArticleRecord:
    """The record of ``data``; ``clean`` is False when the line it came from is known to
    hold no character :func:`reader_safe` removes (most lines: see _may_hold_unsafe)."""
    safe = reader_safe if clean else _same
    if not _FIELDS.issuperset(data):
        raise RecordError(sorted(set(data) - _FIELDS)[0], "unknown field")
    for name in REQUIRED:
        if data.get(name) is None:
            raise RecordError(name, "missing")

    source_id = text(data, "id").strip()
    if not source_id:
        raise RecordError("id", "must not be empty")
    if len(source_id) > MAX_SOURCE_ID:
        raise RecordError("id", f"longer than {MAX_SOURCE_ID} characters")
    control = _ID_CONTROLS.search(source_id)
    if control:
        raise RecordError(
            "id", f"contains the control character U+{ord(control.group()):04X}; ids are one line"
        )
    title = safe(text(data, "title")).strip()
    if not title:
        raise RecordError("title", "must not be empty")
    _limit_chars("title", title, limits.max_title_chars)
    summary = safe(text(data, "summary"))
    _limit_bytes("summary", summary, limits.max_summary_bytes)
    body_html = safe(text(data, "body_html"))
    _limit_bytes("body_html", body_html, limits.max_body_bytes)
    # Each element opened is one "<": fewer of them than the limit cannot nest deeper.
    if body_html.count("<") > limits.max_html_depth:
        depth = html_depth(body_html)
        if depth > limits.max_html_depth:
            raise RecordError(
                "body_html",
                f"elements nested {depth} deep; at most {limits.max_html_depth} are accepted",
            )
    author = safe(text(data, "author"))
    _limit_chars("author", author, MAX_SHORT_TEXT)
    language = _language(text(data, "language").strip(), limits)
    retraction_reason = safe(text(data, "retraction_reason"))
    _limit_chars("retraction_reason", retraction_reason, MAX_SHORT_TEXT)
    published_at = parse_aware_datetime(text(data, "published_at"), "published_at")
    updated_at = (
        parse_aware_datetime(text(data, "updated_at"), "updated_at")
        if data.get("updated_at")
        else published_at
    )
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
    status = text(data, "status") if data.get("status") is not None else "published"
    if status not in STATUSES:
        raise RecordError("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    image_url = text(data, "image_url").strip()
    translation_of = _translation_of(text(data, "translation_of").strip(), source_id)
    return ArticleRecord(
        source_id=source_id,
        title=title,
        url=_absolute_url(text(data, "url").strip(), "url"),
        published_at=published_at,
        updated_at=updated_at,
        topics=tuple(dict.fromkeys(topics)),
        summary=summary,
        body_html=body_html,
        author=author.strip(),
        image_url=_absolute_url(image_url, "image_url") if image_url else "",
        language=language,
        status=status,
        retraction_reason=retraction_reason,
        translation_of=translation_of,
    )


def _translation_of(value: str, source_id: str) -> str:
    """The source id a translation names (issue 30), checked as an id is: it may name an
    article the store does not hold yet (the original can arrive later; groups are
    resolved when feeds are built, :mod:`syndication.core.translations`)."""
    if len(value) > MAX_SOURCE_ID:
        raise RecordError("translation_of", f"longer than {MAX_SOURCE_ID} characters")
    if _ID_CONTROLS.search(value):
        raise RecordError("translation_of", "contains a control character; ids are one line")
    if value == source_id:
        raise RecordError("translation_of", "names the article itself; an original has none")
    return value


def _language(value: str, limits: ImportSettings) -> str:
    """The article's BCP 47 tag in its recommended case (``en``, ``ko``, ``zh-Hant``,
    ``en-GB``); the site's (``limits.language``) when it names none."""
    if not value:
        return site_or_own("", limits.language)
    try:
        return language_tag(value)
    except LanguageTagError as exc:
        raise RecordError("language", str(exc)) from exc


def parse_aware_datetime(value: str, field: str) -> datetime:
    """ISO 8601 with an offset, converted to UTC; a naive time is refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(field, f"{value!r} is not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RecordError(field, f"{value!r} has no UTC offset (write e.g. +09:00 or Z)")
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC, which datetime cannot hold.
        moment = LATEST
    if not EARLIEST <= moment < LATEST:
        raise RecordError(field, f"{value!r} is not between 1900 and 2200")
    return moment


def _text(data: dict[str, Any], field: str) -> str:
    value = _checked_text(data, field)
    # JSON can spell both (\u0000, \ud800), but no database text column takes a NUL
    # (PostgreSQL) and no UTF-8 encoder an unpaired surrogate: refused here, as one bad
    # line, instead of failing the batch's transaction later.
    if "\x00" in value:
        raise RecordError(field, "contains a NUL character (\\u0000)")
    match = _SURROGATE.search(value)
    if match:
        raise RecordError(
            field, f"contains an unpaired surrogate (\\u{ord(match.group()):04x}), not text"
        )
    return value


def _checked_text(data: dict[str, Any], field: str) -> str:
    """The field's string ("" when absent), its characters already known to be text."""
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, not {type(value).__name__}")
    return value


def _same(value: str) -> str:
    return value


# A JSON line holds a control character only as an escape (\u0001, or \b and \f: JSON
# refuses them raw), DEL raw, and C1 controls and bidi overrides raw as UTF-8 or escaped.
_SHORT_ESCAPE = re.compile(rb"\\[bf]")
# Two searches, each with a literal prefix sre scans for quickly (one alternation of both
# had none, and cost ten times as much).
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
_BIDI_UTF8 = re.compile(b"\xe2\x80[\xaa-\xae]")


def _may_hold_unsafe(line: bytes, escaped: bool) -> bool:
    """Whether the JSON ``line`` may hold a character :func:`reader_safe` removes;
    ``escaped`` says it holds a ``\\u`` escape. Scans of the line (mostly memchr) instead
    of one per field, since an import reads tens of thousands of lines (issue 16)."""
    if escaped or b"\x7f" in line:
        return True
    if b"\\" in line and _SHORT_ESCAPE.search(line) is not None:
        return True
    if line.isascii():
        return False
    return _C1_UTF8.search(line) is not None or _BIDI_UTF8.search(line) is not None


def reader_safe(value: str) -> str:
    """``value`` without the characters that must never reach a reader (see ``_UNSAFE``).

    Looked for with C-speed scans first (an import reads tens of thousands of articles
    and almost none holds one); the regular expression runs only on a value that does.
    """
    encoded = value.encode("utf-8", "surrogatepass")
    if len(encoded.translate(None, _UNSAFE_ASCII)) == len(encoded) and (
        value.isascii() or not _has_wide_unsafe(value, encoded)
    ):
        return value
    return _UNSAFE.sub("", value)


def _has_wide_unsafe(value: str, encoded: bytes) -> bool:
    if any(mark in value for mark in _BIDI_OVERRIDES):
        return True
    # C1 controls are U+0080-U+009F: 0xC2 0x80-0x9F in UTF-8.
    start = encoded.find(b"\xc2")
    while start != -1:
        if 0x80 <= encoded[start + 1] <= 0x9F:
            return True
        start = encoded.find(b"\xc2", start + 2)
    return False


def _limit_chars(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise RecordError(field, f"{len(value):,} characters; at most {limit:,} are accepted")


def _limit_bytes(field: str, value: str, limit: int) -> None:
    # Cheap first: a string of n characters is at least n bytes of UTF-8.
    if len(value) > limit or len(value.encode()) > limit:
        size = len(value.encode())
        raise RecordError(field, f"{size:,} bytes; at most {limit:,} are accepted")


def html_depth(html: str) -> int:
    """How deep elements nest in ``html``, in one linear pass (no tree is built).

    Void elements and those whose end tag is optional are not counted: a parser closes
    them itself, so repeating them does not nest. An end tag closes the innermost open
    element of its name and whatever is open inside it, as a parser would.
    """
    stack: list[str] = []
    open_count: dict[str, int] = {}
    deepest = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _NO_NESTING or self_closing:
            continue
        if not closing:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            deepest = max(deepest, len(stack))
        elif open_count.get(name):
            while stack:
                inner = stack.pop()
                open_count[inner] -= 1
                if inner == name:
                    break
    return deepest


def _absolute_url(value: str, field: str) -> str:
    if len(value) > MAX_URL:
        raise RecordError(field, f"longer than {MAX_URL} characters")
    if _PLAIN_URL.fullmatch(value):
        return value  # what urlsplit below accepts, told in one match (issue 16)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise RecordError(field, f"{value!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise RecordError(field, f"{value!r} is not an absolute http(s) URL")
    if _WHITESPACE.search(value):
        raise RecordError(field, "must not contain white space")
    return value
