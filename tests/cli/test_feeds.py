"""``syndication feeds build`` as an operator runs it (the feeds part of the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.builders import JsonFactory
from tests.support.processes import syndication


def test_feeds_build_prints_what_changed_then_nothing(
    tmp_path: Path, empty_database_url: str, make_article_json: JsonFactory
) -> None:
    assert syndication("init", cwd=tmp_path, database_url=empty_database_url).returncode == 0
    lines = [json.dumps(make_article_json(f"smg-{i}")) for i in range(3)]
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = syndication(
        "articles", "import", "news.jsonl", cwd=tmp_path, database_url=empty_database_url
    )
    assert imported.returncode == 0, imported.stderr

    first = syndication("feeds", "build", cwd=tmp_path, database_url=empty_database_url)
    assert first.returncode == 0, first.stderr
    assert "changed feeds/international-relations/atom.xml" in first.stdout
    assert "changed feeds/index.opml" in first.stdout
    assert "full build: " in first.stdout
    assert (tmp_path / "feeds" / "all" / "archive" / "2026-11.atom").is_file()

    again = syndication("feeds", "build", cwd=tmp_path, database_url=empty_database_url)
    assert again.returncode == 0, again.stderr
    assert "already up to date" in again.stdout
    assert "changed" not in again.stdout


def test_feeds_build_on_a_database_never_initialised_says_what_to_do(
    tmp_path: Path, empty_database_url: str
) -> None:
    result = syndication("feeds", "build", cwd=tmp_path, database_url=empty_database_url)
    assert result.returncode == 1
    assert "run 'syndication init' first" in result.stderr
    assert "Traceback" not in result.stderr
