"""``syndication sources …`` and ``syndication api-keys …`` (issue 11).

Imports its units of work inside the commands, so ``syndication --help`` stays quick.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syndication.cli.base import context, group, out

sources_app = group("sources", "Poll the newsroom's systems (WordPress, feeds, JSON Lines).")
api_keys_app = group("api-keys", "Keys for the push API (POST /api/articles).")


@sources_app.command("poll")
def sources_poll(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(metavar="[NAME]...", help="Sources [default: all]")
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Re-read everything and retract what vanished upstream"),
    ] = False,
) -> None:
    """Poll sources now (even one that is backing off). Exit 1 on a rejection or failure."""
    from syndication.clock import utc_now
    from syndication.services.sources import poll_sources

    c = context(ctx)
    if not c.settings.sources and not names:
        out.print("no sources configured; add [[sources]] tables to the settings")
        return
    reports = poll_sources(
        c.settings,
        c.engine,
        names or (),
        full=full,
        now=utc_now,
        on_rejection=lambda r: print(r, file=sys.stderr),
    )
    for report in reports:
        out.print(report.summary)
    if any(r.error or r.rejected for r in reports):
        raise typer.Exit(1)


@api_keys_app.command("create")
def api_keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Who uses it, e.g. cms")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="SOURCE",
            help="The only source whose articles (ids SOURCE:...) the key may write and retract",
        ),
    ] = None,
    any_source: Annotated[
        bool,
        typer.Option("--any-source", help="Let the key write and retract any article"),
    ] = False,
) -> None:
    """Make a key and print it once; only its hash is kept. Say which articles it may
    touch: --source SOURCE, or --any-source."""
    from syndication.clock import utc_now
    from syndication.errors import InputError
    from syndication.services import api_keys

    if (source is None) == (not any_source):
        raise InputError(
            "say which articles the key may write: --source SOURCE (ids SOURCE:...) "
            "or --any-source (every article, the WordPress ones included)"
            if source is None
            else "--source and --any-source exclude each other; give one"
        )
    key = api_keys.create_key(context(ctx).engine, name, utc_now(), source=source)
    out.print(key)
    scope = f"for source {source!r} (ids {source}:...)" if source else "for any source"
    print(f"API key {name!r} created {scope}; it is shown only this once", file=sys.stderr)


@api_keys_app.command("list")
def api_keys_list(ctx: typer.Context) -> None:
    """List keys by name with when they were made and revoked."""
    from syndication.services import api_keys

    c = context(ctx)
    tz = c.settings.site.tz
    keys = api_keys.list_keys(c.engine)
    if not keys:
        out.print("no API keys")
    for key in keys:
        made = f"created {key.created_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        state = (
            f"revoked {key.revoked_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
            if key.revoked_at
            else "active"
        )
        scope = f"source {key.source}" if key.source else "any source"
        out.print(f"  {key.name:<28} {scope}; {made}; {state}")


@api_keys_app.command("revoke")
def api_keys_revoke(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="The key's name")]
) -> None:
    """Revoke a key at once."""
    from syndication.clock import utc_now
    from syndication.services import api_keys

    changed = api_keys.revoke_key(context(ctx).engine, name, utc_now())
    out.print(f"API key {name!r} {'revoked' if changed else 'was already revoked'}")
