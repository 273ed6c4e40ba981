"""The ``syndication`` command: one module per command group, each calling ``services/``.

Operator errors (:class:`SyndicationError`) are printed as one line without a traceback
and end the command with a non-zero status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

from syndication.cli.base import app
from syndication.errors import SyndicationError

# Importing a module registers its commands; this order is the order of --help.
COMMAND_MODULES: tuple[str, ...] = ("store", "articles", "digests", "delivery", "scheduler")
COMMAND_MODULES += ("subscribers", "feeds", "web", "sources", "users")
for _module in COMMAND_MODULES:
    importlib.import_module(f"syndication.cli.{_module}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
