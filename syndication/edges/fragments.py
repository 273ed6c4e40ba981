"""The entry fragment cache: rendered entries on disk, by the SHA-256 of their inputs.

Why files beside the feeds and not a table: the fragments are derived data that belong to
the folder they were rendered for (a restored or copied ``feeds.dir`` brings its cache
along, a deleted one takes it away), they need no migration on either database, and a
cache miss costs a render, never a wrong document. They live in ``feeds.dir/.fragments``:
hidden, so the feed server never serves them (web/feeds.py refuses hidden names).

Keys are content addresses (:func:`syndication.core.feeds.entry_key`): a key names one
version of one article's entry in one format under one set of settings, so a cached file
is never stale, only unused. Each file starts with the SHA-256 of its fragment: a file
cut short by a crash or edited by hand fails that check and is rendered again, never
served. Writes are a rename of a temporary file without ``fsync``: after a power loss a
fragment may be lost or empty, which the check catches, and a full build writes
tens of thousands of them.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import suppress
from pathlib import Path

FOLDER = ".fragments"


class FragmentCache:
    """Fragments under ``root`` (usually ``feeds.dir/.fragments``), two-level by key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:]

    def get(self, key: str) -> bytes | None:
        """The fragment stored under ``key``, or None if it is missing or damaged."""
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        digest, newline, fragment = data[:64], data[64:65], data[65:]
        if newline != b"\n" or hashlib.sha256(fragment).hexdigest().encode() != digest:
            return None
        return fragment

    def put(self, key: str, fragment: bytes) -> None:
        """Store ``fragment`` under ``key`` (atomically: a reader sees all of it or none).

        A cache that cannot be written (full disk, permissions) is not an error: the
        build renders the entry again next time.
        """
        path = self._path(key)
        # A name of this process's own: two builds (the CLI beside the scheduler) never
        # write into each other's temporary file.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = hashlib.sha256(fragment).hexdigest().encode() + b"\n" + fragment
        try:
            try:
                temporary.write_bytes(data)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)
