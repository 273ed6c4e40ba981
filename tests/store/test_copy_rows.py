"""Article rows as COPY text (pure): escaping and the column split."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from syndication.core.articles import ArticleRecord
from syndication.store.articles import ROW_COLUMNS
from syndication.store.copy_rows import HEAD_COLUMNS, TAIL_COLUMNS, copy_tail, copy_text, copy_time

MakeArticle = Callable[..., ArticleRecord]


def test_head_and_tail_are_every_column_the_store_writes_once() -> None:
    assert sorted((*HEAD_COLUMNS, *TAIL_COLUMNS)) == sorted(ROW_COLUMNS)


def test_copy_text_escapes_exactly_what_the_text_format_reads_specially() -> None:
    assert copy_text("plain 서울 😀 \\x") == "plain 서울 😀 \\\\x"
    assert copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_text("\\N") == "\\\\N"  # a string, never NULL
    assert copy_text("") == ""


def test_times_keep_their_instant_and_naive_ones_are_refused() -> None:
    seoul = timezone(timedelta(hours=9))
    assert copy_time(datetime(2026, 11, 20, 9, 0, tzinfo=seoul)) == b"2026-11-20T09:00:00+09:00"
    assert copy_time(None) == b"\\N"
    with pytest.raises(ValueError, match="naive"):
        copy_time(datetime(2026, 11, 20, 9, 0))


def test_a_tail_is_one_field_per_column_and_dates_the_id_in_utc(
    make_article: MakeArticle,
) -> None:
    # 01:30 in Seoul is still the previous day in UTC: the id's date is UTC's.
    published = datetime(2026, 11, 20, 1, 30, tzinfo=timezone(timedelta(hours=9)))
    record = make_article("x\ty", title="Line\nbreak", published_at=published)
    fields = copy_tail(record, "abc").split(b"\t")
    assert len(fields) == len(TAIL_COLUMNS)
    by_column = dict(zip(TAIL_COLUMNS, fields, strict=True))
    assert (by_column["source_id"], by_column["title"]) == (b"x\\ty", b"Line\\nbreak")
    assert by_column["content_hash"] == b"abc"
    assert by_column["id_date"] == b"2026-11-19"
    assert datetime.fromisoformat(by_column["published_at"].decode()) == published.astimezone(UTC)
