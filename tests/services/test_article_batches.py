"""Reading an import into batches, here and in a forked worker process."""

from __future__ import annotations

import io
import json
from contextlib import closing
from datetime import UTC, datetime

import pytest

from syndication.core.articles import ArticleRecord
from syndication.errors import RecordError
from syndication.services.article_batches import (
    ParsedBatch,
    ParsedInWorker,
    decode_batch,
    encode_batch,
    parse_batches,
)
from syndication.settings import DEFAULT_IMPORT_LIMITS
from syndication.store.copy_rows import PreparedArticle, prepare
from tests.support.builders import JsonFactory

TOPICS = {"international-relations", "culture", "economy"}


def test_a_batch_survives_the_wire_exactly() -> None:
    # Every field away from its default, text beyond ASCII, microseconds in both times.
    record = ArticleRecord(
        source_id="smg-7",
        title="서울 opens a centre\ttab",
        url="https://english.seoul.go.kr/news/7?x=1",
        published_at=datetime(2026, 11, 20, 1, 2, 3, 456789, tzinfo=UTC),
        updated_at=datetime(2026, 11, 21, 4, 5, 6, 7, tzinfo=UTC),
        topics=("culture", "economy"),
        summary="A summary\nwith a newline and \\ backslash",
        body_html="<p>Body 😀</p>",
        author="Jane Doe",
        image_url="https://english.seoul.go.kr/i.jpg",
        language="ko",
        status="retracted",
        retraction_reason="Wrong date",
        translation_of="smg-6",
    )
    batch = ParsedBatch(
        items=[(3, record, record.content_hash())],
        rejections=[(1, RecordError("url", "bad")), (2, RecordError("", "malformed JSON"))],
        lines=3,
        size=1234,
    )
    decoded = decode_batch(encode_batch(batch))
    assert decoded.items == batch.items
    decoded_record = decoded.items[0][1]
    assert isinstance(decoded_record, ArticleRecord)
    assert decoded_record.published_at.tzinfo is UTC
    assert decoded_record.content_hash() == record.content_hash()
    assert [(n, e.field, e.reason) for n, e in decoded.rejections] == [
        (1, "url", "bad"),
        (2, "", "malformed JSON"),
    ]
    assert (decoded.lines, decoded.size) == (3, 1234)


def test_a_prepared_batch_survives_the_wire_exactly(make_article_json: JsonFactory) -> None:
    line = json.dumps(make_article_json("x1", title="Tab\there", status="retracted"))
    (batch,) = parse_batches([line], TOPICS, DEFAULT_IMPORT_LIMITS, prepared=True)
    [(number, prepared, digest)] = batch.items
    assert isinstance(prepared, PreparedArticle)
    (plain,) = parse_batches([line], TOPICS, DEFAULT_IMPORT_LIMITS)
    [(_, record, _)] = plain.items
    assert isinstance(record, ArticleRecord)
    assert (number, digest) == (1, record.content_hash())
    assert prepared == prepare(record, digest)
    assert b"Tab\\there" in prepared.tail  # escaped for COPY: a tab separates fields
    decoded = decode_batch(encode_batch(batch))
    assert decoded.items == batch.items
    assert decoded.items[0][1].updated_at.tzinfo is UTC


def test_batches_close_on_size_and_on_a_repeated_article(make_article_json: JsonFactory) -> None:
    lines: list[str | bytes] = [json.dumps(make_article_json(f"x{i}")) for i in range(5)]
    lines.insert(2, json.dumps(make_article_json("x0", title="Second version")))
    lines.insert(4, "")
    lines.append(b"{")
    batches = list(parse_batches(lines, TOPICS, DEFAULT_IMPORT_LIMITS, batch_size=3))
    assert [[(n, r.source_id) for n, r, _ in b.items] for b in batches] == [
        [(1, "x0"), (2, "x1")],  # closed before the second x0: it is an update of the first
        [(3, "x0"), (4, "x2"), (6, "x3")],  # line 5 is blank
        [(7, "x4")],  # with line 8's rejection: two of three
    ]
    assert [n for n, _ in batches[2].rejections] == [8]
    assert [b.lines for b in batches] == [2, 6, 8]
    assert batches[-1].size == sum(len(line) for line in lines)
    records = [(r, digest) for b in batches for _, r, digest in b.items]
    assert all(isinstance(r, ArticleRecord) and digest == r.content_hash() for r, digest in records)


def test_the_last_batch_always_comes_with_the_final_counts() -> None:
    assert [
        (b.items, b.lines, b.size) for b in parse_batches([], TOPICS, DEFAULT_IMPORT_LIMITS)
    ] == [([], 0, 0)]
    batches = list(parse_batches([b"{", b"[]"], TOPICS, DEFAULT_IMPORT_LIMITS, batch_size=2))
    assert [(len(b.rejections), b.lines) for b in batches] == [(2, 2), (0, 2)]


def test_the_worker_reads_what_this_process_would(make_article_json: JsonFactory) -> None:
    lines = [json.dumps(make_article_json(f"w{i}")).encode() + b"\n" for i in range(7)]
    lines[3] = b"\xff not UTF-8\n"
    here = list(parse_batches(io.BytesIO(b"".join(lines)), TOPICS, DEFAULT_IMPORT_LIMITS, 4))
    worker = ParsedInWorker(io.BytesIO(b"".join(lines)), TOPICS, DEFAULT_IMPORT_LIMITS, 4)
    with closing(worker):
        there = list(worker)
    assert [b.items for b in there] == [b.items for b in here]
    assert [[(n, str(e)) for n, e in b.rejections] for b in there] == [
        [(n, str(e)) for n, e in b.rejections] for b in here
    ]
    assert (
        [(b.lines, b.size) for b in there]
        == [(b.lines, b.size) for b in here]
        == [
            (4, sum(map(len, lines[:4]))),
            (7, sum(map(len, lines))),
        ]
    )


def test_an_error_reading_the_lines_reaches_the_importer() -> None:
    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError(5, "Input/output error")

    worker = ParsedInWorker(io.BufferedReader(Failing()), TOPICS, DEFAULT_IMPORT_LIMITS)
    with closing(worker), pytest.raises(OSError, match="Input/output error"):
        list(worker)


def test_universal_lines_split_at_a_lone_cr_and_keep_crlf_lines_whole() -> None:
    from syndication.services.article_batches import universal_lines

    assert list(universal_lines([b"a\rb\rc\r"])) == [b"a\r", b"b\r", b"c\r"]
    assert list(universal_lines([b"a\r\n", b"b\n"])) == [b"a\r\n", b"b\n"]
    assert list(universal_lines(["a\rb"])) == ["a\r", "b"]
