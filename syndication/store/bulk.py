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
   they may be leaving: ``store.articles`` records the departures), and one ``COPY``
   writes every link of the batch straight into ``article_topics``: after that delete no
   link of the batch can already exist, so no conflict handling (and no second staging
   table) is needed.

Rows arrive as ``COPY`` text but for the four fields the store decides per write (id,
change number, ``updated_at``, ``retracted_at``, see ``store.copy_rows``), and each
``COPY`` is sent as one buffer: no value is formatted here one by one. Rows that did not
change never reach this module, so "unchanged means no write" holds exactly as on the
statement path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

import psycopg
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from syndication.store.copy_rows import HEAD_COLUMNS, TAIL_COLUMNS, copy_time

_STAGE = "syndication_stage_articles"
_SAVEPOINT = "syndication_copy_new"
_COLUMNS = ", ".join((*HEAD_COLUMNS, *TAIL_COLUMNS))
# id_date is only ever inserted: an update keeps the date the id was minted with.
_UPDATES = ", ".join(
    f"{name} = EXCLUDED.{name}"
    for name in (*HEAD_COLUMNS, *TAIL_COLUMNS)
    if name not in ("source_id", "id_date")
)


class CopyRow(NamedTuple):
    """One article row: what the store decided for it, and the rest as ``COPY`` text
    (``store.copy_rows``)."""

    source_id: str
    change_seq: int
    updated_at: datetime
    retracted_at: datetime | None
    tail: bytes


def copy_articles(
    session: Session,
    rows: Sequence[CopyRow],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Upsert ``rows`` (keyed by ``source_id``) and write their topic ``links``.

    ``links`` maps each row's source id to its topic ids; ``stored`` maps the source ids of
    the rows already in the store to their article ids: their old links are removed first.
    Returns the article id of every row by source id, and the links removed as
    ``(article id, topic id)`` pairs (the topics those articles may have left). Runs in
    the session's transaction; the caller commits.
    """
    if not rows:
        return {}, []
    session.flush()
    # The psycopg connection under the session's own: same transaction, same snapshot.
    raw = cast(Any, session.connection().connection.driver_connection)
    try:
        with raw.cursor() as cursor:
            new = [row for row in rows if row.source_id not in stored]
            ids = _copy_new(cursor, new) if new else {}
            if ids is None:  # stored meanwhile by another writer: all go through the upsert
                ids, new = {}, []
            if len(new) < len(rows):
                ids.update(_upsert(cursor, [row for row in rows if row.source_id not in ids]))
            return ids, _replace_links(cursor, ids, links, stored)
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises it on the statement path (IntegrityError, DataError,
        # OperationalError, …), so the import's "write one by one and reject only the line
        # the database refuses" and "the database is unwell" handling works unchanged.
        raise DBAPIError.instance("COPY articles", None, exc, psycopg.Error) from exc
    except ValueError as exc:  # a naive datetime, refused as UTCDateTime refuses it
        raise StatementError(str(exc), "COPY articles", None, exc) from exc


def _head(row: CopyRow) -> bytes:
    """The HEAD_COLUMNS of ``row`` as ``COPY`` text, with the tab that joins the tail."""
    return b"%d\t%s\t%s\t" % (
        row.change_seq,
        copy_time(row.updated_at),
        copy_time(row.retracted_at),
    )


def _copy_new(cursor: Any, rows: Sequence[CopyRow]) -> dict[str, int] | None:
    """``COPY`` rows not yet stored straight into ``articles``; ``None`` (and nothing
    written) if another writer stored one of them since the batch was looked up."""
    # The sequence looked up and cast to regclass once, in a scalar subquery: as a plain
    # argument the name was looked up and cast again for every id (85 % of the query).
    cursor.execute(
        "SELECT nextval((SELECT pg_get_serial_sequence('articles', 'id')::regclass))"
        " FROM generate_series(1, %s) ORDER BY 1",
        (len(rows),),
    )
    new_ids = [id_ for (id_,) in cursor.fetchall()]
    data = b"".join(
        b"%d\t%s%s\n" % (id_, _head(row), row.tail) for id_, row in zip(new_ids, rows, strict=True)
    )
    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        with cursor.copy(f"COPY articles (id, {_COLUMNS}) FROM STDIN") as copy:
            copy.write(data)
    except psycopg.errors.UniqueViolation:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        return None
    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return {row.source_id: id_ for id_, row in zip(new_ids, rows, strict=True)}


def _upsert(cursor: Any, rows: Sequence[CopyRow]) -> dict[str, int]:
    # CREATE TABLE … AS copies the columns' types but not their NOT NULL constraints
    # or the id sequence: the stage holds exactly the columns the batch carries.
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS"
        f" AS SELECT {_COLUMNS} FROM articles WITH NO DATA"
    )
    # A second batch in the same transaction must not see the first one's rows.
    cursor.execute(f"TRUNCATE {_STAGE}")
    with cursor.copy(f"COPY {_STAGE} ({_COLUMNS}) FROM STDIN") as copy:
        copy.write(b"".join(b"%s%s\n" % (_head(row), row.tail) for row in rows))
    cursor.execute(
        f"INSERT INTO articles ({_COLUMNS}) SELECT {_COLUMNS} FROM {_STAGE}"
        f" ON CONFLICT (source_id) DO UPDATE SET {_UPDATES}"
        " RETURNING source_id, id"
    )
    return {source: id_ for source, id_ in cursor.fetchall()}


def _replace_links(
    cursor: Any,
    ids: Mapping[str, int],
    links: Mapping[str, Sequence[int]],
    stored: Mapping[str, int],
) -> list[tuple[int, int]]:
    left: list[tuple[int, int]] = []
    if stored:
        cursor.execute(
            "DELETE FROM article_topics WHERE article_id = ANY(%s) RETURNING article_id, topic_id",
            (list(stored.values()),),
        )
        left.extend((article, topic) for article, topic in cursor.fetchall())
    data = b"".join(
        b"%d\t%d\n" % (ids[source], topic) for source, topics in links.items() for topic in topics
    )
    with cursor.copy("COPY article_topics (article_id, topic_id) FROM STDIN") as copy:
        copy.write(data)
    return left
