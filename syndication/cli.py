"""The ``syndication`` command. Parses arguments, calls :mod:`syndication.jobs`, prints.

Operator errors (:class:`SyndicationError`) are printed as one line without a traceback
and end the command with a non-zero status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from syndication import cli_console, jobs, scheduled, scheduling
from syndication.console import configure_logging, progress
from syndication.digest import HTML_LIMIT
from syndication.errors import InputError, SyndicationError
from syndication.importer import Rejection
from syndication.sender import SendReport
from syndication.settings import Settings, load_settings, resolve_config_path

app = typer.Typer(
    help="Feeds and digest e-mails from a newsroom's article store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
articles_app = typer.Typer(help="Put articles into the news store.", no_args_is_help=True)
app.add_typer(articles_app, name="articles")
digest_app = typer.Typer(
    help="Digest e-mails: preview, compile, approve, hold, resume, cancel.", no_args_is_help=True
)
app.add_typer(digest_app, name="digest")
subscribers_app = typer.Typer(help="Manage mailing-list subscribers.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")

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

    def signing(self) -> Settings:
        """The settings with a signing key (made on first use for the demo)."""
        self.settings, warning = jobs.with_secret_key(self.settings)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        return self.settings


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
    report = jobs.store_status(c.engine)
    summary = report.store
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
    out.print("lists:")
    for mailing_list in c.settings.lists:
        by_status = report.lists.get(mailing_list.slug, {})
        shown = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items())) or "nobody"
        out.print(f"  {mailing_list.slug:<28} {shown}")
    if report.digests:
        out.print("digests:")
    for digest in report.digests:
        shown = ", ".join(f"{n} {status}" for status, n in sorted(digest.counts.items()))
        out.print(f"  {digest.list_slug:<28} {digest.period_key}  {shown or 'no recipients'}")
    _print_jobs(c)


def _print_jobs(c: Context) -> None:
    """Each scheduled job's next run (from the job store) and its last recorded result."""
    tz = c.settings.site.tz
    planned = {job.job_id: job.next_run for job in scheduling.stored_jobs(c.engine)}
    runs = scheduled.last_runs(c.engine)
    if not planned and not runs:
        out.print("scheduler: never ran on this database")
        return
    out.print("scheduler jobs:")
    for job_id in sorted(set(planned) | set(runs)):
        when = planned.get(job_id)
        next_run = (
            "not scheduled" if when is None else f"next {when.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        )
        run = runs.get(job_id)
        if run is None:
            last = "never ran"
        else:
            at = f"{run.finished_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
            if not run.ok:
                last = f"FAILED at {at}: {run.error}"
            elif run.skipped:
                last = f"SKIPPED at {at}: {run.summary}"
            else:
                last = f"last {at}: {run.summary}"
        out.print(f"  {job_id:<28} {next_run}; {last}")


def _print_rejection(rejection: Rejection) -> None:
    print(rejection, file=sys.stderr)


@articles_app.command("import")
def articles_import(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="JSON Lines file, or - for standard input")],
) -> None:
    """Import articles from JSON Lines (upsert by id). Exit 1 if any line was rejected."""
    c = _context(ctx)
    result = jobs.import_articles_file(c.settings, c.engine, path, _print_rejection)
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
    report = jobs.preview_digest(c.settings, c.engine, list_slug, _period(period), to, out_dir)
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


def _period(period: str | None) -> date | None:
    if period is None:
        return None
    try:
        return date.fromisoformat(period)
    except ValueError:
        raise InputError(f"--period {period!r}: not a date such as 2026-11-18") from None


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
    c = _context(ctx)
    for report in jobs.compile_digests(c.signing(), c.engine, list_slug, _period(period)):
        where = f"{report.list_slug} {report.period_key}"
        if report.empty:
            out.print(f"{where}: no articles in this period; no digest")
        elif report.created:
            out.print(f"{where}: {report.articles} articles; {report.queued} deliveries queued")
        else:
            out.print(f"{where}: already compiled; nothing added")


@app.command()
def send(
    ctx: typer.Context,
    workers: Annotated[
        int | None,
        typer.Option(help="Parallel connections [default: mail.smtp.connections, 1 for files]"),
    ] = None,
    lease_seconds: Annotated[
        float, typer.Option(help="How long a claimed message is reserved for this sender")
    ] = 120.0,
    max_wait: Annotated[
        float, typer.Option(help="Seconds to keep retrying while the server is unreachable")
    ] = 300.0,
) -> None:
    """Deliver queued digests with the configured transport; exit 1 if any remain."""
    c = _context(ctx)
    settings = c.signing()
    if workers is None:
        workers = settings.mail.smtp.connections if settings.mail.transport == "smtp" else 1
    total = jobs.outbox_backlog(c.engine)
    stop = scheduling.install_stop_handlers(lambda: None)
    with progress("sending", total) as bar:

        def show(report: SendReport) -> None:
            done = report.sent + report.bounced + report.retried
            status = f"sent {report.sent}, failed {report.retried + report.bounced}"
            bar.advance_to(done, status=status)

        report = jobs.send_digests(
            settings,
            c.engine,
            workers=max(1, workers),
            now=jobs.utc_now,
            stop=stop,
            lease=timedelta(seconds=lease_seconds),
            max_wait=max_wait,
            on_progress=show,
        )
    left = jobs.outbox_backlog(c.engine)
    out.print(
        f"sent {report.sent}, retry later {report.retried}, bounced {report.bounced}; "
        f"{left} still queued"
    )
    if report.unavailable:
        print(f"error: {report.unavailable}", file=sys.stderr)
    if report.errors or report.unavailable:
        raise typer.Exit(1)


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run poll, the due digests and deliver, then exit")
    ] = False,
) -> None:
    """Run the scheduler (as python scheduler.py does): feeds, digests, delivery."""
    c = _context(ctx)
    code = scheduling.run_once(c.settings) if once else scheduling.run(c.settings)
    if code:
        raise typer.Exit(code)


# -- subscribers --------------------------------------------------------------------------


@subscribers_app.command("import")
def subscribers_import(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV file with the header email,name,lists")],
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="You hold their consent: make them active now")
    ] = False,
) -> None:
    """Import subscribers from CSV; new ones get the confirmation mail. Exit 1 on bad rows."""
    c = _context(ctx)
    report = jobs.import_subscribers_file(
        c.signing(), c.engine, path, confirmed=confirmed, on_rejection=_print_rejection
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
    c = _context(ctx)
    result = jobs.add_subscriber(c.signing(), c.engine, email, lists, name, confirmed=confirmed)
    action = "added" if result.created else "updated"
    note = "; confirmation mail sent" if result.needs_confirmation else ""
    out.print(f"{email}: {action}, {result.status}{note}")


@subscribers_app.command("remove")
def subscribers_remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="The address")]
) -> None:
    """Unsubscribe an address from every list."""
    jobs.remove_subscriber(_context(ctx).engine, email)
    out.print(f"{email}: unsubscribed from every list")


@subscribers_app.command("export")
def subscribers_export(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="CSV file to write [default: stdout]")] = None,
) -> None:
    """Write every subscriber as CSV: email,name,lists,status."""
    c = _context(ctx)
    if path is None:
        jobs.export_subscribers(c.engine, sys.stdout)
        return
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        count = jobs.export_subscribers(c.engine, handle)
    temporary.replace(path)
    out.print(f"{path}: {count} subscribers")


# -- feeds (issue 3) ----------------------------------------------------------------------

feeds_app = typer.Typer(help="Build the RSS, Atom and JSON feeds.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.command("build")
def feeds_build(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild every feed, not only the changed topics")
    ] = False,
) -> None:
    """Write the feeds of the topics changed since the last build; print what changed."""
    c = _context(ctx)
    report = jobs.build_feeds(c.settings, c.engine, force_all=everything)
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
    web_app = create_app(c.signing(), c.engine)
    out.print(f"serving {c.settings.site.title} on http://{host}:{port}/ (Ctrl-C stops)")
    # One worker: rate limits and the feed cache live in this process. Behind a reverse
    # proxy on the same host, X-Forwarded-For from 127.0.0.1 names the real client.
    uvicorn.run(web_app, host=host, port=port, proxy_headers=True, log_level="warning")


cli_console.register(app, digest_app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SyndicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
