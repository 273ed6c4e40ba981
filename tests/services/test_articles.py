from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from syndication.core.articles import html_depth
from syndication.errors import InputError, NotFoundError
from syndication.services import articles
from syndication.services.article_batches import ParsedInWorker
from syndication.services.articles import ImportReport, Rejection, import_articles, write_batches
from syndication.settings import DEFAULT_IMPORT_LIMITS, ImportSettings
from syndication.store import article_queries
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import Article
from tests.support.builders import FIXED_NOW, JsonFactory

TOPICS = {"international-relations", "culture", "economy"}


Run = Callable[..., ImportReport]


@pytest.fixture(params=["here", "worker"])
def run(request: pytest.FixtureRequest) -> Run:
    """``import_articles``, with the lines parsed in this process or (as the CLI does) in a
    forked worker: both must give the same report and the same store."""

    def run(engine: Engine, lines: list[str | bytes], **kwargs: Any) -> ImportReport:
        seen: list[Rejection] = []
        common: dict[str, Any] = {
            "source": "news.jsonl",
            "now": lambda: datetime(2026, 11, 28, tzinfo=UTC),
            "on_rejection": seen.append,
        }
        if request.param == "here":
            report = import_articles(engine, lines, known_topics=TOPICS, **common, **kwargs)
        else:
            parsing = {k: kwargs.pop(k) for k in ("batch_size", "limits") if k in kwargs}
            limits = parsing.get("limits", DEFAULT_IMPORT_LIMITS)
            # Prepared for COPY on PostgreSQL, as import_articles_file hands them on.
            prepared = engine.dialect.name == "postgresql"
            size = parsing.get("batch_size", 2000)
            batches = ParsedInWorker(lines, TOPICS, limits, size, prepared=prepared)
            with closing(batches):
                report = write_batches(engine, batches, **common, **kwargs)
        assert seen == report.rejections
        return report

    return run


def test_a_mixed_file_is_reported_exactly(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    first = [json.dumps(make_article_json(f"a{i}")) for i in range(4)]
    run(engine, list(first))
    lines: list[str | bytes] = [
        first[0],  # unchanged
        json.dumps(make_article_json("a1", title="Changed")),  # updated
        "",  # blank: skipped silently
        json.dumps(make_article_json("b1")),  # inserted
        '{"id": "broken"',  # malformed JSON
        json.dumps(make_article_json("b2", topics=["sports"])),  # unknown topic
        json.dumps(make_article_json("b3", published_at="2026-11-20T10:00:00")),  # naive
        b"\xff\xfe not utf-8\n",
        first[2],  # unchanged
        json.dumps(make_article_json("b4", url="ftp://example.org/x")),
        json.dumps(make_article_json("b5")),  # inserted
    ]
    report = run(engine, lines)
    assert report.summary == "2 inserted, 1 updated, 2 unchanged, 5 rejected"
    assert [str(r) for r in report.rejections] == [
        "news.jsonl:5: malformed JSON: Expecting ',' delimiter at column 16",
        "news.jsonl:6: topics: unknown topic 'sports'",
        "news.jsonl:7: published_at: '2026-11-20T10:00:00' has no UTC offset"
        " (write e.g. +09:00 or Z)",
        "news.jsonl:8: not UTF-8 text (invalid start byte at byte 0)",
        "news.jsonl:10: url: 'ftp://example.org/x' is not an absolute http(s) URL",
    ]
    with db.read_session(engine) as session:
        ids = sorted(a.source_id for a in article_queries.load_articles(session))
    assert ids == ["a0", "a1", "a2", "a3", "b1", "b5"]


def test_batches_and_repeated_ids_within_a_batch(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    lines: list[str | bytes] = [json.dumps(make_article_json(f"x{i}")) for i in range(7)]
    lines.insert(3, json.dumps(make_article_json("x1", title="Second version")))
    progress: list[tuple[int, int]] = []
    report = run(engine, lines, batch_size=3, on_progress=lambda *p: progress.append(p))
    assert report.summary == "7 inserted, 1 updated, 0 unchanged, 0 rejected"
    assert progress[-1] == (8, sum(map(len, lines)))
    with db.read_session(engine) as session:
        titles = {a.source_id: a.title for a in article_queries.load_articles(session)}
        assert titles["x1"] == "Second version"
        assert store.current_change_seq(session) == 8


def test_each_hostile_line_is_one_rejection_and_the_batch_is_kept(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    # Each of these used to abort the import and lose the open batch (issue 15 item 9).
    good = [json.dumps(make_article_json(f"g{i}")) for i in range(3)]
    surrogate = json.dumps(make_article_json("s1")).replace('"title": "', '"title": "\\ud800')
    nul_id = json.dumps(make_article_json("n\u0000ul"))
    nul_body = json.dumps(make_article_json("n2", body_html="<p>a\u0000b</p>"))
    lines: list[str | bytes] = [
        good[0],
        surrogate,
        "[" * 100_000 + "]" * 100_000,
        '{"id": ' + "9" * 5000 + "}",
        json.dumps(make_article_json("d1", published_at="9999-12-31T23:59:59-14:00")),
        good[1],
        nul_id,
        nul_body,
        good[2],
    ]
    report = run(engine, lines)
    assert report.summary == "3 inserted, 0 updated, 0 unchanged, 6 rejected"
    reasons = [str(r) for r in report.rejections]
    assert reasons[0] == "news.jsonl:2: title: contains an unpaired surrogate (\\ud800), not text"
    assert reasons[1] == "news.jsonl:3: malformed JSON: nested too deeply"
    assert reasons[2].startswith("news.jsonl:4: malformed JSON: Exceeds the limit")
    assert reasons[3] == (
        "news.jsonl:5: published_at: '9999-12-31T23:59:59-14:00' is not between 1900 and 2200"
    )
    assert reasons[4] == "news.jsonl:7: id: contains a NUL character (\\u0000)"
    assert reasons[5] == "news.jsonl:8: body_html: contains a NUL character (\\u0000)"
    with db.read_session(engine) as session:
        ids = sorted(a.source_id for a in article_queries.load_articles(session))
    assert ids == ["g0", "g1", "g2"]


@pytest.mark.parametrize(
    ("published_at", "accepted"),
    [
        ("0999-06-01T00:00:00Z", False),
        ("1899-12-31T23:59:59Z", False),
        ("1900-01-01T00:00:00Z", True),
        ("2199-12-31T12:00:00+09:00", True),
        ("2200-01-01T08:00:00+09:00", True),  # still 2199 in UTC
        ("9999-12-15T00:00:00Z", False),
    ],
)
def test_publication_dates_are_bounded(
    run: Run, engine: Engine, make_article_json: JsonFactory, published_at: str, accepted: bool
) -> None:
    # Years below 1000 or near 9999 stopped every feed build (issue 15 item 10).
    report = run(engine, [json.dumps(make_article_json("d", published_at=published_at))])
    assert report.rejected == (0 if accepted else 1)


def test_field_sizes_and_nesting_are_limited_at_import(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    # One 50 MB article made 400 MB of feeds; 50,000 nested divs a minute-long build
    # (issue 15 items 11, 12). Limits are settings; these are small ones.
    limits = ImportSettings(
        max_title_chars=10, max_summary_bytes=20, max_body_bytes=100, max_html_depth=5
    )
    lines: list[str | bytes] = [
        json.dumps(make_article_json("t", title="x" * 11)),
        json.dumps(make_article_json("s", summary="가" * 7)),  # 21 bytes
        json.dumps(make_article_json("b", body_html="<p>" + "x" * 100 + "</p>")),
        json.dumps(make_article_json("d", body_html="<div>" * 6 + "x" + "</div>" * 6)),
        json.dumps(make_article_json("ok", body_html="<div>" * 5 + "<p>x<br>" * 5 + "</div>" * 5)),
    ]
    report = run(engine, lines, limits=limits)
    assert [str(r) for r in report.rejections] == [
        "news.jsonl:1: title: 11 characters; at most 10 are accepted",
        "news.jsonl:2: summary: 21 bytes; at most 20 are accepted",
        "news.jsonl:3: body_html: 107 bytes; at most 100 are accepted",
        "news.jsonl:4: body_html: elements nested 6 deep; at most 5 are accepted",
    ]
    assert report.counts.inserted == 1


def test_default_limits_take_a_large_ordinary_article_and_refuse_deep_nesting(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    body = "<p>" + "가나다 and more text. " * 30_000 + "</p>"  # about 800 KB
    deep = "<div>" * 50_000 + "x" + "</div>" * 50_000
    report = run(
        engine,
        [
            json.dumps(make_article_json("big", body_html=body)),
            json.dumps(make_article_json("deep", body_html=deep)),
            json.dumps(make_article_json("huge", body_html="x" * (2 * 1024 * 1024 + 1))),
        ],
    )
    assert report.counts.inserted == 1
    assert [r.field for r in report.rejections] == ["body_html", "body_html"]


def test_html_depth_counts_like_a_parser() -> None:
    assert html_depth("<div><p>a<p>b<ul><li>x<li>y</ul></div>") == 2
    assert html_depth("<div><span><b>x</div><div>y</div>") == 3
    assert html_depth("<br><img src=x><hr/>") == 0
    assert html_depth("</div></div><div>") == 1


def test_a_line_the_database_refuses_costs_only_that_line(
    run: Run, backend: str, engine: Engine, make_article_json: JsonFactory
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    # Within the import limit (1,000 characters) but over the column's 300: PostgreSQL
    # refuses it inside the batch's COPY, and the batch is retried line by line.
    lines: list[str | bytes] = [
        json.dumps(make_article_json("a1")),
        json.dumps(make_article_json("a2", author="x" * 400)),
        json.dumps(make_article_json("a3")),
    ]
    report = run(engine, lines)
    assert report.summary == "2 inserted, 0 updated, 0 unchanged, 1 rejected"
    (rejection,) = report.rejections
    assert rejection.line == 2
    assert "the database refused it" in rejection.reason
    assert "character varying(300)" in rejection.reason


def test_raw_lines_across_batches_keep_line_numbers_and_rewrite_nothing_unchanged(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    # The command reads bytes (orjson first, issue 16): bad lines beside good ones, over
    # batch boundaries, then the same file again, which must take no change number.
    raw = [
        (json.dumps(make_article_json(f"r{i}"), ensure_ascii=False) + "\n").encode()
        for i in range(7)
    ]
    raw[2] = raw[2].replace(b'"r2"', b"NaN")  # json reads NaN; orjson refuses it
    lines: list[str | bytes] = list(raw)
    lines[4] = json.dumps(make_article_json("r4", summary="a\ud800b")).encode() + b"\n"
    lines[5] = b"\xe3\x80\x80\n"  # an ideographic space: a blank line
    report = run(engine, lines, batch_size=2)
    assert report.summary == "4 inserted, 0 updated, 0 unchanged, 2 rejected"
    assert [str(r) for r in report.rejections] == [
        "news.jsonl:3: id: must be a string, not float",
        "news.jsonl:5: summary: contains an unpaired surrogate (\\ud800), not text",
    ]
    with db.read_session(engine) as session:
        seq = store.current_change_seq(session)
    assert run(engine, lines, batch_size=2).summary == (
        "0 inserted, 0 updated, 4 unchanged, 2 rejected"
    )
    with db.read_session(engine) as session:
        assert store.current_change_seq(session) == seq == 4
        ids = sorted(a.source_id for a in article_queries.load_articles(session))
    assert ids == ["r0", "r1", "r3", "r6"]


# -- retracting: one reason policy for the CLI, the console, the push API and sources --------


def test_the_reason_is_trimmed_folded_and_capped() -> None:
    policy = articles.retraction_reason
    assert policy("  Wrong\r\n figures\t here ", required=True) == "Wrong figures here"
    assert policy("x" * 2500, required=True) == "x" * articles.MAX_REASON_CHARS
    assert policy(" " + "y " * 3000, required=False) == ("y " * 1000).rstrip()
    assert policy("   ", required=False) == ""


def test_an_empty_reason_is_refused_only_where_one_is_required() -> None:
    with pytest.raises(InputError, match="give a reason for the retraction"):
        articles.retraction_reason(" \n ", required=True)
    assert articles.retraction_reason("", required=False) == ""


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\x1f", "\udc80"])
def test_control_characters_and_nul_are_refused(char: str) -> None:
    with pytest.raises(InputError, match=f"control character U\\+{ord(char):04X}"):
        articles.retraction_reason(f"wrong{char}figures", required=False)


def stored(engine: Engine, source_id: str) -> Article:
    with db.read_session(engine) as session:
        return session.scalars(select(Article).where(Article.source_id == source_id)).one()


def imported(engine: Engine, make_article_json: JsonFactory, *ids: str) -> None:
    lines: list[str | bytes] = [json.dumps(make_article_json(i)) for i in ids]
    report = import_articles(engine, lines, source="t", known_topics=TOPICS, now=lambda: FIXED_NOW)
    assert report.counts.inserted == len(ids)


def test_retract_by_source_id_or_row_id_applies_the_policy(
    engine: Engine, make_article_json: JsonFactory
) -> None:
    imported(engine, make_article_json, "a1", "a2")
    done = articles.retract(engine, "a1", "  Wrong\n date ", FIXED_NOW, reason_required=False)
    assert done == articles.Retraction("a1", True)
    assert (stored(engine, "a1").status, stored(engine, "a1").retraction_reason) == (
        "retracted",
        "Wrong date",
    )
    again = articles.retract(engine, "a1", "Wrong date", FIXED_NOW, reason_required=True)
    assert again.changed is False
    row_id = stored(engine, "a2").id
    by_id = articles.retract(engine, row_id, "z" * 3000, FIXED_NOW, reason_required=True)
    assert by_id == articles.Retraction("a2", True)
    assert stored(engine, "a2").retraction_reason == "z" * 2000


def test_retract_refuses_before_writing_and_names_unknown_articles(
    engine: Engine, make_article_json: JsonFactory
) -> None:
    imported(engine, make_article_json, "a1")
    with pytest.raises(InputError, match="U\\+0000"):
        articles.retract(engine, "a1", "bad\x00reason", FIXED_NOW, reason_required=False)
    with pytest.raises(InputError, match="give a reason"):
        articles.retract(engine, "a1", "", FIXED_NOW, reason_required=True)
    assert stored(engine, "a1").status == "published"
    with pytest.raises(NotFoundError, match="article 'nope': no such article in the store"):
        articles.retract(engine, "nope", "x", FIXED_NOW, reason_required=True)
    with pytest.raises(NotFoundError, match="article 999999: no such article"):
        articles.retract(engine, 999999, "x", FIXED_NOW, reason_required=True)


def test_retract_in_a_callers_transaction_requires_a_clean_reason(
    engine: Engine, make_article_json: JsonFactory
) -> None:
    imported(engine, make_article_json, "a1")
    with db.write_session(engine) as session, pytest.raises(InputError):
        articles.retract_in(session, "a1", " ", FIXED_NOW)
    with db.write_session(engine) as session:
        assert articles.retract_in(session, "a1", " removed\tupstream ", FIXED_NOW)
    assert stored(engine, "a1").retraction_reason == "removed upstream"


def test_search_finds_articles_by_source_id(engine: Engine, make_article_json: JsonFactory) -> None:
    imported(engine, make_article_json, "a1", "a2")
    assert {row.source_id for row in articles.search(engine, "")} == {"a1", "a2"}
    assert [row.source_id for row in articles.search(engine, "a2")] == ["a2"]


def test_a_bom_and_cr_only_line_ends_are_read_as_users_mean_them(
    run: Run, engine: Engine, make_article_json: JsonFactory
) -> None:
    # Issue 27 item 8: a Windows editor's byte-order mark does not cost the first line; a
    # file saved with CR-only line ends is three lines, not one rejected line.
    text = "\r".join(json.dumps(make_article_json(f"cr-{n}")) for n in (1, 2, 3))
    lines: list[str | bytes] = [b"\xef\xbb\xbf" + text.encode() + b"\n"]
    report = run(engine, lines)
    assert (report.counts.inserted, report.rejected) == (3, 0)
    again = run(engine, ["\ufeff" + json.dumps(make_article_json("bom-text")) + "\n"])
    assert again.counts.inserted == 1
