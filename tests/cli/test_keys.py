"""Signing keys on the command line: ``keys generate``, refused short keys, no silent key file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from syndication.cli.base import app
from syndication.errors import ConfigError
from tests.support.processes import syndication

ROOT = Path(__file__).resolve().parent.parent.parent
SHORT = "Refused: 31 bytes, one too few."


def leaf_commands(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command a user can run, as its words (``("subscribers", "add")``)."""
    if not isinstance(command, TyperGroup):
        return [prefix]
    return [
        words
        for name, sub in sorted(command.commands.items())
        for words in leaf_commands(sub, (*prefix, name))
    ]


def test_keys_generate_prints_a_strong_key_and_nothing_else(tmp_path: Path) -> None:
    # A broken settings file and a refused key stop every command but this one.
    (tmp_path / "syndication.toml").write_text("[site\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_SECRET_KEY"] = "x"
    made = [
        subprocess.run(
            [sys.executable, "-m", "syndication", "keys", "generate"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)
    ]
    keys = [result.stdout for result in made]
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9_-]{64}\n", key), key
    assert keys[0] != keys[1]
    assert [result.stderr for result in made] == ["", ""]
    assert list(tmp_path.iterdir()) == [tmp_path / "syndication.toml"]


def test_every_command_refuses_a_short_key_before_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(SHORT.encode()) == 31
    monkeypatch.chdir(tmp_path)
    commands = leaf_commands(get_command(app))
    assert ("init",) in commands and ("subscribers", "add") in commands
    assert len(commands) > 30
    runner = CliRunner()
    for words in commands:
        if words == ("keys", "generate"):
            continue
        result = runner.invoke(app, list(words), env={"SYNDICATION_SECRET_KEY": SHORT})
        assert isinstance(result.exception, ConfigError), (words, result.output)
        assert str(result.exception).startswith(
            "$SYNDICATION_SECRET_KEY: the secret key is 31 bytes long; it must have at least 32"
        ), words
    assert list(tmp_path.iterdir()) == [], "nothing ran"

    # As an operator sees it, and the scheduler's own entry point too.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_SECRET_KEY"] = SHORT
    for argv in (["-m", "syndication", "status"], [str(ROOT / "scheduler.py"), "--once"]):
        process = subprocess.run(
            [sys.executable, *argv], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert process.returncode == 2, process.stderr
        assert process.stderr.splitlines()[-1] == (
            "error: $SYNDICATION_SECRET_KEY: the secret key is 31 bytes long; it must have "
            "at least 32: make one with 'syndication keys generate'"
        )


def test_with_a_settings_file_no_key_file_is_made_in_the_working_directory(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "syndication.toml").write_text("[site]\ntitle = 'City'\n", encoding="utf-8")
    result = syndication(
        "subscribers",
        "add",
        "reader@example.org",
        "--list",
        "weekly-city",
        "--confirmed",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: no signing key: set $SYNDICATION_SECRET_KEY or secret_key_file in "
        "syndication.toml (make one with 'syndication keys generate')"
    )
    assert not (tmp_path / ".secret_key").exists()

    # The key from a file next to the settings, made by keys generate.
    key = syndication("keys", "generate", cwd=tmp_path).stdout
    (tmp_path / "secret_key").write_text(key, encoding="utf-8")
    with (tmp_path / "syndication.toml").open("r+", encoding="utf-8") as settings:
        body = settings.read()
        settings.seek(0)
        settings.write("secret_key_file = 'secret_key'\n" + body)
    result = syndication(
        "subscribers",
        "add",
        "reader@example.org",
        "--list",
        "weekly-city",
        "--confirmed",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / ".secret_key").exists()


def test_the_demo_makes_its_key_once_in_the_working_directory(
    tmp_path: Path, database_url: str
) -> None:
    def add(address: str) -> subprocess.CompletedProcess[str]:
        return syndication(
            "subscribers",
            "add",
            address,
            "--list",
            "weekly-city",
            "--confirmed",
            cwd=tmp_path,
            database_url=database_url,
        )

    first = add("one@example.org")
    assert first.returncode == 0, first.stderr
    assert "demo: made a signing key in .secret_key" in first.stderr
    key = (tmp_path / ".secret_key").read_text(encoding="ascii")
    assert len(key.strip()) == 64
    assert (tmp_path / ".secret_key").stat().st_mode & 0o077 == 0
    second = add("two@example.org")
    assert second.returncode == 0, second.stderr
    assert "made a signing key" not in second.stderr
    assert (tmp_path / ".secret_key").read_text(encoding="ascii") == key
