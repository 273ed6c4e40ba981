"""The Nu HTML Checker (vnu, the W3C's HTML validator) for the markup tests (issue 26).

Not committed: the npm package ``vnu-jar`` (the checker's own build of ``vnu.jar``), at a
pinned version, is installed with ``npm`` into ``test-artifacts/npm-vnu`` (git-ignored) on
first use and reused later; ``SYNDICATION_VNU_JAR`` may name a ``vnu.jar`` to use instead
(an offline CI cache). It has a folder of its own, not axe-core's ``test-artifacts/npm``:
each ``npm install --no-save`` there would prune the other package. The package's install
script (a Java download) is not run; the checker runs on Debian's Java (``java``, from
``default-jre-headless``, which ``.ci/run`` installs when it is missing).

The JVM takes seconds to start, so :func:`check` hands every document to one invocation.
Without java or npm a test skips with the reason, and fails in CI (``CI=true``), as
:mod:`tests.support.debian` does for Debian's tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.support.browser import ARTIFACTS

VNU_VERSION = "26.9.27"
VNU_DIR = ARTIFACTS / "npm-vnu"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run installs it, and CI must not skip this test")
    pytest.skip(reason)


def vnu_jar() -> Path:
    """The checker's jar (see the module docstring); skips (in CI fails) without npm."""
    given = os.environ.get("SYNDICATION_VNU_JAR")
    if given:
        return Path(given)
    jar = VNU_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if not jar.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("the Nu HTML Checker is fetched with npm, which is not installed")
        assert npm is not None
        VNU_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(VNU_DIR), "--no-save", "--no-audit", "--no-fund"]
            + ["--ignore-scripts", f"vnu-jar@{VNU_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return jar


@dataclass(frozen=True)
class Message:
    """One of the checker's findings: ``kind`` is ``error``, ``warning`` (an info message
    of subtype warning), ``info`` or ``non-document-error`` (the file could not be read)."""

    document: str
    kind: str
    line: int
    text: str
    extract: str

    def __str__(self) -> str:
        return f"{self.document}, line {self.line}: {self.kind}: {self.text} [{self.extract}]"


def checker() -> list[str]:
    """The command that runs the checker; skips (in CI fails) without java or npm. A test
    asks for it first, before it builds what is to be checked."""
    java = shutil.which("java")
    if java is None:
        _unavailable("the Nu HTML Checker needs Java (apt-get install default-jre-headless)")
    assert java is not None
    return [java, "-jar", str(vnu_jar())]


def check(command: list[str], documents: Mapping[str, str], folder: Path) -> list[Message]:
    """Every message of one run of ``command`` (:func:`checker`) over ``documents`` (name:
    HTML text), each written to ``folder/<name>.html``; a name is a file name."""
    files = {}
    for name, html in documents.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path.resolve())] = name
    result = subprocess.run(
        [*command, "--format", "json", "--exit-zero-always", *files],
        capture_output=True,
        check=True,
        timeout=600,
    )
    # The report is on stderr (stdout stays empty with --format json).
    report = json.loads(result.stderr or result.stdout)
    messages = []
    for found in report["messages"]:
        url = found.get("url", "")  # file:/absolute/path
        name = files.get(unquote(urlsplit(url).path), url)
        kind = found["type"]
        if kind == "info" and found.get("subType") == "warning":
            kind = "warning"
        messages.append(
            Message(
                document=name,
                kind=kind,
                line=int(found.get("lastLine", found.get("firstLine", 0))),
                text=found["message"],
                extract=found.get("extract", "").strip(),
            )
        )
    return messages
