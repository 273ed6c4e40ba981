"""Debian tools the deploy tests run (nginx, systemd-analyze, openssl): present, or why not.

On a developer's machine a missing package skips the test with the reason; in CI
(``CI=true``, where ``.ci/run`` installs every package) it fails instead, so a test that
should have run never passes by skipping.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def require(binary: str, package: str) -> None:
    """Skip (or, in CI, fail) the calling test unless ``binary`` is installed."""
    if Path(binary).exists():
        return
    reason = f"Debian's {package} is not installed ({binary}); .ci/run installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, and CI must not skip this test")
    pytest.skip(reason)


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A throw-away certificate and key for ``name`` (a host name or an IP address),
    valid for two days, made with ``openssl``: ``(cert.pem, key.pem)`` in ``directory``."""
    require("/usr/bin/openssl", "openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    alt = f"IP:{name}" if name.replace(".", "").isdigit() else f"DNS:{name}"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert),
            "-subj", f"/CN={name}", "-addext", f"subjectAltName={alt}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
