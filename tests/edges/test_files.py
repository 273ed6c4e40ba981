"""Atomic, change-only file writes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndication.edges.files import PublishError, publish, recorded_modified, sidecar, unpublish

NOW = datetime(2026, 11, 28, 3, 0, 0, 250_000, tzinfo=UTC)


def test_writes_a_new_file_creating_folders(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / "culture" / "rss.xml"
    assert publish(path, b"<rss/>", NOW) is True
    assert path.read_bytes() == b"<rss/>"
    assert path.stat().st_mode & 0o777 == 0o644


def test_unchanged_bytes_leave_the_file_and_its_mtime_alone(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    publish(path, b"<rss/>", NOW)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    inode = path.stat().st_ino
    assert publish(path, b"<rss/>", NOW) is False
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000
    assert path.stat().st_ino == inode


def test_changed_bytes_replace_the_file_by_rename_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    publish(path, b"old", NOW)
    inode = path.stat().st_ino
    assert publish(path, b"new", NOW) is True
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rss.xml.modified", "rss.xml"]


def test_unpublish_removes_once(tmp_path: Path) -> None:
    path = tmp_path / "2026-01.atom"
    publish(path, b"x", NOW)
    assert unpublish(path) is True
    assert unpublish(path) is False
    assert not sidecar(path).exists()


def test_a_file_where_a_folder_should_be_is_an_operator_error(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_text("not a folder")
    with pytest.raises(PublishError, match="feeds"):
        publish(tmp_path / "feeds" / "rss.xml", b"x", NOW)


def test_the_recorded_modification_moves_with_the_bytes_and_only_with_them(
    tmp_path: Path,
) -> None:
    """Issue 14: Last-Modified is when the bytes changed, not a date inside them."""
    path = tmp_path / "rss.xml"
    publish(path, b"v1", NOW)
    first = NOW.replace(microsecond=0)
    assert recorded_modified(path, b"v1") == first
    assert publish(path, b"v1", NOW + timedelta(hours=1)) is False
    assert recorded_modified(path, b"v1") == first  # a byte-identical rebuild keeps it
    # A change within the same second still moves it, so If-Modified-Since sees it.
    assert publish(path, b"v2", NOW) is True
    assert recorded_modified(path, b"v2") == first + timedelta(seconds=1)
    publish(path, b"v3", NOW + timedelta(hours=2))
    assert recorded_modified(path, b"v3") == first + timedelta(hours=2)
    # A record that does not describe the bytes on disk is ignored, then repaired from
    # the file's mtime at the next (unchanged) publish.
    assert recorded_modified(path, b"edited by hand") is None
    path.write_bytes(b"edited by hand")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert publish(path, b"edited by hand", NOW) is False
    assert recorded_modified(path, b"edited by hand") == datetime.fromtimestamp(1_700_000_000, UTC)
