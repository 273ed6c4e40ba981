"""``digest preview|compile``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syndication.cli.base import context, group, out, parse_period

digest_app = group("digest", "Digest e-mails: preview, compile.")


@digest_app.command("preview")
def digest_preview(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Argument(metavar="LIST", help="The list's slug")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the preview files")],
    period: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The period containing DATE (YYYY-MM-DD) [default: latest complete period]",
        ),
    ] = None,
    to: Annotated[
        str | None, typer.Option(help='Sample recipient, "Name <address>"', show_default=False)
    ] = None,
) -> None:
    """Write digest.html, digest.txt and message.eml of one digest for a sample recipient."""
    from syndication.core.digests import HTML_LIMIT
    from syndication.services import digests as digest_service

    c = context(ctx)
    report = digest_service.preview_digest(
        c.settings, c.engine, list_slug, parse_period(period), to, out_dir
    )
    out.print(f"subject: {report.subject}")
    more = report.article_count - report.shown
    out.print(
        f"articles: {report.article_count}"
        + (f" ({report.shown} in the e-mail, {more} more on the website)" if more else "")
    )
    out.print(f"HTML: {report.html_bytes:,} bytes (limit {HTML_LIMIT:,})")
    out.print(
        f"preview of {report.list_slug} {report.period_key} written to {out_dir}/: "
        + ", ".join(path.name for path in report.files)
    )


@digest_app.command("compile")
def digest_compile(
    ctx: typer.Context,
    list_slug: Annotated[
        str | None, typer.Argument(metavar="[LIST]", help="The list's slug [default: every list]")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The period containing DATE (YYYY-MM-DD) [default: latest complete period]",
        ),
    ] = None,
) -> None:
    """Render a digest once, store it and queue one delivery per active subscriber."""
    from syndication.services import digests as digest_service

    c = context(ctx)
    for report in digest_service.compile_digests(
        c.signing(), c.engine, list_slug, parse_period(period)
    ):
        where = f"{report.list_slug} {report.period_key}"
        if report.empty:
            out.print(f"{where}: no articles in this period; no digest")
        elif report.created:
            out.print(f"{where}: {report.articles} articles; {report.queued} deliveries queued")
        else:
            out.print(f"{where}: already compiled; nothing added")
