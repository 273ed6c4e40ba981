"""The entry fragment cache: rendered entries by the SHA-256 of their inputs.

Why one SQLite file beside the feeds (``feeds.dir/.fragments.sqlite``) and not a table in
the news store or a file per fragment: the fragments are derived data that belong to the
folder they were rendered for (a restored or copied ``feeds.dir`` brings its cache along,
a deleted one takes it away), they need no migration on either database and never cost
the store a write lock; and a file per fragment cost ~0.8 ms to create on the bench
machine (a full build of 100,000 articles writes ~130,000 fragments), where a row in one
transaction costs microseconds. The name is hidden, so the feed server never serves it
(web/feeds.py refuses hidden names).

Rows are found by *slot* (one article's entry in one format: ``atom bench-1``) and checked
by *key*, a content address (:func:`syndication.core.entries.entry_key`) naming one version
of that entry under one set of settings: a row whose key differs is a miss, so a cached
row is never stale. A slot holds one version, the last one written: an edit or a changed
setting replaces the rows it makes obsolete instead of leaving them behind, so the cache
holds at most one row per article and format however often articles change. Each row
carries the SHA-256 of its fragment: a damaged row fails that check and is rendered
again, never served; a damaged or unreadable file is set aside and the cache starts
empty, as does a file of an older layout. A cache that cannot be written is not an
error: the entries are rendered again next time.
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
_LAYOUT = 2  # PRAGMA user_version: 1 was keyed by content address alone (no slots)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS fragments (slot TEXT PRIMARY KEY, key TEXT, digest BLOB, data BLOB)"
)
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
        self.pending: dict[str, tuple[str, bytes]] = {}  # slot: (key, fragment)

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
                if db.execute("PRAGMA user_version").fetchone()[0] != _LAYOUT:
                    db.execute("DROP TABLE IF EXISTS fragments")  # derived data: start again
                    db.execute(f"PRAGMA user_version = {_LAYOUT}")
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

    def get(self, slot: str, key: str) -> bytes | None:
        """The fragment ``slot`` holds if it is version ``key``, else None (missing, another
        version, or damaged)."""
        return self.get_many([(slot, key)])[0]

    def get_many(self, wanted: list[tuple[str, str]]) -> list[bytes | None]:
        """:meth:`get` for each ``(slot, key)`` of ``wanted``, in a few queries."""
        found: dict[str, tuple[str, bytes]] = {}
        db = self.db
        if db is not None:
            slots = [slot for slot, _ in wanted if slot not in self.pending]
            try:
                for start in range(0, len(slots), 500):
                    chunk = slots[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT slot, key, digest, data FROM fragments WHERE slot IN ({marks})",
                        chunk,
                    )
                    for slot, key, digest, data in rows:
                        if isinstance(data, bytes) and hashlib.sha256(data).digest() == digest:
                            found[slot] = (key, data)
            except sqlite3.DatabaseError:
                found = {}
        result: list[bytes | None] = []
        for slot, key in wanted:
            held = self.pending.get(slot) or found.get(slot)
            result.append(held[1] if held is not None and held[0] == key else None)
        return result

    def put(self, slot: str, key: str, fragment: bytes) -> None:
        """Store ``fragment`` as version ``key`` of ``slot``, in place of any other version
        (written in batches, and on exit)."""
        if self.db is None:
            return
        self.pending[slot] = (key, fragment)
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what :meth:`put` holds, in one transaction."""
        rows = [(s, k, hashlib.sha256(v).digest(), v) for s, (k, v) in self.pending.items()]
        self.pending = {}
        db = self.db
        if db is None or not rows:
            return
        try:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            log.warning("fragment cache %s not written: %s", self.path, exc)
            with suppress(sqlite3.DatabaseError):
                db.execute("ROLLBACK")
