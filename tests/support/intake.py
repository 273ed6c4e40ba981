"""Run ``syndication bounces serve`` as a real process on loopback, for process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from syndication.settings import Settings
from tests.support.net import free_port, wait_for_banner


@dataclass
class Intake:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def write_config(directory: Path, settings: Settings, extra: str = "") -> Path:
    config = directory / "syndication.toml"
    config.write_text(
        f"[bounces]\naddress = '{settings.bounces.address}'\n"
        f"soft_limit = {settings.bounces.soft_limit}\n{extra}",
        encoding="utf-8",
    )
    return config


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = settings.database.url
    env["SYNDICATION_SECRET_KEY"] = settings.secret_key
    return env


def start_intake(directory: Path, settings: Settings, *, lmtp: bool = False) -> Intake:
    """``bounces serve`` on a free port; returns once it greets."""
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, settings)
    port = free_port()
    log = directory / f"intake-{port}.log"
    command = [
        sys.executable,
        "-m",
        "syndication",
        "--config",
        str(config),
        "bounces",
        "serve",
        "--port",
        str(port),
    ]
    if lmtp:
        command.append("--lmtp")
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=directory, env=environment(settings), stdout=handle, stderr=handle
        )
    try:
        wait_for_banner("127.0.0.1", port, b"220")
    except TimeoutError as exc:
        process.kill()
        process.wait()
        output = log.read_text(errors="replace")
        raise RuntimeError(f"bounces serve did not start:\n{output}") from exc
    return Intake(process, port, log)
