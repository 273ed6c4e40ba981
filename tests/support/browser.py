"""Debian's Chromium for the browser tests: where it is and how it is started, and the app
served on loopback for it to visit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from syndication.settings import Settings
from syndication.web.app import create_app
from tests.support.net import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Headless as root, and no background traffic: this machine reaches no network but the
# package registries, and Chromium's own update and sync requests would only fail.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium "
    "(apt-get install chromium; .ci/run does it)",
)


@contextmanager
def serving(settings: Settings, engine: Engine) -> Iterator[tuple[str, Settings]]:
    """The app on 127.0.0.1 and a free port, served by uvicorn in a thread: its base URL
    and the settings it runs with (``settings`` with that base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served = replace(
        settings, site=replace(settings.site, base_url=base, feeds_url=f"{base}/feeds")
    )
    config = uvicorn.Config(
        create_app(served, engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base, served
    finally:
        server.should_exit = True
        thread.join(timeout=10)
