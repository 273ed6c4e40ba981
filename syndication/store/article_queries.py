"""Reading the news store: articles for feeds and digests, streamed or bounded, and summaries.

Every function takes a Session; callers own transactions. Feed queries take ``topic`` as a
topic slug, several slugs, or None for the whole site, and ``scope`` as the language whose
feeds are built (None: every language, a single-language newsroom), and each is bounded by
a LIMIT or by one calendar month, so an incremental build costs time in proportion to what
changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from syndication.core.articles import StoredArticle
from syndication.core.feeds import Departure, LanguageScope
from syndication.core.translations import Member
from syndication.store.models import Article, TopicDeparture, TopicRow, article_topics
from syndication.store.search import contains


def load_articles(
    session: Session, topic: str | None = None, *, changed_since: int | None = None
) -> list[StoredArticle]:
    """Articles (with their topic slugs), optionally of one topic or changed since a number.

    Ordered by publication time, oldest first, then source id, so callers get a stable
    order to build from.
    """
    stmt = _of_topic(_STORED, topic)
    if changed_since is not None:
        stmt = stmt.where(Article.change_seq > changed_since)
    return _stored_rows(session, stmt.order_by(Article.published_at, Article.source_id))


def published_times_changed_since(session: Session, seq: int) -> list[datetime]:
    """The ``published_at`` of every article written after change ``seq`` (any order):
    what an incremental feed build needs to know which archive months to rebuild. A
    query of its own, so the database walks the ``change_seq`` index: ordered by
    publication (as :func:`load_articles` is), SQLite scanned every article for it."""
    return list(session.scalars(select(Article.published_at).where(Article.change_seq > seq)))


def iter_articles(
    session: Session, topic: str | None = None, *, batch: int = 500
) -> Iterator[StoredArticle]:
    """Every article of ``topic`` (None: all), oldest publication first, then source id,
    streamed: rows arrive ``batch`` at a time (a server-side cursor on PostgreSQL,
    ``yield_per``), so a full feed build holds one batch, not the store (issue 16)."""
    stmt = _of_topic(_STORED, topic).order_by(Article.published_at, Article.source_id)
    result = session.connection().execution_options(yield_per=batch).execute(stmt)
    for chunk in result.partitions():
        yield from map(_stored, chunk)


def count_articles(session: Session) -> int:
    """How many articles the store holds, retracted ones included."""
    return int(session.scalar(select(func.count()).select_from(Article)) or 0)


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


# An article's topic slugs in one column of its own row, space-separated (slugs are
# lower-case letters, digits and hyphens): one query per batch of articles rather than a
# second query for their links (issue 16: that and ORM-level execution were half the
# time of reading a store for a feed build).
_TOPIC_SLUGS = (
    select(func.aggregate_strings(TopicRow.slug, " "))
    .select_from(article_topics)
    .join(TopicRow, TopicRow.id == article_topics.c.topic_id)
    .where(article_topics.c.article_id == Article.id)
    .scalar_subquery()
)

# The columns of a StoredArticle, in the order of its fields (topics last here).
_STORED = select(
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
    Article.translation_of,
    _TOPIC_SLUGS,
)


def _stored(row: Any) -> StoredArticle:
    (source_id, title, url, published, updated, summary, body, author, image, language) = row[:10]
    (status, retracted_at, reason, change_seq, id_date, content_hash, of, slugs) = row[10:]
    return StoredArticle(
        source_id,
        title,
        url,
        published,
        updated,
        tuple(sorted(slugs.split())) if slugs else (),
        summary,
        body,
        author,
        image,
        language,
        status,
        retracted_at,
        reason,
        change_seq,
        id_date,
        content_hash,
        of,
    )


def _stored_rows(session: Session, stmt: Any) -> list[StoredArticle]:
    """The articles ``stmt`` (a narrowing of ``_STORED``) selects, in its order."""
    return [_stored(row) for row in session.connection().execute(stmt)]


def newest_published_articles(
    session: Session, topic: str | None, limit: int, scope: LanguageScope | None = None
) -> list[StoredArticle]:
    """The ``limit`` newest published (not retracted) articles, newest first."""
    wanted = _walking(select(Article.id).where(Article.status == "published"), topic, scope)
    order = (Article.published_at.desc(), Article.source_id)
    return _stored_rows(session, _first(wanted, order, limit))


def newest_updated_articles(
    session: Session, topic: str | None, limit: int, scope: LanguageScope | None = None
) -> list[StoredArticle]:
    """The ``limit`` most recently updated articles, retracted ones included, newest first."""
    order = (Article.updated_at.desc(), Article.published_at.desc(), Article.source_id)
    return _stored_rows(session, _first(_walking(select(Article.id), topic, scope), order, limit))


def _in_language(stmt: Any, scope: LanguageScope | None) -> Any:
    """``stmt`` narrowed to the articles of ``scope``'s feeds (None: left whole), as
    :func:`syndication.core.feeds.feed_language` assigns them: a tag that is the language
    or extends it, unless a longer available tag claims it; for the primary language,
    also every tag no available language claims. Stored tags are in their canonical
    case, as the available ones are."""
    if scope is None:
        return stmt

    def claims(tag: str) -> Any:
        return or_(Article.language == tag, Article.language.like(f"{tag}-%"))

    language = scope.language
    longer = [t for t in scope.available if t.lower().startswith(language.lower() + "-")]
    condition = claims(language)
    if longer:
        condition = and_(condition, not_(or_(*map(claims, longer))))
    if language == scope.available[0]:
        condition = or_(condition, not_(or_(*map(claims, scope.available))))
    return stmt.where(condition)


def _walking(stmt: Any, topic: str | None, scope: LanguageScope | None = None) -> Any:
    """``stmt`` narrowed to one topic (None: left whole) by a correlated ``EXISTS``, for
    a query that wants the first few rows in an indexed order: the database walks that
    index and stops after ``limit`` of the topic's articles, where ``id IN (…)`` collected
    and sorted all of them (2.5 times the time at 30,000 articles, more as they grow)."""
    stmt = _in_language(stmt, scope)
    if topic is None:
        return stmt
    topic_id = select(TopicRow.id).where(TopicRow.slug == topic).scalar_subquery()
    return stmt.where(
        exists().where(
            article_topics.c.article_id == Article.id, article_topics.c.topic_id == topic_id
        )
    )


def _first(ids: Any, order: tuple[Any, ...], limit: int) -> Any:
    """``_STORED`` for the first ``limit`` of the articles ``ids`` selects, in ``order``.
    The ids are cut first: otherwise the database works out the topics column of every
    candidate row before sorting them (a topic's whole history, for 50 rows)."""
    return _STORED.where(Article.id.in_(ids.order_by(*order).limit(limit))).order_by(*order)


def articles_published_between(
    session: Session, topic: str | Sequence[str] | None, start: datetime, end: datetime
) -> list[StoredArticle]:
    """Every article (retracted too) of ``topic`` (a slug, several, or None for all)
    published in ``[start, end)``, oldest first: a month's archive, a digest's period."""
    stmt = _of_topic(
        _STORED.where(Article.published_at >= start, Article.published_at < end), topic
    )
    return _stored_rows(session, stmt.order_by(Article.published_at, Article.source_id))


# What orders, dates and addresses an article's entry, without its text (see stamps).
_STAMPS = select(
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
    (source_id, published, updated, status, retracted_at, reason, change_seq, id_date, digest) = row
    return StoredArticle(
        source_id,
        "",
        "",
        published,
        updated,
        (),
        "",
        "",
        "",
        "",
        "",
        status,
        retracted_at,
        reason,
        change_seq,
        id_date,
        digest,
    )


def stamps_published_between(
    session: Session,
    topic: str | None,
    start: datetime,
    end: datetime,
    scope: LanguageScope | None = None,
) -> list[StoredArticle]:
    """:func:`articles_published_between` without the text: title, URL, summary, body,
    author, image, language and topics are left empty. Enough to order a month, date it,
    write its tombstones and address its cached entry fragments (by ``content_hash``);
    :func:`articles_by_source_id` fetches the whole of those that must be rendered."""
    stmt = _of_topic(
        _STAMPS.where(Article.published_at >= start, Article.published_at < end), topic
    )
    stmt = _in_language(stmt, scope).order_by(Article.published_at, Article.source_id)
    return [_stamp(row) for row in session.connection().execute(stmt)]


def articles_by_source_id(session: Session, source_ids: Sequence[str]) -> dict[str, StoredArticle]:
    """The whole articles of ``source_ids``, by source id."""
    found: dict[str, StoredArticle] = {}
    for start in range(0, len(source_ids), 5000):
        chunk = list(source_ids[start : start + 5000])
        stmt = _STORED.where(Article.source_id.in_(chunk))
        found.update((a.source_id, a) for a in _stored_rows(session, stmt))
    return found


def _in_archive(stmt: Any, topic: str | None, scope: LanguageScope | None = None) -> Any:
    """``stmt`` narrowed to the articles a topic's archive holds: its own, and those that
    left it (their tombstones stay in the archive of their month).

    As correlated ``EXISTS`` tests, for the neighbour-month queries that take the first
    row in publication order: the database walks the ``published_at`` index and stops at
    the topic's first article, a few dozen look-ups, where ``id IN (…)`` collected and
    sorted every article of the topic first (an edit's build runs four of these)."""
    stmt = _in_language(stmt, scope)
    if topic is None:
        return stmt
    topic_id = select(TopicRow.id).where(TopicRow.slug == topic).scalar_subquery()
    return stmt.where(
        or_(
            exists().where(
                article_topics.c.article_id == Article.id, article_topics.c.topic_id == topic_id
            ),
            exists().where(
                TopicDeparture.article_id == Article.id, TopicDeparture.topic_id == topic_id
            ),
        )
    )


def last_published_before(
    session: Session,
    topic: str | None,
    moment: datetime | None = None,
    scope: LanguageScope | None = None,
) -> datetime | None:
    """The newest ``published_at`` before ``moment`` (or at all), or None, of the articles
    ``topic``'s archive holds (departures included: they have tombstones there)."""
    stmt = _in_archive(select(Article.published_at), topic, scope)
    if moment is not None:
        stmt = stmt.where(Article.published_at < moment)
    return session.scalars(stmt.order_by(Article.published_at.desc()).limit(1)).first()


def first_published_from(
    session: Session, topic: str | None, moment: datetime, scope: LanguageScope | None = None
) -> datetime | None:
    """The oldest ``published_at`` at or after ``moment``, or None (as
    :func:`last_published_before`, departures included)."""
    stmt = _in_archive(select(Article.published_at), topic, scope)
    stmt = stmt.where(Article.published_at >= moment)
    return session.scalars(stmt.order_by(Article.published_at).limit(1)).first()


# -- departures (issue 26 item 3) ---------------------------------------------------------
# Articles that left a topic: tombstones in that topic's Atom feed and archive month. The
# article part of a Departure is a stamp (no text): a tombstone needs only its id.

_DEPARTURES = select(*_STAMPS.selected_columns, TopicDeparture.departed_at, TopicDeparture.reason)


def _departure(row: Any) -> Departure:
    return Departure(_stamp(row[:9]), row[9], row[10])


def _departures_of(topic: str, scope: LanguageScope | None = None) -> Any:
    return _in_language(
        _DEPARTURES.join(TopicDeparture, TopicDeparture.article_id == Article.id)
        .join(TopicRow, TopicRow.id == TopicDeparture.topic_id)
        .where(TopicRow.slug == topic),
        scope,
    )


def newest_departures(
    session: Session, topic: str | None, limit: int, scope: LanguageScope | None = None
) -> list[Departure]:
    """The ``limit`` newest departures from ``topic`` (None: the whole site, which no
    article leaves), newest first."""
    if topic is None:
        return []
    order = (TopicDeparture.departed_at.desc(), Article.published_at.desc(), Article.source_id)
    stmt = _departures_of(topic, scope).order_by(*order).limit(limit)
    return [_departure(row) for row in session.connection().execute(stmt)]


def departures_published_between(
    session: Session,
    topic: str | None,
    start: datetime,
    end: datetime,
    scope: LanguageScope | None = None,
) -> list[Departure]:
    """The departures from ``topic`` of articles published in ``[start, end)``."""
    if topic is None:
        return []
    stmt = _departures_of(topic, scope).where(
        Article.published_at >= start, Article.published_at < end
    )
    stmt = stmt.order_by(Article.published_at, Article.source_id)
    return [_departure(row) for row in session.connection().execute(stmt)]


def departures_by_article(session: Session) -> dict[str, list[tuple[str, Departure]]]:
    """Every departure, as ``(topic slug, departure)`` pairs by the article's source id
    (a full build hands each to the archive of the topic it left, month by month)."""
    stmt = _DEPARTURES.add_columns(TopicRow.slug)
    stmt = stmt.join(TopicDeparture, TopicDeparture.article_id == Article.id).join(
        TopicRow, TopicRow.id == TopicDeparture.topic_id
    )
    found: dict[str, list[tuple[str, Departure]]] = {}
    for row in session.connection().execute(stmt.order_by(TopicRow.slug)):
        departure = _departure(row[:11])
        found.setdefault(departure.article.source_id, []).append((row[11], departure))
    return found


# -- translations (issue 30) -------------------------------------------------------------


def translation_members(session: Session) -> list[Member]:
    """Every article that names another (``translation_of``) and every article so named:
    all the store holds of translation groups (:func:`core.translations.translation_index`
    works them out). Walks the ``translation_of`` index: a store without translations
    answers from the index alone."""
    named = select(Article.translation_of).where(Article.translation_of > "")
    stmt = select(
        Article.source_id,
        Article.translation_of,
        Article.language,
        Article.url,
        Article.status,
        Article.published_at,
        _TOPIC_SLUGS,
    ).where(or_(Article.translation_of > "", Article.source_id.in_(named)))
    return [
        Member(
            source_id,
            of,
            language,
            url,
            status == "retracted",
            published,
            tuple(sorted(slugs.split())) if slugs else (),
        )
        for source_id, of, language, url, status, published, slugs in session.execute(stmt)
    ]


def sources_changed_since(session: Session, seq: int) -> list[str]:
    """The source ids of the articles written after change ``seq``."""
    return list(session.scalars(select(Article.source_id).where(Article.change_seq > seq)))


# -- the console's article search ------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    id: int
    source_id: str
    title: str
    url: str
    published_at: datetime
    status: str
    retraction_reason: str


def search_articles(session: Session, query: str, limit: int = 50) -> list[ArticleRow]:
    """Newest first; ``query`` matches the title or the source id (any case)."""
    stmt = select(Article).order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    matches = contains(query, Article.title, Article.source_id)
    if matches is not None:
        stmt = stmt.where(matches)
    return [
        ArticleRow(a.id, a.source_id, a.title, a.url, a.published_at, a.status, a.retraction_reason)
        for a in session.scalars(stmt)
    ]


def article_source_id(session: Session, article_id: int) -> str | None:
    return session.scalar(select(Article.source_id).where(Article.id == article_id))
