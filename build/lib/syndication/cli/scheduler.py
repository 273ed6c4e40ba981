"""``run``: the scheduler, as ``python scheduler.py`` runs it."""

from __future__ import annotations

from typing import Annotated

import typer

from syndication.cli.base import app, context


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run poll, the due digests and deliver, then exit")
    ] = False,
) -> None:
    """Run the scheduler (as python scheduler.py does): feeds, digests, delivery."""
    from syndication.scheduler import runner as scheduling

    c = context(ctx)
    code = scheduling.run_once(c.settings) if once else scheduling.run(c.settings)
    if code:
        raise typer.Exit(code)
