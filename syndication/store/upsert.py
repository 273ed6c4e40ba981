"""The one upsert: ``INSERT … ON CONFLICT`` on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert ``rows`` into ``table``; where ``key`` already exists, update ``update_columns``.

    ``INSERT … ON CONFLICT`` on both SQLite and PostgreSQL, sent as one executemany. With
    no ``update_columns`` the conflicting rows are left as they are.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - settings refuse other backends
        raise RuntimeError(f"no upsert for {dialect}")
    if update_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={name: stmt.excluded[name] for name in update_columns},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    session.execute(stmt, list(rows))
