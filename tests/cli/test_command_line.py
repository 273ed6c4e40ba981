"""The command line's shape: global options anywhere, one metavar style, levels, exit codes."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer._click as click
import typer.main

from syndication.cli.base import app, hoist_global_options
from syndication.errors import ConfigError
from syndication.terminal import THIRD_PARTY_LOGGERS, configure_logging, parse_log_level
from tests.support.processes import syndication

# LIST, FILE, [FILE], PATH..., [NAME]...: upper case, optional in brackets, repeatable with ...
METAVAR = re.compile(r"^\[?[A-Z][A-Z_-]*\]?(\.\.\.)?$")


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: str) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "syndication")
    return found


def test_hoisting_moves_only_the_programs_own_options() -> None:
    assert hoist_global_options(["status", "--config", "x.toml"]) == [
        "--config",
        "x.toml",
        "status",
    ]
    assert hoist_global_options(["digest", "hold", "--log-level=debug", "city", "2026-11-16"]) == [
        "--log-level=debug",
        "digest",
        "hold",
        "city",
        "2026-11-16",
    ]
    assert hoist_global_options(["-c", "a.toml", "send", "--workers", "2"]) == [
        "-c",
        "a.toml",
        "send",
        "--workers",
        "2",
    ]
    # After "--" everything is an argument, even a word that looks like the option.
    assert hoist_global_options(["articles", "retract", "--", "--config"]) == [
        "articles",
        "retract",
        "--",
        "--config",
    ]


@pytest.mark.parametrize(("path", "command"), _commands(), ids=lambda v: str(v))
def test_every_argument_and_option_shows_an_upper_case_metavar(
    path: str, command: click.Command
) -> None:
    context = click.Context(command, info_name=path)
    for param in command.params:
        if getattr(param, "is_flag", False) or param.name == "help":
            continue
        shown = param.make_metavar(context)
        assert METAVAR.match(shown), f"{path}: {param.name} shows {shown!r}"
    help_text = command.get_help(context)
    leak = re.search(r"<(str|int|float|bool|path|list|dict)\b|\{[a-z]", help_text)
    assert leak is None, f"{path}: a type or parameter name leaks:\n{help_text}"


def test_config_and_log_level_work_after_the_command(tmp_path: Path) -> None:
    (tmp_path / "other.toml").write_text("[site]\ntimezone = 'Asia/Seol'\n", encoding="utf-8")
    result = syndication("status", "--config", "other.toml", "--log-level", "WARNING", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: other.toml: site.timezone: unknown timezone 'Asia/Seol'"
    )
    result = syndication("status", "--log-level", "loud", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --log-level: 'loud' is not a log level "
        "(one of debug, info, warning, error, critical)"
    )


def test_the_log_level_comes_from_the_environment_in_any_case(tmp_path: Path) -> None:
    assert syndication("init", cwd=tmp_path).returncode == 0
    news = str(Path(__file__).parents[2] / "examples" / "news.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    quiet = subprocess.run(
        [sys.executable, "-m", "syndication", "articles", "import", news],
        cwd=tmp_path,
        env={**env, "SYNDICATION_LOG_LEVEL": "Error"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    # The import's progress is an INFO line: there at the default level.
    chatty = syndication("articles", "import", news, "--log-level", "info", cwd=tmp_path)
    assert chatty.returncode == 0, chatty.stderr
    assert '"level": "info"' in chatty.stderr


def test_parse_log_level_names_where_a_bad_level_came_from() -> None:
    assert parse_log_level(" Debug ", "--log-level") == logging.DEBUG
    with pytest.raises(ConfigError, match="SYNDICATION_LOG_LEVEL: 'verbose' is not a log level"):
        parse_log_level("verbose", "SYNDICATION_LOG_LEVEL")


def test_third_party_chatter_waits_for_debug() -> None:
    try:
        configure_logging(logging.INFO)
        for name in THIRD_PARTY_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        assert logging.getLogger("syndication").getEffectiveLevel() == logging.INFO
        configure_logging(logging.DEBUG)
        assert logging.getLogger("httpx2").getEffectiveLevel() == logging.DEBUG
        configure_logging(logging.ERROR)
        assert logging.getLogger("mail.log").getEffectiveLevel() == logging.ERROR
    finally:
        configure_logging(logging.INFO)


def test_an_unknown_list_is_a_named_thing_that_does_not_exist(tmp_path: Path) -> None:
    assert syndication("init", cwd=tmp_path).returncode == 0
    result = syndication(
        "subscribers", "add", "reader@example.org", "--list", "nosuch", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "--list: unknown list 'nosuch'" in result.stderr
    result = syndication("digest", "hold", "nosuch", "2026-11-16", cwd=tmp_path)
    assert result.returncode == 1, result.stderr


def test_status_says_what_the_settings_leave_to_check_for_spf_dkim_and_dmarc(
    tmp_path: Path,
) -> None:
    assert syndication("init", cwd=tmp_path).returncode == 0
    demo = syndication("status", cwd=tmp_path)
    assert "deliverability: mail.from is at example.org" in demo.stdout
    assert "deliverability: no [mail.dkim]" in demo.stdout
    (tmp_path / "syndication.toml").write_text(
        "[mail]\nfrom = 'Seoul News <news@news.seoul.go.kr>'\n"
        "[mail.dkim]\ndomain = 'seoul.go.kr'\nselector = 'news2026'\nkey_file = 'dkim.pem'\n"
        "[bounces]\naddress = 'bounces@bounces.seoul.go.kr'\n",
        encoding="utf-8",
    )
    aligned = syndication("status", cwd=tmp_path)
    assert aligned.returncode == 0, aligned.stderr
    assert "deliverability:" not in aligned.stdout


def test_subscribers_add_takes_a_language_of_the_newsroom(tmp_path: Path) -> None:
    assert syndication("init", cwd=tmp_path).returncode == 0
    (tmp_path / "secret_key").write_text("k" * 48 + "\n", encoding="utf-8")
    (tmp_path / "syndication.toml").write_text(
        'secret_key_file = "secret_key"\n[languages]\navailable = ["en", "ko"]\n',
        encoding="utf-8",
    )
    add = ("subscribers", "add", "reader@example.org", "--list", "weekly-city", "--confirmed")
    refused = syndication(*add, "--language", "ja", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "--language: 'ja' is not one of this newsroom's languages (en, ko)" in refused.stderr
    added = syndication(*add, "--language", "ko", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    exported = syndication("subscribers", "export", cwd=tmp_path)
    header, row = exported.stdout.splitlines()
    assert header == "email,name,lists,status,created_at,confirmed_at,language"
    assert row.startswith("reader@example.org,,weekly-city,active,") and row.endswith(",ko")
