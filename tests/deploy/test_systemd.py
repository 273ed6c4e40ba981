"""``deploy/systemd/``: the three units pass ``systemd-analyze verify``, stay hardened, and
run commands that exist (issue 29: only the scheduler had a unit, in the README)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.debian import require
from tests.support.processes import syndication

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
NAMES = ("syndication-scheduler", "syndication-web", "syndication-bounces")
INSTALLED = "/opt/syndication/bin/syndication"
ANALYZE = "/usr/bin/systemd-analyze"

# What every unit must keep: its own user, a read-only system, secrets from a file, restarts.
HARDENING = {
    "User": "syndication",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "StateDirectory": "syndication",
    "WorkingDirectory": "/var/lib/syndication",
    "EnvironmentFile": "/etc/syndication/secrets.env",
    "Environment": "SYNDICATION_CONFIG=/etc/syndication/syndication.toml",
    "Restart": "on-failure",
}


def directives(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_three_units_are_shipped_hardened() -> None:
    assert sorted(p.stem for p in UNITS.glob("*.service")) == sorted(NAMES)
    for name in NAMES:
        found = directives(UNITS / f"{name}.service")
        for key, value in HARDENING.items():
            assert value in found.get(key, []), f"{name}.service: {key}={value} missing"
        assert found["ExecStart"][0].startswith(f"{INSTALLED} "), name


def installed_copy(tmp_path: Path, name: str) -> Path:
    """The unit with ExecStart pointing at this test's installed ``syndication``: verify
    checks that the program exists."""
    program = Path(sys.executable).with_name("syndication")
    assert program.exists(), program
    text = (UNITS / f"{name}.service").read_text(encoding="utf-8")
    assert INSTALLED in text
    copy = tmp_path / f"{name}.service"
    copy.write_text(text.replace(INSTALLED, str(program)), encoding="utf-8")
    return copy


@pytest.mark.parametrize("name", NAMES)
def test_systemd_analyze_verify_passes(tmp_path: Path, name: str) -> None:
    require(ANALYZE, "systemd")
    copy = installed_copy(tmp_path, name)
    result = subprocess.run(
        [ANALYZE, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    # Warnings (an unknown key, a bad value) go to standard error even when it passes.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    # Exposure by systemd's own score (0 a sandbox, 10 none; the threshold is in tenths):
    # at most 2.0, where an unhardened service scores 9.6.
    security = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--threshold=20", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert security.returncode == 0, security.stdout + security.stderr


def test_verify_notices_a_broken_unit(tmp_path: Path) -> None:
    require(ANALYZE, "systemd")
    copy = installed_copy(tmp_path, "syndication-web")
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystem=sometimes"))
    result = subprocess.run(
        [ANALYZE, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert "ignoring: sometimes" in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_runs_a_command_that_exists(tmp_path: Path, name: str) -> None:
    command = shlex.split(directives(UNITS / f"{name}.service")["ExecStart"][0])
    result = syndication(*command[1:], "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
