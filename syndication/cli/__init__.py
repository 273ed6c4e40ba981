"""The ``syndication`` command: one module per command group, each calling ``services/``.

Operator errors (:class:`SyndicationError`) are printed as one line without a traceback
and end the command with a non-zero status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

from syndication.cli.base import app, hoist_global_options
from syndication.errors import SyndicationError

# Importing a module registers its commands; this order is the order of --help.
COMMAND_MODULES: tuple[str, ...] = ("store", "articles", "digests", "delivery", "scheduler")
COMMAND_MODULES += ("subscribers", "feeds", "web", "sources", "bounces", "users", "keys")
for _module in COMMAND_MODULES:
    importlib.import_module(f"syndication.cli.{_module}")


def main() -> None:
    """Console-script entry point."""
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="syndication")
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        message = _database_trouble(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


def _database_trouble(exc: Exception) -> str | None:
    """One line for an operator when the database refused to work at all, else ``None``."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    if "readonly" in reason.replace("-", "").replace(" ", "").lower():
        return (
            f"the database is read-only ({reason}); this command writes to it: give the "
            "service's user write access to the database file and its folder (SQLite) or "
            "the right to write (PostgreSQL)"
        )
    if isinstance(exc, OperationalError):
        return f"the database failed: {reason}; check database.url and that it is up"
    return None
