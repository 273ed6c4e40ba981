"""Click counting end to end (issue 31): a real digest of a list with ``count_clicks``,
compiled, sent through the file transport, its links followed through the real app."""

from __future__ import annotations

import email
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, update
from starlette.testclient import TestClient

from syndication.core import clicks as core
from syndication.services import clicks, delivery, feeds
from syndication.services.digests import approval, compiling
from syndication.settings import LanguageSettings, Settings
from syndication.store import database as db
from syndication.store import digests, subscribers
from syndication.store.models import Article, DigestClicks
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.console import Clock, add_users, client_for, sign_in
from tests.support.processes import syndication

SENT = AFTER_WEEK  # when the copies are built and sent
LINK_RE = re.compile(r"http://testserver/r/([A-Za-z0-9_\-.]+)")


def counting(settings: Settings, on: bool = True) -> Settings:
    lists = tuple(
        replace(ml, count_clicks=on) if ml.slug == "weekly-city" else ml for ml in settings.lists
    )
    return replace(settings, lists=lists, site=replace(settings.site, base_url="http://testserver"))


def send(settings: Settings, engine: Engine, readers: int = 2) -> list[EmailMessage]:
    import_demo_articles(settings, engine)
    with db.write_session(engine) as session:
        for i in range(readers):
            subscribers.add_subscriber(
                session, f"r{i}@example.org", "", ["weekly-city"], confirmed=True, now=SENT
            )
    compiling.compile_digest(settings, engine, "weekly-city", date(2026, 11, 18), SENT)
    report = delivery.send_digests(settings, engine, workers=1, now=lambda: SENT)
    assert report.sent == readers
    folder = settings.mail.outbox_dir / "weekly-city" / "2026-11-16"
    return [parse(path) for path in sorted(Path(folder).glob("*.eml"))]


def parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return counting(settings)


@pytest.fixture
def copies(app_settings: Settings, engine: Engine) -> list[EmailMessage]:
    return send(app_settings, engine)


@pytest.fixture
def clock() -> Clock:
    return Clock(SENT + timedelta(hours=1))


@pytest.fixture
def client(app_settings: Settings, engine: Engine, clock: Clock) -> Iterator[TestClient]:
    with client_for(app_settings, engine, clock) as test_client:
        yield test_client


def sums(engine: Engine) -> dict[str, tuple[int, int]]:
    """``{article source id: (readers, scanners)}``."""
    with db.read_session(engine) as session:
        rows = session.execute(
            select(
                Article.source_id, DigestClicks.reader_clicks, DigestClicks.scanner_requests
            ).join(Article, Article.id == DigestClicks.article_id)
        )
        return {source: (int(r), int(s)) for source, r, s in rows}


def flush(client: TestClient) -> None:
    client.app.state.clicks.flush(everything=True)  # type: ignore[attr-defined]


def article_of(engine: Engine, token: str) -> tuple[str, str]:
    claims = core.read_link(token.partition(".")[0])[0]
    assert claims is not None
    with db.read_session(engine) as session:
        row = session.get(Article, claims.article_id)
        assert row is not None
        return row.source_id, row.url


def test_both_parts_carry_redirect_links_and_nothing_else_changes(
    copies: list[EmailMessage], engine: Engine
) -> None:
    text, html = parts(copies[0])
    html_tokens = LINK_RE.findall(html)
    text_tokens = LINK_RE.findall(text)
    assert html_tokens and text_tokens
    # The text part shows each article once; the HTML links title and "read more".
    assert set(text_tokens) <= set(html_tokens)
    source_id, url = article_of(engine, text_tokens[0])
    assert url not in text and f'href="{url}"' not in html
    # The web view, unsubscribe and preferences links are ours as before.
    assert "http://testserver/digests/weekly-city/2026-11-16" in text
    assert "/unsubscribe/" in text
    # Two copies: the same links, a different per-copy value (random, not the reader's).
    other_text, _ = parts(copies[1])
    other = LINK_RE.findall(other_text)
    assert [t.partition(".")[0] for t in other] == [t.partition(".")[0] for t in text_tokens]
    assert other[0].partition(".")[2] != text_tokens[0].partition(".")[2]


def test_following_a_link_redirects_to_the_store_url_and_counts_a_reader(
    copies: list[EmailMessage], engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    source_id, url = article_of(engine, token)
    response = client.get(f"/r/{token}", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == url
    flush(client)
    assert sums(engine) == {source_id: (1, 0)}


def test_head_safe_links_early_and_burst_requests_count_as_scanners(
    copies: list[EmailMessage], engine: Engine, client: TestClient, clock: Clock
) -> None:
    tokens = LINK_RE.findall(parts(copies[0])[0])
    assert len(tokens) >= core.BURST_LINKS
    first, _ = article_of(engine, tokens[0])
    assert client.head(f"/r/{tokens[0]}", follow_redirects=False).status_code == 302
    safe_links = {"user-agent": "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook)"}
    response = client.get(f"/r/{tokens[0]}", headers=safe_links, follow_redirects=False)
    assert response.status_code == 302
    flush(client)
    assert sums(engine) == {first: (0, 2)}

    # A gateway walking the other copy: every link within a second of each other.
    counter = client.app.state.clicks  # type: ignore[attr-defined]
    moments = iter([100.0, 100.4, 100.8, 101.2, 101.6, 102.0, 102.4, 102.8, 200.0, 200.0])
    counter.monotonic = lambda: next(moments)
    walked = LINK_RE.findall(parts(copies[1])[0])[: core.BURST_LINKS]
    for token in walked:
        assert client.get(f"/r/{token}", follow_redirects=False).status_code == 302
    flush(client)
    walked_ids = {article_of(engine, t)[0] for t in walked}
    counted = sums(engine)
    assert all(counted[s][0] == 0 for s in walked_ids)
    assert sum(counted[s][1] for s in walked_ids) == core.BURST_LINKS + (first in walked_ids) * 2

    # Within 15 s of the copy's send time: a gateway's scan, whatever the agent says.
    clock.at = SENT + timedelta(seconds=2)
    counter.monotonic = lambda: 500.0
    before = sums(engine)[first]
    client.get(f"/r/{tokens[0]}", follow_redirects=False)
    flush(client)
    assert sums(engine)[first] == (before[0], before[1] + 1)


def test_three_readers_and_a_scanner_are_shown_apart(
    app_settings: Settings, engine: Engine, clock: Clock
) -> None:
    copies = send(app_settings, engine, readers=4)
    with client_for(app_settings, engine, clock) as client:
        counter = client.app.state.clicks  # type: ignore[attr-defined]
        ticks = iter(float(n) for n in range(0, 1000, 10))
        counter.monotonic = lambda: next(ticks)
        scanned = LINK_RE.findall(parts(copies[3])[0])
        clock.at = SENT + timedelta(seconds=1)
        for token in scanned:
            client.head(f"/r/{token}", follow_redirects=False)
            client.get(f"/r/{token}", follow_redirects=False)
        clock.at = SENT + timedelta(hours=2)
        token = LINK_RE.findall(parts(copies[0])[0])[0]
        for copy in copies[:3]:
            mine = LINK_RE.findall(parts(copy)[0])[0]
            assert client.get(f"/r/{mine}", follow_redirects=False).status_code == 302
        flush(client)
        add_users(engine, clock.now())
        sign_in(client, "viewer@example.org")
        page = client.get("/admin/digests/weekly-city/2026-11-16").text
        scans = 2 * len(scanned)
        assert f"3 readers' clicks, {scans} scanner requests, 4 copies delivered" in page
    source_id, _ = article_of(engine, token)
    rows = clicks.report_for(app_settings, engine, "weekly-city", date(2026, 11, 18))
    assert rows[0].source_id == source_id
    assert (rows[0].reader_clicks, rows[0].scanner_requests, rows[0].delivered) == (3, 2, 4)
    assert sum(r.scanner_requests for r in rows) == 2 * len(scanned)
    assert sum(r.reader_clicks for r in rows) == 3


def test_a_tampered_token_is_a_404_with_the_right_link_never_a_redirect(
    copies: list[EmailMessage], app_settings: Settings, engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    _, url = article_of(engine, token)
    link, _, copy = token.partition(".")
    forged = link[:-2] + ("AA" if link[-2:] != "AA" else "BA")
    for bad in (f"{forged}.{copy}", "nonsense", "x" * 500, "%00", link[:10]):
        response = client.get(f"/r/{bad}", follow_redirects=False)
        assert response.status_code == 404, bad
        assert "location" not in response.headers
    response = client.get(f"/r/{forged}.{copy}", follow_redirects=False)
    assert f'href="{url}"' in response.text  # the article's address, from the store
    two = replace(app_settings, languages=LanguageSettings(available=("en", "ko")))
    with client_for(two, engine, Clock(SENT + timedelta(hours=1))) as korean_client:
        korean = korean_client.get(f"/r/{forged}.{copy}", headers={"accept-language": "ko"})
    assert korean.status_code == 404 and "링크를 찾을 수 없습니다" in korean.text
    flush(client)
    assert sums(engine) == {}


def test_an_article_whose_url_changed_redirects_to_the_new_url(
    copies: list[EmailMessage], app_settings: Settings, engine: Engine, clock: Clock
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    source_id, _ = article_of(engine, token)
    with db.write_session(engine) as session:
        session.execute(
            update(Article)
            .where(Article.source_id == source_id)
            .values(url="https://news.example.org/moved")
        )
    with client_for(app_settings, engine, clock) as client:
        response = client.get(f"/r/{token}", follow_redirects=False)
    assert response.headers["location"] == "https://news.example.org/moved"


def test_feeds_keep_the_articles_own_links(
    copies: list[EmailMessage], app_settings: Settings, engine: Engine
) -> None:
    feeds.build_feeds(app_settings, engine, force_all=True)
    written = [p for p in app_settings.feeds.dir.rglob("*") if p.is_file()]
    assert written
    assert not any(b"/r/" in path.read_bytes() for path in written)


def test_archive_and_test_sends_keep_the_articles_own_links(
    copies: list[EmailMessage], app_settings: Settings, engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    _, url = article_of(engine, token)
    page = client.get("/digests/weekly-city/2026-11-16")
    assert page.status_code == 200
    assert "/r/" not in page.text and f'href="{url}"' in page.text
    with db.read_session(engine) as session:
        stored = digests.find_digest(session, "weekly-city", "2026-11-16")
    assert stored is not None
    _, envelope = approval.test_envelope(app_settings, stored, "editor@example.org", SENT)
    raw = envelope.message.decode("ascii")
    assert "testserver/r/" not in raw.replace("=\r\n", "")


def test_a_list_without_count_clicks_mails_the_articles_own_links(
    settings: Settings, engine: Engine
) -> None:
    copies = send(counting(settings, on=False), engine)
    text, html = parts(copies[0])
    assert "/r/" not in text and "/r/" not in html
    assert "https://" in text
    with db.read_session(engine) as session:
        assert session.scalar(select(DigestClicks.digest_id)) is None


def test_no_table_holds_a_reader_next_to_a_click(
    copies: list[EmailMessage], engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    client.get(f"/r/{token}", follow_redirects=False)
    flush(client)
    schema = inspect(engine)
    assert {c["name"] for c in schema.get_columns("digest_clicks")} == {
        "digest_id",
        "article_id",
        "reader_clicks",
        "scanner_requests",
    }
    assert {c["name"] for c in schema.get_columns("digest_links")} == {
        "digest_id",
        "position",
        "article_id",
        "url",
    }
    with db.read_session(engine) as session:
        rows = session.execute(select(DigestClicks)).scalars().all()
    assert [(r.reader_clicks, r.scanner_requests) for r in rows] == [(1, 0)]


def test_editors_see_the_ranking_the_csv_metrics_and_the_command(
    copies: list[EmailMessage],
    app_settings: Settings,
    engine: Engine,
    database_url: str,
    clock: Clock,
    tmp_path: Path,
) -> None:
    tokens = LINK_RE.findall(parts(copies[0])[0])
    add_users(engine, clock.now())
    with client_for(app_settings, engine, clock) as client:
        for token in (tokens[1], tokens[1], tokens[0]):
            client.get(f"/r/{token}", follow_redirects=False)
        client.head(f"/r/{tokens[0]}", follow_redirects=False)
        flush(client)
        top, _ = article_of(engine, tokens[1])
        sign_in(client, "viewer@example.org")
        page = client.get("/admin/digests/weekly-city/2026-11-16")
        assert "3 readers' clicks, 1 scanner requests, 2 copies delivered" in page.text
        assert 'aria-labelledby="clicks-title"' in page.text  # the chart, titled
        ranking = page.text.split('aria-label="Stories by readers\' clicks"')[1]
        assert ranking.index(top) < ranking.index(article_of(engine, tokens[0])[0])
        assert "100.0%" in ranking  # 2 clicks on 2 delivered copies
        per_topic = page.text.split('aria-label="Readers\' clicks per topic"')[1]
        row = re.search(r"<tr><td>2026-11-16</td>(.*?)</tr>", per_topic)
        assert row is not None
        cells = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(1))]
        topics = app_settings.mailing_list("weekly-city").topics
        assert len(cells) == len(topics) and sum(cells) >= 3  # each story in its topics
        assert client.get("/admin/digests/weekly-city/2026-11-16/clicks.csv").status_code == 403
    with client_for(app_settings, engine, clock, host="127.0.0.1") as client:
        metrics = client.get("/metrics").text
        assert 'syndication_digest_clicks_total{kind="reader",list="weekly-city"} 3.0' in metrics
        assert 'syndication_digest_clicks_total{kind="scanner",list="weekly-city"} 1.0' in metrics
    with client_for(app_settings, engine, clock) as client:
        sign_in(client, "op@example.org")
        export = client.get("/admin/digests/weekly-city/2026-11-16/clicks.csv")
        assert export.status_code == 200
        lines = export.text.splitlines()
        assert lines[0].startswith("article_id,title,reader_clicks,scanner_requests,delivered")
        assert lines[1].startswith(top + ",") and lines[1].endswith(",2,0,2,1.0000")

    result = syndication(
        "digest", "clicks", "weekly-city", "--period", "2026-11-18", "--json",
        cwd=tmp_path, database_url=database_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0] == {
        "article_id": top,
        "title": rows[0]["title"],
        "reader_clicks": 2,
        "scanner_requests": 0,
        "delivered": 2,
    }
    assert sum(row["reader_clicks"] for row in rows) == 3


def test_a_click_while_the_store_is_away_is_a_503_never_a_500(
    app_settings: Settings, tmp_path: Path
) -> None:
    away = db.make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'store.db'}")
    token = core.link_token(app_settings.secret_key, 1, 2, 3)
    copy = core.copy_token(app_settings.secret_key, 1, SENT)
    with client_for(app_settings, away, Clock(SENT + timedelta(hours=1))) as client:
        response = client.get(f"/r/{token}.{copy}", follow_redirects=False)
    assert response.status_code == 503 and response.headers["retry-after"] == "60"
    assert "try again in a minute" in response.text


def test_a_cached_link_gets_the_same_answer_as_the_routed_one(
    copies: list[EmailMessage], engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    source_id, _ = article_of(engine, token)
    counter = client.app.state.clicks  # type: ignore[attr-defined]
    assert counter.cached(token) is None  # the first request reads the store (routed)
    routed = client.get(f"/r/{token}", follow_redirects=False)
    assert counter.cached(token) is not None  # later ones are answered ahead of the router
    fast = client.get(f"/r/{token}", follow_redirects=False)
    head = client.head(f"/r/{token}", follow_redirects=False)
    assert routed.status_code == fast.status_code == head.status_code == 302
    assert list(routed.headers.items()) == list(fast.headers.items())
    assert list(head.headers.items()) == list(fast.headers.items())
    assert fast.headers["x-frame-options"] == "DENY"
    assert fast.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" in fast.headers and fast.content == b""
    # Not a /r/ GET or HEAD, or a path the route does not match: the router answers.
    assert client.post(f"/r/{token}", follow_redirects=False).status_code == 405
    assert client.get(f"/r/{token}/more", follow_redirects=False).status_code == 404
    flush(client)
    assert sums(engine) == {source_id: (2, 1)}  # two GETs (readers), the HEAD (scanner)


def test_a_cached_target_is_read_again_in_the_background_after_its_ttl(
    copies: list[EmailMessage], app_settings: Settings, engine: Engine, client: TestClient
) -> None:
    token = LINK_RE.findall(parts(copies[0])[0])[0]
    source_id, url = article_of(engine, token)
    counter = client.app.state.clicks  # type: ignore[attr-defined]
    moment = [1000.0]
    counter.monotonic = lambda: moment[0]
    assert client.get(f"/r/{token}", follow_redirects=False).headers["location"] == url
    with db.write_session(engine) as session:
        session.execute(
            update(Article)
            .where(Article.source_id == source_id)
            .values(url="https://news.example.org/moved")
        )
    moment[0] += clicks.TARGET_TTL - 0.5  # still fresh: the cached URL, no read
    assert client.get(f"/r/{token}", follow_redirects=False).headers["location"] == url
    moment[0] += 1.0  # stale: answered at once from the cache, read again in a thread
    assert client.get(f"/r/{token}", follow_redirects=False).headers["location"] == url
    for _ in range(200):
        location = client.get(f"/r/{token}", follow_redirects=False).headers["location"]
        if location != url:
            break
        time.sleep(0.01)
    assert location == "https://news.example.org/moved"

    # The store away: the old URL keeps answering until STALE_LIMIT, then a 503.
    away = db.make_engine(f"sqlite:///{app_settings.mail.outbox_dir / 'no-such' / 'x.db'}")
    counter.engine = away
    moment[0] += clicks.TARGET_TTL + 0.5
    for _ in range(3):
        response = client.get(f"/r/{token}", follow_redirects=False)
        assert response.headers["location"] == "https://news.example.org/moved"
    moment[0] += clicks.STALE_LIMIT
    response = client.get(f"/r/{token}", follow_redirects=False)
    assert response.status_code == 503 and "location" not in response.headers


def test_links_gone_stale_together_are_read_again_in_one_refresh(
    copies: list[EmailMessage], engine: Engine, client: TestClient
) -> None:
    tokens = LINK_RE.findall(parts(copies[0])[0])[:2]
    counter = client.app.state.clicks  # type: ignore[attr-defined]
    moment = [1000.0]
    counter.monotonic = lambda: moment[0]
    for token in tokens:
        assert client.get(f"/r/{token}", follow_redirects=False).status_code == 302
    moment[0] += clicks.TARGET_TTL
    first, second = (counter.cached(token) for token in tokens)
    assert first.refresh and not second.refresh  # one thread reads both
    assert not counter.cached(tokens[0]).refresh  # and it is asked for once
    with db.write_session(engine) as session:
        session.execute(update(Article).values(url="https://news.example.org/all-moved"))
    counter.refresh()
    moment[0] += 1.0
    for token in tokens:
        resolved = counter.cached(token)
        assert resolved.url == "https://news.example.org/all-moved" and not resolved.refresh
