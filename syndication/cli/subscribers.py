"""``subscribers import|add|remove|export``."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from syndication.cli.base import cli_actor, context, group, out, print_rejection

subscribers_app = group("subscribers", "Manage mailing-list subscribers.")


@subscribers_app.command("import")
def subscribers_import(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV file with the header email,name,lists")],
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="You hold their consent: make them active now")
    ] = False,
) -> None:
    """Import subscribers from CSV; new ones get the confirmation mail. Exit 1 on bad rows."""
    from syndication.services import subscribers

    c = context(ctx)
    report = subscribers.import_subscribers_file(
        c.signing(),
        c.engine,
        path,
        confirmed=confirmed,
        on_rejection=print_rejection,
        actor=cli_actor(),
    )
    out.print(f"{path}: {report.summary}")
    if report.rejected:
        raise typer.Exit(1)


@subscribers_app.command("add")
def subscribers_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The address")],
    lists: Annotated[list[str], typer.Option("--list", "-l", help="A list slug (repeatable)")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="You hold their consent: make them active now")
    ] = False,
) -> None:
    """Subscribe one address to one or more lists."""
    from syndication.services import subscribers

    c = context(ctx)
    result = subscribers.add_subscriber(
        c.signing(), c.engine, email, lists, name, confirmed=confirmed, actor=cli_actor()
    )
    action = "added" if result.created else "updated"
    note = "; confirmation mail sent" if result.needs_confirmation else ""
    out.print(f"{email}: {action}, {result.status}{note}")


@subscribers_app.command("remove")
def subscribers_remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The address")]
) -> None:
    """Unsubscribe an address from every list."""
    from syndication.services import subscribers

    subscribers.remove_subscriber(context(ctx).engine, email, actor=cli_actor())
    out.print(f"{email}: unsubscribed from every list")


@subscribers_app.command("export")
def subscribers_export(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="CSV file to write [default: stdout]")] = None,
) -> None:
    """Write every subscriber as CSV: email,name,lists,status."""
    from syndication.edges.files import atomic_file
    from syndication.errors import InputError
    from syndication.services import subscribers

    c = context(ctx)
    if path is None:
        subscribers.export_subscribers(c.engine, sys.stdout, actor=cli_actor())
        return
    try:
        with atomic_file(path, mode=0o600) as raw:
            handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            count = subscribers.export_subscribers(c.engine, handle, actor=cli_actor())
            handle.flush()
            handle.detach()  # the atomic file closes the raw handle itself
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc
    out.print(f"{path}: {count} subscribers")


@subscribers_app.command("restore")
def subscribers_restore(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The address")]
) -> None:
    """Undo a bounce or complaint (a false positive): unsuppress, forget soft bounces."""
    from syndication.clock import utc_now
    from syndication.services import subscribers

    status = subscribers.restore_address(context(ctx).engine, email, utc_now(), actor=cli_actor())
    out.print(f"{email}: restored, now {status}")
