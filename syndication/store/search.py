"""The console's one search rule: a case-insensitive "contains" over a few columns."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute


def contains(query: str, *columns: InstrumentedAttribute[str]) -> ColumnElement[bool] | None:
    """Rows where any of ``columns`` contains ``query`` (trimmed, any case); ``None`` for
    an empty query (everything matches).

    ``%``, ``_`` and ``\\`` in the query are matched literally: LIKE's wildcards are
    escaped, so a search for ``50%`` finds "50%" and not "500".
    """
    needle = query.strip().lower()
    if not needle:
        return None
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # ILIKE on PostgreSQL, which its trigram indexes serve (migration 0017); SQLAlchemy
    # writes lower(…) LIKE lower(…) on SQLite.
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
