"""Run the syndication scheduler: ``python scheduler.py [--config FILE] [--once]``.

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
from syndication.terminal import configure_logging


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
    options = parser.parse_args(argv)
    configure_logging()
    try:
        settings = load_settings(resolve_config_path(options.config, os.environ), os.environ)
        return run_once(settings) if options.once else run(settings)
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
