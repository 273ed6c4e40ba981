"""axe-core (Deque's accessibility engine) for the browser tests, installed on first use.

Not committed: the pinned version is installed with ``npm`` into ``test-artifacts/npm``
(git-ignored) and later runs reuse it; ``SYNDICATION_AXE_JS`` may name an ``axe.min.js``
to use instead (an offline CI cache). Every browser test takes axe-core from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS

AXE_VERSION = "4.14.1"
AXE_DIR = ARTIFACTS / "npm"


def axe_source() -> str:
    """The source of axe-core (see the module docstring); skips the test without npm."""
    given = os.environ.get("SYNDICATION_AXE_JS")
    path = Path(given) if given else AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists() and not given:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the accessibility checks need npm (apt-get install npm) to fetch axe-core")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "--no-save", "--no-audit", "--no-fund"]
            + [f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return path.read_text(encoding="utf-8")


def violations(page: Any, axe: str) -> list[str]:
    """Every axe-core violation on ``page`` (a Playwright page) as "rule: target help"
    lines (WCAG 2 A/AA and best practice, axe's defaults)."""
    page.add_script_tag(content=axe)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {node['target']} {v['help']}"
        for v in result["violations"]
        for node in v["nodes"]
    ]
