"""Alembic environment: runs against the engine that ``syndication.db`` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from syndication.store.models import Base, in_models

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through 'syndication init' (syndication.db.upgrade)")

with engine.connect() as connection:
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
