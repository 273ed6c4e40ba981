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
    listed = set(config["packages"])
    assert found | {"syndication.templates"} == listed
    assert config["package-dir"] == {"syndication.templates": "templates"}
