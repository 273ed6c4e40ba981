"""A wheel built from this tree works without the source tree: templates, migrations, CLI.

A production install as the README describes it: the wheel is installed into a fresh
virtualenv by pip, which resolves its dependencies from this machine's package indexes (pip
config: PyPI and the local mirror). That proves the wheel declares everything it needs
without the test tools. When pip cannot reach an index (offline), the virtualenv instead
gets the wheel alone (``--no-deps``) and the test environment's site-packages on its path
for the dependencies (not for syndication itself: the editable install's finder lives in a
.pth file, which a path added this way does not run); the commands still run from the
wheel, and the dependency test says it was skipped, and why. Every command runs from an
empty folder.
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
import tomllib
import urllib.request
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "wheel-test-key-of-forty-bytes-at-least.."
# What pip prints when it cannot reach an index or the index lacks a release (offline).
OFFLINE = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "No matching distribution found",
)


@dataclass(frozen=True)
class Installed:
    """The virtualenv's bin folder, and why the dependencies are not its own (or "")."""

    bin: Path
    offline: str


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A virtualenv with the wheel of this tree installed (see the module's docstring)."""
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
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    full = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True
    )
    if full.returncode == 0:
        return Installed(env_dir / "bin", "")
    if not any(marker in full.stderr for marker in OFFLINE):
        raise AssertionError(f"pip install {wheel.name} failed:\n{full.stderr}")
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Only now, so that pip (which looks at every path of the target) neither sees nor
    # uninstalls the editable install of the environment running these tests.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    reason = (full.stderr.strip().splitlines() or ["pip failed"])[-1]
    return Installed(env_dir / "bin", f"no package index reachable ({reason})")


def run(bin_dir: Path, cwd: Path, *args: str, key: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    if key:
        env["SYNDICATION_SECRET_KEY"] = KEY
    return subprocess.run(
        [str(bin_dir / "syndication"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_wheel_runs_every_command_from_an_empty_folder(
    installed: Installed, tmp_path: Path
) -> None:
    bin_dir = installed.bin
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import syndication; print(syndication.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(bin_dir.parent) in where, f"syndication imported from {where}"

    for args in (
        ("init",),
        ("articles", "import", str(ROOT / "examples" / "news.jsonl")),
        ("feeds", "build"),
        ("digest", "preview", "weekly-city", "--period", "2026-11-18", "--out", "preview"),
    ):
        result = run(bin_dir, tmp_path, *args)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    assert (tmp_path / "feeds" / "all" / "atom.xml").is_file()
    assert "<html" in (tmp_path / "preview" / "digest.html").read_text()

    # A newsroom in English and Korean: the Korean catalog ships as its .po (issue 30).
    (tmp_path / "syndication.toml").write_text(
        '[languages]\navailable = ["en", "ko"]\n', encoding="utf-8"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_SECRET_KEY"] = KEY
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [str(bin_dir / "syndication"), "serve", "--port", str(port)],
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


def test_a_production_install_runs_from_a_settings_file(
    installed: Installed, tmp_path: Path
) -> None:
    """README "Running it for real": --version, a key in a file, init, status."""
    number = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    etc, srv = tmp_path / "etc", tmp_path / "srv"
    etc.mkdir()
    srv.mkdir()
    version = run(installed.bin, srv, "--version", key=False)
    assert (version.returncode, version.stdout) == (0, f"syndication {number}\n")
    key = run(installed.bin, srv, "keys", "generate", key=False)
    assert key.returncode == 0, key.stderr
    (etc / "secret_key").write_text(key.stdout, encoding="utf-8")
    (etc / "secret_key").chmod(0o600)
    config = etc / "syndication.toml"
    config.write_text(
        "secret_key_file = 'secret_key'\n"
        "[site]\ntitle = 'Hanbit City News'\nbase_url = 'https://news.hanbit.example.kr'\n"
        f"[database]\nurl = 'sqlite:///{srv / 'syndication.db'}'\n"
        f"[feeds]\ndir = '{srv / 'feeds'}'\n"
        "[[topics]]\nslug = 'city-hall'\nname = 'City Hall'\n"
        "[[lists]]\nslug = 'residents-weekly'\nname = 'Residents Weekly'\n"
        "topics = ['city-hall']\nschedule = '0 9 * * mon'\n",
        encoding="utf-8",
    )
    init = run(installed.bin, srv, "--config", str(config), "init", key=False)
    assert init.returncode == 0, init.stderr
    assert init.stdout.endswith("1 topics (1 added or changed)\n")
    status = run(installed.bin, srv, "--config", str(config), "status", key=False)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"Hanbit City News ({config})\n")
    assert "residents-weekly" in status.stdout
    # The key came from the file: nothing was made in the working directory.
    assert sorted(p.name for p in srv.iterdir()) == ["syndication.db"]


def test_the_wheel_declares_every_dependency_it_needs(installed: Installed) -> None:
    if installed.offline:
        pytest.skip(f"dependencies came from the test environment: {installed.offline}")
    check = subprocess.run(
        [str(installed.bin / "python"), "-m", "pip", "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    # Installed without the test tools: nothing the service needs comes from them.
    probe = subprocess.run(
        [str(installed.bin / "python"), "-c", "import pytest"], capture_output=True, text=True
    )
    assert probe.returncode != 0
