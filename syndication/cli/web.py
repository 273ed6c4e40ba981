"""``serve``: the web app."""

from __future__ import annotations

from typing import Annotated

import typer

from syndication.cli.base import app, context, out


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on")] = 8000,
) -> None:
    """Serve the feeds, the subscription pages and the digest archive over HTTP."""
    from syndication.store import database as db
    from syndication.web import server
    from syndication.web.app import create_app

    c = context(ctx)
    db.require_current_schema(c.engine)
    web_app = create_app(c.signing(), c.engine)
    out.print(f"serving {c.settings.site.title} on http://{host}:{port}/ (Ctrl-C stops)")
    # One worker: rate limits and the feed cache live in this process. X-Forwarded-For
    # and -Proto count only from the proxies in [web] trusted_proxies (see the README).
    server.run(web_app, host, port, c.settings.web)
