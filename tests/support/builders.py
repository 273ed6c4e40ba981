"""Builders of valid test data: articles, import lines, digests, queued outboxes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from syndication.core.articles import StoredArticle
from syndication.core.digests import (
    DigestContent,
    Period,
    build_digest,
)
from syndication.services.articles import import_articles
from syndication.services.digests import compiling
from syndication.settings import (
    Settings,
)
from syndication.store import database as db
from syndication.store import digests, subscribers
from syndication.store.models import Delivery

# The tests' "now": fixed, so no test depends on the date it runs on.
FIXED_NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def article_json(source_id: str = "smg-1", **fields: Any) -> dict[str, Any]:
    """A valid import line as a dict; used by import and CLI tests."""
    data: dict[str, Any] = {
        "id": source_id,
        "title": f"Article {source_id}",
        "url": f"https://news.example.org/articles/{source_id}",
        "published_at": "2026-11-20T10:00:00+09:00",
        "topics": ["international-relations"],
        "summary": "A summary.",
        "body_html": "<p>Body.</p>",
    }
    data.update(fields)
    return data


JsonFactory = Callable[..., dict[str, Any]]


def stored_article(source_id: str = "smg-1", **fields: Any) -> StoredArticle:
    """A StoredArticle for the pure feed tests; keyword arguments override any field."""
    published = fields.pop("published_at", datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    values: dict[str, Any] = {
        "source_id": source_id,
        "title": f"Article {source_id}",
        "url": f"https://news.example.org/articles/{source_id}",
        "published_at": published,
        "updated_at": fields.pop("updated_at", published),
        "topics": ("culture",),
        "summary": f"Summary of {source_id}.",
        "body_html": f"<p>Body of {source_id}.</p>",
        "author": "Culture Division",
        "image_url": "",
        "language": "en",
        "status": "published",
        "retracted_at": None,
        "retraction_reason": "",
        "change_seq": 1,
    }
    values.update(fields)
    return StoredArticle(**values)


WEEKLY = "0 8 * * mon"

CITY = Settings().mailing_list("weekly-city")

WEEK = Period(datetime(2026, 11, 15, 23, 0, tzinfo=UTC), datetime(2026, 11, 22, 23, 0, tzinfo=UTC))


def stored(source_id: str = "smg-1", **fields: Any) -> StoredArticle:
    """A published StoredArticle inside WEEK in `environment`; keywords override any field."""
    fields.setdefault("published_at", datetime(2026, 11, 18, 1, 0, tzinfo=UTC))
    fields.setdefault("topics", ("environment",))
    fields.setdefault("summary", "A summary.")
    fields.setdefault("body_html", "<p>Body.</p>")
    fields.setdefault("author", "Climate Division")
    return stored_article(source_id, **fields)


def small_digest() -> DigestContent:
    articles = [
        stored(
            "smg-park",
            title="Han River parks add 3 km of <script>alert('x')</script> & shade",
            summary="New trees along the river bank will cool the walk in summer.",
            image_url="https://news.example.org/images/han-river.jpg",
        ),
        stored(
            "smg-subway",
            title="서울 지하철 9호선 연장 개통",
            summary="Line 9 now reaches Gangdong; trains run every four minutes.",
            image_url="https://news.example.org/images/line-9.jpg",
            language="ko",
            topics=("transport",),
            published_at=WEEK.start + timedelta(hours=5),
        ),
    ]
    content = build_digest(Settings(), CITY, WEEK, articles)
    assert content is not None
    return content


def make_digest(engine: Engine, now: datetime, list_slug: str = "weekly-city") -> int:
    with db.write_session(engine) as session:
        digest_id, created = digests.store_digest(
            session,
            list_slug=list_slug,
            period_key="2026-11-16",
            period_start=now - timedelta(days=7),
            period_end=now,
            subject="City Life Weekly",
            preheader="",
            html="<p>x</p>",
            text="x",
            article_count=1,
            now=now,
        )
    assert created
    return digest_id


def add(
    engine: Engine, now: datetime, count: int, list_slug: str = "weekly-city", active: bool = True
) -> None:
    with db.write_session(engine) as session:
        for i in range(count):
            subscribers.add_subscriber(
                session,
                f"reader{i}@example.org",
                f"Reader {i}",
                [list_slug],
                confirmed=active,
                now=now,
            )


def statuses(engine: Engine) -> dict[str, int]:
    with db.read_session(engine) as session:
        result: dict[str, int] = {}
        for status in session.scalars(select(Delivery.status)):
            result[status] = result.get(status, 0) + 1
        return result


EXAMPLES = Path(__file__).parent.parent.parent / "examples"

AFTER_WEEK = datetime(2026, 11, 24, tzinfo=UTC)  # the week of 2026-11-16 has ended


def import_demo_articles(settings: Settings, engine: Engine) -> None:
    """The demo newsroom's 40 articles, as of just after the week of 2026-11-16."""
    with (EXAMPLES / "news.jsonl").open("rb") as lines:
        report = import_articles(
            engine,
            lines,
            source="news.jsonl",
            known_topics={t.slug for t in settings.topics},
            now=lambda: AFTER_WEEK,
        )
    assert report.rejected == 0


def import_demo_translations(settings: Settings, engine: Engine) -> None:
    """Korean and Japanese translations of three of the week's demo stories (issue 30):
    the tram (smg-3936: ko, ja), the dust record (smg-3941: ko), the lantern festival
    (smg-3945: ja). Kept apart from news.jsonl so it and the golden files stay as they are."""
    with (EXAMPLES / "news-translations.jsonl").open("rb") as lines:
        report = import_articles(
            engine,
            lines,
            source="news-translations.jsonl",
            known_topics={t.slug for t in settings.topics},
            now=lambda: AFTER_WEEK,
        )
    assert report.rejected == 0


def add_korean_and_english_readers(engine: Engine, list_slug: str) -> None:
    """kim@example.org (reads Korean, then English) and ann@example.org (English), both
    confirmed on ``list_slug`` as of just after the week of 2026-11-16."""
    with db.write_session(engine) as session:
        for address, locale in (("kim@example.org", "ko,en"), ("ann@example.org", "en")):
            subscribers.add_subscriber(
                session, address, "", [list_slug], confirmed=True, now=AFTER_WEEK, locale=locale
            )


def queue_demo_digest(
    settings: Settings, engine: Engine, addresses: list[str], list_slug: str
) -> None:
    """Demo articles, ``addresses`` active on ``list_slug``, and the week of 2026-11-16
    compiled into the outbox for them."""
    import_demo_articles(settings, engine)
    with db.write_session(engine) as session:
        for address in addresses:
            subscribers.add_subscriber(
                session, address, "", [list_slug], confirmed=True, now=AFTER_WEEK
            )
    report = compiling.compile_digest(settings, engine, list_slug, date(2026, 11, 18), AFTER_WEEK)
    assert report.queued == len(addresses)
