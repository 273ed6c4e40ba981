"""One active scheduler per database: a lock that a dead process cannot keep.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a connection
of its own. When the holder dies its connection closes and the server releases the lock.
SQLite: an OS file lock (``fcntl.flock``) on a file next to the database file, which the
kernel releases when the process exits, however it exits.

A standby calls :meth:`LeaderLock.try_acquire` every second or two until it succeeds.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from syndication.errors import SyndicationError

# Any fixed 64-bit number; it names "the syndication scheduler" within one database.
ADVISORY_KEY = 0x5CED_0001


class LeaderLock(Protocol):
    """A lock held by at most one process at a time, released when its holder dies."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it (again)."""

    def healthy(self) -> bool:
        """False when the lock may have been lost (PostgreSQL: the connection broke)."""

    def release(self) -> None:
        """Give the lock up; safe to call when it is not held."""


def leader_lock(database_url: str) -> LeaderLock:
    """The lock that fits the database at ``database_url``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise SyndicationError(
                f"{database_url}: the scheduler needs a database file (or PostgreSQL) to "
                "coordinate with other schedulers; an in-memory database has none"
            )
        return FileLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))
    return AdvisoryLock(database_url)


class FileLock:
    """``flock`` on ``path``; the file is created when missing and left in place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        # Who holds it, for an operator looking at the file; the lock itself is the flock.
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._handle = handle
        return True

    def healthy(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a dedicated connection (no pool: nothing else uses it)."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url, poolclass=NullPool)
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def healthy(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the lock may be gone
            return False
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
        except Exception:  # noqa: BLE001 - closing the connection releases it anyway
            pass
        finally:
            self._connection.close()
            self._connection = None
            self._engine.dispose()
