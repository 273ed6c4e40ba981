from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from syndication.core.articles import (
    article_from_mapping,
    parse_article_bytes,
    parse_article_line,
)
from syndication.errors import RecordError
from syndication.settings import ImportSettings
from tests.support.builders import article_json

TOPICS = {"international-relations", "culture"}


def line(**fields: Any) -> str:
    data = article_json("smg-3953", **fields)
    for key, value in list(data.items()):
        if value is None:
            del data[key]
    return json.dumps(data, ensure_ascii=False)


def test_a_valid_line_becomes_a_record_in_utc() -> None:
    record = parse_article_line(
        line(
            title="  서울시장 베이징대 강연 ",
            updated_at="2026-11-21T09:30:00+09:00",
            topics=["culture", "culture", "international-relations"],
        ),
        TOPICS,
    )
    assert record.title == "서울시장 베이징대 강연"
    assert record.published_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert record.updated_at == datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    assert record.topics == ("culture", "international-relations")
    assert record.status == "published"
    assert record.language == "en"


def test_updated_at_defaults_to_published_at() -> None:
    record = parse_article_line(line(), TOPICS)
    assert record.updated_at == record.published_at


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"title": None}, "title", "missing"),
        ({"title": "   "}, "title", "must not be empty"),
        ({"id": 42}, "id", "must be a string"),
        ({"url": "/relative"}, "url", "is not an absolute http(s) URL"),
        ({"url": "javascript:alert(1)"}, "url", "is not an absolute http(s) URL"),
        ({"image_url": "img.png"}, "image_url", "is not an absolute http(s) URL"),
        ({"published_at": "2026-11-20T10:00:00"}, "published_at", "has no UTC offset"),
        ({"published_at": "yesterday"}, "published_at", "is not an ISO 8601"),
        ({"updated_at": "2026-11-19T10:00:00+09:00"}, "updated_at", "is before published_at"),
        ({"topics": []}, "topics", "must be a non-empty array"),
        ({"topics": ["sports"]}, "topics", "unknown topic 'sports'"),
        ({"status": "draft"}, "status", "'draft' is not one of"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"language": "english"}, "language", "'english' is not a BCP 47 language tag"),
        ({"language": "ko_KR"}, "language", "is not a BCP 47 language tag"),
        ({"language": 7}, "language", "must be a string"),
    ],
)
def test_each_bad_field_is_named(fields: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_article_line(line(**fields), TOPICS)
    assert info.value.field == field
    assert reason in info.value.reason


def test_language_is_a_bcp47_tag_in_its_recommended_case_or_the_sites() -> None:
    # Issue 26 item 6: it was taken as given ("english", "KO") and published as such.
    assert parse_article_line(line(language=" ZH-hant "), TOPICS).language == "zh-Hant"
    from_bytes = parse_article_bytes(line(language="en-gb").encode(), TOPICS)
    assert from_bytes is not None and from_bytes.language == "en-GB"
    site_in_korean = ImportSettings(language="ko")
    assert parse_article_line(line(), TOPICS, site_in_korean).language == "ko"
    assert parse_article_line(line(language=""), TOPICS, site_in_korean).language == "ko"
    mapping = json.loads(line(language="EN"))
    assert article_from_mapping(mapping, TOPICS, site_in_korean).language == "en"
    with pytest.raises(RecordError, match="^language: 'korean' is not a BCP 47 language tag"):
        article_from_mapping(json.loads(line(language="korean")), TOPICS)


def test_broken_json_and_non_objects_are_record_errors() -> None:
    with pytest.raises(RecordError, match="malformed JSON"):
        parse_article_line('{"id": "x",', TOPICS)
    with pytest.raises(RecordError, match="one JSON object"):
        parse_article_line("[1, 2]", TOPICS)


def test_content_hash_changes_with_any_field_and_not_with_topic_order() -> None:
    a = parse_article_line(line(topics=["culture", "international-relations"]), TOPICS)
    b = parse_article_line(line(topics=["international-relations", "culture"]), TOPICS)
    c = parse_article_line(line(topics=["culture", "international-relations"], summary="x"), TOPICS)
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"title": 'Quote " and \\ backslash', "summary": "tab\tnew\nline\r\x01\x1f\x7f"},
        {"title": "서울 🏙 \u2028\u2029 é", "author": "", "image_url": ""},
        {"status": "retracted", "retraction_reason": "why</script>", "language": "ko"},
        {"topics": ["international-relations", "culture"], "body_html": "<p>&amp;</p>"},
        {"updated_at": "2026-11-21T09:30:00.123456+09:00"},
        {"translation_of": "smg-3950", "language": "ko"},
    ],
)
def test_content_hash_is_the_digest_stores_already_hold(fields: dict[str, Any]) -> None:
    # Stores keep these digests: written out by hand for speed (issue 16), the bytes must
    # stay those of json.dumps(sort_keys=True, ensure_ascii=False) of the fields.
    r = parse_article_line(line(**fields), TOPICS)
    payload = {
        "id": r.source_id,
        "title": r.title,
        "url": r.url,
        "published_at": r.published_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
        "topics": sorted(r.topics),
        "summary": r.summary,
        "body_html": r.body_html,
        "author": r.author,
        "image_url": r.image_url,
        "language": r.language,
        "status": r.status,
        "retraction_reason": r.retraction_reason,
    }
    if r.translation_of:  # named only when set: originals keep their old digests
        payload["translation_of"] = r.translation_of
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    assert r.content_hash() == hashlib.sha256(encoded).hexdigest()


@pytest.mark.parametrize(
    "url",
    [
        "https://english.seoul.example/news/1?a=b#c",
        "http://a",
        "http://a:8080",
        "http://a:/x",
        "http://.",
        "HTTP://Example.COM/x",
        "http://user@host/x",
        "http://[::1]/x",
        "http://[::1/x",
        "http:///path",
        "http://:80/x",
        "http://exa mple.com",
        "http://example.com/a\u00a0b",
        "http://example.com/a\x1fb",
        "http://example.com/a\x01b",
        "http://bücher.example/",
        "http://ex\u2100ample.com/",
        "ftp://example.com/",
        "https:example.com",
        "//example.com/x",
    ],
)
def test_urls_are_judged_as_urlsplit_judges_them(url: str) -> None:
    # The plain-URL shortcut (issue 16) must accept exactly what the split accepts.
    def accepted_by_split() -> bool:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and bool(host) and not re.search(r"\s", url)

    try:
        record = parse_article_line(line(url=url, image_url=url), TOPICS)
    except RecordError as exc:
        assert not accepted_by_split()
        assert exc.field == "url"
    else:
        assert accepted_by_split()
        assert (record.url, record.image_url) == (url, url)


def test_a_nul_or_surrogate_is_refused_whether_escaped_or_raw() -> None:
    # The whole-line shortcut (issue 16) must still find them in any field.
    with pytest.raises(RecordError, match="NUL") as info:
        parse_article_line(line(author="a\x00b"), TOPICS)
    assert info.value.field == "author"
    escaped = json.dumps(article_json("smg-1", summary="a\ud800b"))  # ensure_ascii: \ud800
    assert "\\ud800" in escaped
    raw = line(summary="a\ud800b", title="서울")  # the character itself, in a str line
    assert "\ud800" in raw
    for text in (escaped, raw):
        with pytest.raises(RecordError, match="surrogate") as info:
            parse_article_line(text, TOPICS)
        assert info.value.field == "summary"
    assert parse_article_line(line(summary="\\u0000 spelt out"), TOPICS).summary == (
        "\\u0000 spelt out"
    )


@pytest.mark.parametrize(
    "raw",
    [
        line().encode(),
        line(title="서울 \\u2028").encode(),
        line().replace('"smg-3953"', "NaN").encode(),
        line().replace('"smg-3953"', "9" * 30).encode(),
        line().replace('"smg-3953"', "1e400").encode(),
        line(summary="a\ud800b").encode("utf-8", "surrogatepass"),
        json.dumps(article_json("smg-1", summary="a\ud800b")).encode(),
        json.dumps(article_json("smg-1", author="a\x00b")).encode(),
        line(summary="\\u0000 spelt out").encode(),
        b"\xef\xbb\xbf" + line().encode(),
        line().encode()[:-1] + b"\xff}",
        "\u3000\n".encode(),
        b"   \r\n",
        b"[1, 2]",
        b'{"id": ',
    ],
)
def test_raw_lines_are_judged_as_their_text_is(raw: bytes) -> None:
    # Bytes go through orjson first (issue 16); the verdict and message must be json's.
    def verdict(parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except RecordError as exc:
            return (exc.field, exc.reason)

    def as_text() -> Any:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return ("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return parse_article_line(text, TOPICS) if text.strip() else None

    assert verdict(lambda: parse_article_bytes(raw, TOPICS)) == verdict(as_text)


@pytest.mark.parametrize("spelt", ["raw", "escaped", "bytes"])
def test_characters_that_must_never_reach_a_reader_are_removed_on_the_way_in(spelt: str) -> None:
    """Issue 26 item 7: bidi overrides (U+202A-U+202E, which turn "txt.exe" around), ESC,
    DEL and the other C0/C1 controls reached the digests from article text. They are
    removed once, here, so every output carries the text exactly as stored; tab, line
    feed, carriage return and the bidi isolates (U+2066-U+2069) stay."""
    fields = {
        "title": "Price list \u202egpj.exe\u202c \x1b[31mnow\x7f\x85 out",
        "summary": "Line one\nline\ttwo\x0b\x0c\x01 \u2067isolate\u2069",
        "body_html": "<p>a\u202ab\x9fc</p>\r\n",
        "author": "Desk\x1f",
        "retraction_reason": "",
    }
    data = article_json("smg-1", topics=["culture"], **fields)
    text = json.dumps(data, ensure_ascii=spelt != "raw")
    record = (
        parse_article_bytes(text.encode(), TOPICS)
        if spelt == "bytes"
        else parse_article_line(text, TOPICS)
    )
    assert record is not None
    assert record.title == "Price list gpj.exe [31mnow out"
    assert record.summary == "Line one\nline\ttwo \u2067isolate\u2069"
    assert record.body_html == "<p>abc</p>\r\n"
    assert record.author == "Desk"


def test_a_translation_names_its_original_and_changes_the_hash() -> None:
    original = parse_article_line(line(), TOPICS)
    translation = parse_article_line(line(language="ko", translation_of="smg-3950"), TOPICS)
    assert original.translation_of == ""
    assert (translation.language, translation.translation_of) == ("ko", "smg-3950")
    moved = parse_article_line(line(language="ko", translation_of="smg-3951"), TOPICS)
    assert moved.content_hash() != translation.content_hash()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("smg-3953", "names the article itself"),
        ("a\nb", "control character"),
        ("x" * 201, "longer than 200"),
        (7, "must be a string"),
    ],
)
def test_a_bad_translation_of_is_refused_by_name(value: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        parse_article_line(line(translation_of=value), TOPICS)
    assert caught.value.field == "translation_of"
