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
