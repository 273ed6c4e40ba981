"""``syndication sources poll``, ``api-keys``, ``status`` and ``scheduler.py --once`` as
real processes against a loopback WordPress, on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndication.errors import ConfigError
from syndication.settings import load_settings
from tests.support.http import Server, serve
from tests.support.wordpress import FakeWordPress

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = database_url
    env["SYNDICATION_SECRET_KEY"] = "test-secret-key-not-for-production"
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def site() -> Iterator[tuple[FakeWordPress, Server]]:
    wordpress = FakeWordPress()
    for post_id in range(1, 31):
        wordpress.add_post(post_id)
    wordpress.add_post(99, categories=(9,))
    with serve(wordpress) as server:
        yield wordpress, server


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "syndication.toml"
    path.write_text(
        f"""
[[sources]]
name = "cms"
kind = "wordpress"
url = "{url}"
categories = {{ "international-relations-news" = "international-relations" }}
timeout_seconds = 5

[[sources]]
name = "down"
kind = "feed"
url = "http://127.0.0.1:9/feed.xml"
timeout_seconds = 2
"""
    )
    return path


def test_poll_status_and_keys(
    tmp_path: Path, database_url: str, site: tuple[FakeWordPress, Server]
) -> None:
    _wp, server = site
    cfg = str(config(tmp_path, server.url))
    cli = ("-m", "syndication", "--config", cfg)
    assert run(*cli, "init", cwd=tmp_path, database_url=database_url).returncode == 0
    polled = run(*cli, "sources", "poll", cwd=tmp_path, database_url=database_url)
    assert polled.returncode == 1  # one rejected post, one source down
    lines = polled.stdout.splitlines()
    assert lines[0] == (
        "cms: 31 fetched, 30 inserted, 0 updated, 0 unchanged, 1 rejected, 0 retracted"
    )
    assert lines[1].startswith("down: 0 fetched") and "FAILED" in lines[1]
    assert "cms: post 99: categories:" in polled.stderr
    only = run(*cli, "sources", "poll", "cms", cwd=tmp_path, database_url=database_url)
    assert "30 unchanged" in only.stdout or "0 inserted" in only.stdout
    unknown = run(*cli, "sources", "poll", "nope", cwd=tmp_path, database_url=database_url)
    assert unknown.returncode == 1 and "no such source" in unknown.stderr
    status = run(*cli, "status", cwd=tmp_path, database_url=database_url)
    assert "sources:" in status.stdout and "backing off" in status.stdout
    keys = (*cli, "api-keys", "create")
    unsaid = run(*keys, "cms", cwd=tmp_path, database_url=database_url)
    assert unsaid.returncode != 0 and "--source SOURCE" in unsaid.stderr
    assert "--any-source" in unsaid.stderr
    both = run(
        *keys, "cms", "--source", "cms", "--any-source", cwd=tmp_path, database_url=database_url
    )
    assert both.returncode != 0 and "exclude each other" in both.stderr
    created = run(*keys, "cms", "--any-source", cwd=tmp_path, database_url=database_url)
    assert created.returncode == 0 and created.stdout.startswith("syn_")
    assert "for any source" in created.stderr
    scoped = run(*keys, "partner", "--source", "partner", cwd=tmp_path, database_url=database_url)
    assert scoped.returncode == 0 and "for source 'partner'" in scoped.stderr
    listed = run(*cli, "api-keys", "list", cwd=tmp_path, database_url=database_url)
    assert "cms" in listed.stdout and "active" in listed.stdout
    assert "any source" in listed.stdout and "source partner" in listed.stdout
    revoked = run(*cli, "api-keys", "revoke", "cms", cwd=tmp_path, database_url=database_url)
    assert "revoked" in revoked.stdout


def test_scheduler_once_polls(
    tmp_path: Path, database_url: str, site: tuple[FakeWordPress, Server]
) -> None:
    _wp, server = site
    cfg = str(config(tmp_path, server.url))
    run("-m", "syndication", "--config", cfg, "init", cwd=tmp_path, database_url=database_url)
    once = run(
        str(ROOT / "scheduler.py"),
        "--config",
        cfg,
        "--once",
        cwd=tmp_path,
        database_url=database_url,
    )
    assert once.returncode == 0, once.stderr
    assert any(r.path.endswith("/posts") for r in server.requests)
    atom = (tmp_path / "feeds" / "international-relations" / "atom.xml").read_text()
    assert "Seoul\u2019s news number 30" in atom


def test_settings_check_sources(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[sources]]\nname = "cms"\nkind = "wordpress"\nurl = "x"\n')
    with pytest.raises(ConfigError, match=r"sources\[0\]\.url"):
        load_settings(path, {})
    path.write_text(
        '[[sources]]\nname = "cms"\nkind = "feed"\nurl = "https://a.example/f"\n'
        'categories = { news = "sport" }\n'
    )
    with pytest.raises(ConfigError, match="unknown topic 'sport'"):
        load_settings(path, {})
    path.write_text(
        '[scheduler]\nsources_seconds = 60\n[[sources]]\nname = "x"\nkind = "jsonl"\n'
        'url = "export.jsonl"\nusername_env = "U"\n'
    )
    settings = load_settings(path, {"U": "editor"})
    assert settings.sources[0].username == "editor"
    assert settings.scheduler.sources_seconds == 60
