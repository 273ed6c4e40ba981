"""Atomic, change-only file writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syndication.edges.files import PublishError, publish, unpublish


def test_writes_a_new_file_creating_folders(tmp_path: Path) -> None:
    path = tmp_path / "feeds" / "culture" / "rss.xml"
    assert publish(path, b"<rss/>") is True
    assert path.read_bytes() == b"<rss/>"
    assert path.stat().st_mode & 0o777 == 0o644


def test_unchanged_bytes_leave_the_file_and_its_mtime_alone(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    publish(path, b"<rss/>")
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    inode = path.stat().st_ino
    assert publish(path, b"<rss/>") is False
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000
    assert path.stat().st_ino == inode


def test_changed_bytes_replace_the_file_by_rename_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    publish(path, b"old")
    inode = path.stat().st_ino
    assert publish(path, b"new") is True
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rss.xml"]


def test_unpublish_removes_once(tmp_path: Path) -> None:
    path = tmp_path / "2026-01.atom"
    publish(path, b"x")
    assert unpublish(path) is True
    assert unpublish(path) is False


def test_a_file_where_a_folder_should_be_is_an_operator_error(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_text("not a folder")
    with pytest.raises(PublishError, match="feeds"):
        publish(tmp_path / "feeds" / "rss.xml", b"x")
