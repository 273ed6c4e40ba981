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
from rich.console import Console

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
)

out = Console(highlight=False, soft_wrap=True)


def cli_actor() -> Actor:
    """Who a command acts as in the audit log: the OS user running it, from the CLI."""
    import getpass

    from syndication.core.audit import Actor

    return Actor.cli(getpass.getuser())


def group(name: str, help: str) -> typer.Typer:
    """A command group (``syndication NAME …``) added to the app."""
    sub = typer.Typer(help=help, no_args_is_help=True)
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
        """The settings with a signing key (made on first use for the demo)."""
        from syndication.edges.secret_key import with_secret_key

        self.settings, warning = with_secret_key(self.settings)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        return self.settings


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Settings file [default: $SYNDICATION_CONFIG or ./syndication.toml]",
        ),
    ] = None,
) -> None:
    from syndication.terminal import configure_logging

    configure_logging()
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
