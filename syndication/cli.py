"""The ``syndication`` command. Parses arguments, calls :mod:`syndication.jobs`, prints.

Operator errors (:class:`SyndicationError`) are printed as one line without a traceback
and end the command with a non-zero status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from syndication import jobs
from syndication.console import configure_logging
from syndication.digest import HTML_LIMIT
from syndication.errors import InputError, SyndicationError
from syndication.importer import Rejection
from syndication.settings import Settings, load_settings, resolve_config_path

app = typer.Typer(
    help="Feeds and digest e-mails from a newsroom's article store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
articles_app = typer.Typer(help="Put articles into the news store.", no_args_is_help=True)
app.add_typer(articles_app, name="articles")
digest_app = typer.Typer(help="Digest e-mails: preview them.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")

out = Console(highlight=False, soft_wrap=True)


@dataclass
class Context:
    settings: Settings
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = jobs.open_engine(self.settings)
        return self._engine


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
    configure_logging()
    path = resolve_config_path(config, os.environ)
    ctx.obj = Context(load_settings(path, os.environ))


def _context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database and sync topics from the settings (safe to repeat)."""
    c = _context(ctx)
    changed = jobs.init_store(c.settings, c.engine)
    out.print(
        f"database ready at {c.engine.url.render_as_string(hide_password=True)}; "
        f"{len(c.settings.topics)} topics ({changed} added or changed)"
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """Summarise what is in the store."""
    c = _context(ctx)
    summary = jobs.store_status(c.engine)
    tz = c.settings.site.tz
    out.print(f"[bold]{c.settings.site.title}[/bold] ({c.settings.source})")
    out.print(
        f"articles: {summary.articles} ({summary.published} published, "
        f"{summary.retracted} retracted); change sequence {summary.change_seq}"
    )
    if summary.newest_published is not None and summary.newest_updated is not None:
        out.print(
            f"newest published {summary.newest_published.astimezone(tz):%Y-%m-%d %H:%M %Z}, "
            f"newest update {summary.newest_updated.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        )
    configured = {t.slug for t in c.settings.topics}
    for topic in summary.topics:
        note = "" if topic.slug in configured else "  (not in the settings: no feeds)"
        counts = f"{topic.published:>6} published {topic.retracted:>4} retracted"
        out.print(f"  {topic.slug:<28} {counts}{note}")


@articles_app.command("import")
def articles_import(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="JSON Lines file, or - for standard input")],
) -> None:
    """Import articles from JSON Lines (upsert by id). Exit 1 if any line was rejected."""
    c = _context(ctx)

    def report(rejection: Rejection) -> None:
        print(rejection, file=sys.stderr)

    result = jobs.import_articles_file(c.settings, c.engine, path, report)
    out.print(f"{path}: {result.summary}")
    if result.rejected:
        raise typer.Exit(1)


@articles_app.command("retract")
def articles_retract(
    ctx: typer.Context,
    source_id: Annotated[str, typer.Argument(metavar="ID", help="The article's source id")],
    reason: Annotated[str, typer.Option(help="Why, shown to partners in the tombstone")] = "",
) -> None:
    """Retract an article: it stays in the store and feeds carry a tombstone for it."""
    c = _context(ctx)
    if jobs.retract_article(c.settings, c.engine, source_id, reason):
        out.print(f"article {source_id} retracted")
    else:
        out.print(f"article {source_id} was already retracted")


# -- digest -------------------------------------------------------------------------------


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
    c = _context(ctx)
    period_date = None
    if period is not None:
        try:
            period_date = date.fromisoformat(period)
        except ValueError:
            raise InputError(f"--period {period!r}: not a date such as 2026-11-18") from None
    report = jobs.preview_digest(c.settings, c.engine, list_slug, period_date, to, out_dir)
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


# -- the web app -------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve the feeds, the subscription pages and the digest archive over HTTP."""
    import uvicorn

    from syndication import db
    from syndication.web import create_app

    c = _context(ctx)
    db.require_current_schema(c.engine)
    web_app = create_app(c.settings, c.engine)
    out.print(f"serving {c.settings.site.title} on http://{host}:{port}/ (Ctrl-C stops)")
    # One worker: rate limits and the feed cache live in this process. Behind a reverse
    # proxy on the same host, X-Forwarded-For from 127.0.0.1 names the real client.
    uvicorn.run(web_app, host=host, port=port, proxy_headers=True, log_level="warning")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
