"""A consistent copy of a SQLite store while the service runs (``syndication backup``).

SQLite's online backup API (``sqlite3.Connection.backup``, https://sqlite.org/backup.html)
copies the database page by page under one read transaction, so the copy is the database as
of one moment even while the scheduler and ``serve`` write to it: in WAL mode a reader holds
no lock that stops writers, and a transaction not yet committed is not in the copy. Copying
the file with ``cp`` instead can catch a half-written page, or miss what is still in the
``-wal`` file. PostgreSQL has ``pg_dump`` for this; README "Backup, restore and upgrade".
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from syndication.errors import InputError, SyndicationError
from syndication.store.database import VERSION_TABLE


@dataclass(frozen=True)
class Backup:
    """What was written: the file, its size and the schema revision it holds."""

    path: Path
    size: int
    revision: str | None


def backup_sqlite(engine: Engine, target: Path) -> Backup:
    """Copy the SQLite database behind ``engine`` to ``target``, a file that must not exist.

    The copy is written beside ``target`` under a temporary name (mode 0600: it holds
    subscribers' addresses), checked with ``PRAGMA integrity_check``, then renamed, so a
    failed backup never leaves a file that looks like one.
    """
    if engine.dialect.name != "sqlite":
        raise SyndicationError(
            f"backup: {engine.url.render_as_string(hide_password=True)} is PostgreSQL; "
            "back it up with pg_dump -Fc (README: Backup, restore and upgrade)"
        )
    if target.exists():
        raise InputError(f"{target}: already exists; a backup never overwrites a file")
    if not target.parent.is_dir():
        raise InputError(f"{target}: the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise InputError(f"{target}: cannot write the backup: {exc.strerror}") from exc
    try:
        revision = _copy(engine, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, revision)


def _copy(engine: Engine, partial: Path) -> str | None:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        copy = sqlite3.connect(partial)
        try:
            # One step (pages=-1): the whole copy under one read transaction, one snapshot.
            source.backup(copy)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()
            if verdict != ("ok",):
                raise SyndicationError(f"backup: the copy failed its integrity check: {verdict}")
            has_version = copy.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
            ).fetchone()
            if not has_version:
                raise SyndicationError(
                    "backup: the database has no schema (is database.url the right one? "
                    "'syndication init' makes it)"
                )
            row = copy.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
            revision = str(row[0]) if row else None
        finally:
            copy.close()
    finally:
        raw.close()
    return revision
