"""``bounces serve|fetch|import``: the bounce intake (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from syndication.cli.base import context, group, out

bounces_app = group("bounces", "Bounces and complaints: the intake.")


@bounces_app.command("serve")
def bounces_serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on")] = 2525,
    lmtp: Annotated[bool, typer.Option("--lmtp", help="Speak LMTP instead of SMTP")] = False,
) -> None:
    """Receive bounces from the MTA over SMTP (or LMTP) and process them."""
    import threading

    from syndication.clock import utc_now
    from syndication.services import bounces
    from syndication.store import database as db

    c = context(ctx)
    db.require_current_schema(c.engine)
    settings = c.signing()
    stop = threading.Event()

    def ready(bound_host: str, bound_port: int) -> None:
        kind = "LMTP" if lmtp else "SMTP"
        out.print(
            f"bounce intake ({kind}) for {settings.bounces.address} on {bound_host}:{bound_port}"
        )

    bounces.serve(
        settings,
        c.engine,
        host=host,
        port=port,
        lmtp=lmtp,
        now=utc_now,
        stop=stop,
        on_ready=ready,
    )


@bounces_app.command("fetch")
def bounces_fetch(ctx: typer.Context) -> None:
    """Fetch bounces from the [bounces.imap] mailbox, process them, move them away."""
    from syndication.clock import utc_now
    from syndication.services import bounces

    c = context(ctx)
    report = bounces.fetch_imap(c.signing(), c.engine, utc_now)
    out.print(report.summary)


@bounces_app.command("import")
def bounces_import(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help=".eml files, mbox files, Maildir folders"),
    ],
) -> None:
    """Process bounces saved as files. Files that are not mail are named and left out
    (exit 1 when there were any); every other file is imported."""
    from syndication.clock import utc_now
    from syndication.services import bounces

    c = context(ctx)
    report = bounces.import_paths(c.signing(), c.engine, paths, utc_now)
    for effect in report.effects:
        out.print(effect)
    for error in report.errors:
        out.print(f"failed: {error}")
    out.print(report.summary)
    if report.rejected:
        for rejected in report.rejected:
            print(f"error: {rejected}", file=sys.stderr)
        raise typer.Exit(1)


@bounces_app.command("failed")
def bounces_failed(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(metavar="N", help="How many of the newest to list")] = 20,
) -> None:
    """List the bounce reports whose processing failed, newest first, with their errors.

    A failed report is kept and marked; the queue goes on without it (issue 25)."""
    from syndication.services import bounces

    c = context(ctx)
    health = bounces.intake_health(c.engine, failures=limit)
    if not health.failed:
        out.print("no failed bounce reports")
        return
    out.print(f"{health.failed} failed bounce reports; the newest {len(health.recent_failures)}:")
    for report in health.recent_failures:
        out.print(
            f"  #{report.id} {report.received_at:%Y-%m-%d %H:%M} {report.source}: {report.error}"
        )
