"""Opening the database, creating or upgrading its schema (``init``), backing it up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from syndication.store import database as db

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

    from syndication.settings import Settings
    from syndication.store.backup import Backup


def open_engine(settings: Settings) -> Engine:
    return db.make_engine(settings.database.url)


def init_store(settings: Settings, engine: Engine) -> int:
    """Create or upgrade the schema and sync topics from the config; safe to repeat.

    Returns how many topic rows were added or changed.
    """
    from syndication.store import articles as store

    db.upgrade(engine)
    with db.write_session(engine) as session:
        return store.sync_topics(session, settings.topics)


def require_current_schema(engine: Engine) -> None:
    """Fail with a message saying what to do when the schema is missing or behind."""
    db.require_current_schema(engine)


def backup(engine: Engine, target: Path) -> Backup:
    """A consistent copy of the SQLite store at ``target`` (store/backup.py), taken live."""
    from syndication.store.backup import backup_sqlite

    return backup_sqlite(engine, target)
