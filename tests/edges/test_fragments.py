"""The entry fragment cache: what it holds is served only while intact, one version a slot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syndication.edges.fragments import FragmentCache

ENTRY = b"  <entry>\n  </entry>\n"


def rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT slot, key FROM fragments ORDER BY slot"))


def test_a_fragment_is_kept_across_caches_and_an_unknown_key_misses(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / ".fragments.sqlite"
    with FragmentCache(path) as cache:
        assert cache.get("atom a", "a" * 64) is None
        cache.put("atom a", "a" * 64, ENTRY)
        assert cache.get("atom a", "a" * 64) == ENTRY  # before it is flushed
    with FragmentCache(path) as cache:
        assert cache.get("atom a", "a" * 64) == ENTRY
        assert cache.get("atom a", "b" * 64) is None  # another version of the same entry
        assert cache.get("rss a", "a" * 64) is None


def test_a_slot_holds_only_its_last_version(tmp_path: Path) -> None:
    # An edit, or a setting that shows in every entry, makes new keys: the rows of the
    # versions they replace go, so the cache does not grow with every change.
    path = tmp_path / ".fragments.sqlite"
    with FragmentCache(path) as cache:
        cache.put("atom a", "v1", b"first")
        cache.put("atom b", "v1", b"other")
    with FragmentCache(path) as cache:
        cache.put("atom a", "v2", b"second")
        assert cache.get("atom a", "v1") is None and cache.get("atom a", "v2") == b"second"
    assert rows(path) == [("atom a", "v2"), ("atom b", "v1")]
    with FragmentCache(path) as cache:
        assert cache.get_many([("atom a", "v1"), ("atom a", "v2"), ("atom b", "v1")]) == [
            None,
            b"second",
            b"other",
        ]


def test_a_damaged_row_is_a_miss_never_served(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    with FragmentCache(path) as cache:
        cache.put("atom k", "k", b"the right bytes")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fragments SET data = ? WHERE key = 'k'", (b"the wrong bytes",))
    with FragmentCache(path) as cache:
        assert cache.get("atom k", "k") is None
        cache.put("atom k", "k", b"the right bytes")
    with FragmentCache(path) as cache:
        assert cache.get("atom k", "k") == b"the right bytes"


def test_a_file_that_is_not_a_cache_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with FragmentCache(path) as cache:
        assert cache.get("atom k", "k") is None
        cache.put("atom k", "k", b"bytes")
    assert (tmp_path / ".fragments.sqlite.damaged").exists()
    with FragmentCache(path) as cache:
        assert cache.get("atom k", "k") == b"bytes"


def test_a_cache_of_the_older_layout_starts_empty(tmp_path: Path) -> None:
    # Before slots, rows were keyed by content address alone (user_version 0).
    path = tmp_path / ".fragments.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE fragments (key TEXT PRIMARY KEY, digest BLOB, data BLOB)")
        db.execute("INSERT INTO fragments VALUES ('k', x'00', x'00')")
    with FragmentCache(path) as cache:
        assert cache.get("atom k", "k") is None
        cache.put("atom k", "k", b"bytes")
    assert rows(path) == [("atom k", "k")]


def test_a_cache_that_cannot_be_opened_only_misses(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    with FragmentCache(tmp_path / "file" / ".fragments.sqlite") as cache:
        cache.put("atom k", "k", b"bytes")
        assert cache.get("atom k", "k") is None


def test_many_fragments_are_looked_up_at_once_with_the_same_checks(tmp_path: Path) -> None:
    path = tmp_path / ".fragments.sqlite"
    wanted = [(f"atom {n}", f"{n:064x}") for n in range(1200)]
    with FragmentCache(path) as cache:
        for slot, key in wanted[:1000]:
            cache.put(slot, key, key.encode())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fragments SET data = ? WHERE slot = ?", (b"damaged", wanted[3][0]))
    with FragmentCache(path) as cache:
        cache.put(*wanted[1100], b"pending")
        found = cache.get_many(wanted)
    assert found[3] is None and found[1100] == b"pending"
    expected = [key.encode() for _, key in wanted[:3] + wanted[4:1000]]
    assert found[:3] + found[4:1000] == expected
    assert found[1000:1100] == [None] * 100
