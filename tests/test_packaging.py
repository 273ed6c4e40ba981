"""pyproject.toml lists every package under syndication/, so the wheel carries them all."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "syndication").rglob("__init__.py")
    }
    data = {"syndication.store.migrations", "syndication.store.migrations.versions"}
    templates = {"syndication.templates"} | {
        f"syndication.templates.{folder.name}"
        for folder in (ROOT / "templates").iterdir()
        if folder.is_dir() and not folder.name.startswith(("_", "."))
    }
    listed = set(config["packages"])
    assert found | data | templates == listed
    assert config["package-dir"] == {"syndication.templates": "templates"}


def test_the_version_is_one_number_everywhere() -> None:
    """pyproject.toml's version is the release (``--version`` prints it from the installed
    metadata); ``syndication.__version__`` (the User-Agent, feed generator) and the newest
    release heading of CHANGELOG.md say the same."""
    import re

    from syndication import __version__

    number = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == number
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert headings[:2] == ["Unreleased", number]
