"""The real ``syndication`` command in a subprocess, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from syndication.store.database import head_revision
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


def test_commands_before_init_say_what_to_do(
    tmp_path: Path, make_article_json: JsonFactory
) -> None:
    result = syndication("status", cwd=tmp_path)
    assert result.returncode == 1
    assert "run 'syndication init' first" in result.stderr
    assert not (tmp_path / "feeds").exists()
    # The import's parsing worker starts before the schema is checked: it is stopped, and
    # the one-line error is the same.
    lines = [json.dumps(make_article_json(f"smg-{i}")) for i in range(5000)]
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = syndication("articles", "import", "news.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert one_line_error(result).endswith("run 'syndication init' first")


ROOT = Path(__file__).resolve().parent.parent.parent


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_operator_mistakes_are_one_line_errors(
    tmp_path: Path, empty_database_url: str, make_article_json: JsonFactory, backend: str
) -> None:
    # Each of these printed a traceback (issue 15 item 18).
    assert syndication("init", cwd=tmp_path, database_url=empty_database_url).returncode == 0
    line = json.dumps(
        make_article_json("smg-1", topics=["environment"], published_at="2026-11-17T10:00:00+09:00")
    )
    (tmp_path / "news.jsonl").write_text(line + "\n", encoding="utf-8")
    imported = syndication(
        "articles", "import", "news.jsonl", cwd=tmp_path, database_url=empty_database_url
    )
    assert imported.returncode == 0, imported.stderr

    def run(*args: str, url: str = empty_database_url) -> subprocess.CompletedProcess[str]:
        return syndication(*args, cwd=tmp_path, database_url=url)

    preview = ("digest", "preview", "weekly-city")
    far = run(*preview, "--period", "0001-01-01", "--out", "p")
    assert far.returncode == 1
    assert "--period 0001-01-01: choose a date between 1900 and 2199" in one_line_error(far)
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    taken = run(*preview, "--period", "2026-11-18", "--out", "taken")
    assert taken.returncode == 1
    assert "--out taken: is a file, not a folder" in one_line_error(taken)
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "mine"

    config = tmp_path / "utf16.toml"
    config.write_bytes("[site]\ntitle = 'x'\n".encode("utf-16"))
    settings = syndication("--config", str(config), "status", cwd=tmp_path)
    assert settings.returncode == 2
    assert "saved as UTF-16" in one_line_error(settings)

    if backend == "sqlite":
        path = empty_database_url.removeprefix("sqlite:///")
        read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        read_only = empty_database_url + "?options=-c%20default_transaction_read_only%3Don"
    refused = run("subscribers", "add", "a@example.org", "--list", "weekly-city", url=read_only)
    assert refused.returncode == 1
    assert "the database is read-only" in one_line_error(refused)


def test_make_demo_does_not_promise_what_the_date_decides() -> None:
    """Issue 14: ``make demo`` said the scheduler would find "nothing new", but on the days
    after a week that holds demo articles it compiles and sends that week. The words must
    state the rule (and point at what the scheduler reports), not a date-bound outcome."""
    root = Path(__file__).parent.parent.parent
    plan = subprocess.run(
        ["make", "-n", "demo"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    run = next(i for i, line in enumerate(plan) if "scheduler.py --once" in line)
    said = " ".join(line for line in plan[max(0, run - 6) : run] if line.startswith("echo"))
    assert "nothing new" not in said
    assert "max_digest_delay" in said and "depends on today's date" in said


def test_version_is_the_packages_and_loads_nothing_heavy(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    result = syndication("--version", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"syndication {config['project']['version']}\n"
    assert result.stdout == f"syndication {version('syndication')}\n"
    # Start-up is measured (bench/bench_startup.py): --version pays for importlib.metadata
    # only, none of the database, template or web layers.
    probe = (
        "import sys\nsys.argv = ['syndication', '--version']\n"
        "from syndication.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('sqlalchemy', 'alembic', 'jinja2', 'starlette', 'uvicorn', 'feedgen')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.splitlines()[-1] == "[]"


def test_status_starts_without_the_orm_or_postgresql(tmp_path: Path) -> None:
    """Issue 24: ``status`` reads the store through SQLAlchemy Core, so its start-up pays
    neither for ``sqlalchemy.orm`` and the mapped models (~160 ms) nor, on SQLite, for the
    PostgreSQL dialect and its drivers. ``-X importtime`` lists every module imported."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert syndication("init", cwd=tmp_path, database_url=url).returncode == 0
    news = str(ROOT / "examples" / "news.jsonl")
    assert syndication("articles", "import", news, cwd=tmp_path, database_url=url).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = url
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "syndication", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "articles: 40 (38 published, 2 retracted)" in result.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "syndication.store.status" in imported and "sqlalchemy.engine" in imported
    heavy = ("sqlalchemy.orm", "sqlalchemy.dialects.postgresql", "syndication.store.models")
    assert sorted(m for m in imported if m.startswith(heavy)) == []


def test_backup_writes_a_copy_that_status_reads(
    tmp_path: Path, empty_database_url: str, backend: str
) -> None:
    def run(*args: str, url: str = empty_database_url) -> subprocess.CompletedProcess[str]:
        return syndication(*args, cwd=tmp_path, database_url=url)

    assert run("init").returncode == 0
    assert run("articles", "import", str(ROOT / "examples" / "news.jsonl")).returncode == 0
    backup = run("backup", "copy.db")
    if backend == "postgresql":
        assert backup.returncode == 1
        assert "is PostgreSQL; back it up with pg_dump -Fc" in one_line_error(backup)
        return
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.startswith(f"backed up {empty_database_url} to copy.db (")
    assert backup.stdout.rstrip().endswith(f"schema revision {head_revision()})")
    again = run("backup", "copy.db")
    assert again.returncode == 2
    assert (
        one_line_error(again) == "error: copy.db: already exists; a backup never overwrites a file"
    )
    status = run("status", url=f"sqlite:///{tmp_path / 'copy.db'}")
    assert status.returncode == 0, status.stderr
    assert "articles: 40 (38 published, 2 retracted)" in status.stdout
