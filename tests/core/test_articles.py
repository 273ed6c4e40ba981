from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from syndication.core.articles import parse_article_line
from syndication.errors import RecordError
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
    ],
)
def test_each_bad_field_is_named(fields: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_article_line(line(**fields), TOPICS)
    assert info.value.field == field
    assert reason in info.value.reason


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
