"""The console's one search rule: a case-insensitive "contains" over a few columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class _Contains(FunctionElement[bool]):
    """``column`` matches the LIKE ``pattern`` in any case, as each database does it best."""

    type = Boolean()
    inherit_cache = True
    name = "contains"


@compiles(_Contains)
def _any_case(element: _Contains, compiler: SQLCompiler, **kw: Any) -> str:
    # ILIKE: PostgreSQL's trigram indexes serve it (migration 0017).
    column, pattern = element.clauses
    return compiler.process(column.ilike(pattern, escape="\\"), **kw)


@compiles(_Contains, "sqlite")
def _sqlite(element: _Contains, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's LIKE ignores case already, and its lower() folds only ASCII (without ICU),
    # so lower(x) LIKE lower(y) finds exactly the same rows at 2.5 times the cost.
    column, pattern = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)


def contains(
    query: str,
    *columns: InstrumentedAttribute[str],
    lower_case: tuple[InstrumentedAttribute[str], ...] = (),
) -> ColumnElement[bool] | None:
    """Rows where any of ``columns`` contains ``query`` (trimmed, any case); ``None`` for
    an empty query (everything matches). ``lower_case``: those of the columns that are
    stored in lower case (a subscriber's address), which a plain LIKE searches.

    ``%``, ``_`` and ``\\`` in the query are matched literally: LIKE's wildcards are
    escaped, so a search for ``50%`` finds "50%" and not "500".
    """
    needle = query.strip().lower()
    if not needle:
        return None
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # A needle without letters that have a case (Hangul, digits) needs no case folding:
    # PostgreSQL's LIKE is five times quicker than ILIKE over the same rows.
    caseless = needle.upper() == needle
    return or_(
        *(
            column.like(pattern, escape="\\")
            if caseless or any(column is stored for stored in lower_case)
            else _Contains(column, pattern)
            for column in columns
        )
    )
