"""``feeds build``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syndication.cli.base import context, group, out

feeds_app = group("feeds", "Build the RSS, Atom and JSON feeds.")


@feeds_app.command("build")
def feeds_build(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild every feed, not only the changed topics")
    ] = False,
) -> None:
    """Write the feeds of the topics changed since the last build; print what changed."""
    from syndication.services import feeds as feed_service

    c = context(ctx)
    report = feed_service.build_feeds(c.settings, c.engine, force_all=everything)
    directory = c.settings.feeds.dir
    for relative in report.changed:
        out.print(f"changed {directory / relative}")
    for relative in report.removed:
        out.print(f"removed {directory / relative}")
    kind = "full" if report.full else "incremental"
    if report.changed or report.removed:
        out.print(
            f"{kind} build: {len(report.changed)} files written, {len(report.removed)} removed "
            f"under {directory} (feeds: {', '.join(report.feeds)}); up to change {report.watermark}"
        )
    else:
        out.print(f"{kind} build: feeds under {directory} already up to date")
    if report.announced:
        out.print(f"WebSub: announced {len(report.announced)} feeds")
    if report.websub_error:
        print(f"warning: WebSub: {report.websub_error}; will retry next build", file=sys.stderr)
