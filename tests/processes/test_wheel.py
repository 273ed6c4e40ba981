"""A wheel built from this tree works without the source tree: templates, migrations, CLI.

The wheel is installed into a fresh virtualenv whose only other path is the test
environment's site-packages (for the dependencies, not for syndication itself: the
editable install's finder lives in a .pth file, which a path added this way does not
run). Every command then runs from an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the wheel of this tree installed; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools leaves a build/ folder beside the sources it builds.
    source = work / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "*.egg-info", "feeds", "outbox", "test-artifacts", "*.db"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(work),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("syndication-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install"]
        + ["--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Only now, so that pip (which looks at every path of the target) neither sees nor
    # uninstalls the editable install of the environment running these tests.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return env_dir / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_SECRET_KEY"] = "wheel-test-key"
    return subprocess.run(
        [str(bin_dir / "syndication"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_wheel_runs_every_command_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import syndication; print(syndication.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where, f"syndication imported from {where}"

    for args in (
        ("init",),
        ("articles", "import", str(ROOT / "examples" / "news.jsonl")),
        ("feeds", "build"),
        ("digest", "preview", "weekly-city", "--period", "2026-11-18", "--out", "preview"),
    ):
        result = run(installed, tmp_path, *args)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    assert (tmp_path / "feeds" / "all" / "atom.xml").is_file()
    assert "<html" in (tmp_path / "preview" / "digest.html").read_text()

    # A newsroom in English and Korean: the Korean catalog ships as its .po (issue 30).
    (tmp_path / "syndication.toml").write_text(
        '[languages]\navailable = ["en", "ko"]\n', encoding="utf-8"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_SECRET_KEY"] = "wheel-test-key"
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [str(installed / "syndication"), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        home = _get(f"http://127.0.0.1:{port}/", server, log)
        assert "<form" in home
        korean = _get(f"http://127.0.0.1:{port}/?lang=ko", server, log)
        assert '<html lang="ko" dir="ltr">' in korean and "구독하기" in korean
        feed = _get(f"http://127.0.0.1:{port}/feeds/all/feed.json", server, log)
        assert json.loads(feed)["items"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)


def _get(url: str, server: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer: {log.read_text()}") from None
            time.sleep(0.2)
