"""``subscribers import|add|remove|export|restore|suppress|export-person|erase``."""

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
    path: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="CSV: email,name,lists (optionally language); our own export; a listmonk "
            "or Mailchimp export",
        ),
    ],
    lists: Annotated[
        list[str] | None,
        typer.Option(
            "--list", "-l", metavar="LIST", help="The list a listmonk or Mailchimp file joins"
        ),
    ] = None,
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed", help="You hold their consent: rows not marked confirmed are active"
        ),
    ] = False,
) -> None:
    """Import subscribers with their history; unsubscribes, bounces and complaints are
    suppressed. Rows not confirmed get the confirmation mail. Exit 1 on bad rows."""
    from syndication.services import subscriber_imports

    c = context(ctx)
    report = subscriber_imports.import_subscribers_file(
        c.signing(),
        c.engine,
        path,
        confirmed=confirmed,
        lists=lists or [],
        on_rejection=print_rejection,
        actor=cli_actor(),
    )
    out.print(f"{path} ({report.shape}): {report.summary}")
    if report.rejected:
        raise typer.Exit(1)


@subscribers_app.command("add")
def subscribers_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address")],
    lists: Annotated[
        list[str], typer.Option("--list", "-l", metavar="LIST", help="A list slug (repeatable)")
    ],
    name: Annotated[str, typer.Option(metavar="NAME", help="Display name")] = "",
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="You hold their consent: make them active now")
    ] = False,
    language: Annotated[
        str,
        typer.Option(
            metavar="TAG",
            help="The reader's language(s), one of [languages] available (ko; or ko,en)",
        ),
    ] = "",
) -> None:
    """Subscribe one address to one or more lists."""
    import getpass

    from syndication.services import subscribers

    c = context(ctx)
    result = subscribers.add_subscriber(
        c.signing(),
        c.engine,
        email,
        lists,
        name,
        confirmed=confirmed,
        by=f"{getpass.getuser()} (command line)",
        language=language,
        actor=cli_actor(),
    )
    action = "added" if result.created else "updated"
    note = "; confirmation mail sent" if result.needs_confirmation else ""
    out.print(f"{email}: {action}, {result.status}{note}")


@subscribers_app.command("remove")
def subscribers_remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address")]
) -> None:
    """Unsubscribe an address from every list."""
    from syndication.services import subscribers

    subscribers.remove_subscriber(context(ctx).engine, email, actor=cli_actor())
    out.print(f"{email}: unsubscribed from every list")


@subscribers_app.command("export")
def subscribers_export(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="CSV file to write [default: stdout]")
    ] = None,
    list_slug: Annotated[
        str, typer.Option("--list", "-l", metavar="LIST", help="Only the members of this list")
    ] = "",
    status: Annotated[
        str,
        typer.Option(
            "--status", metavar="STATUS", help="Only subscribers with this status (e.g. active)"
        ),
    ] = "",
) -> None:
    """Write every subscriber (and every suppressed address with no record) as CSV:
    email,name,lists,status,created_at,confirmed_at,language. --list and --status narrow
    it as the console's subscribers page does (suppressed addresses with no record, which
    are no subscribers, are then left out)."""
    from syndication.edges.files import atomic_file
    from syndication.errors import InputError
    from syndication.services import subscribers

    c = context(ctx)
    if list_slug:
        c.settings.mailing_list(list_slug)  # an unknown list exits 1, naming the known ones
    if status and status not in subscribers.STATUSES:
        raise InputError(f"--status {status!r}: one of {', '.join(subscribers.STATUSES)}")
    where = subscribers.SubscriberFilter(list_slug=list_slug, status=status)
    if path is None:
        subscribers.export_subscribers(c.engine, sys.stdout, actor=cli_actor(), where=where)
        return
    try:
        with atomic_file(path, mode=0o600) as raw:
            handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            count = subscribers.export_subscribers(c.engine, handle, actor=cli_actor(), where=where)
            handle.flush()
            handle.detach()  # the atomic file closes the raw handle itself
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc
    out.print(f"{path}: {count} rows")


@subscribers_app.command("restore")
def subscribers_restore(
    ctx: typer.Context, email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address")]
) -> None:
    """Undo a bounce or complaint (a false positive): unsuppress, forget soft bounces."""
    from syndication.clock import utc_now
    from syndication.services import subscribers

    status = subscribers.restore_address(context(ctx).engine, email, utc_now(), actor=cli_actor())
    out.print(f"{email}: restored, now {status}")


@subscribers_app.command("export-person")
def subscribers_export_person(
    ctx: typer.Context, email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address")]
) -> None:
    """Print everything held about one person as JSON (a GDPR/PIPA access request)."""
    import json

    from syndication.clock import utc_now
    from syndication.services import privacy

    c = context(ctx)
    data = privacy.export_person(c.signing(), c.engine, email, utc_now())
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    if not data["held"]:
        print(f"note: nothing is held about {data['address']}", file=sys.stderr)


@subscribers_app.command("erase")
def subscribers_erase(
    ctx: typer.Context, email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address")]
) -> None:
    """Delete everything held about one person; keep only a keyed hash that bars re-adding."""
    from syndication.clock import utc_now
    from syndication.services import privacy

    c = context(ctx)
    erasure = privacy.erase_person(c.signing(), c.engine, email, utc_now())
    out.print(f"{erasure.address}: {erasure.summary}")


@subscribers_app.command("suppress")
def subscribers_suppress(
    ctx: typer.Context,
    from_file: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="FILE",
            help="A suppression list: one address per line, or a CSV with an email column",
        ),
    ],
) -> None:
    """Never mail the addresses of a suppression list again (safe to repeat). Exit 1 on
    bad lines; the valid ones are kept."""
    import getpass

    from syndication.services import subscriber_imports

    c = context(ctx)
    report = subscriber_imports.suppress_from_file(
        c.signing(),
        c.engine,
        from_file,
        by=f"{getpass.getuser()} (command line)",
        on_rejection=print_rejection,
    )
    out.print(f"{from_file}: {report.summary}")
    if report.rejected:
        raise typer.Exit(1)
