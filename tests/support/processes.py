"""Running our own commands as real processes: the CLI and a sender."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from syndication.settings import Settings
from tests.support.smtp import SmtpServer


def syndication(
    *args: str, cwd: Path, database_url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    if database_url:
        env["SYNDICATION_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "syndication", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sender(
    tmp_path: Path, settings: Settings, server: SmtpServer, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    config = tmp_path / "syndication.toml"
    config.write_text(
        "[mail]\ntransport = 'smtp'\n"
        f"[mail.smtp]\nhost = '{server.host}'\nport = {server.port}\nrate_per_second = 5000\n"
        "connections = 2\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env["SYNDICATION_DATABASE_URL"] = settings.database.url
    env["SYNDICATION_SECRET_KEY"] = settings.secret_key
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syndication",
            "--config",
            str(config),
            "send",
            "--lease-seconds",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
