"""Where templates come from: the operator's folder first, then the ones we ship.

The templates live in the repository's ``templates/`` folder and travel inside the wheel as
the package ``syndication.templates`` (``pyproject.toml`` maps one onto the other), so an
installed service finds them without a source checkout. ``[templates] dir`` names a folder
laid out the same way (``email/``, ``web/``); a file there replaces ours of the same name,
which is how a newsroom changes its logo and colours without forking.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from syndication.settings import Settings


@cache
def packaged_templates() -> Path:
    """The folder of the templates shipped with this installation."""
    spec = importlib.util.find_spec("syndication.templates")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the syndication.templates package is missing from this install")
    return Path(next(iter(spec.submodule_search_locations)))


def search_path(settings: Settings, kind: str) -> list[Path]:
    """The folders to look in for templates of ``kind`` (``email``, ``web``), in order."""
    folders = [packaged_templates() / kind]
    if settings.templates_dir is not None:
        folders.insert(0, settings.templates_dir / kind)
    return folders
