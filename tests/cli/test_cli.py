"""The real ``syndication`` command in a subprocess, as an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.builders import JsonFactory
from tests.support.processes import syndication


def test_init_import_retract_status(
    tmp_path: Path, empty_database_url: str, make_article_json: JsonFactory
) -> None:
    result = syndication("init", cwd=tmp_path, database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert "7 topics (7 added or changed)" in result.stdout

    good = [make_article_json(f"smg-{i}") for i in range(3)]
    lines = [json.dumps(a) for a in good] + ['{"id": 1}']
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = syndication(
        "articles", "import", "news.jsonl", cwd=tmp_path, database_url=empty_database_url
    )
    assert result.returncode == 1
    assert "news.jsonl:4: title: missing" in result.stderr
    assert "news.jsonl: 3 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert "Traceback" not in result.stderr

    result = syndication(
        "articles",
        "import",
        "-",
        cwd=tmp_path,
        database_url=empty_database_url,
        stdin="\n".join(lines[:3]) + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "-: 0 inserted, 0 updated, 3 unchanged, 0 rejected" in result.stdout

    result = syndication(
        "articles",
        "retract",
        "smg-1",
        "--reason",
        "Wrong date",
        cwd=tmp_path,
        database_url=empty_database_url,
    )
    assert result.returncode == 0, result.stderr
    result = syndication(
        "articles", "retract", "smg-404", cwd=tmp_path, database_url=empty_database_url
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: article 'smg-404': no such article in the store"

    result = syndication("status", cwd=tmp_path, database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert "articles: 3 (2 published, 1 retracted)" in result.stdout


def test_config_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "syndication.toml").write_text("[site]\ntimezone = 'Asia/Seol'\n")
    result = syndication("status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: syndication.toml: site.timezone: unknown timezone 'Asia/Seol'"
    )


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    result = syndication("status", cwd=tmp_path)
    assert result.returncode == 1
    assert "run 'syndication init' first" in result.stderr
    assert not (tmp_path / "feeds").exists()
