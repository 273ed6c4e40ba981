"""``syndication backup``: a consistent live copy of a SQLite store that restores and reads."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syndication.errors import InputError, SyndicationError
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store.backup import backup_sqlite
from syndication.store.models import Article, Subscriber
from tests.support.builders import add, import_demo_articles


def counts(engine: Engine) -> tuple[int, int]:
    with db.read_session(engine) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        readers = session.scalar(select(func.count()).select_from(Subscriber))
    return int(articles or 0), int(readers or 0)


def test_a_backup_taken_during_a_write_restores_and_reads_back(
    settings: Settings, engine: Engine, tmp_path: Path, now: datetime, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's backup API; PostgreSQL is the next test")
    import_demo_articles(settings, engine)
    add(engine, now, 3)
    before = counts(engine)
    assert before == (40, 3)

    # Another process writing when the backup runs: its transaction is open (WAL lets the
    # backup read past it) and not committed, so the copy must not hold its row.
    path = settings.database.url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO subscribers (email, name, locale, status, created_at, updated_at) "
        "VALUES ('late@example.org', '', 'en', 'pending', '2026-11-20 00:00:00', "
        "'2026-11-20 00:00:00')"
    )
    target = tmp_path / "backups" / "store-2026-11-20.db"
    target.parent.mkdir()
    done = backup_sqlite(engine, target)
    writer.execute("COMMIT")
    writer.close()

    assert done.path == target and done.size == target.stat().st_size
    assert done.revision == db.head_revision()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(target.parent.iterdir()) == [target], "no partial file left beside it"
    assert counts(engine) == (40, 4)

    # Restore: the copy put where a database lives, opened as the service opens one.
    restored_path = tmp_path / "restored" / "syndication.db"
    restored_path.parent.mkdir()
    shutil.copyfile(target, restored_path)
    restored = db.make_engine(f"sqlite:///{restored_path}")
    try:
        db.require_current_schema(restored)
        assert counts(restored) == before
        with db.read_session(restored) as session:
            emails = set(session.scalars(select(Subscriber.email)))
        assert "late@example.org" not in emails and "reader0@example.org" in emails
    finally:
        restored.dispose()


def test_a_backup_never_overwrites_and_refuses_postgresql(
    engine: Engine, tmp_path: Path, backend: str
) -> None:
    target = tmp_path / "taken.db"
    target.write_text("an older backup", encoding="utf-8")
    if backend == "sqlite":
        with pytest.raises(InputError, match="taken.db: already exists"):
            backup_sqlite(engine, target)
        assert target.read_text(encoding="utf-8") == "an older backup"
        with pytest.raises(InputError, match="does not exist"):
            backup_sqlite(engine, tmp_path / "no" / "such" / "folder.db")
    else:
        with pytest.raises(SyndicationError, match="is PostgreSQL; back it up with pg_dump -Fc"):
            backup_sqlite(engine, tmp_path / "new.db")


def test_a_backup_of_a_database_without_a_schema_is_refused(tmp_path: Path) -> None:
    empty = db.make_engine(f"sqlite:///{tmp_path / 'wrong.db'}")
    try:
        with pytest.raises(SyndicationError, match="the database has no schema"):
            backup_sqlite(empty, tmp_path / "copy.db")
    finally:
        empty.dispose()
    assert not (tmp_path / "copy.db").exists()
    assert not (tmp_path / ".copy.db.partial").exists()
