"""The entry fragment cache: rendered entries by the SHA-256 of their inputs.

Why one SQLite file beside the feeds (``feeds.dir/.fragments.sqlite``) and not a table in
the news store or a file per fragment: the fragments are derived data that belong to the
folder they were rendered for (a restored or copied ``feeds.dir`` brings its cache along,
a deleted one takes it away), they need no migration on either database and never cost
the store a write lock; and a file per fragment cost ~0.8 ms to create on the bench
machine (a full build of 100,000 articles writes ~130,000 fragments), where a row in one
transaction costs microseconds. The name is hidden, so the feed server never serves it
(web/feeds.py refuses hidden names).

Keys are content addresses (:func:`syndication.core.feeds.entry_key`): a key names one
version of one article's entry in one format under one set of settings, so a cached row
is never stale, only unused. Each row carries the SHA-256 of its fragment: a damaged row
fails that check and is rendered again, never served; a damaged or unreadable file is
set aside and the cache starts empty. A cache that cannot be written is not an error:
the entries are rendered again next time.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import suppress
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

FILE_NAME = ".fragments.sqlite"
_SCHEMA = "CREATE TABLE IF NOT EXISTS fragments (key TEXT PRIMARY KEY, digest BLOB, data BLOB)"
_BATCH = 2000  # rows per commit: bounded memory, few fsyncs


class FragmentCache:
    """Fragments in the SQLite file ``path``; use as a context manager (commits on exit).

    Lookups see this build's own writes. Without a usable file every :meth:`get` misses
    and :meth:`put` does nothing, so a build still produces correct documents.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.opened = False
        self.pending: dict[str, bytes] = {}

    @property
    def db(self) -> sqlite3.Connection | None:
        # Opened on first use: a build with nothing to do never touches the file.
        if not self.opened:
            self._db, self.opened = self._open(), True
        return self._db

    def __enter__(self) -> FragmentCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
        self._db, self.opened = None, False

    def _open(self) -> sqlite3.Connection | None:
        for attempt in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None)
                # Derived data: losing the last transaction to a power cut costs renders.
                db.execute("PRAGMA synchronous = OFF")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(_SCHEMA)
                db.execute("SELECT count(*) FROM (SELECT 1 FROM fragments LIMIT 1)")
                return db
            except sqlite3.DatabaseError as exc:
                # Not a database (or a damaged one): set it aside and start empty.
                log.warning("fragment cache %s unusable (%s); starting it afresh", self.path, exc)
                with suppress(OSError):
                    self.path.replace(self.path.with_name(self.path.name + ".damaged"))
                if attempt:
                    return None
            except OSError as exc:
                log.warning("fragment cache %s cannot be opened: %s", self.path, exc)
                return None
        return None

    def get(self, key: str) -> bytes | None:
        """The fragment stored under ``key``, or None if it is missing or damaged."""
        found = self.pending.get(key)
        db = self.db
        if found is not None or db is None:
            return found
        try:
            row = db.execute("SELECT digest, data FROM fragments WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError:
            return None
        if row is None:
            return None
        digest, data = row
        if not isinstance(data, bytes) or hashlib.sha256(data).digest() != digest:
            return None
        return data

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        """:meth:`get` for each of ``keys``, in a few queries rather than one per key."""
        found: dict[str, bytes] = {}
        db = self.db
        if db is not None:
            wanted = [key for key in keys if key not in self.pending]
            try:
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT key, digest, data FROM fragments WHERE key IN ({marks})", chunk
                    )
                    for key, digest, data in rows:
                        if isinstance(data, bytes) and hashlib.sha256(data).digest() == digest:
                            found[key] = data
            except sqlite3.DatabaseError:
                found = {}
        return [self.pending.get(key) or found.get(key) for key in keys]

    def put(self, key: str, fragment: bytes) -> None:
        """Store ``fragment`` under ``key`` (written in batches, and on exit)."""
        if self.db is None:
            return
        self.pending[key] = fragment
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what :meth:`put` holds, in one transaction."""
        rows = [(k, hashlib.sha256(v).digest(), v) for k, v in self.pending.items()]
        self.pending = {}
        db = self.db
        if db is None or not rows:
            return
        try:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            log.warning("fragment cache %s not written: %s", self.path, exc)
            with suppress(sqlite3.DatabaseError):
                db.execute("ROLLBACK")
