"""Reading the news store: articles for feeds and digests, streamed or bounded, and summaries.

Every function takes a Session; callers own transactions. Feed queries take ``topic`` as a
topic slug, several slugs, or None for the whole site, and each is bounded by a LIMIT or by
one calendar month, so an incremental build costs time in proportion to what changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syndication.core.articles import StoredArticle
from syndication.store.articles import current_change_seq
from syndication.store.models import Article, TopicRow, article_topics


def load_articles(
    session: Session, topic: str | None = None, *, changed_since: int | None = None
) -> list[StoredArticle]:
    """Articles (with their topic slugs), optionally of one topic or changed since a number.

    Ordered by publication time, oldest first, then source id, so callers get a stable
    order to build from.
    """
    stmt = _of_topic(select(*_STORED_COLUMNS), topic)
    if changed_since is not None:
        stmt = stmt.where(Article.change_seq > changed_since)
    stmt = stmt.order_by(Article.published_at, Article.source_id)
    return _stored_rows(session, stmt)


def iter_articles(
    session: Session, topic: str | None = None, *, batch: int = 500
) -> Iterator[StoredArticle]:
    """Every article of ``topic`` (None: all), oldest publication first, then source id,
    streamed: rows arrive ``batch`` at a time (a server-side cursor on PostgreSQL,
    ``yield_per``), so a full feed build holds one batch, not the store (issue 16)."""
    stmt = _of_topic(select(*_STORED_COLUMNS), topic)
    stmt = stmt.order_by(Article.published_at, Article.source_id)
    result = session.execute(stmt.execution_options(yield_per=batch))
    for chunk in result.partitions():
        yield from _with_topics(session, chunk)


def _topic_slugs(
    session: Session, article_ids: list[int], of: Any = None
) -> dict[int, tuple[str, ...]]:
    """Topic slugs by article id; ``of``, a query selecting exactly those ids, spares a
    long ``IN`` list (a month of ``all`` has thousands: compiling them cost more than
    the query)."""
    result: dict[int, list[str]] = {}
    links = (
        select(article_topics.c.article_id, TopicRow.slug)
        .join(TopicRow, TopicRow.id == article_topics.c.topic_id)
        .order_by(article_topics.c.article_id, TopicRow.slug)
    )
    if of is not None:
        chunks = [links.where(article_topics.c.article_id.in_(of))]
    else:
        # Chunked: SQLite limits the number of bound parameters in one statement.
        chunks = [
            links.where(article_topics.c.article_id.in_(article_ids[start : start + 5000]))
            for start in range(0, len(article_ids), 5000)
        ]
    for stmt in chunks:
        for article_id, slug in session.execute(stmt):
            result.setdefault(article_id, []).append(slug)
    return {k: tuple(v) for k, v in result.items()}


def _stored(article: Any, topics: tuple[str, ...]) -> StoredArticle:
    return StoredArticle(
        source_id=article.source_id,
        title=article.title,
        url=article.url,
        published_at=article.published_at,
        updated_at=article.updated_at,
        topics=topics,
        summary=article.summary,
        body_html=article.body_html,
        author=article.author,
        image_url=article.image_url,
        language=article.language,
        status=article.status,
        retracted_at=article.retracted_at,
        retraction_reason=article.retraction_reason,
        change_seq=article.change_seq,
        id_date=article.id_date,
        content_hash=article.content_hash,
    )


# -- feeds --------------------------------------------------------------------------------
# The queries a feed build needs. ``topic`` is a topic slug, or None for the whole site.
# Each is bounded by a LIMIT or by one calendar month, so an incremental build costs time
# in proportion to what changed, not to the size of the store.


def _of_topic(stmt: Any, topic: str | Sequence[str] | None) -> Any:
    """``stmt`` narrowed to one topic, to any of several, or (None) left whole."""
    if topic is None:
        return stmt
    slugs = [topic] if isinstance(topic, str) else list(topic)
    return stmt.where(
        Article.id.in_(
            select(article_topics.c.article_id)
            .join(TopicRow, TopicRow.id == article_topics.c.topic_id)
            .where(TopicRow.slug.in_(slugs))
        )
    )


def _with_topics(session: Session, articles: Sequence[Any], of: Any = None) -> list[StoredArticle]:
    slugs = _topic_slugs(session, [a.id for a in articles], of)
    return [_stored(a, slugs.get(a.id, ())) for a in articles]


# The columns a StoredArticle is made of. Feed and digest queries select these as plain
# rows rather than ORM objects: no identity map, a third of the time per row (issue 16).
_STORED_COLUMNS = (
    Article.id,
    Article.source_id,
    Article.title,
    Article.url,
    Article.published_at,
    Article.updated_at,
    Article.summary,
    Article.body_html,
    Article.author,
    Article.image_url,
    Article.language,
    Article.status,
    Article.retracted_at,
    Article.retraction_reason,
    Article.change_seq,
    Article.id_date,
    Article.content_hash,
)


def _stored_rows(session: Session, stmt: Any, *, unlimited: bool = False) -> list[StoredArticle]:
    """The articles ``stmt`` selects; ``unlimited`` when it has no LIMIT, so the same
    condition can select their topic links."""
    ids = stmt.with_only_columns(Article.id).order_by(None) if unlimited else None
    return _with_topics(session, session.execute(stmt).all(), ids)


def newest_published_articles(
    session: Session, topic: str | None, limit: int
) -> list[StoredArticle]:
    """The ``limit`` newest published (not retracted) articles, newest first."""
    stmt = _of_topic(select(*_STORED_COLUMNS).where(Article.status == "published"), topic)
    stmt = stmt.order_by(Article.published_at.desc(), Article.source_id).limit(limit)
    return _stored_rows(session, stmt)


def newest_updated_articles(session: Session, topic: str | None, limit: int) -> list[StoredArticle]:
    """The ``limit`` most recently updated articles, retracted ones included, newest first."""
    stmt = _of_topic(select(*_STORED_COLUMNS), topic).order_by(
        Article.updated_at.desc(), Article.published_at.desc(), Article.source_id
    )
    return _stored_rows(session, stmt.limit(limit))


def articles_published_between(
    session: Session, topic: str | Sequence[str] | None, start: datetime, end: datetime
) -> list[StoredArticle]:
    """Every article (retracted too) of ``topic`` (a slug, several, or None for all)
    published in ``[start, end)``, oldest first: a month's archive, a digest's period."""
    stmt = _of_topic(
        select(*_STORED_COLUMNS).where(Article.published_at >= start, Article.published_at < end),
        topic,
    )
    stmt = stmt.order_by(Article.published_at, Article.source_id)
    return _stored_rows(session, stmt, unlimited=True)


# What orders, dates and addresses an article's entry, without its text (see stamps).
_STAMP_COLUMNS = (
    Article.id,
    Article.source_id,
    Article.published_at,
    Article.updated_at,
    Article.status,
    Article.retracted_at,
    Article.retraction_reason,
    Article.change_seq,
    Article.id_date,
    Article.content_hash,
)


def _stamp(row: Any) -> StoredArticle:
    return StoredArticle(
        source_id=row.source_id,
        title="",
        url="",
        published_at=row.published_at,
        updated_at=row.updated_at,
        topics=(),
        summary="",
        body_html="",
        author="",
        image_url="",
        language="",
        status=row.status,
        retracted_at=row.retracted_at,
        retraction_reason=row.retraction_reason,
        change_seq=row.change_seq,
        id_date=row.id_date,
        content_hash=row.content_hash,
    )


def stamps_published_between(
    session: Session, topic: str | None, start: datetime, end: datetime
) -> list[StoredArticle]:
    """:func:`articles_published_between` without the text: title, URL, summary, body,
    author, image, language and topics are left empty. Enough to order a month, date it,
    write its tombstones and address its cached entry fragments (by ``content_hash``);
    :func:`articles_by_source_id` fetches the whole of those that must be rendered."""
    stmt = _of_topic(
        select(*_STAMP_COLUMNS).where(Article.published_at >= start, Article.published_at < end),
        topic,
    ).order_by(Article.published_at, Article.source_id)
    return [_stamp(row) for row in session.execute(stmt)]


def iter_stamps(
    session: Session, topic: str | None = None, *, batch: int = 2000
) -> Iterator[StoredArticle]:
    """:func:`iter_articles` without the text, as :func:`stamps_published_between`."""
    stmt = _of_topic(select(*_STAMP_COLUMNS), topic)
    stmt = stmt.order_by(Article.published_at, Article.source_id)
    for chunk in session.execute(stmt.execution_options(yield_per=batch)).partitions():
        yield from (_stamp(row) for row in chunk)


def articles_by_source_id(session: Session, source_ids: Sequence[str]) -> dict[str, StoredArticle]:
    """The whole articles of ``source_ids``, by source id."""
    found: dict[str, StoredArticle] = {}
    for start in range(0, len(source_ids), 5000):
        chunk = list(source_ids[start : start + 5000])
        stmt = select(*_STORED_COLUMNS).where(Article.source_id.in_(chunk))
        found.update((a.source_id, a) for a in _stored_rows(session, stmt))
    return found


def last_published_before(
    session: Session, topic: str | None, moment: datetime | None = None
) -> datetime | None:
    """The newest ``published_at`` before ``moment`` (or at all), or None."""
    stmt = _of_topic(select(Article.published_at), topic)
    if moment is not None:
        stmt = stmt.where(Article.published_at < moment)
    return session.scalars(stmt.order_by(Article.published_at.desc()).limit(1)).first()


def first_published_from(session: Session, topic: str | None, moment: datetime) -> datetime | None:
    """The oldest ``published_at`` at or after ``moment``, or None."""
    stmt = _of_topic(select(Article.published_at), topic).where(Article.published_at >= moment)
    return session.scalars(stmt.order_by(Article.published_at).limit(1)).first()


# -- summary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicCount:
    slug: str
    name: str
    published: int
    retracted: int


@dataclass(frozen=True)
class StoreSummary:
    articles: int
    published: int
    retracted: int
    change_seq: int
    newest_published: datetime | None
    newest_updated: datetime | None
    topics: tuple[TopicCount, ...]


def store_summary(session: Session) -> StoreSummary:
    """Counts for ``syndication status``: articles by status, per topic, newest times."""
    by_status = {
        status: count
        for status, count in session.execute(
            select(Article.status, func.count()).group_by(Article.status)
        )
    }
    newest_published, newest_updated = session.execute(
        select(func.max(Article.published_at), func.max(Article.updated_at))
    ).one()
    per_topic = session.execute(
        select(
            TopicRow.slug, TopicRow.name, Article.status, func.count(article_topics.c.article_id)
        )
        .select_from(TopicRow)
        .outerjoin(article_topics, article_topics.c.topic_id == TopicRow.id)
        .outerjoin(Article, Article.id == article_topics.c.article_id)
        .group_by(TopicRow.slug, TopicRow.name, Article.status)
        .order_by(TopicRow.slug)
    )
    topics: dict[str, dict[str, Any]] = {}
    for slug, name, status, count in per_topic:
        entry = topics.setdefault(slug, {"name": name, "published": 0, "retracted": 0})
        if status is not None:
            entry[status] = count
    # max() over a TypeDecorator column comes back raw on SQLite: normalise it.
    to_utc = Article.__table__.c.published_at.type.process_result_value  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect
    published = int(by_status.get("published", 0))
    retracted = int(by_status.get("retracted", 0))
    return StoreSummary(
        articles=published + retracted,
        published=published,
        retracted=retracted,
        change_seq=current_change_seq(session),
        newest_published=to_utc(_as_datetime(newest_published), dialect),
        newest_updated=to_utc(_as_datetime(newest_updated), dialect),
        topics=tuple(
            TopicCount(slug, e["name"], e["published"], e["retracted"])
            for slug, e in topics.items()
        ),
    )


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
