"""The sources unit of work against real loopback servers, on every database backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from syndication.scheduler import runner as scheduling
from syndication.services.sources import backoff, poll_sources
from syndication.settings import SchedulerSettings, Settings, SourceSettings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import sources as source_store
from syndication.store.models import Article, JobRun
from tests.support.http import Answer, Request, Server, drip_headers, serve
from tests.support.wordpress import T0, FakeWordPress

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
CATEGORIES = (
    ("environment-news", "environment"),
    ("international-relations-news", "international-relations"),
)


def clock() -> datetime:
    return NOW


@pytest.fixture
def wordpress() -> Iterator[tuple[FakeWordPress, Server]]:
    site = FakeWordPress()
    for post_id in range(1, 251):
        site.add_post(post_id, categories=(7,) if post_id % 2 else (8,))
    with serve(site) as server:
        yield site, server


def wp_source(url: str, **fields: object) -> SourceSettings:
    values: dict[str, object] = {
        "name": "cms",
        "kind": "wordpress",
        "url": url,
        "categories": CATEGORIES,
        "timeout_seconds": 5.0,
    }
    values.update(fields)
    return SourceSettings(**values)  # type: ignore[arg-type]


def with_sources(settings: Settings, *sources: SourceSettings) -> Settings:
    return replace(settings, sources=sources)


def change_seq(engine: Engine) -> int:
    with db.read_session(engine) as session:
        return store.current_change_seq(session)


def article(engine: Engine, source_id: str) -> Article:
    with db.read_session(engine) as session:
        return session.scalars(select(Article).where(Article.source_id == source_id)).one()


def test_first_poll_reads_every_page_as_wordpress_pages(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    [report] = poll_sources(settings, engine, now=clock)
    assert report.error == ""
    assert (report.fetched, report.inserted, report.rejected) == (250, 250, 0)
    posts = [r for r in server.requests if r.query.get("orderby") == "modified"]
    assert [r.query["page"] for r in posts] == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in posts)
    assert posts[0].query["order"] == "asc"
    assert "modified_after" not in posts[0].query
    assert server.requests[0].headers["user-agent"].endswith(f"(+{settings.site.base_url})")
    stored = article(engine, "cms:1")
    assert stored.title == "Seoul\u2019s news number 1"
    assert stored.summary == "Summary 1 \u2026"
    assert stored.published_at == T0 + timedelta(minutes=1)
    with db.read_session(engine) as session:
        state = source_store.load_source(session, "cms")
    assert state is not None and state.cursor == (T0 + timedelta(minutes=250)).isoformat()


def test_idle_poll_writes_no_article_and_asks_only_for_the_overlap(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    before = change_seq(engine)
    server.requests.clear()
    [report] = poll_sources(settings, engine, now=clock)
    assert change_seq(engine) == before
    assert (report.inserted, report.updated) == (0, 0)
    assert len(server.requests) == 1  # one page: the five minutes of overlap
    after = datetime.fromisoformat(server.requests[0].query["modified_after"])
    assert after == T0 + timedelta(minutes=245)


def test_an_edit_keeps_the_id_and_moves_updated(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    edited = T0 + timedelta(days=2)
    site.edit(3, edited, title="Corrected &amp; updated")
    [report] = poll_sources(settings, engine, now=clock)
    assert (report.inserted, report.updated) == (0, 1)
    stored = article(engine, "cms:3")
    assert stored.title == "Corrected & updated"
    assert stored.updated_at == edited
    with db.read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 250


def test_a_vanished_post_becomes_a_tombstone_after_full(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    site.edit(5, T0 + timedelta(days=1), status="trash")
    del site.posts[6]
    [report] = poll_sources(settings, engine, full=True, now=clock)
    assert report.retracted == 2
    assert article(engine, "cms:5").status == "retracted"
    assert article(engine, "cms:6").retraction_reason == "removed from cms"
    assert article(engine, "cms:7").status == "published"
    [again] = poll_sources(settings, engine, full=True, now=clock)
    assert again.retracted == 0


def test_unmapped_category_is_one_rejection_naming_source_item_reason(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    site, server = wordpress
    site.add_post(900, categories=(9,))
    settings = with_sources(settings, wp_source(server.url))
    seen: list[str] = []
    [report] = poll_sources(settings, engine, now=clock, on_rejection=lambda r: seen.append(str(r)))
    assert report.rejected == 1 and report.inserted == 250
    assert seen[0].startswith("cms: post 900: categories: no category maps to a topic")
    defaulted = with_sources(settings, wp_source(server.url, default_topics=("culture",)))
    [report] = poll_sources(defaulted, engine, full=True, now=clock)
    assert report.inserted == 1 and report.rejected == 0


def failing(request: Request) -> Answer:
    return Answer(500, {"Content-Type": "text/plain"}, b"database error")


def test_a_failing_source_does_not_stop_the_others_and_backs_off(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    with serve(failing) as broken:
        settings = with_sources(
            settings, wp_source(broken.url, name="broken"), wp_source(server.url)
        )
        broken_report, good = poll_sources(settings, engine, now=clock, scheduled=True)
        assert "500" in broken_report.error and "broken" in broken_report.error
        assert good.inserted == 250
        asked = len(broken.requests)
        # The scheduler now leaves it alone; an explicit poll asks all the same.
        waiting, _ = poll_sources(settings, engine, now=clock, scheduled=True)
        assert waiting.waiting and len(broken.requests) == asked
        poll_sources(settings, engine, ["broken"], now=clock)
        assert len(broken.requests) == asked + 1
        with db.read_session(engine) as session:
            state = source_store.load_source(session, "broken")
        assert state is not None and state.failures == 2
        broken.answer_with(FakeWordPress())
        [ok] = poll_sources(settings, engine, ["broken"], now=clock)
        assert ok.error == ""
        with db.read_session(engine) as session:
            state = source_store.load_source(session, "broken")
        assert state is not None and state.failures == 0 and state.next_attempt_at is None


def test_a_hanging_source_gives_up_after_timeout_seconds(
    settings: Settings, engine: Engine
) -> None:
    with serve(lambda r: Answer(200, {}, b"[]", delay=30)) as slow:
        settings = with_sources(settings, wp_source(slow.url, timeout_seconds=0.5))
        started = datetime.now(UTC)
        [report] = poll_sources(settings, engine, now=clock)
        assert datetime.now(UTC) - started < timedelta(seconds=5)
    assert "within 0.5 s" in report.error


def test_retry_after_sets_the_back_off(settings: Settings, engine: Engine) -> None:
    with serve(lambda r: Answer(429, {"Retry-After": "7200"}, b"")) as limited:
        settings = with_sources(settings, wp_source(limited.url))
        [report] = poll_sources(settings, engine, now=clock)
    assert "retry after 7200 s" in report.error
    with db.read_session(engine) as session:
        state = source_store.load_source(session, "cms")
    assert state is not None and state.next_attempt_at == NOW + timedelta(hours=2)


def test_backoff_doubles_and_is_capped() -> None:
    assert backoff(300, 1, None) == timedelta(seconds=300)
    assert backoff(300, 2, None) == timedelta(seconds=600)
    assert backoff(300, 30, None) == timedelta(hours=1)
    assert backoff(300, 1, 7200) == timedelta(hours=2)


def test_wordpress_refuses_per_page_101(wordpress: tuple[FakeWordPress, Server]) -> None:
    import httpx2 as httpx

    _site, server = wordpress
    answer = httpx.get(f"{server.url}/wp-json/wp/v2/posts", params={"per_page": 101})
    assert answer.status_code == 400 and answer.json()["code"] == "rest_invalid_param"
    past = httpx.get(f"{server.url}/wp-json/wp/v2/posts", params={"per_page": 100, "page": 4})
    assert past.status_code == 400
    assert past.json()["code"] == "rest_post_invalid_page_number"


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Upstream</title><id>urn:x</id>
<updated>2026-11-21T00:00:00Z</updated>
<entry><id>urn:entry:1</id><title>Parks &amp; rivers</title>
<link href="https://upstream.example.org/1"/><published>2026-11-20T00:00:00Z</published>
<updated>2026-11-21T00:00:00Z</updated><category term="environment-news"/>
<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry>
<entry><id>urn:entry:2</id><title>No date</title><link href="https://upstream.example.org/2"/>
<category term="environment-news"/></entry>
</feed>"""


def test_feed_source_with_etags(settings: Settings, engine: Engine) -> None:
    def feed(request: Request) -> Answer:
        if request.headers.get("if-none-match") == '"v1"':
            return Answer(304, {"ETag": '"v1"'})
        return Answer(200, {"Content-Type": "application/atom+xml", "ETag": '"v1"'}, ATOM.encode())

    with serve(feed) as server:
        source = SourceSettings("upstream", "feed", f"{server.url}/atom.xml", CATEGORIES)
        settings = with_sources(settings, source)
        [first] = poll_sources(settings, engine, now=clock)
        assert (first.inserted, first.rejected) == (1, 1)
        assert first.rejections[0].field == "published"
        before = change_seq(engine)
        [idle] = poll_sources(settings, engine, now=clock)
        assert server.requests[-1].headers["if-none-match"] == '"v1"'
        assert (idle.fetched, idle.inserted) == (0, 0) and change_seq(engine) == before
    stored = article(engine, "upstream:urn:entry:1")
    assert stored.title == "Parks & rivers"
    assert stored.updated_at == datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(("declared", "stored"), [("KO-kr", "ko-KR"), ("Korean", "en"), ("", "en")])
def test_a_feed_sources_language_is_a_tag_or_the_sites(
    settings: Settings, engine: Engine, declared: str, stored: str
) -> None:
    # Issue 26 item 6: a feed's own language, as a BCP 47 tag in its recommended case; a
    # feed declaring one that is not a tag is taken to be in the site's, not refused.
    body = ATOM.replace("<feed ", f'<feed xml:lang="{declared}" ' if declared else "<feed ")

    def feed(request: Request) -> Answer:
        return Answer(200, {"Content-Type": "application/atom+xml"}, body.encode())

    with serve(feed) as server:
        source = SourceSettings("upstream", "feed", f"{server.url}/atom.xml", CATEGORIES)
        [report] = poll_sources(with_sources(settings, source), engine, now=clock)
    assert report.inserted == 1
    assert article(engine, "upstream:urn:entry:1").language == stored


def test_jsonl_source_from_a_path(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    from tests.support.builders import article_json

    export = tmp_path / "export.jsonl"
    lines = [json.dumps(article_json("x-1")), "{not json", json.dumps(article_json("x-2"))]
    export.write_text("\n".join(lines) + "\n")
    settings = with_sources(settings, SourceSettings("export", "jsonl", str(export)))
    [report] = poll_sources(settings, engine, now=clock)
    assert (report.inserted, report.rejected) == (2, 1)
    assert str(report.rejections[0]).startswith("export: line 2: ")
    [idle] = poll_sources(settings, engine, now=clock)
    assert idle.fetched == 0


def test_a_record_the_database_refuses_costs_only_that_record(
    settings: Settings, engine: Engine, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    from tests.support.builders import article_json

    # Within the import limit (1,000 characters) but over the column's 300: the batch is
    # refused and written again record by record, as the file import does.
    export = tmp_path / "export.jsonl"
    lines = [article_json("x-1"), article_json("x-2", author="x" * 400), article_json("x-3")]
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = with_sources(settings, SourceSettings("export", "jsonl", str(export)))
    seen: list[str] = []
    [report] = poll_sources(settings, engine, now=clock, on_rejection=lambda r: seen.append(str(r)))
    assert report.error == ""
    assert (report.fetched, report.inserted, report.rejected) == (3, 2, 1)
    assert seen == [str(r) for r in report.rejections]
    assert seen[0].startswith("export: x-2: the database refused it: ")
    assert "character varying(300)" in seen[0]
    assert article(engine, "x-3").title == "Article x-3"
    # The memo was stored after the records: the next poll sees an unchanged file.
    [idle] = poll_sources(settings, engine, now=clock)
    assert (idle.fetched, idle.error) == (0, "")


def test_a_refused_record_does_not_hold_back_the_cursor_or_the_retractions(
    settings: Settings,
    engine: Engine,
    wordpress: tuple[FakeWordPress, Server],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every backend: the database's refusal is simulated for one record, so the
    # fallback's order (records one by one, then the retractions and the cursor) is
    # tested where VARCHAR lengths are not enforced too.
    from sqlalchemy.exc import StatementError

    site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    site.edit(4, T0 + timedelta(days=1), title="Refused")
    site.edit(8, T0 + timedelta(days=1), title="Kept")
    del site.posts[6]
    real = store.write_articles

    def refusing(session: Any, records: Any, now: datetime, **kwargs: Any) -> Any:
        if any(r.source_id == "cms:4" for r in records):
            raise StatementError("value too long", "INSERT", None, ValueError("too long"))
        return real(session, records, now, **kwargs)

    monkeypatch.setattr("syndication.services.articles.write_articles", refusing)
    [report] = poll_sources(settings, engine, full=True, now=clock)
    assert report.error == ""
    assert (report.updated, report.rejected, report.retracted) == (1, 1, 1)
    assert str(report.rejections[0]).startswith("cms: cms:4: the database refused it: ")
    assert article(engine, "cms:8").title == "Kept"
    assert article(engine, "cms:6").status == "retracted"
    with db.read_session(engine) as session:
        state = source_store.load_source(session, "cms")
    assert state is not None and state.cursor == (T0 + timedelta(days=1)).isoformat()


def test_scheduler_once_polls_the_sources_before_the_feeds(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    settings = replace(
        with_sources(settings, wp_source(server.url)),
        scheduler=SchedulerSettings(max_digest_delay=timedelta(0)),
    )
    assert scheduling.run_once(settings, now=clock) == 0
    with db.read_session(engine) as session:
        runs = list(session.scalars(select(JobRun).order_by(JobRun.id)))
        assert session.scalar(select(func.count()).select_from(Article)) == 250
    assert [r.job_id for r in runs][:2] == ["sources", "poll"]
    assert runs[0].ok and "250 inserted" in runs[0].summary
    assert (settings.feeds.dir / "all" / "atom.xml").exists()


def test_a_post_saved_in_the_cursors_second_is_not_skipped(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    # Same second as the newest post already read: modified_after alone would miss it.
    site.add_post(500, date=T0 + timedelta(minutes=250), modified=T0 + timedelta(minutes=250))
    [report] = poll_sources(settings, engine, now=clock)
    assert report.inserted == 1
    assert article(engine, "cms:500").title == "Seoul\u2019s news number 500"


def test_an_edit_while_paging_makes_the_next_poll_read_the_range_again(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    site, server = wordpress
    settings = with_sources(settings, wp_source(server.url))
    poll_sources(settings, engine, now=clock)
    for post_id in range(1, 151):
        site.edit(post_id, T0 + timedelta(days=1, minutes=post_id), title=f"Edited {post_id}")

    def edit_during_paging(request: Request) -> Answer:
        if request.query.get("page") == "2" and request.query.get("orderby") == "modified":
            # WordPress stamps an edit with its own clock: the edited post jumps to the end
            # and the first post of page 2 slides onto page 1, which was already read.
            site.edit(1, datetime.now(UTC).replace(microsecond=0), title="Edited again")
        return site(request)

    server.answer_with(edit_during_paging)
    [first] = poll_sources(settings, engine, now=clock)
    assert first.error == ""
    assert article(engine, "cms:96").title != "Edited 96"  # skipped by the shift
    with db.read_session(engine) as session:
        state = source_store.load_source(session, "cms")
    assert state is not None and state.cursor == (T0 + timedelta(minutes=250)).isoformat()
    server.answer_with(site)
    poll_sources(settings, engine, now=clock)
    assert article(engine, "cms:96").title == "Edited 96"
    assert article(engine, "cms:1").title == "Edited again"


def test_credentials_named_but_unset_fail_that_source_only(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    locked = wp_source(server.url, name="locked", username_env="WP_USER")
    settings = with_sources(settings, locked, wp_source(server.url))
    failed, ok = poll_sources(settings, engine, now=clock)
    assert "$WP_USER is not set" in failed.error
    assert ok.inserted == 250


# -- issue 27 item 1: every upstream item judged alone -----------------------------------


def test_a_post_dated_past_year_9999_is_one_rejection_and_the_page_is_written(
    settings: Settings, engine: Engine
) -> None:
    site = FakeWordPress()
    for post_id in (1, 2, 3):
        site.add_post(post_id)
    site.posts[2]["modified_gmt"] = "9999-12-31T23:59:59-14:00"
    with serve(site) as server:
        settings = with_sources(settings, wp_source(server.url))
        [report] = poll_sources(settings, engine, now=clock)
    assert report.error == ""
    assert (report.fetched, report.inserted, report.rejected) == (3, 2, 1)
    assert str(report.rejections[0]).startswith("cms: post 2: modified_gmt: ")
    assert "out of range" in str(report.rejections[0])


JSON_FEED_ITEMS: list[dict[str, Any]] = [
    {
        "id": "good",
        "url": "https://upstream.example.org/good",
        "title": "Good",
        "date_published": "2026-11-20T00:00:00Z",
        "tags": ["environment-news"],
    },
    {
        "id": "far",
        "url": "https://upstream.example.org/far",
        "title": "Far",
        "date_published": "9999-12-31T23:59:59-14:00",
        "tags": ["environment-news"],
    },
    {
        "id": "tags",
        "url": "https://upstream.example.org/tags",
        "title": "Tags",
        "date_published": "2026-11-20T00:00:00Z",
        "tags": 5,
    },
]


def json_feed(items: list[dict[str, Any]]) -> Answer:
    body = {"version": "https://jsonfeed.org/version/1.1", "title": "Up", "items": items}
    return Answer(200, {"Content-Type": "application/feed+json"}, json.dumps(body).encode())


def test_one_bad_json_feed_item_costs_only_that_item(settings: Settings, engine: Engine) -> None:
    with serve(lambda r: json_feed(JSON_FEED_ITEMS)) as server:
        source = SourceSettings(
            "up", "feed", f"{server.url}/feed.json", CATEGORIES, default_topics=("environment",)
        )
        settings = with_sources(settings, source)
        [report] = poll_sources(settings, engine, now=clock)
    assert report.error == ""
    assert report.fetched == 3
    rejected = {r.item: str(r) for r in report.rejections}
    assert set(rejected) == {"far"}
    assert "out of range" in rejected["far"]
    # "tags": 5 is no tags: the source's default topics apply.
    assert article(engine, "up:tags").title == "Tags"
    assert article(engine, "up:good").title == "Good"


# -- issue 27 item 2: time bounded as a whole ---------------------------------------------


def test_a_huge_retry_after_is_clamped_and_the_next_source_is_polled(
    settings: Settings, engine: Engine, wordpress: tuple[FakeWordPress, Server]
) -> None:
    _site, server = wordpress
    huge = {"Retry-After": "99999999999999999999"}
    with serve(lambda r: Answer(503, huge, b"")) as limited:
        settings = with_sources(
            settings, wp_source(limited.url, name="limited"), wp_source(server.url)
        )
        limited_report, good = poll_sources(settings, engine, now=clock)
    assert "503" in limited_report.error and good.inserted == 250
    with db.read_session(engine) as session:
        state = source_store.load_source(session, "limited")
    assert state is not None and state.next_attempt_at == NOW + timedelta(hours=24)


def test_backoff_clamps_any_retry_after() -> None:
    assert backoff(300, 1, 1e20) == timedelta(hours=24)
    assert backoff(300, 1, float("inf")) == timedelta(hours=24)
    assert backoff(300, 1, float("nan")) == timedelta(seconds=300)
    assert backoff(300, 10**6, None) == timedelta(hours=1)


def test_the_scheduler_runs_its_other_jobs_after_a_huge_retry_after(
    settings: Settings, engine: Engine
) -> None:
    with serve(lambda r: Answer(503, {"Retry-After": "9" * 400}, b"")) as limited:
        settings = replace(
            with_sources(settings, wp_source(limited.url)),
            scheduler=SchedulerSettings(max_digest_delay=timedelta(0)),
        )
        assert scheduling.run_once(settings, now=clock) == 0
    with db.read_session(engine) as session:
        runs = {r.job_id: r for r in session.scalars(select(JobRun))}
    assert not runs["sources"].ok and "86400 s" in runs["sources"].error
    assert runs["poll"].ok and runs["deliver"].ok


# -- issue 27 item 3: a poll's total deadline and page cap --------------------------------


def test_a_source_dripping_headers_ends_at_its_timeout_and_the_scheduler_goes_on(
    settings: Settings, engine: Engine
) -> None:
    import time

    with drip_headers(0.5) as url:
        settings = replace(
            with_sources(settings, wp_source(url, timeout_seconds=2.0)),
            scheduler=SchedulerSettings(max_digest_delay=timedelta(0)),
        )
        started = time.monotonic()
        [report] = poll_sources(settings, engine, now=clock)
        assert time.monotonic() - started < 3.0
        assert "no complete answer within 2 s" in report.error
        started = time.monotonic()
        assert scheduling.run_once(settings, now=clock) == 0
        # The other jobs ran after it, and the whole run waited at most the source's timeout.
        assert time.monotonic() - started < 2.0 + 1.0 + 2.0  # the poll, +1 s, the other jobs
    with db.read_session(engine) as session:
        runs = [r.job_id for r in session.scalars(select(JobRun).order_by(JobRun.id))]
    assert runs[:2] == ["sources", "poll"] and "deliver" in runs


def endless_pages(request: Request) -> Answer:
    """Claims a million pages and fills every one with the same post."""
    site = FakeWordPress()
    post = site.add_post(int(request.query.get("page", "1")))
    if request.path.endswith("/categories"):
        return site(request)
    headers = {"X-WP-Total": "100000000", "X-WP-TotalPages": "1000000"}
    return Answer(200, headers, json.dumps([post]).encode())


def test_wordpress_paging_stops_at_max_pages_and_at_an_empty_page(
    settings: Settings, engine: Engine
) -> None:
    with serve(endless_pages) as server:
        settings = with_sources(settings, wp_source(server.url, max_pages=5))
        [report] = poll_sources(settings, engine, now=clock)
        assert report.inserted == 5
        changed = [
            r for r in server.requests if r.path.endswith("/posts") and r.query["_fields"] != "id"
        ]
        assert len(changed) == 5
        # The first poll's reconciliation is cut short too, and then retracts nothing.
        assert "more than max_pages (5)" in report.error and report.retracted == 0
    empty = {"X-WP-Total": "100000000", "X-WP-TotalPages": "1000000"}
    with serve(lambda r: Answer(200, empty, b"[]")) as server:
        settings = with_sources(settings, wp_source(server.url))
        [report] = poll_sources(settings, engine, now=clock)
        assert len(server.requests) <= 2  # the changed posts, the reconciliation


# -- issue 27 item 4: only public WordPress posts ------------------------------------------


def test_protected_and_unpublished_posts_are_skipped_and_retracted_if_public_before(
    settings: Settings, engine: Engine
) -> None:
    site = FakeWordPress()
    for post_id in (1, 2, 3, 4):
        site.add_post(post_id)
    with serve(site) as server:
        settings = with_sources(settings, wp_source(server.url))
        [first] = poll_sources(settings, engine, now=clock)
        assert first.inserted == 4
        # Post 2 gets a password (WordPress's anonymous shape: empty text, protected); post
        # 3 comes with its text, as an editor's context=edit would send it; post 4 is
        # listed as a draft (a plugin); post 5 is new and protected.
        later = T0 + timedelta(days=1)
        site.edit(2, later)
        site.posts[2]["content"] = {"rendered": "", "protected": True}
        site.posts[2]["excerpt"] = {"rendered": "", "protected": True}
        site.edit(3, later)
        site.posts[3]["content"] = {"rendered": "<p>secret</p>", "protected": True}
        site.edit(4, later)
        site.posts[4]["status"] = "publish"  # listed all the same, but says:
        site.add_post(5, modified=later)["content"]["protected"] = True
        original = site._posts

        def drafts_listed(query: dict[str, str]) -> Answer:
            answer = original(query)
            posts = json.loads(answer.body)
            for post in posts:
                if post["id"] == 4:
                    post["status"] = "draft"
            return replace(answer, body=json.dumps(posts).encode())

        site._posts = drafts_listed  # type: ignore[method-assign]
        [second] = poll_sources(settings, engine, now=clock)
    assert (second.skipped, second.retracted, second.inserted) == (4, 3, 0)
    assert "4 skipped (not public)" in second.summary
    for post_id, why in ((2, "password-protected"), (3, "password-protected"), (4, "'draft'")):
        stored = article(engine, f"cms:{post_id}")
        assert stored.status == "retracted" and why in stored.retraction_reason
        assert "secret" not in stored.body_html
    with db.read_session(engine) as session:
        assert session.scalar(select(Article).where(Article.source_id == "cms:5")) is None
    assert article(engine, "cms:1").status == "published"


# -- issue 27 item 5: keep what the formats allow -----------------------------------------

LONG_WORDS = " ".join(f"word{n}" for n in range(3000))  # about 26 KB of plain text
RSS_UNTITLED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Toots</title><link>https://social.example/</link>
<description>x</description>
<item><guid>https://social.example/1</guid><link>https://social.example/1</link>
<pubDate>Fri, 20 Nov 2026 00:00:00 GMT</pubDate><category>environment-news</category>
<description>&lt;p&gt;Rivers are rising across the city today, and the parks along the
banks are closed until the water goes down again&lt;/p&gt;</description></item>
<item><guid>https://social.example/2</guid><link>https://social.example/2</link>
<pubDate>Fri, 20 Nov 2026 00:00:00 GMT</pubDate><title>Long</title>
<category>environment-news</category><description>{LONG_WORDS}</description></item>
<item><guid>https://social.example/3</guid><link>https://social.example/3</link>
<title>Undated</title><category>environment-news</category></item>
</channel></rss>"""

ATOM03_CREATED = """<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
<entry><id>urn:old:1</id><title>Created only</title>
<link rel="alternate" type="text/html" href="https://old.example/1"/>
<created>2026-11-19T08:00:00Z</created></entry></feed>"""


def test_untitled_long_and_undated_items_are_kept(settings: Settings, engine: Engine) -> None:
    feeds = {
        "/rss": ("application/rss+xml", RSS_UNTITLED.encode()),
        "/atom03": ("application/atom+xml", ATOM03_CREATED.encode()),
        "/json": (
            "application/feed+json",
            json_feed([{"id": "j1", "url": "https://j.example/1", "title": "No date"}]).body,
        ),
    }

    def serve_feeds(request: Request) -> Answer:
        media_type, body = feeds[request.path]
        return Answer(200, {"Content-Type": media_type}, body)

    with serve(serve_feeds) as server:
        sources = [
            SourceSettings(n, "feed", f"{server.url}/{n}", CATEGORIES, ("environment",))
            for n in ("rss", "atom03", "json")
        ]
        settings = with_sources(settings, *sources)
        reports = poll_sources(settings, engine, now=clock)
        counts = [(r.inserted, r.rejected, r.error) for r in reports]
        assert counts == [(3, 0, ""), (1, 0, ""), (1, 0, "")]
        untitled = article(engine, "rss:https://social.example/1")
        assert untitled.title.startswith("Rivers are rising across the city today")
        assert untitled.title.endswith("\u2026") and len(untitled.title) <= 80
        long = article(engine, "rss:https://social.example/2")
        assert len(long.summary.encode()) <= 10 * 1024 and long.summary.endswith("\u2026")
        assert long.summary[:-1].split()[-1].startswith("word")  # cut between words
        assert article(engine, "rss:https://social.example/3").published_at == NOW
        assert article(engine, "atom03:urn:old:1").published_at == datetime(
            2026, 11, 19, 8, tzinfo=UTC
        )
        assert article(engine, "json:j1").published_at == NOW
        # Later polls keep the first-seen date: nothing changes.
        later = lambda: NOW + timedelta(hours=5)  # noqa: E731
        again = poll_sources(settings, engine, full=True, now=later)
        assert [r.updated for r in again] == [0, 0, 0]
        assert article(engine, "json:j1").published_at == NOW


# -- issue 27 item 6: one story, one article across sources --------------------------------


def rss_items(numbers: list[int]) -> bytes:
    items = "".join(
        f"<item><guid>https://city.example/news/{n}</guid><link>https://city.example/news/{n}"
        f"</link><title>Story {n}</title><pubDate>Tue, 17 Nov 2026 0{n}:00:00 GMT</pubDate>"
        "<category>environment-news</category><description>Text</description></item>"
        for n in numbers
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>City</title>'
        f"<link>https://city.example/</link><description>x</description>{items}</channel></rss>"
    ).encode()


def test_one_story_from_two_overlapping_feeds_is_one_article_in_all_and_in_a_digest(
    settings: Settings, engine: Engine
) -> None:
    from xml.etree import ElementTree

    from syndication.services.digests import compiling
    from syndication.services.feeds import build_feeds

    feeds = {"/site": rss_items([1, 2, 3]), "/environment": rss_items([2, 3, 4])}
    with serve(lambda r: Answer(200, {"Content-Type": "application/rss+xml"}, feeds[r.path])) as s:
        site = SourceSettings("site", "feed", f"{s.url}/site", CATEGORIES)
        category = SourceSettings("env", "feed", f"{s.url}/environment", CATEGORIES)
        settings = with_sources(settings, site, category)
        first, second = poll_sources(settings, engine, now=clock)
        assert (first.inserted, second.inserted, second.aliased) == (3, 1, 2)
        assert "2 already stored from another source" in second.summary
        # Again, and with the category feed first: still nothing new.
        again = poll_sources(settings, engine, ["env", "site"], full=True, now=clock)
        assert [(r.inserted, r.updated) for r in again] == [(0, 0), (0, 0)]
    with db.read_session(engine) as session:
        urls = list(session.scalars(select(Article.url)))
    assert sorted(urls) == [f"https://city.example/news/{n}" for n in (1, 2, 3, 4)]
    build_feeds(settings, engine, force_all=True, now=clock)
    atom = ElementTree.parse(settings.feeds.dir / "all" / "atom.xml")
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 4
    report = compiling.compile_digest(
        settings, engine, "weekly-city", datetime(2026, 11, 18).date(), NOW
    )
    assert report.articles == 4


def test_dedupe_false_keeps_a_source_separate(settings: Settings, engine: Engine) -> None:
    feeds = {"/site": rss_items([1, 2]), "/environment": rss_items([2])}
    with serve(lambda r: Answer(200, {"Content-Type": "application/rss+xml"}, feeds[r.path])) as s:
        site = SourceSettings("site", "feed", f"{s.url}/site", CATEGORIES)
        separate = SourceSettings("env", "feed", f"{s.url}/environment", CATEGORIES, dedupe=False)
        settings = with_sources(settings, site, separate)
        first, second = poll_sources(settings, engine, now=clock)
    assert (first.inserted, second.inserted, second.aliased) == (2, 1, 0)
    assert article(engine, "env:https://city.example/news/2").title == "Story 2"


# -- issue 27 item 8: redirects, BOM, CR-only line ends, broken XML -----------------------


def test_a_redirect_to_another_host_is_followed_only_when_the_source_says_any(
    settings: Settings, engine: Engine
) -> None:
    feed = rss_items([1])
    with serve(lambda r: Answer(200, {"Content-Type": "application/rss+xml"}, feed)) as other:
        moved = {"Location": f"{other.url}/feed.xml"}
        with serve(lambda r: Answer(302, moved, b"")) as upstream:
            strict = SourceSettings("strict", "feed", f"{upstream.url}/feed", CATEGORIES)
            loose = replace(strict, name="loose", follow_redirects="any", dedupe=False)
            settings = with_sources(settings, strict, loose)
            refused, followed = poll_sources(settings, engine, now=clock)
    assert "redirected away from 127.0.0.1:" in refused.error
    assert 'follow_redirects = "any"' in refused.error and refused.inserted == 0
    assert len(other.requests) == 1 and followed.inserted == 1


def test_a_jsonl_export_with_a_bom_and_cr_line_ends_keeps_every_line(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    from tests.support.builders import article_json

    export = tmp_path / "export.jsonl"
    lines = [json.dumps(article_json(f"x-{n}")) for n in (1, 2, 3)]
    export.write_bytes(b"\xef\xbb\xbf" + "\r".join(lines).encode() + b"\r")
    settings = with_sources(settings, SourceSettings("export", "jsonl", str(export)))
    [report] = poll_sources(settings, engine, now=clock)
    assert (report.inserted, report.rejected) == (3, 0)


def test_broken_xml_with_no_entries_is_a_warning(settings: Settings, engine: Engine) -> None:
    broken = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Half'
    with serve(lambda r: Answer(200, {"Content-Type": "application/rss+xml"}, broken)) as s:
        settings = with_sources(settings, SourceSettings("half", "feed", f"{s.url}/f", CATEGORIES))
        [report] = poll_sources(settings, engine, now=clock)
    assert report.error == "" and report.fetched == 0
    assert "warning: GET " in report.summary and "no entry could be read" in report.summary


def languages_of(engine: Engine) -> dict[str, tuple[str, str]]:
    with db.read_session(engine) as session:
        rows = session.execute(select(Article.source_id, Article.language, Article.translation_of))
        return {source: (language, of) for source, language, of in rows}


def test_polylang_and_wpml_answers_fill_language_and_translation_group(
    settings: Settings, engine: Engine
) -> None:
    # Issue 30: Polylang's lang and translations map (which includes the post itself),
    # and the WPML REST API plugin's locale and list of the other posts. The original
    # of a group is its post in the site's language, whichever post is read first.
    site = FakeWordPress()
    polylang = {"en": 11, "ko": 12, "ja": 13}
    site.add_post(12, lang="ko", translations=polylang)
    site.add_post(11, lang="en", translations=polylang)
    site.add_post(13, lang="ja", translations=polylang)
    site.add_post(14, lang="ko", translations={"ko": 14})  # no translation yet
    site.add_post(
        21, wpml_current_locale="ko_KR", wpml_translations=[{"locale": "en_US", "id": 22}]
    )
    site.add_post(
        22,
        wpml_current_locale="en_US",
        wpml_translations={"ko_KR": {"locale": "ko_KR", "id": 21, "href": "https://x/"}},
    )
    site.add_post(31)  # neither plugin: the site's language, an original
    site.add_post(32, lang="Korean", translations={})
    with serve(site) as server:
        [report] = poll_sources(with_sources(settings, wp_source(server.url)), engine, now=clock)
    assert languages_of(engine) == {
        "cms:11": ("en", ""),
        "cms:12": ("ko", "cms:11"),
        "cms:13": ("ja", "cms:11"),
        "cms:14": ("ko", ""),
        "cms:21": ("ko-KR", "cms:22"),
        "cms:22": ("en-US", ""),
        "cms:31": ("en", ""),
    }
    [rejection] = report.rejections
    assert (rejection.item, rejection.field) == ("post 32", "lang")
    query = next(r.query for r in server.requests if r.path.endswith("/posts"))
    assert {"lang", "translations", "wpml_current_locale"} <= set(query["_fields"].split(","))


def test_a_feed_entry_keeps_its_own_language(settings: Settings, engine: Engine) -> None:
    body = ATOM.replace("<feed ", '<feed xml:lang="en" ').replace(
        "<entry><id>urn:entry:1</id>", '<entry xml:lang="ko"><id>urn:entry:1</id>'
    )

    def feed(request: Request) -> Answer:
        return Answer(200, {"Content-Type": "application/atom+xml"}, body.encode())

    with serve(feed) as server:
        source = SourceSettings("upstream", "feed", f"{server.url}/atom.xml", CATEGORIES)
        poll_sources(with_sources(settings, source), engine, now=clock)
    assert article(engine, "upstream:urn:entry:1").language == "ko"
