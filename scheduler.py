"""Run the syndication scheduler: ``python scheduler.py [--config FILE] [--once]``.

``--log-level LEVEL`` (or ``SYNDICATION_LOG_LEVEL``) sets how much it logs.

Thin by design: it reads the settings and hands over to :mod:`syndication.scheduler.runner`,
the same function ``syndication run`` calls.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from syndication.errors import SyndicationError
from syndication.scheduler.runner import run, run_once
from syndication.settings import load_settings, resolve_config_path
from syndication.terminal import configure_logging, parse_log_level


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        help="settings file [default: $SYNDICATION_CONFIG or ./syndication.toml]",
    )
    parser.add_argument(
        "--once", action="store_true", help="run poll, the due digests and deliver, then exit"
    )
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="debug, info, warning, error or critical [default: $SYNDICATION_LOG_LEVEL or info]",
    )
    options = parser.parse_args(argv)
    try:
        if options.log_level is not None:
            configure_logging(parse_log_level(options.log_level, "--log-level"))
        else:
            level = os.environ.get("SYNDICATION_LOG_LEVEL", "info")
            configure_logging(parse_log_level(level, "SYNDICATION_LOG_LEVEL"))
        settings = load_settings(resolve_config_path(options.config, os.environ), os.environ)
        return run_once(settings) if options.once else run(settings)
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
