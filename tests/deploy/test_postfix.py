"""``deploy/postfix/``: the shipped lines, in a real Postfix, route the bounce domain to a
real ``bounces serve`` and refuse every other address of it at RCPT time (issue 29: the
README described them, but nothing shipped or ran them)."""

from __future__ import annotations

import shutil
import signal
import smtplib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syndication.settings import BounceSettings, Settings
from syndication.store import database as db
from syndication.store.models import BounceIntake
from tests.support.bounces import dsn
from tests.support.intake import start_intake
from tests.support.net import free_port
from tests.support.postfix import postfix_missing, start_postfix

POSTFIX_LINES = Path(__file__).resolve().parents[2] / "deploy" / "postfix"
BOUNCE_ADDRESS = "bounces@bounces.news.example.org"


def shipped_settings(folder: Path, intake_port: int) -> dict[str, str]:
    """``main.cf``'s lines with the maps copied into ``folder`` (texthash: no postmap) and
    the intake's port in the transport."""
    values: dict[str, str] = {}
    for line in (POSTFIX_LINES / "main.cf").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    for key in ("transport_maps", "relay_recipient_maps"):
        kind, _, path = values[key].partition(":")
        assert kind == "hash" and path.startswith("/etc/postfix/"), values[key]
        text = (POSTFIX_LINES / Path(path).name).read_text(encoding="utf-8")
        copy = folder / Path(path).name
        copy.write_text(text.replace(":2525", f":{intake_port}"), encoding="utf-8")
        values[key] = f"texthash:{copy}"
    # This test's Postfix listens on IPv4 only.
    values["mynetworks"] = values["mynetworks"].replace("[::1]/128", "").strip()
    return values


@pytest.fixture
def postfix_dir() -> Iterator[Path]:
    # Postfix's daemons (user postfix) must reach it: not under pytest's private tmp.
    directory = Path(tempfile.mkdtemp(prefix="syndication-postfix-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def stored(engine: Engine) -> int:
    with db.read_session(engine) as session:
        return session.execute(select(func.count()).select_from(BounceIntake)).scalar_one()


@pytest.mark.skipif(bool(postfix_missing()), reason=postfix_missing() or "postfix present")
def test_the_shipped_lines_route_the_bounce_domain_to_the_intake(
    settings: Settings, engine: Engine, tmp_path: Path, postfix_dir: Path
) -> None:
    bounce_settings = replace(settings, bounces=BounceSettings(address=BOUNCE_ADDRESS))
    intake = start_intake(tmp_path / "intake", bounce_settings)
    maps = postfix_dir / "maps"
    maps.mkdir()
    maps.chmod(0o755)
    postfix = start_postfix(
        postfix_dir,
        port=free_port(),
        relay=None,
        transports={},
        extra=shipped_settings(maps, intake.port),
    )
    try:
        with smtplib.SMTP(postfix.host, postfix.port) as client:
            client.ehlo("mx.reader.example.net")
            assert client.mail("<>")[0] == 250
            # Not the bounce address: refused here, so Postfix never has to bounce it.
            code, text = client.rcpt("postmaster@bounces.news.example.org")
            assert code == 550, text
            assert client.rcpt("bounces+s1-abc@bounces.news.example.org")[0] == 250
            report = dsn(
                "bounces+s1-abc@bounces.news.example.org",
                "gone@reader.example.net",
                "5.1.1",
                "smtp; 550 5.1.1 no such user",
                "<copy@news.example.org>",
            )
            assert client.data(report)[0] == 250
        deadline = time.monotonic() + 30
        while stored(engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        postfix.stop()
        intake.process.send_signal(signal.SIGTERM)
        intake.process.wait(timeout=30)
    assert stored(engine) == 1, f"{intake.output()}\n{postfix.log()}"
