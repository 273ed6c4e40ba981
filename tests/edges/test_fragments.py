"""The entry fragment cache: what it holds is served only while intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syndication.edges.fragments import FragmentCache


def test_a_fragment_is_kept_across_caches_and_an_unknown_key_misses(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / ".fragments.sqlite"
    with FragmentCache(path) as cache:
        assert cache.get("a" * 64) is None
        cache.put("a" * 64, b"  <entry>\n  </entry>\n")
        assert cache.get("a" * 64) == b"  <entry>\n  </entry>\n"  # before it is flushed
    with FragmentCache(path) as cache:
        assert cache.get("a" * 64) == b"  <entry>\n  </entry>\n"
        assert cache.get("b" * 64) is None


def test_a_damaged_row_is_a_miss_never_served(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    with FragmentCache(path) as cache:
        cache.put("k", b"the right bytes")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fragments SET data = ? WHERE key = 'k'", (b"the wrong bytes",))
    with FragmentCache(path) as cache:
        assert cache.get("k") is None
        cache.put("k", b"the right bytes")
    with FragmentCache(path) as cache:
        assert cache.get("k") == b"the right bytes"


def test_a_file_that_is_not_a_cache_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with FragmentCache(path) as cache:
        assert cache.get("k") is None
        cache.put("k", b"bytes")
    assert (tmp_path / ".fragments.sqlite.damaged").exists()
    with FragmentCache(path) as cache:
        assert cache.get("k") == b"bytes"


def test_a_cache_that_cannot_be_opened_only_misses(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    with FragmentCache(tmp_path / "file" / ".fragments.sqlite") as cache:
        cache.put("k", b"bytes")
        assert cache.get("k") is None


def test_many_fragments_are_looked_up_at_once_with_the_same_checks(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    keys = [f"{n:064x}" for n in range(1200)]
    with FragmentCache(path) as cache:
        for key in keys[:1000]:
            cache.put(key, key.encode())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fragments SET data = ? WHERE key = ?", (b"damaged", keys[3]))
    with FragmentCache(path) as cache:
        cache.put(keys[1100], b"pending")
        found = cache.get_many(keys)
    assert found[3] is None and found[1100] == b"pending"
    assert found[:3] + found[4:1000] == [k.encode() for k in keys[:3] + keys[4:1000]]
    assert found[1000:1100] == [None] * 100
