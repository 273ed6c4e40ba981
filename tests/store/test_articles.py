from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from syndication.core.articles import ArticleRecord
from syndication.core.feeds import LanguageScope, feed_language
from syndication.errors import NotFoundError
from syndication.store import article_queries
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.models import Article
from syndication.store.upsert import upsert

MakeArticle = Callable[..., ArticleRecord]


def write(engine: Engine, records: list[ArticleRecord], now: datetime) -> store.WriteCounts:
    with db.write_session(engine) as session:
        return store.write_articles(session, records, now)


def seq_of(engine: Engine, source_id: str) -> int:
    with db.read_session(engine) as session:
        return session.execute(
            select(Article.change_seq).where(Article.source_id == source_id)
        ).scalar_one()


def test_insert_then_unchanged_then_updated(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    a, b = make_article("a"), make_article("b")
    counts = write(engine, [a, b], now)
    assert (counts.inserted, counts.updated, counts.unchanged) == (2, 0, 0)
    first_seq = seq_of(engine, "b")

    counts = write(engine, [a, b], now)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 2)
    assert seq_of(engine, "b") == first_seq, "an unchanged article takes no change number"

    edited = make_article(
        "b", title="A better title", updated_at=a.published_at + timedelta(hours=1)
    )
    counts = write(engine, [a, edited], now)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 1)
    assert seq_of(engine, "b") > first_seq
    with db.read_session(engine) as session:
        (stored,) = [x for x in article_queries.load_articles(session) if x.source_id == "b"]
    assert stored.title == "A better title"
    assert stored.updated_at == edited.updated_at


def test_a_change_without_a_newer_updated_at_still_moves_updated(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    write(engine, [make_article("a")], now)
    write(engine, [make_article("a", summary="corrected")], now)
    with db.read_session(engine) as session:
        (stored,) = article_queries.load_articles(session)
    assert stored.updated_at == now


def test_a_backdated_article_is_seen_by_a_poller(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    write(engine, [make_article("new", published_at=datetime(2026, 11, 27, tzinfo=UTC))], now)
    with db.read_session(engine) as session:
        watermark = store.current_change_seq(session)
    old = make_article("old", published_at=datetime(2019, 1, 1, tzinfo=UTC))
    write(engine, [old], now)
    with db.read_session(engine) as session:
        changed = article_queries.load_articles(session, changed_since=watermark)
        assert [a.source_id for a in changed] == ["old"]
        assert store.topics_changed_since(session, watermark) == ["international-relations"]


def test_moving_an_article_marks_the_topic_it_left(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    write(engine, [make_article("a", topics=("culture",))], now)
    with db.read_session(engine) as session:
        watermark = store.current_change_seq(session)
    write(engine, [make_article("a", topics=("transport",), summary="moved")], now)
    with db.read_session(engine) as session:
        assert store.topics_changed_since(session, watermark) == ["culture", "transport"]
        assert [a.topics for a in article_queries.load_articles(session)] == [("transport",)]
        assert article_queries.load_articles(session, "culture") == []


def test_an_article_leaving_a_topic_is_recorded_until_it_comes_back(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    # Issue 26 item 3: the topic it left keeps a tombstone for it.
    write(engine, [make_article("a", topics=("culture", "economy"))], now)
    moved_at = now + timedelta(days=2)
    write(engine, [make_article("a", topics=("transport",), updated_at=moved_at)], now)
    with db.read_session(engine) as session:
        for slug in ("culture", "economy"):
            (departure,) = article_queries.newest_departures(session, slug, 10)
            assert departure.article.source_id == "a"
            assert (departure.when, departure.reason) == (moved_at, "moved to Transport")
        assert article_queries.newest_departures(session, "transport", 10) == []
        assert article_queries.newest_departures(session, None, 10) == []
    back_at = moved_at + timedelta(days=1)
    write(engine, [make_article("a", topics=("transport", "culture"), updated_at=back_at)], now)
    with db.read_session(engine) as session:
        assert article_queries.newest_departures(session, "culture", 10) == []
        (departure,) = article_queries.newest_departures(session, "economy", 10)
        assert departure.when == moved_at  # an unrelated later write leaves it alone


def test_departure_reasons_name_where_the_article_went() -> None:
    assert store.departure_reason([]) == "removed from this topic"
    assert store.departure_reason(["Economy"]) == "moved to Economy"
    assert store.departure_reason(["A", "B", "C"]) == "moved to A, B and C"


def test_retract_keeps_the_article_and_marks_its_topics(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    write(engine, [make_article("a", topics=("culture", "economy"))], now)
    with db.read_session(engine) as session:
        watermark = store.current_change_seq(session)
    later = now + timedelta(hours=2)
    with db.write_session(engine) as session:
        assert store.retract_article(session, "a", "Wrong date", later) is True
    with db.write_session(engine) as session:
        assert store.retract_article(session, "a", "Wrong date", later) is False
    with db.read_session(engine) as session:
        (stored,) = article_queries.load_articles(session)
        assert stored.is_retracted
        assert stored.retracted_at == later
        assert stored.retraction_reason == "Wrong date"
        assert stored.updated_at == later
        assert store.topics_changed_since(session, watermark) == ["culture", "economy"]
    # Re-importing the old published record from a dump does not resurrect it.
    assert write(engine, [make_article("a", topics=("culture", "economy"))], now).unchanged == 1
    with pytest.raises(NotFoundError, match="'nope'"):
        with db.write_session(engine) as session:
            store.retract_article(session, "nope", "", now)


def test_imported_retraction_records_when(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    published = datetime(2026, 11, 20, tzinfo=UTC)
    retracted = make_article(
        "a",
        status="retracted",
        retraction_reason="Duplicate",
        published_at=published,
        updated_at=published + timedelta(days=1),
    )
    write(engine, [retracted], now)
    with db.read_session(engine) as session:
        (stored,) = article_queries.load_articles(session)
    assert stored.retracted_at == published + timedelta(days=1)
    assert stored.retraction_reason == "Duplicate"


def test_times_round_trip_as_aware_utc(
    engine: Engine, make_article: MakeArticle, now: datetime
) -> None:
    from zoneinfo import ZoneInfo

    seoul = datetime(2026, 11, 26, 18, 30, tzinfo=ZoneInfo("Asia/Seoul"))
    write(engine, [make_article("a", published_at=seoul)], now)
    with db.read_session(engine) as session:
        (stored,) = article_queries.load_articles(session)
    assert stored.published_at == seoul
    assert stored.published_at.tzinfo == UTC


def test_sync_topics_is_idempotent_and_renames_mark_the_topic(engine: Engine) -> None:
    from dataclasses import replace

    from syndication.settings import DEMO_TOPICS

    with db.write_session(engine) as session:
        assert store.sync_topics(session, DEMO_TOPICS) == 0
    renamed = (replace(DEMO_TOPICS[0], name="Global Seoul"), *DEMO_TOPICS[1:])
    with db.write_session(engine) as session:
        assert store.sync_topics(session, renamed) == 1
        assert store.topics_changed_since(session, 0) == [DEMO_TOPICS[0].slug]


def test_upsert_helper_inserts_and_updates(engine: Engine) -> None:
    from syndication.store.models import Counter

    with db.write_session(engine) as session:
        store.write_counter(session, "feeds", 5)
        store.write_counter(session, "feeds", 9)
        assert store.read_counter(session, "feeds") == 9
        assert store.read_counter(session, "never") == 0
        table = Counter.__table__
        upsert(session, table, [{"name": "feeds", "value": 1}], ["name"], [])
        assert store.read_counter(session, "feeds") == 9


def test_a_language_scope_selects_what_feed_language_assigns(
    engine: Engine, make_article: Callable[..., ArticleRecord]
) -> None:
    # Issue 30: the SQL narrowing of a language's feeds agrees with the pure rule.
    available = ("en", "ko", "zh", "zh-Hant")
    tags = ["en", "en-GB", "ko", "ko-KR", "kok", "zh", "zh-Hans", "zh-Hant", "zh-Hant-TW", "fr"]
    records = [make_article(f"smg-{tag}", language=tag) for tag in tags]
    write(engine, records, datetime(2026, 11, 28, tzinfo=UTC))
    with db.read_session(engine) as session:
        for language in available:
            scope = LanguageScope(language, available)
            found = article_queries.newest_published_articles(session, None, 50, scope)
            expected = {f"smg-{t}" for t in tags if feed_language(available, t) == language}
            assert {a.source_id for a in found} == expected, language


def test_translation_members_are_the_named_and_the_naming(
    engine: Engine, make_article: Callable[..., ArticleRecord]
) -> None:
    records = [
        make_article("smg-1"),
        make_article("smg-1-ko", language="ko", translation_of="smg-1"),
        make_article("smg-2-ko", language="ko", translation_of="smg-2"),  # original to come
        make_article("smg-3"),
    ]
    write(engine, records, datetime(2026, 11, 28, tzinfo=UTC))
    with db.read_session(engine) as session:
        members = article_queries.translation_members(session)
        assert (
            article_queries.articles_by_source_id(session, ["smg-1-ko"])["smg-1-ko"].translation_of
            == "smg-1"
        )
    assert {(m.source_id, m.translation_of) for m in members} == {
        ("smg-1", ""),
        ("smg-1-ko", "smg-1"),
        ("smg-2-ko", "smg-2"),
    }
