"""``articles import|retract``."""

from __future__ import annotations

from typing import Annotated

import typer

from syndication.cli.base import cli_actor, context, group, out, print_rejection

articles_app = group("articles", "Put articles into the news store.")


@articles_app.command("import")
def articles_import(
    ctx: typer.Context,
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="JSON Lines file, or - for standard input")
    ],
) -> None:
    """Import articles from JSON Lines (upsert by id). Exit 1 if any line was rejected."""
    # Not services.articles: the parsing worker starts before the store is loaded.
    from syndication.services.article_files import import_articles_file

    c = context(ctx)
    result = import_articles_file(
        c.settings, lambda: c.engine, path, print_rejection, actor=cli_actor()
    )
    out.print(f"{path}: {result.summary}")
    if result.rejected:
        raise typer.Exit(1)


@articles_app.command("retract")
def articles_retract(
    ctx: typer.Context,
    source_id: Annotated[str, typer.Argument(metavar="ID", help="The article's source id")],
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why, shown to partners in the tombstone")
    ] = "",
) -> None:
    """Retract an article: it stays in the store and feeds carry a tombstone for it."""
    from syndication.clock import utc_now
    from syndication.services import articles as articles_service

    c = context(ctx)
    # The reason stays optional here, as it always was (scripts retract without one).
    done = articles_service.retract(
        c.engine, source_id, reason, utc_now(), reason_required=False, actor=cli_actor()
    )
    if done.changed:
        out.print(f"article {source_id} retracted")
    else:
        out.print(f"article {source_id} was already retracted")
    if done.held_note:
        out.print(f"article {source_id}: {done.held_note}")
