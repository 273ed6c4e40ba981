"""Writing the news store: counters, topics, article upserts, retractions.

Every function takes a Session; callers own transactions. The reads are in
:mod:`syndication.store.article_queries`.

The article change sequence: each write of an article takes the next number(s) from the
``article_changes`` counter with an ``UPDATE``. That row lock serialises writers on
PostgreSQL until they commit (SQLite has one writer anyway), so numbers become visible in
the order they were handed out and a poller reading "changed since N" never skips a
transaction that committed late with a smaller number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import String, Table, any_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from syndication import settings
from syndication.core.articles import ArticleRecord
from syndication.errors import NotFoundError
from syndication.store.copy_rows import (
    HEAD_COLUMNS,
    TAIL_COLUMNS,
    PreparedArticle,
    copy_tail,
    tail_values,
)
from syndication.store.models import (
    ARTICLE_CHANGES,
    Article,
    Counter,
    TopicDeparture,
    TopicRow,
    article_topics,
)
from syndication.store.models import (
    FEEDS_BUILT as FEEDS_BUILT,  # re-exported: services name the watermark store.FEEDS_BUILT
)
from syndication.store.upsert import upsert

_T = TypeVar("_T")

# -- counters -----------------------------------------------------------------------------


def take_change_numbers(session: Session, count: int = 1) -> int:
    """Reserve ``count`` consecutive change numbers; returns the first of them."""
    session.execute(
        update(Counter).where(Counter.name == ARTICLE_CHANGES).values(value=Counter.value + count)
    )
    last = session.execute(
        select(Counter.value).where(Counter.name == ARTICLE_CHANGES)
    ).scalar_one()
    return int(last) - count + 1


def current_change_seq(session: Session) -> int:
    """The newest change number handed out (0 for an empty store)."""
    value = session.execute(
        select(Counter.value).where(Counter.name == ARTICLE_CHANGES)
    ).scalar_one_or_none()
    return int(value or 0)


def read_counter(session: Session, name: str) -> int:
    """A consumer's watermark (0 when it has none yet)."""
    value = session.execute(select(Counter.value).where(Counter.name == name)).scalar_one_or_none()
    return int(value or 0)


def write_counter(session: Session, name: str, value: int) -> None:
    upsert(session, Counter.__table__, [{"name": name, "value": value}], ["name"], ["value"])


def read_counters(session: Session, names: Sequence[str], *, missing: int = 0) -> dict[str, int]:
    """Several counters in one query; a counter never written reads ``missing``."""
    rows = session.execute(select(Counter.name, Counter.value).where(Counter.name.in_(names)))
    values = {name: int(value) for name, value in rows}
    return {name: values.get(name, missing) for name in names}


# -- publication dates that moved (issue 26) -------------------------------------------------
#
# An incremental feed build rebuilds the archive months of the articles changed since its
# watermark, found by their publication dates now. An article whose ``published_at`` was
# corrected into another month also sits in the archive of the month it left, which no
# column remembers: the write records the date it left as a counter named
# ``moved_from:<UTC instant>`` whose value is the change number of that write (as a topic
# carries the number of the last change that touched it). The build reads those above its
# watermark and forgets those at or below the watermark it has published. A counter, not
# a table of its own: no migration, the same transaction as the write, a handful of rows.

MOVED_FROM = "moved_from:"


def record_moves(session: Session, moments: Iterable[datetime], seq: int) -> None:
    """Remember that articles left the publication dates ``moments`` at change ``seq``."""
    rows = [{"name": MOVED_FROM + m.isoformat(), "value": seq} for m in sorted(set(moments))]
    if rows:
        upsert(session, Counter.__table__, rows, ["name"], ["value"])


def moves_since(session: Session, seq: int) -> list[datetime]:
    """The publication dates articles left after change ``seq`` (see :func:`record_moves`)."""
    names = session.scalars(
        select(Counter.name).where(Counter.name.startswith(MOVED_FROM), Counter.value > seq)
    )
    return [datetime.fromisoformat(name[len(MOVED_FROM) :]) for name in names]


def forget_moves(session: Session, seq: int) -> None:
    """Drop the marks of :func:`record_moves` up to change ``seq`` (built into the feeds)."""
    session.execute(
        delete(Counter).where(Counter.name.startswith(MOVED_FROM), Counter.value <= seq)
    )


# -- topics -------------------------------------------------------------------------------


def sync_topics(session: Session, topics: Iterable[settings.Topic]) -> int:
    """Make the topics table match the configuration; returns how many rows changed.

    Topics that left the configuration stay in the store (articles still point at them);
    they simply get no feeds.
    """
    existing = {t.slug: t for t in session.scalars(select(TopicRow))}
    changed = 0
    for topic in topics:
        row = existing.get(topic.slug)
        if row is None:
            session.add(
                TopicRow(
                    slug=topic.slug, name=topic.name, description=topic.description, change_seq=0
                )
            )
            changed += 1
        elif (row.name, row.description) != (topic.name, topic.description):
            row.name, row.description = topic.name, topic.description
            # A renamed topic changes its feeds' titles: mark it for the next build.
            row.change_seq = take_change_numbers(session)
            changed += 1
    session.flush()
    return changed


def topic_ids(session: Session) -> dict[str, int]:
    return {slug: id_ for slug, id_ in session.execute(select(TopicRow.slug, TopicRow.id))}


def topics_changed_since(session: Session, seq: int) -> list[str]:
    """Slugs of topics touched by an article write numbered above ``seq``."""
    return list(
        session.scalars(
            select(TopicRow.slug).where(TopicRow.change_seq > seq).order_by(TopicRow.slug)
        )
    )


# -- articles -----------------------------------------------------------------------------


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: WriteCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


# The rows write_articles hands to the writers: every column it decides, those it decides
# per write first (store.copy_rows: the COPY path gets the rest as ready text).
ROW_COLUMNS = (*HEAD_COLUMNS, *TAIL_COLUMNS)
# id_date is only ever inserted: an update keeps the date the id was minted with (issue
# 14: a corrected published_at made a new id).
_UPDATE_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("source_id", "id_date"))


def write_articles(
    session: Session,
    records: Sequence[ArticleRecord | PreparedArticle],
    now: datetime,
    *,
    copy: bool | None = None,
    digests: Sequence[str] | None = None,
) -> WriteCounts:
    """Upsert a batch of articles with distinct source ids; unchanged ones are not touched.

    A changed article whose ``updated_at`` did not move forward gets ``now`` instead, so
    that every consumer comparing ``updated`` (feed readers, mirroring partners) sees the
    change. Topics the article joins or leaves are marked changed. ``digests`` are the
    records' :meth:`~ArticleRecord.content_hash`, when the caller computed them already
    (required for :class:`PreparedArticle` items, which only the ``COPY`` path takes).

    On PostgreSQL the rows go through ``COPY`` (``store.bulk``); ``copy=False`` forces the
    portable statement path there too (the tests compare the two).
    """
    counts = WriteCounts()
    if not records:
        return counts
    if digests is None:
        digests = [_record(item).content_hash() for item in records]
    if copy is None:
        copy = session.get_bind().dialect.name == "postgresql"
    ids = topic_ids(session)
    existing = {
        row.source_id: row
        for row in session.execute(
            select(
                Article.id,
                Article.source_id,
                Article.content_hash,
                Article.updated_at,
                Article.retracted_at,
                Article.published_at,
            ).where(_source_id_in(session, [r.source_id for r in records]))
        )
    }
    changed: list[tuple[ArticleRecord | PreparedArticle, str]] = []
    for record, digest in zip(records, digests, strict=True):
        old = existing.get(record.source_id)
        if old is not None and old.content_hash == digest:
            counts.unchanged += 1
        else:
            changed.append((record, digest))
    if not changed:
        return counts

    first = take_change_numbers(session, len(changed))
    # What the store decides for each changed article: its change number, updated_at and
    # retracted_at; the rest of its row is the record's own.
    decided: list[tuple[ArticleRecord | PreparedArticle, str, int, datetime, datetime | None]]
    decided = []
    for seq, (record, digest) in enumerate(changed, start=first):
        old = existing.get(record.source_id)
        updated_at = record.updated_at
        retracted_at = None
        if old is not None:
            counts.updated += 1
            if updated_at <= old.updated_at:
                updated_at = max(now, old.updated_at)
            retracted_at = old.retracted_at
        else:
            counts.inserted += 1
        if record.status == "retracted":
            retracted_at = retracted_at or updated_at
        else:
            retracted_at = None
        decided.append((record, digest, seq, updated_at, retracted_at))
    links = {record.source_id: [ids[slug] for slug in record.topics] for record, _ in changed}
    stored = {r.source_id: existing[r.source_id].id for r, _ in changed if r.source_id in existing}
    if copy:
        # Imported here: it loads psycopg, which reading a SQLite store never needs.
        from syndication.store.bulk import CopyRow, copy_articles

        try:
            rows = [
                CopyRow(
                    record.source_id,
                    seq,
                    updated_at,
                    retracted_at,
                    record.tail if isinstance(record, PreparedArticle) else copy_tail(record, d),
                )
                for record, d, seq, updated_at, retracted_at in decided
            ]
        except ValueError as exc:  # a naive datetime or a string no row can hold
            raise StatementError(str(exc), "COPY articles", None, exc) from exc
        _, left = copy_articles(session, rows, links, stored)
    else:
        values = [
            _row_values(_record(record), digest, seq, updated_at, retracted_at)
            for record, digest, seq, updated_at, retracted_at in decided
        ]
        _, left = _write_with_statements(session, values, links, stored)
    when = {record.source_id: updated_at for record, _, _, updated_at, _ in decided}
    record_departures(session, left, links, stored, when)
    touched = {topic for _, topic in left} | {
        topic for topics in links.values() for topic in topics
    }
    last = first + len(changed) - 1
    mark_topics_changed(session, touched, last)
    moved = [
        existing[record.source_id].published_at
        for record, _ in changed
        if record.source_id in existing
        and existing[record.source_id].published_at != record.published_at
    ]
    record_moves(session, moved, last)
    return counts


def record_departures(
    session: Session,
    old_links: Sequence[tuple[int, int]],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
    when: Mapping[str, datetime],
) -> None:
    """Record the topics the written articles left, and forget those they came back to.

    ``old_links`` are the ``(article id, topic id)`` links the write replaced, ``links``
    the new topic ids by source id, ``stored`` the article ids of the articles the store
    held before, ``when`` each article's new ``updated_at`` (the departure's time). The
    reason names the topics the article is in now, by their names at the time of the
    write: RFC 6721 section 2's ``at:comment`` is for people reading the feed.
    """
    if not stored:
        return
    source_of = {article: source for source, article in stored.items()}
    new = {
        (stored[source], topic)
        for source, topics in links.items()
        if source in stored
        for topic in topics
    }
    table: Table = TopicDeparture.__table__
    returned = [
        {"article": article, "topic": topic}
        for chunk in _chunks(list(source_of), 5000)
        for article, topic in session.execute(
            select(table.c.article_id, table.c.topic_id).where(table.c.article_id.in_(chunk))
        )
        if (article, topic) in new
    ]
    if returned:
        session.execute(
            delete(table).where(
                table.c.article_id == bindparam("article"),
                table.c.topic_id == bindparam("topic"),
            ),
            returned,
        )
    gone = sorted(link for link in set(old_links) if link not in new)
    if not gone:
        return
    names = {id_: name for id_, name in session.execute(select(TopicRow.id, TopicRow.name))}
    rows = []
    for article, topic in gone:
        source = source_of[article]
        now_in = [names[t] for t in links[source] if t in names]
        rows.append(
            {
                "article_id": article,
                "topic_id": topic,
                "departed_at": when[source],
                "reason": departure_reason(now_in),
            }
        )
    upsert(session, table, rows, ["article_id", "topic_id"], ["departed_at", "reason"])


def departure_reason(names: Sequence[str]) -> str:
    """The tombstone comment of an article that left a topic for topics ``names``."""
    if not names:
        return "removed from this topic"
    if len(names) == 1:
        return f"moved to {names[0]}"
    return f"moved to {', '.join(names[:-1])} and {names[-1]}"


def _record(item: ArticleRecord | PreparedArticle) -> ArticleRecord:
    """The record itself: a :class:`PreparedArticle` carries only ``COPY`` text."""
    if isinstance(item, PreparedArticle):
        raise TypeError("a prepared article is written through COPY (PostgreSQL) only")
    return item


def _row_values(
    record: ArticleRecord,
    digest: str,
    seq: int,
    updated_at: datetime,
    retracted_at: datetime | None,
) -> tuple[Any, ...]:
    """The row's values in the order of ROW_COLUMNS."""
    return (seq, updated_at, retracted_at, *tail_values(record, digest))


def _source_id_in(session: Session, source_ids: list[str]) -> Any:
    """``source_id IN (…)``; on PostgreSQL as ``= ANY(array)``, one bound parameter
    instead of thousands, which halves the cost of the import's look-up of a batch."""
    if session.get_bind().dialect.name == "postgresql":
        return Article.source_id == any_(bindparam("source_ids", source_ids, type_=ARRAY(String)))
    return Article.source_id.in_(source_ids)


def _write_with_statements(
    session: Session,
    rows: Sequence[Sequence[Any]],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """The portable path (SQLite): one upsert per row (values of ROW_COLUMNS), one insert
    per link, sent as executemany. Same contract as ``bulk.copy_articles``."""
    replace_links_of = list(stored.values())
    table: Table = Article.__table__
    mappings = [dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows]
    upsert(session, table, mappings, ["source_id"], _UPDATE_COLUMNS)
    article_ids = {
        source: id_
        for chunk in _chunks(list(links), 5000)
        for source, id_ in session.execute(
            select(Article.source_id, Article.id).where(Article.source_id.in_(chunk))
        )
    }
    left: list[tuple[int, int]] = []
    if replace_links_of:
        left.extend(
            (article, topic)
            for article, topic in session.execute(
                select(article_topics.c.article_id, article_topics.c.topic_id).where(
                    article_topics.c.article_id.in_(replace_links_of)
                )
            )
        )
        session.execute(
            delete(article_topics).where(article_topics.c.article_id.in_(replace_links_of))
        )
    link_rows = [
        {"article_id": article_ids[source], "topic_id": topic}
        for source, topics in links.items()
        for topic in topics
    ]
    session.execute(insert(article_topics), link_rows)
    return article_ids, left


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    # SQLite limits the number of bound parameters in one statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]


def changed_records(session: Session, records: Sequence[ArticleRecord]) -> list[ArticleRecord]:
    """The records that differ from what the store holds (new ones included).

    Lets a poller skip the write transaction (and its lock) when nothing changed.
    """
    by_source = {r.source_id: r for r in records}
    stored = {
        source_id: digest
        for source_id, digest in session.execute(
            select(Article.source_id, Article.content_hash).where(
                Article.source_id.in_(list(by_source))
            )
        )
    }
    return [r for r in by_source.values() if stored.get(r.source_id) != r.content_hash()]


def mark_topics_changed(session: Session, ids: Iterable[int], seq: int) -> None:
    id_list = sorted(set(ids))
    if id_list:
        session.execute(update(TopicRow).where(TopicRow.id.in_(id_list)).values(change_seq=seq))


def retract_article(session: Session, source_id: str, reason: str, now: datetime) -> bool:
    """Mark an article retracted (it stays in the store). False if it already was."""
    article = session.execute(
        select(Article).where(Article.source_id == source_id).with_for_update()
    ).scalar_one_or_none()
    if article is None:
        raise NotFoundError(f"article {source_id!r}: no such article in the store")
    if article.status == "retracted" and article.retraction_reason == reason:
        return False
    seq = take_change_numbers(session)
    article.status = "retracted"
    article.retracted_at = article.retracted_at or now
    article.retraction_reason = reason
    article.updated_at = max(now, article.updated_at)
    article.change_seq = seq
    # content_hash is left alone on purpose: re-importing the same (published) record
    # from an old dump is "unchanged" and does not resurrect a retracted article; only a
    # changed record from the newsroom does.
    linked = session.scalars(
        select(article_topics.c.topic_id).where(article_topics.c.article_id == article.id)
    )
    mark_topics_changed(session, linked, seq)
    return True
