"""Feeds over HTTP: media types, validators, 304s, gzip, HEAD and no way out of feeds.dir."""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Scope

from syndication.core.articles import ArticleRecord
from syndication.edges.files import publish
from syndication.services import feeds as feed_service
from syndication.settings import LanguageSettings, Settings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.web.app import create_app
from syndication.web.feeds import (
    ATOM,
    JSON_FEED,
    OPML,
    RSS,
    accepts_gzip,
    parse_http_date,
    safe_relative,
)

RSS_BODY = """<?xml version='1.0' encoding='UTF-8'?>
<rss version="2.0"><channel><title>Transport</title>
<lastBuildDate>Thu, 26 Nov 2026 07:00:00 +0000</lastBuildDate>
<item><title>서울 버스</title><pubDate>Wed, 25 Nov 2026 01:00:00 +0000</pubDate></item>
</channel></rss>
"""
ATOM_BODY = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/tombstones/1.0">
<title>Transport</title><updated>2026-11-24T10:00:00+09:00</updated>
<entry><title>Old</title><updated>2026-11-20T10:00:00+09:00</updated></entry>
<at:deleted-entry ref="tag:x,2026:1" when="2026-11-25T12:30:00Z"/>
</feed>
"""
JSON_BODY = """{"version": "https://jsonfeed.org/version/1.1", "title": "Transport", "items": [
{"id": "1", "date_published": "2026-11-20T01:00:00Z", "date_modified": "2026-11-22T01:00:00Z"},
{"id": "2", "date_published": "2026-11-21T01:00:00Z"}]}
"""
OPML_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Feeds</title>
<dateModified>Fri, 27 Nov 2026 00:00:00 GMT</dateModified></head><body/></opml>
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def feeds_dir(settings: Settings) -> Path:
    """The feeds as the builder publishes them, each at its own (fixed) moment."""
    root = settings.feeds.dir
    publish(root / "transport" / "rss.xml", RSS_BODY.encode(), at(26, 7))
    publish(root / "transport" / "atom.xml", ATOM_BODY.encode(), at(25, 12, 30))
    publish(root / "transport" / "feed.json", JSON_BODY.encode(), at(22, 1))
    publish(root / "index.opml", OPML_BODY.encode(), at(27, 0))
    publish(root / "transport" / "archive" / "2026-11.atom", ATOM_BODY.encode(), at(25, 12, 30))
    return root


@pytest.fixture
def client(settings: Settings, engine: Engine, feeds_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "media_type", "last_modified"),
    [
        ("transport/rss.xml", RSS, "Thu, 26 Nov 2026 07:00:00 GMT"),
        ("transport/atom.xml", ATOM, "Wed, 25 Nov 2026 12:30:00 GMT"),
        ("transport/feed.json", JSON_FEED, "Sun, 22 Nov 2026 01:00:00 GMT"),
        ("index.opml", OPML, "Fri, 27 Nov 2026 00:00:00 GMT"),
        ("transport/archive/2026-11.atom", ATOM, "Wed, 25 Nov 2026 12:30:00 GMT"),
    ],
)
def test_media_type_and_last_modified_from_the_publisher(
    client: TestClient, path: str, media_type: str, last_modified: str
) -> None:
    response = client.get(f"/feeds/{path}", headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["last-modified"] == last_modified
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"].startswith('"') and not response.headers["etag"].startswith(
        "W/"
    )
    assert "content-encoding" not in response.headers


def test_if_none_match_gives_304_then_200_after_a_change(
    client: TestClient, feeds_dir: Path
) -> None:
    plain = {"accept-encoding": "identity"}
    first = client.get("/feeds/transport/rss.xml", headers=plain)
    etag = first.headers["etag"]
    again = client.get("/feeds/transport/rss.xml", headers={**plain, "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=300"
    weak = client.get("/feeds/transport/rss.xml", headers={**plain, "if-none-match": f"W/{etag}"})
    assert weak.status_code == 304
    listed = client.get(
        "/feeds/transport/rss.xml", headers={**plain, "if-none-match": f'"other", {etag}'}
    )
    assert listed.status_code == 304

    path = feeds_dir / "transport" / "rss.xml"
    path.write_text(RSS_BODY.replace("서울 버스", "Seoul buses"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    changed = client.get("/feeds/transport/rss.xml", headers={**plain, "if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert b"Seoul buses" in changed.content


def test_if_modified_since_gives_304_for_the_same_or_a_later_date(client: TestClient) -> None:
    url = "/feeds/transport/atom.xml"
    same = client.get(url, headers={"if-modified-since": "Wed, 25 Nov 2026 12:30:00 GMT"})
    later = client.get(url, headers={"if-modified-since": "Sat, 28 Nov 2026 00:00:00 GMT"})
    earlier = client.get(url, headers={"if-modified-since": "Wed, 25 Nov 2026 12:29:59 GMT"})
    garbage = client.get(url, headers={"if-modified-since": "yesterday"})
    assert (same.status_code, later.status_code) == (304, 304)
    assert (earlier.status_code, garbage.status_code) == (200, 200)


def test_if_none_match_wins_over_if_modified_since(client: TestClient) -> None:
    # RFC 9110 §13.2.2: a non-matching tag means 200 whatever the date says.
    response = client.get(
        "/feeds/transport/atom.xml",
        headers={"if-none-match": '"stale"', "if-modified-since": "Sat, 28 Nov 2026 00:00:00 GMT"},
    )
    assert response.status_code == 200


def test_gzip_when_asked_with_its_own_etag(client: TestClient, feeds_dir: Path) -> None:
    response = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["etag"].endswith('-gz"')
    assert response.content == (feeds_dir / "transport" / "rss.xml").read_bytes()
    raw = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "gzip"})
    assert int(raw.headers["content-length"]) < len(RSS_BODY.encode())
    # Either tag revalidates: both name the current file.
    for tag in (response.headers["etag"], response.headers["etag"].replace("-gz", "")):
        again = client.get(
            "/feeds/transport/rss.xml",
            headers={"accept-encoding": "gzip", "if-none-match": tag},
        )
        assert again.status_code == 304
    refused = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_gzip_bytes_are_stable() -> None:
    body = RSS_BODY.encode()
    assert gzip.compress(body, mtime=0) == gzip.compress(body, mtime=0)


def test_head_has_the_headers_and_no_body(client: TestClient) -> None:
    get = client.get("/feeds/transport/feed.json", headers={"accept-encoding": "identity"})
    head = client.head("/feeds/transport/feed.json", headers={"accept-encoding": "identity"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["etag"] == get.headers["etag"]


def test_other_methods_are_refused(client: TestClient) -> None:
    assert client.post("/feeds/transport/rss.xml").status_code == 405


@pytest.mark.parametrize(
    "raw_path",
    [
        "/feeds/../syndication.db",
        "/feeds/%2e%2e/syndication.db",
        "/feeds/%2E%2E%2Fsyndication.db",
        "/feeds/transport/..%2f..%2fsyndication.db",
        "/feeds/..%5csyndication.db",
        "/feeds//etc/passwd",
        "/feeds/%2fetc%2fpasswd",
        "/feeds/transport/.tmp-123.xml",
        "/feeds/transport/rss.xml%00.json",
        "/feeds/transport/",
        "/feeds/transport",
        "/feeds/missing.xml",
    ],
)
def test_no_path_escapes_the_feeds_folder(
    settings: Settings, engine: Engine, feeds_dir: Path, raw_path: str
) -> None:
    (feeds_dir.parent / "syndication.db").write_bytes(b"secret")
    (feeds_dir / "transport" / ".tmp-123.xml").write_text(RSS_BODY, encoding="utf-8")
    # Straight into the ASGI app, decoded as a server would: an HTTP client would tidy
    # the dot segments away before the app ever saw them.
    status, body = asgi_get(create_app(settings, engine), unquote(raw_path))
    assert (status, body) == (404, b"No such feed.\n")  # refused by the feed server itself
    assert asgi_get(create_app(settings, engine), "/feeds/transport/rss.xml")[0] == 200


def asgi_get(app: ASGIApp, path: str) -> tuple[int, bytes]:
    """One GET for exactly ``path`` through the ASGI interface; (status, body)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(status), body


def test_a_symlink_out_of_the_folder_is_refused(client: TestClient, feeds_dir: Path) -> None:
    outside = feeds_dir.parent / "private.xml"
    outside.write_text(RSS_BODY, encoding="utf-8")
    (feeds_dir / "escape.xml").symlink_to(outside)
    assert client.get("/feeds/escape.xml").status_code == 404


def test_a_symlink_loop_is_a_404_not_a_500(client: TestClient, feeds_dir: Path) -> None:
    # pathlib's resolve() raises RuntimeError on a loop (issue 15 item 5).
    (feeds_dir / "loop-a").symlink_to(feeds_dir / "loop-b")
    (feeds_dir / "loop-b").symlink_to(feeds_dir / "loop-a")
    assert client.get("/feeds/loop-a/rss.xml").status_code == 404
    assert client.get("/feeds/loop-a.xml").status_code == 404


@pytest.mark.parametrize(
    "since",
    ["Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359", "Mon, 1 Jan 2026 +9999"],
)
def test_an_absurd_if_modified_since_is_ignored(client: TestClient, since: str) -> None:
    # An offset that overflows datetime was a 500 (issue 15 item 5).
    response = client.get("/feeds/transport/atom.xml", headers={"if-modified-since": since})
    assert response.status_code == 200


def test_feed_responses_carry_the_security_headers(client: TestClient) -> None:
    response = client.get("/feeds/transport/rss.xml")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_304_does_not_read_the_file(client: TestClient, feeds_dir: Path) -> None:
    first = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "identity"})
    path = feeds_dir / "transport" / "rss.xml"
    stat = path.stat()
    path.chmod(0)
    try:
        again = client.get(
            "/feeds/transport/rss.xml",
            headers={"accept-encoding": "identity", "if-none-match": first.headers["etag"]},
        )
    finally:
        path.chmod(0o644)
    assert again.status_code == 304
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


# -- the pure helpers ---------------------------------------------------------------------


def test_accepts_gzip() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0, *")
    assert not accepts_gzip("*;q=0")


def test_safe_relative() -> None:
    assert safe_relative("transport/rss.xml") == "transport/rss.xml"
    for bad in ("", "../x.xml", "a/../x.xml", "/etc/x.xml", "a//x.xml", ".x.xml", "a\\x.xml"):
        assert safe_relative(bad) is None
    assert safe_relative("syndication.db") is None


def test_if_modified_since_in_every_http_date_form(client: TestClient) -> None:
    """RFC 9110 §5.6.7: IMF-fixdate, RFC 850 and asctime must all be understood."""
    url = "/feeds/transport/atom.xml"
    for same in (
        "Wed, 25 Nov 2026 12:30:00 GMT",
        "Wednesday, 25-Nov-26 12:30:00 GMT",
        "Wed Nov 25 12:30:00 2026",
    ):
        assert client.get(url, headers={"if-modified-since": same}).status_code == 304, same
    for earlier in ("Wed Nov 25 12:29:59 2026", "Sun Nov  1 00:00:00 2026"):
        assert client.get(url, headers={"if-modified-since": earlier}).status_code == 200
    asctime = parse_http_date("Sun Nov  6 08:49:37 1994")
    assert asctime == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 -0000") is None
    assert parse_http_date("yesterday") is None


def test_a_file_written_by_hand_falls_back_to_its_mtime(
    client: TestClient, feeds_dir: Path
) -> None:
    path = feeds_dir / "transport" / "rss.xml"
    path.write_text(RSS_BODY.replace("Transport", "Buses"), encoding="utf-8")
    os.utime(path, (1_790_000_000, 1_790_000_000))
    response = client.get("/feeds/transport/rss.xml")
    assert response.headers["last-modified"] == "Mon, 21 Sep 2026 14:13:20 GMT"


def test_head_of_a_missing_feed_is_a_bodiless_404(client: TestClient) -> None:
    response = client.head("/feeds/transport/missing.xml")
    assert (response.status_code, response.content) == (404, b"")


def test_a_replaced_file_of_the_same_size_and_time_is_read_again(
    client: TestClient, feeds_dir: Path
) -> None:
    path = feeds_dir / "transport" / "rss.xml"
    first = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "identity"})
    stat = path.stat()
    replacement = feeds_dir / "transport" / ".tmp-new"
    replacement.write_text(RSS_BODY.replace("서울 버스", "서울 지하"), encoding="utf-8")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, path)
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    second = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "identity"})
    assert second.headers["etag"] != first.headers["etag"]
    assert "서울 지하" in second.text


def test_a_retraction_moves_last_modified_and_a_rebuild_without_change_does_not(
    settings: Settings, engine: Engine, make_article: Callable[..., ArticleRecord]
) -> None:
    """Issue 14: the retraction of an old article changes the bytes of ``all/rss.xml``
    but not its newest entry date; a client that sends only If-Modified-Since must get
    the new bytes, and a byte-identical rebuild must not move the date."""
    old = make_article("smg-old", published_at=at(2, 1))
    new = make_article("smg-new", published_at=at(20, 1))
    with db.write_session(engine) as session:
        store.write_articles(session, [old, new], at(21, 0))
    feed_service.build_feeds(settings, engine, force_all=False, now=lambda: at(21, 0))
    with TestClient(create_app(settings, engine)) as client:
        first = client.get("/feeds/all/rss.xml")
        assert first.headers["last-modified"] == "Sat, 21 Nov 2026 00:00:00 GMT"
        with db.write_session(engine) as session:
            store.retract_article(session, "smg-old", "published in error", at(22, 0))
        feed_service.build_feeds(settings, engine, force_all=False, now=lambda: at(22, 0))
        since = {"if-modified-since": first.headers["last-modified"]}
        after = client.get("/feeds/all/rss.xml", headers=since)
        assert after.status_code == 200 and b"smg-old" not in after.content
        assert after.headers["etag"] != first.headers["etag"]
        assert after.headers["last-modified"] == "Sun, 22 Nov 2026 00:00:00 GMT"
        feed_service.build_feeds(settings, engine, force_all=True, now=lambda: at(23, 0))
        again = client.get(
            "/feeds/all/rss.xml", headers={"if-modified-since": after.headers["last-modified"]}
        )
        assert again.status_code == 304
        assert again.headers["last-modified"] == after.headers["last-modified"]


def test_feed_files_are_readable_from_any_origin_and_pages_are_not(client: TestClient) -> None:
    """Issue 14: browser-based readers fetch feeds cross-origin (CORS), pages stay closed."""
    origin = {"origin": "https://reader.example.net"}
    for path in ("transport/rss.xml", "transport/feed.json", "index.opml", "transport/no.xml"):
        response = client.get(f"/feeds/{path}", headers=origin)
        assert response.headers["access-control-allow-origin"] == "*", path
    ok = client.get("/feeds/transport/rss.xml", headers=origin)
    assert ok.headers["access-control-expose-headers"] == "ETag"
    cached = client.get(
        "/feeds/transport/rss.xml", headers={**origin, "if-none-match": ok.headers["etag"]}
    )
    assert cached.status_code == 304
    assert cached.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/feeds/transport/rss.xml",
        headers={
            **origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "if-none-match",
        },
    )
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["allow"] == "GET, HEAD, OPTIONS"
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "If-None-Match" in preflight.headers["access-control-allow-headers"]
    for page in ("/", "/digests/", "/healthz"):
        assert "access-control-allow-origin" not in client.get(page, headers=origin).headers


# -- precompressed siblings and the located-path cache -----------------------------------


def gz_get(client: TestClient, path: str, **headers: str) -> tuple[int, str, int]:
    """(status, ETag, Content-Length) of a gzip-accepting GET."""
    response = client.get(path, headers={"accept-encoding": "gzip", **headers})
    length = int(response.headers.get("content-length", "0"))
    return response.status_code, response.headers["etag"], length


def test_a_current_precompressed_sibling_is_served(client: TestClient, feeds_dir: Path) -> None:
    path = feeds_dir / "transport" / "rss.xml"
    _, own_tag, _ = gz_get(client, "/feeds/transport/rss.xml")
    sibling = gzip.compress(path.read_bytes(), compresslevel=1, mtime=12345)
    Path(f"{path}.gz").write_bytes(sibling)
    status, tag, length = gz_get(client, "/feeds/transport/rss.xml")
    # Picked up without the feed itself changing, and with a tag of its own.
    assert (status, length) == (200, len(sibling))
    assert tag != own_tag and tag.startswith(own_tag[:-1] + "-")
    assert gz_get(client, "/feeds/transport/rss.xml", **{"if-none-match": tag})[0] == 304
    plain = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "identity"})
    assert plain.content == path.read_bytes()
    # The sibling itself is not a feed path.
    assert client.get("/feeds/transport/rss.xml.gz").status_code == 404


@pytest.mark.parametrize(
    "sibling",
    [
        gzip.compress(b"<rss>an older build</rss>", mtime=0),  # stale
        b"not gzip at all",
        gzip.compress(b"x" * 10_000_000, mtime=0),  # inflates past the file
        gzip.compress(RSS_BODY.encode(), mtime=0) + gzip.compress(b"more", mtime=0),
    ],
    ids=["stale", "garbage", "bomb", "two-members"],
)
def test_a_sibling_that_is_not_the_file_is_ignored(
    client: TestClient, feeds_dir: Path, sibling: bytes
) -> None:
    path = feeds_dir / "transport" / "rss.xml"
    Path(f"{path}.gz").write_bytes(sibling)
    response = client.get("/feeds/transport/rss.xml", headers={"accept-encoding": "gzip"})
    assert response.headers["etag"].endswith('-gz"')
    assert response.content == path.read_bytes()


def test_a_symlinked_sibling_is_not_followed(
    client: TestClient, feeds_dir: Path, tmp_path: Path
) -> None:
    path = feeds_dir / "transport" / "rss.xml"
    outside = tmp_path / "elsewhere.gz"
    outside.write_bytes(gzip.compress(path.read_bytes(), mtime=7))
    Path(f"{path}.gz").symlink_to(outside)
    assert gz_get(client, "/feeds/transport/rss.xml")[1].endswith('-gz"')


def test_a_folder_swapped_for_a_symlink_out_is_noticed(
    settings: Settings, engine: Engine, feeds_dir: Path, tmp_path: Path
) -> None:
    app = create_app(settings, engine)
    assert asgi_get(app, "/feeds/transport/rss.xml")[0] == 200  # resolved and remembered
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "rss.xml").write_text("<rss>private</rss>", encoding="utf-8")
    os.rename(feeds_dir / "transport", tmp_path / "moved-away")
    (feeds_dir / "transport").symlink_to(outside)
    assert asgi_get(app, "/feeds/transport/rss.xml") == (404, b"No such feed.\n")


def test_a_remembered_path_is_not_resolved_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/feeds/transport/atom.xml").status_code == 200
    resolved: list[Path] = []
    real = Path.resolve

    def counting(self: Path, strict: bool = False) -> Path:
        resolved.append(self)
        return real(self, strict)

    monkeypatch.setattr(Path, "resolve", counting)
    for _ in range(3):
        assert client.get("/feeds/transport/atom.xml").status_code == 200
    assert resolved == []


def test_each_languages_feeds_answer_and_todays_urls_keep_the_primary(
    settings: Settings, engine: Engine, make_article: Callable[..., ArticleRecord]
) -> None:
    # Issue 30: feeds/<lang>/<topic>/… beside today's URLs, which keep the primary language.
    settings = replace(settings, languages=LanguageSettings(available=("en", "zh-Hant")))
    english = make_article("smg-1", published_at=at(20, 1))
    chinese = make_article("smg-1-zh", language="zh-Hant-TW", translation_of="smg-1")
    with db.write_session(engine) as session:
        store.write_articles(session, [english, chinese], at(21, 0))
    feed_service.build_feeds(settings, engine, force_all=False, now=lambda: at(21, 0))
    with TestClient(create_app(settings, engine)) as client:
        primary = client.get("/feeds/all/atom.xml")
        other = client.get("/feeds/zh-Hant/all/atom.xml")
    assert primary.status_code == other.status_code == 200
    assert primary.headers["content-type"].startswith(ATOM)
    assert b":smg-1</id>" in primary.content and b"smg-1-zh</id>" not in primary.content
    assert b'xml:lang="zh-Hant"' in other.content and b":smg-1-zh</id>" in other.content
    assert b'hreflang="en"' in other.content and b'hreflang="zh-Hant-TW"' in primary.content
