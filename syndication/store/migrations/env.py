"""Alembic environment: runs against the engine that ``syndication.db`` hands it.

On SQLite, batch mode alters a table by copying it and dropping the original. With foreign
keys enforced (``store/database.py`` turns them on for every connection), dropping
``articles`` is a ``DELETE`` that cascades: revision 0014 emptied ``article_topics`` that
way, and every feed with it. So, as Alembic's batch documentation advises ("Dealing with
Referencing Foreign Keys"), foreign keys are off while migrations run; afterwards
``PRAGMA foreign_key_check`` must find no row that points nowhere, and they are turned
back on before the connection returns to the pool.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine

from syndication.store.models import Base, in_models

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through 'syndication init' (syndication.db.upgrade)")


def _foreign_keys(connection: Connection, on: bool) -> None:
    # On the DB-API connection, outside any transaction: inside one SQLite ignores it.
    dbapi: Any = connection.connection.driver_connection
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=True,
            compare_type=True,
            include_object=in_models,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows that point nowhere: {broken}")
        # SQLite's DDL is not transactional for Alembic, which commits each migration on
        # its own; what is left open here is a read (the version table), ended so that the
        # pragma below is not swallowed by a transaction.
        if connection.in_transaction():
            connection.commit()
    finally:
        if connection.in_transaction():
            connection.rollback()
        if sqlite:
            _foreign_keys(connection, on=True)
