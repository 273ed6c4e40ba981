"""Bulk article writes on PostgreSQL through ``COPY`` (psycopg 3 ``cursor.copy``).

``store.articles.write_articles`` decides *what* a batch writes (which records changed,
their change numbers, their ``updated_at``, the topics they leave and join); this module
only moves those rows in fewer round trips than one ``INSERT … ON CONFLICT`` per article
and one ``INSERT`` per topic link:

1. ``COPY`` the batch into a session-local staging table (``ON COMMIT DELETE ROWS``: it
   is empty again after every transaction and never visible to another connection);
2. one ``INSERT … SELECT … ON CONFLICT (source_id) DO UPDATE … RETURNING`` moves them into
   ``articles`` and hands back the ids of new and updated rows alike;
3. one ``DELETE … RETURNING`` drops the old links of the updated articles (the topics
   they may be leaving), and one ``COPY`` writes every link of the batch straight into
   ``article_topics``: after that delete no link of the batch can already exist, so no
   conflict handling (and no second staging table) is needed.

Rows that did not change never reach this module, so "unchanged means no write" holds
exactly as on the statement path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import psycopg
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from syndication.store.models import Article

_STAGE = "syndication_stage_articles"


def copy_articles(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    update_columns: Sequence[str],
    links: Mapping[str, Sequence[int]],
    replace_links_of: Sequence[int],
) -> tuple[dict[str, int], set[int]]:
    """Upsert ``rows`` (keyed by ``source_id``) and write their topic ``links``.

    ``links`` maps each row's source id to its topic ids; ``replace_links_of`` are the ids
    of articles already stored, whose old links are removed first. Returns the article id
    of every row by source id, and the topic ids of the links removed (the topics those
    articles may have left). Runs in the session's transaction; the caller commits.
    """
    if not rows:
        return {}, set()
    session.flush()
    # The psycopg connection under the session's own: same transaction, same snapshot.
    raw = cast(Any, session.connection().connection.driver_connection)
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    # Through the column types' own bind processing, so that a naive datetime is refused
    # here exactly as on the statement path.
    binders: dict[str, Callable[[Any], Any]] = {}
    for name in ("published_at", "updated_at", "retracted_at"):
        processor = Article.__table__.c[name].type.bind_processor(dialect)
        if name in columns and processor is not None:
            binders[name] = processor
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in update_columns)
    try:
        return _copy(raw, rows, columns, binders, updates, links, replace_links_of)
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises it on the statement path (IntegrityError, DataError,
        # OperationalError, …), so the import's "write one by one and reject only the line
        # the database refuses" and "the database is unwell" handling works unchanged.
        raise DBAPIError.instance("COPY articles", None, exc, psycopg.Error) from exc
    except ValueError as exc:  # a naive datetime, refused by UTCDateTime
        raise StatementError(str(exc), "COPY articles", None, exc) from exc


def _copy(
    raw: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: list[str],
    binders: Mapping[str, Callable[[Any], Any]],
    updates: str,
    links: Mapping[str, Sequence[int]],
    replace_links_of: Sequence[int],
) -> tuple[dict[str, int], set[int]]:
    names = ", ".join(columns)
    with raw.cursor() as cursor:
        # CREATE TABLE … AS copies the columns' types but not their NOT NULL constraints
        # or the id sequence: the stage holds exactly the columns the batch carries.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS"
            f" AS SELECT {names} FROM articles WITH NO DATA"
        )
        # A second batch in the same transaction must not see the first one's rows.
        cursor.execute(f"TRUNCATE {_STAGE}")
        with cursor.copy(f"COPY {_STAGE} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [binders[name](row[name]) if name in binders else row[name] for name in columns]
                )
        cursor.execute(
            f"INSERT INTO articles ({names}) SELECT {names} FROM {_STAGE}"
            f" ON CONFLICT (source_id) DO UPDATE SET {updates}"
            " RETURNING source_id, id"
        )
        ids: dict[str, int] = {source: id_ for source, id_ in cursor.fetchall()}
        left: set[int] = set()
        if replace_links_of:
            cursor.execute(
                "DELETE FROM article_topics WHERE article_id = ANY(%s) RETURNING topic_id",
                (list(replace_links_of),),
            )
            left.update(topic for (topic,) in cursor.fetchall())
        with cursor.copy("COPY article_topics (article_id, topic_id) FROM STDIN") as copy:
            for source, topics in links.items():
                article_id = ids[source]
                for topic in topics:
                    copy.write_row((article_id, topic))
    return ids, left
