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
from syndication.services.sources import backoff, poll_sources, source_states
from syndication.settings import SchedulerSettings, Settings, SourceSettings
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store import sources as source_store
from syndication.store.models import Article, JobRun
from tests.support.http import Answer, Request, Server, serve
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


def test_source_states_list_every_configured_source_in_order(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text("")
    settings = with_sources(
        settings,
        SourceSettings("export", "jsonl", str(export)),
        SourceSettings("other", "jsonl", str(tmp_path / "missing.jsonl")),
    )
    assert [(s.name, state) for s, state in source_states(settings, engine)] == [
        ("export", None),
        ("other", None),
    ]
    poll_sources(settings, engine, ["export"], now=clock)
    [(_, polled), (_, never)] = source_states(settings, engine)
    assert polled is not None and polled.last_poll_at == NOW and never is None


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
