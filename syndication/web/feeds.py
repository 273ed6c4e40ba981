"""Feed files over HTTP: media types, validators, ``304 Not Modified``, gzip, no escapes.

:class:`FeedServer` is a bare ASGI app (no request objects, no middleware of its own) that
serves the files the feed builder wrote under ``feeds.dir``. Feed readers poll every few
minutes and almost always get ``304``, so that path is the one kept short: a ``stat`` and
a dictionary look-up. File bytes and their validators are cached under the path and
``(st_mtime_ns, st_size, st_ino)``; a feed rewritten by ``os.replace`` gets a new version
and is read once, a feed left alone is never read again.

Validators (RFC 9110 §8.8):

- ``ETag``: strong, from a SHA-256 of the bytes, so it changes exactly when the bytes do
  (the builder writes byte-identical output when nothing changed). The gzip-coded variant
  has its own tag (``"…-gz"``), as RFC 9110 §8.8.3 asks of different content codings;
  ``If-None-Match`` with either tag matches the current file.
- ``Last-Modified``: when the file's bytes last changed, as the publisher recorded it
  (:func:`syndication.publish.recorded_modified`), falling back to the file's mtime (which
  the publisher also only moves on a change); never later than the moment it is sent
  (RFC 9110 §8.8.2.1). Not a date read from the feed: a retraction or an article leaving
  a topic changes the bytes without a newer entry date, and a client that only sends
  ``If-Modified-Since`` must still see it (issue 14).

``If-None-Match`` wins over ``If-Modified-Since`` when both are sent (RFC 9110 §13.2.2).

Feeds are public documents that browser-based readers and widgets fetch from other
origins, so every feed response says ``Access-Control-Allow-Origin: *`` (Fetch standard,
CORS protocol) and exposes ``ETag`` for their conditional requests; ``OPTIONS`` answers a
preflight (a reader sending ``If-None-Match`` needs one) with the methods and request
headers allowed. Pages and the API are not covered: only this app's responses carry it.
Paths are checked twice: lexically (no ``..``, no hidden files, known suffixes only) and
after resolving symbolic links (the result must lie inside ``feeds.dir``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from syndication.clock import utc_now
from syndication.edges.files import recorded_modified

# Short enough that a reader sees a new article within minutes even through a shared
# cache, long enough to absorb bursts of polls (RFC 9111 §5.2.2.1).
MAX_AGE_SECONDS = 300
CACHE_ENTRIES = 4096

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
JSON_FEED = "application/feed+json"
XML = "application/xml; charset=utf-8"
# What the feed builder writes: rss.xml, atom.xml, feed.json, index.opml and the RFC 5005
# archives as <topic>/archive/<month>.atom.
FEED_SUFFIXES = (".xml", ".atom", ".json", ".opml")

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
CORS_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    # ETag is not a CORS-safelisted response header; Last-Modified is.
    (b"access-control-expose-headers", b"ETag"),
)
PREFLIGHT_HEADERS = (
    (b"access-control-allow-methods", b"GET, HEAD"),
    (b"access-control-allow-headers", b"If-None-Match, If-Modified-Since, Cache-Control"),
    (b"access-control-max-age", b"86400"),
)

_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(rss|feed|opml)[\s>/]")


Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class FeedFile:
    """One feed file as served: bytes (plain and gzip) with their validators.

    The response headers of both variants are built once per file version, not per
    request: a 304 only copies them (``respond``).
    """

    body: bytes
    gzipped: bytes
    media_type: str
    etag: str
    gzip_etag: str
    last_modified: datetime
    headers: Headers = ()
    gzip_headers: Headers = ()

    def __post_init__(self) -> None:
        if not self.headers:
            object.__setattr__(self, "headers", _validators(self.etag, self.last_modified))
        if not self.gzip_headers:
            gzip_headers = _validators(self.gzip_etag, self.last_modified)
            object.__setattr__(self, "gzip_headers", gzip_headers)

    def matches(self, if_none_match: str) -> bool:
        """Whether an ``If-None-Match`` value names this file (weak comparison, §13.1.2)."""
        for tag in _split_tags(if_none_match):
            if tag == "*" or tag in (self.etag, self.gzip_etag):
                return True
        return False


def _validators(etag: str, last_modified: datetime) -> Headers:
    return (
        (b"etag", etag.encode()),
        (b"last-modified", format_datetime(last_modified, usegmt=True).encode()),
        (b"cache-control", f"public, max-age={MAX_AGE_SECONDS}".encode()),
        (b"vary", b"Accept-Encoding"),
        *CORS_HEADERS,
    )


def load_feed_file(path: Path, mtime: datetime) -> FeedFile:
    """Read ``path`` and compute what serving it needs; ``mtime`` is the fallback date.

    A precompressed sibling ``<name>.gz`` (see the README: an operator may write them with
    ``gzip -k -9`` or zopfli after each build) is used for the gzip variant when it is a
    regular file and decompresses to exactly the file's bytes; a stale or foreign one is
    ignored and the file is compressed here, as when there is none.
    """
    body = path.read_bytes()
    media_type = media_type_for(path.name, body)
    digest = hashlib.sha256(body).hexdigest()[:32]
    newest = recorded_modified(path, body) or mtime
    gzipped = _precompressed(path, body)
    if gzipped is None:
        # mtime=0 keeps the gzip bytes (and so their ETag) a function of the file alone.
        gzipped, gzip_etag = gzip.compress(body, compresslevel=6, mtime=0), f'"{digest}-gz"'
    else:
        # Other gzip bytes for the same file are another representation: another strong
        # tag (RFC 9110 §8.8.3), so a cache never splices ranges of the two.
        gzip_etag = f'"{digest}-gz-{hashlib.sha256(gzipped).hexdigest()[:12]}"'
    return FeedFile(
        body=body,
        gzipped=gzipped,
        media_type=media_type,
        etag=f'"{digest}"',
        gzip_etag=gzip_etag,
        last_modified=newest.replace(microsecond=0),
    )


def _precompressed(path: Path, body: bytes) -> bytes | None:
    sibling = f"{path}.gz"
    try:
        # lstat: a sibling that is a symbolic link is not followed (it could lead anywhere).
        if not stat.S_ISREG(os.lstat(sibling).st_mode):
            return None
        with open(sibling, "rb") as handle:
            gzipped = handle.read(len(body) + 65536)
        # Bounded: a sibling that inflates past the file's size is not the file.
        inflate = zlib.decompressobj(wbits=31)  # 31: a gzip wrapper (RFC 1952)
        plain = inflate.decompress(gzipped, len(body) + 1)
    except (OSError, zlib.error):
        return None
    one_member = inflate.eof and not inflate.unused_data
    return gzipped if one_member and plain == body else None


def media_type_for(name: str, body: bytes) -> str:
    """The media type of a feed file: by suffix, and for ``.xml`` by its root element."""
    if name.endswith(".json"):
        return JSON_FEED
    if name.endswith(".opml"):
        return OPML
    if name.endswith(".atom"):
        return ATOM
    match = _ROOT.search(body[:4096])
    root = match.group(1) if match else b""
    return {b"rss": RSS, b"feed": ATOM, b"opml": OPML}.get(root, XML)


_ASCTIME = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}")


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date in any of the three forms RFC 9110 §5.6.7 says a recipient must accept.

    IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), the obsolete RFC 850 form
    (``Sunday, 06-Nov-94 08:49:37 GMT``) and ANSI C's asctime (``Sun Nov  6 08:49:37
    1994``), which carries no zone and is UTC by definition. ``None`` when it is none of them.
    """
    value = value.strip()
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            # Only asctime may omit the zone; "-0000" and other zone-less text are refused.
            return parsed.replace(tzinfo=UTC) if _ASCTIME.fullmatch(value) else None
        # A client may name any offset: one that datetime cannot hold in UTC (year 9999
        # at -23:59) is as unusable as a date that does not parse.
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _split_tags(header: str) -> Iterable[str]:
    # Weak comparison: W/"x" and "x" name the same thing for If-None-Match (RFC 9110 §13.1.2).
    for part in header.split(","):
        tag = part.strip()
        yield tag[2:] if tag.startswith("W/") else tag


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (RFC 9110 §12.5.3: ``q=0`` means "not")."""
    star: bool | None = None
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.strip()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            star = quality > 0
    return bool(star)


def safe_relative(path: str) -> str | None:
    """``path`` if it may name a feed file, else ``None``: the lexical half of the check.

    Refused: empty paths, ``.`` and ``..`` segments, hidden names (the builder's temporary
    files start with a dot), backslashes, NUL and other control characters, and suffixes
    that are not feeds.
    """
    if not path or "\\" in path or any(ord(ch) < 32 for ch in path):
        return None
    parts = path.split("/")
    if any(not part or part.startswith(".") for part in parts):
        return None
    if not parts[-1].endswith(FEED_SUFFIXES):
        return None
    return path


Version = tuple[int, int, int, int]


class FeedCache:
    """File bytes and validators keyed by path and version; thread-safe, bounded.

    A version is ``(st_mtime_ns, st_size, st_ino, inode of the .gz sibling)``: the builder
    replaces a feed with ``os.replace``, which gives it a new inode, so even a rewrite
    within the file system's timestamp granularity and of the same size is noticed.
    """

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[str, tuple[Version, FeedFile]] = OrderedDict()
        self._size = entries
        self._lock = threading.Lock()

    def get(self, path: str, version: Version) -> FeedFile | None:
        cached = self._entries.get(path)
        if cached is None or cached[0] != version:
            return None
        return cached[1]

    def put(self, path: str, version: Version, feed: FeedFile) -> None:
        with self._lock:
            self._entries[path] = (version, feed)
            self._entries.move_to_end(path)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class FeedServer:
    """ASGI app for ``GET``/``HEAD /feeds/{path}``; the route supplies ``path``.

    Resolving a path (``Path.resolve``: one ``lstat`` per component, and ``readlink``)
    was half of a ``304``'s cost, so each request path remembers what it resolved to and
    the device and inode found there. A later request checks only that one ``stat`` of
    the resolved path still reaches the same inode: a feed replaced by ``os.replace`` (a
    new inode), a file removed, or a folder on the way swapped for a symbolic link (the
    ``stat`` then reaches another file) all fall back to a full resolution and its
    containment check. Only paths that reached a regular file are remembered, at most
    ``CACHE_ENTRIES`` of them.
    """

    def __init__(self, feeds_dir: Path) -> None:
        self.root = feeds_dir.resolve()
        self.cache = FeedCache()
        self._located: dict[str, tuple[str, int, int]] = {}

    def locate(self, relative: str) -> Path | None:
        """The file ``relative`` names inside the feeds folder, or ``None``."""
        if safe_relative(relative) is None:
            return None
        try:
            resolved = (self.root / relative).resolve()
        except (OSError, ValueError, RuntimeError):
            # RuntimeError: a symbolic link loop (pathlib before Python 3.13).
            return None
        return resolved if resolved.is_relative_to(self.root) else None

    def find(self, relative: str) -> tuple[str, os.stat_result] | None:
        """The regular file ``relative`` names inside the folder and its ``stat``, or None."""
        known = self._located.get(relative)
        if known is not None:
            resolved, device, inode = known
            try:
                info = os.stat(resolved)
            except (OSError, ValueError):
                info = None
            if info is not None and (info.st_ino, info.st_dev) == (inode, device):
                return resolved, info
            del self._located[relative]
        path = self.locate(relative)
        try:
            info = os.stat(path) if path is not None else None
        except (OSError, ValueError):
            info = None
        if path is None or info is None or not stat.S_ISREG(info.st_mode):
            return None
        if len(self._located) >= CACHE_ENTRIES:
            self._located.clear()
        self._located[relative] = (str(path), info.st_dev, info.st_ino)
        return str(path), info

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "OPTIONS":
            await _options(send)
            return
        found = self.find(str(scope.get("path_params", {}).get("path", "")))
        if found is None:
            await _not_found(scope, send)
            return
        key, info = found
        version = (info.st_mtime_ns, info.st_size, info.st_ino, _sibling_version(key))
        feed = self.cache.get(key, version)
        if feed is None:
            mtime = datetime.fromtimestamp(info.st_mtime, UTC)
            try:
                feed = await run_in_threadpool(load_feed_file, Path(key), mtime)
            except OSError:
                await _not_found(scope, send)
                return
            self.cache.put(key, version, feed)
        await respond(feed, scope, send)


def _sibling_version(path: str) -> int:
    """The inode of ``path.gz`` (0 when absent): a sibling written or rewritten after the
    file was cached is picked up without waiting for the file itself to change."""
    try:
        return os.lstat(f"{path}.gz").st_ino
    except (OSError, ValueError):
        return 0


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def respond(feed: FeedFile, scope: Scope, send: Send) -> None:
    """Answer one request for ``feed``: 304 when a validator matches, else 200 (gzip if asked)."""
    use_gzip = accepts_gzip(_header(scope, b"accept-encoding") or "")
    headers = list(feed.gzip_headers if use_gzip else feed.headers)
    last_modified = feed.last_modified
    now = utc_now().replace(microsecond=0)
    if last_modified > now:
        # A file dated in the future (a clock set wrong): never claim a later date than
        # the moment of sending (RFC 9110 §8.8.2.1), so build this one per request.
        last_modified = now
        headers = list(_validators(feed.gzip_etag if use_gzip else feed.etag, now))
    if _not_modified(feed, last_modified, scope):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    body = feed.gzipped if use_gzip else feed.body
    headers.append((b"content-type", feed.media_type.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    if use_gzip:
        headers.append((b"content-encoding", b"gzip"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    # HEAD: the same headers, Content-Length included, and no body (RFC 9110 §9.3.2).
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _not_modified(feed: FeedFile, last_modified: datetime, scope: Scope) -> bool:
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        return feed.matches(if_none_match)
    if_modified_since = _header(scope, b"if-modified-since")
    if if_modified_since is None:
        return False
    since = parse_http_date(if_modified_since)
    return since is not None and last_modified <= since


async def _options(send: Send) -> None:
    """``OPTIONS``: what may be asked of a feed (RFC 9110 §9.3.7), and a CORS preflight."""
    headers = [
        (b"allow", ALLOWED_METHODS.encode()),
        (b"content-length", b"0"),
        *CORS_HEADERS,
        *PREFLIGHT_HEADERS,
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _not_found(scope: Scope, send: Send) -> None:
    body = b"No such feed.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *CORS_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
