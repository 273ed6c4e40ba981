"""What every command shares: the Typer app, the settings context, one-line output.

Kept light on purpose: the command modules import the services they use inside each
command, so ``syndication --help`` loads neither the database layer nor the renderers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syndication.errors import InputError, SyndicationError
from syndication.settings import Settings, load_settings, resolve_config_path

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from syndication.core.audit import Actor
    from syndication.services.articles import Rejection

app = typer.Typer(
    help="Feeds and digest e-mails from a newsroom's article store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: the same metavars everywhere (FILE, LIST, EMAIL), no
    # Python type names, and no rich import for --help.
    rich_markup_mode=None,
)


class Output:
    """Lines on standard output, printed as given.

    A plain writer, not a rich console: what a command prints is data (titles, addresses,
    error texts with brackets such as ``[Errno 111]``) that must never be read as markup,
    and a command that only prints does not pay for importing rich.
    """

    def print(self, line: str = "") -> None:
        sys.stdout.write(f"{line}\n")


def _styled(text: str, code: str) -> str:
    """``text`` in an ANSI style on a terminal (unless NO_COLOR is set), plain elsewhere."""
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        return f"\x1b[{code}m{text}\x1b[0m"
    return text


def strong(text: str) -> str:
    """Bold on a terminal: a heading."""
    return _styled(text, "1")


def alarm(text: str) -> str:
    """Bold red on a terminal: something an operator must act on."""
    return _styled(text, "1;31")


out = Output()


def cli_actor() -> Actor:
    """Who a command acts as in the audit log: the OS user running it, from the CLI."""
    import getpass

    from syndication.core.audit import Actor

    return Actor.cli(getpass.getuser())


def group(name: str, help: str) -> typer.Typer:
    """A command group (``syndication NAME …``) added to the app."""
    sub = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(sub, name=name)
    return sub


@dataclass
class Context:
    settings: Settings
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from syndication.store.database import make_engine

            self._engine = make_engine(self.settings.database.url)
        return self._engine

    def signing(self) -> Settings:
        """The settings with a signing key (made on first use for the demo only)."""
        from syndication.edges.secret_key import with_secret_key

        self.settings, warning = with_secret_key(self.settings)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        return self.settings


# Options of the whole program, accepted before or after the command's name
# (``syndication status --config x.toml``): see :func:`hoist_global_options`.
GLOBAL_OPTIONS_WITH_VALUE = ("--config", "-c", "--log-level")


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the program's own options moved in front of the command's name.

    Click reads an option only at the level it belongs to, so ``status --config x`` would
    be "No such option". Everything after ``--`` is left as it is.
    """
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS_WITH_VALUE:
            if "=" in arg and arg.startswith("--"):
                hoisted.append(arg)
            else:
                hoisted.extend(args[index : index + 2])
                index += 1
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


def print_version(asked: bool) -> None:
    """``--version``: the installed distribution's version, read from its metadata.

    ``importlib.metadata`` is imported here only: no other command pays for it.
    """
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("syndication")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from syndication import __version__ as number
    print(f"syndication {number}")
    raise typer.Exit()


# Commands that read no settings, so that a broken settings file or a refused key does not
# stop the command that makes a new key.
WITHOUT_SETTINGS = {"keys"}


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Settings file [default: $SYNDICATION_CONFIG or ./syndication.toml]",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            metavar="LEVEL",
            help="debug, info, warning, error or critical, in any case "
            "[default: $SYNDICATION_LOG_LEVEL or info]",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=print_version,
        ),
    ] = False,
) -> None:
    from syndication.terminal import configure_logging, parse_log_level

    if log_level is not None:
        level = parse_log_level(log_level, "--log-level")
    else:
        level = parse_log_level(
            os.environ.get("SYNDICATION_LOG_LEVEL", "info"), "SYNDICATION_LOG_LEVEL"
        )
    configure_logging(level)
    if ctx.invoked_subcommand in WITHOUT_SETTINGS:
        return
    path = resolve_config_path(config, os.environ)
    ctx.obj = Context(load_settings(path, os.environ))


def context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def print_rejection(rejection: Rejection) -> None:
    print(rejection, file=sys.stderr)


def parse_period(period: str | None) -> date | None:
    if period is None:
        return None
    from syndication.core.articles import EARLIEST, LATEST

    try:
        day = date.fromisoformat(period)
    except ValueError:
        raise InputError(f"--period {period!r}: not a date such as 2026-11-18") from None
    # The same bounds as article dates: a period near year 1 or 9999 cannot be computed
    # (its neighbours fall off the calendar), and no article can be in one.
    if not EARLIEST.date() <= day < LATEST.date():
        raise SyndicationError(f"--period {period}: choose a date between 1900 and 2199")
    return day
