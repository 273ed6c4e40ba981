"""The database edge: engines, sessions, read-only connections and the Alembic schema upgrade.

SQLite is the embedded default. It gets write-ahead logging (readers never block the
writer), a busy timeout (a second process waits for the lock instead of failing at once)
and enforced foreign keys. PostgreSQL needs nothing special here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from syndication.errors import SyndicationError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_REVISION_RE = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.M)
_DOWN_REVISION_RE = re.compile(r'^down_revision(?:: [^=]+)? = (None|"([^"]+)")', re.M)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; for SQLite the file's folder is created and pragmas set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN until the first write, which
        # lets two writers both read and then fail to upgrade their locks. We emit BEGIN
        # ourselves (IMMEDIATE where a session asks for it: see write_session).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


# sqlalchemy.orm is imported inside the functions that open sessions: the status path
# reads through read_connection and never loads the ORM (issue 24).


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One unit of work that writes: committed on success, rolled back on any error.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``, taking the write lock up
    front, so that two processes never both read and then collide on the upgrade.
    """
    from sqlalchemy.orm import Session

    options = {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
    with engine.connect().execution_options(**options) as connection:
        with Session(bind=connection, expire_on_commit=False) as session:
            with session.begin():
                yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; whatever it did is rolled back at the end."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection for reading, in one transaction rolled back at the end (as
    :func:`read_session`, without the ORM: the status report reads through this).

    On PostgreSQL the transaction is ``READ ONLY``, so a write fails; SQLite has no
    such mode for one transaction.
    """
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options = {"postgresql_readonly": True}
    with engine.connect().execution_options(**options) as connection:
        with connection.begin() as transaction:
            try:
                yield connection
            finally:
                transaction.rollback()


# Alembic is imported inside these functions: commands that only read the store (status,
# serve) check the revision with one query instead of loading Alembic and every migration.


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (Alembic ``upgrade``)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise SyndicationError(
            f"{_safe_url(engine)}: cannot upgrade the database: {exc.orig}"
        ) from exc


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (Alembic's version table), None when never made."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


@cache
def head_revision() -> str | None:
    """The newest migration: the one revision no other names as its ``down_revision``.

    Read from the migration files' text rather than by importing them through Alembic
    (``tests/store/test_database.py`` checks both agree).
    """
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION_RE.search(source)
        down = _DOWN_REVISION_RE.search(source)
        if revision is None or down is None:
            raise SyndicationError(f"{path}: not an Alembic migration (no revision ids)")
        revisions[revision.group(1)] = down.group(2)
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) > 1:
        raise SyndicationError(f"{MIGRATIONS_DIR}: several migration heads {sorted(heads)}")
    return heads.pop() if heads else None


def require_current_schema(engine: Engine) -> None:
    """Fail with a clear message when the database was never initialised or is behind."""
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise SyndicationError(
            f"{_safe_url(engine)}: cannot open the database: {exc.orig}"
        ) from exc
    if current != head_revision():
        raise SyndicationError(
            f"{_safe_url(engine)}: the database schema is "
            f"{'missing' if current is None else 'out of date'}; run 'syndication init' first"
        )


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
