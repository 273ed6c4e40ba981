"""Article rows as PostgreSQL ``COPY`` text, made where the article is parsed (pure).

The PostgreSQL import writes its rows with ``COPY … FROM STDIN`` (``store.bulk``). Most of
a row is known as soon as its line is parsed: everything but the id, the change number,
``updated_at`` and ``retracted_at``, which the store decides against what it holds. The
file import's worker process (``services.article_batches``) turns each article into a
:class:`PreparedArticle` (those known columns as one ready line tail of ``COPY`` text) so
that the process writing to the database only prefixes four fields and sends the bytes
(issue 16: formatting rows value by value was ~40 % of the writer's CPU).

The text format is PostgreSQL's default for ``COPY``: fields separated by tabs, ``\\N``
for NULL, and a backslash, tab, newline or carriage return inside a value written as
``\\\\``, ``\\t``, ``\\n``, ``\\r``. Every other character stands for itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from syndication.core.articles import ArticleRecord

# The columns of a tail, in order. Together with HEAD_COLUMNS (which the store decides
# per write) they are every column write_articles sets.
TAIL_COLUMNS = (
    "source_id",
    "title",
    "summary",
    "body_html",
    "url",
    "author",
    "image_url",
    "language",
    "published_at",
    "status",
    "retraction_reason",
    "content_hash",
    "id_date",
    "translation_of",
)
HEAD_COLUMNS = ("change_seq", "updated_at", "retracted_at")
_PUBLISHED_AT = TAIL_COLUMNS.index("published_at")
NULL = b"\\N"
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


class PreparedArticle(NamedTuple):
    """An article ready for ``COPY``: what the store needs to decide its row, and the rest
    of the row as text. Stands in for an :class:`ArticleRecord` in ``write_articles``."""

    source_id: str
    updated_at: datetime
    status: str
    topics: tuple[str, ...]
    tail: bytes  # the TAIL_COLUMNS of the row, tab-separated, no line end
    published_at: datetime  # also in ``tail``: the store compares it with the stored one


def copy_text(value: str) -> str:
    """A string as one field of ``COPY`` text."""
    if "\\" not in value and "\t" not in value and "\n" not in value and "\r" not in value:
        return value  # four substring tests: a fraction of one regular-expression scan
    return _SPECIAL.sub(lambda match: _ESCAPES[match.group()], value)


def copy_time(value: datetime | None) -> bytes:
    """A moment as one field of ``COPY`` text (``\\N`` for none). A naive datetime is
    refused, as the store's column type refuses it on the statement path."""
    if value is None:
        return NULL
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} reached the database; give it a zone")
    return value.isoformat().encode()


def tail_values(record: ArticleRecord, digest: str) -> tuple[Any, ...]:
    """The values of ``record``'s row for TAIL_COLUMNS (``digest`` is its content hash)."""
    return (
        record.source_id,
        record.title,
        record.summary,
        record.body_html,
        record.url,
        record.author,
        record.image_url,
        record.language,
        record.published_at,
        record.status,
        record.retraction_reason,
        digest,
        record.published_at.astimezone(UTC).date().isoformat(),
        record.translation_of,
    )


def copy_tail(record: ArticleRecord, digest: str) -> bytes:
    """:func:`tail_values` as ``COPY`` text: one line without its end.

    Raises ValueError for what no row can hold (a naive datetime, a string that is not
    UTF-8-encodable): the record's own fault, reported against its line."""
    fields = list(tail_values(record, digest))
    fields[_PUBLISHED_AT] = copy_time(record.published_at).decode()
    line = "\t".join(fields)
    # Most articles hold nothing to escape: one scan of the joined line tells (a tab
    # inside a field would show as one tab too many), instead of one per field.
    if line.count("\t") != len(fields) - 1 or "\\" in line or "\n" in line or "\r" in line:
        line = "\t".join(map(copy_text, fields))
    return line.encode()


def prepare(record: ArticleRecord, digest: str) -> PreparedArticle:
    """``record`` as a :class:`PreparedArticle` (see :func:`copy_tail` for errors)."""
    return PreparedArticle(
        record.source_id,
        record.updated_at,
        record.status,
        record.topics,
        copy_tail(record, digest),
        record.published_at,
    )
