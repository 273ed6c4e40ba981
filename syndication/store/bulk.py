"""Bulk article writes on PostgreSQL through ``COPY`` (psycopg 3 ``cursor.copy``).

``store.articles.write_articles`` decides *what* a batch writes (which records changed,
their change numbers, their ``updated_at``, the topics they leave and join); this module
only moves those rows in fewer round trips than one ``INSERT … ON CONFLICT`` per article
and one ``INSERT`` per topic link:

1. articles the store did not hold when the batch was looked up are ``COPY``-ed straight
   into ``articles``, with ids taken from its sequence beforehand (issue 16: the staging
   table and the ``INSERT … SELECT`` cost the server as much again as the ``COPY``). A
   writer that stored one of them since makes that ``COPY`` fail on the unique source
   id; it is then undone to a savepoint and the rows take step 2 instead, which is what
   they would have done before this shortcut existed;
2. the others are ``COPY``-ed into a session-local staging table (``ON COMMIT DELETE
   ROWS``: it is empty again after every transaction and never visible to another
   connection), and one ``INSERT … SELECT … ON CONFLICT (source_id) DO UPDATE …
   RETURNING`` moves them into ``articles`` and hands back their ids;
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
_SAVEPOINT = "syndication_copy_new"


def copy_articles(
    session: Session,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    update_columns: Sequence[str],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
) -> tuple[dict[str, int], set[int]]:
    """Upsert ``rows`` (values of ``columns``, keyed by ``source_id``) and write their
    topic ``links``.

    ``links`` maps each row's source id to its topic ids; ``stored`` maps the source ids of
    the rows already in the store to their article ids: their old links are removed first.
    Returns the article id of every row by source id, and the topic ids of the links
    removed (the topics those articles may have left). Runs in the session's transaction;
    the caller commits.
    """
    if not rows:
        return {}, set()
    session.flush()
    # The psycopg connection under the session's own: same transaction, same snapshot.
    raw = cast(Any, session.connection().connection.driver_connection)
    dialect = session.get_bind().dialect
    # Through the column types' own bind processing, so that a naive datetime is refused
    # here exactly as on the statement path.
    binders: dict[int, Callable[[Any], Any]] = {}
    for name in ("published_at", "updated_at", "retracted_at"):
        processor = Article.__table__.c[name].type.bind_processor(dialect)
        if name in columns and processor is not None:
            binders[columns.index(name)] = processor
    values = _Values(binders)
    try:
        with raw.cursor() as cursor:
            key = columns.index("source_id")
            new = [row for row in rows if row[key] not in stored]
            ids = _copy_new(cursor, new, columns, values) if new else {}
            if ids is None:  # stored meanwhile by another writer: all go through the upsert
                ids, new = {}, []
            if len(new) < len(rows):
                old = [row for row in rows if row[key] not in ids]
                ids.update(_upsert(cursor, old, columns, values, update_columns))
            return ids, _replace_links(cursor, ids, links, stored)
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises it on the statement path (IntegrityError, DataError,
        # OperationalError, …), so the import's "write one by one and reject only the line
        # the database refuses" and "the database is unwell" handling works unchanged.
        raise DBAPIError.instance("COPY articles", None, exc, psycopg.Error) from exc
    except ValueError as exc:  # a naive datetime, refused by UTCDateTime
        raise StatementError(str(exc), "COPY articles", None, exc) from exc


class _Values:
    """A row as the list of values ``COPY`` takes, datetimes bound as on the statement
    path."""

    def __init__(self, binders: Mapping[int, Callable[[Any], Any]]):
        self._binders = list(binders.items())

    def __call__(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for position, bind in self._binders:
            values[position] = bind(values[position])
        return values


def _copy_new(
    cursor: Any, rows: Sequence[Sequence[Any]], columns: Sequence[str], values: _Values
) -> dict[str, int] | None:
    """``COPY`` rows not yet stored straight into ``articles``; ``None`` (and nothing
    written) if another writer stored one of them since the batch was looked up."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('articles', 'id'))"
        " FROM generate_series(1, %s) ORDER BY 1",
        (len(rows),),
    )
    new_ids = [id_ for (id_,) in cursor.fetchall()]
    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        with cursor.copy(f"COPY articles (id, {', '.join(columns)}) FROM STDIN") as copy:
            for id_, row in zip(new_ids, rows, strict=True):
                copy.write_row([id_, *values(row)])
    except psycopg.errors.UniqueViolation:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        return None
    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    key = columns.index("source_id")
    return {row[key]: id_ for id_, row in zip(new_ids, rows, strict=True)}


def _upsert(
    cursor: Any,
    rows: Sequence[Sequence[Any]],
    columns: Sequence[str],
    values: _Values,
    update_columns: Sequence[str],
) -> dict[str, int]:
    names = ", ".join(columns)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in update_columns)
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
            copy.write_row(values(row))
    cursor.execute(
        f"INSERT INTO articles ({names}) SELECT {names} FROM {_STAGE}"
        f" ON CONFLICT (source_id) DO UPDATE SET {updates}"
        " RETURNING source_id, id"
    )
    return {source: id_ for source, id_ in cursor.fetchall()}


def _replace_links(
    cursor: Any,
    ids: Mapping[str, int],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
) -> set[int]:
    left: set[int] = set()
    if stored:
        cursor.execute(
            "DELETE FROM article_topics WHERE article_id = ANY(%s) RETURNING topic_id",
            (list(stored.values()),),
        )
        left.update(topic for (topic,) in cursor.fetchall())
    with cursor.copy("COPY article_topics (article_id, topic_id) FROM STDIN") as copy:
        for source, topics in links.items():
            article_id = ids[source]
            for topic in topics:
                copy.write_row((article_id, topic))
    return left
