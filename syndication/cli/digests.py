"""``digest preview|compile|approve|hold|resume|cancel|clicks``."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer

from syndication.cli.base import cli_actor, context, group, out, parse_period

digest_app = group(
    "digest", "Digest e-mails: preview, compile, approve, hold, resume, cancel, clicks."
)


@digest_app.command("preview")
def digest_preview(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Argument(metavar="LIST", help="The list's slug")],
    out_dir: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the preview files")
    ],
    period: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The period containing DATE (YYYY-MM-DD) [default: latest complete period]",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help='Sample recipient, "Name <address>"', show_default=False
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            metavar="TAG",
            help='One language\'s copy of a "reader" list (a tag of [languages] available)'
            " [default: the list's language]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write digest.html, digest.txt and message.eml of one digest for a sample recipient."""
    from syndication.core.digests import HTML_LIMIT
    from syndication.services.digests import preview

    c = context(ctx)
    report = preview.preview_digest(
        c.settings, c.engine, list_slug, parse_period(period), to, out_dir, language=language
    )
    out.print(f"subject: {report.subject}")
    if report.compiled_at is not None:
        out.print(
            f"compiled {report.compiled_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: the stored "
            "copy its readers get (articles changed since are not in it)"
        )
        out.print(f"articles: {report.article_count}")
    else:
        more = report.article_count - (report.shown or 0)
        out.print(
            f"articles: {report.article_count}"
            + (f" ({report.shown} in the e-mail, {more} more on the website)" if more else "")
        )
    out.print(f"HTML: {report.html_bytes:,} bytes (limit {HTML_LIMIT:,})")
    out.print(
        f"preview of {report.list_slug} {report.period_key}"
        + (f" in {report.language}" if language else "")
        + f" written to {out_dir}/: "
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
    from syndication.clock import utc_now
    from syndication.services.digests import compiling

    c = context(ctx)
    for report in compiling.compile_digests(
        c.signing(), c.engine, list_slug, parse_period(period), utc_now()
    ):
        where = f"{report.list_slug} {report.period_key}"
        if report.empty:
            out.print(f"{where}: no articles in this period; no digest")
        elif report.created:
            held = ""
            if c.settings.mailing_list(report.list_slug).approval == "manual":
                held = f"; held until approved ('syndication digest approve {where}')"
            out.print(
                f"{where}: {report.articles} articles; {report.queued} deliveries queued{held}"
            )
        else:
            out.print(f"{where}: already compiled; nothing added")


# -- approval (issue 12) ----------------------------------------------------------------

ListArg = Annotated[str, typer.Argument(metavar="LIST", help="The list's slug")]
PeriodArg = Annotated[
    str, typer.Argument(metavar="PERIOD", help="The digest's period key (YYYY-MM-DD)")
]


def _act(ctx: typer.Context, action: str, list_slug: str, period: str) -> None:
    from syndication.clock import utc_now
    from syndication.services.digests import approval

    c = context(ctx)
    work = {
        "approve": approval.approve,
        "hold": approval.hold,
        "resume": approval.resume,
        "cancel": approval.cancel,
    }[action]
    result = work(c.settings, c.engine, list_slug, period, cli_actor(), utc_now())
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.deliveries.items())) or "none"
    extra = f"; {result.skipped} unsent deliveries cancelled" if result.skipped else ""
    if result.in_flight_note:
        extra += f"; {result.in_flight_note}"
    out.print(
        f"{list_slug} {period}: {result.before} -> {result.after}{extra} (deliveries: {counts})"
    )


@digest_app.command("approve")
def digest_approve(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
    """Approve a held digest of a manual-approval list; it goes out with the next send."""
    _act(ctx, "approve", list_slug, period)


@digest_app.command("hold")
def digest_hold(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
    """Stop a digest: nothing more of it is sent until it is resumed."""
    _act(ctx, "hold", list_slug, period)


@digest_app.command("resume")
def digest_resume(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
    """Let a held digest go on: exactly its unsent deliveries are sent."""
    _act(ctx, "resume", list_slug, period)


@digest_app.command("cancel")
def digest_cancel(ctx: typer.Context, list_slug: ListArg, period: PeriodArg) -> None:
    """Cancel a digest: nothing more of it is ever sent."""
    _act(ctx, "cancel", list_slug, period)


# -- clicks (issue 31) ------------------------------------------------------------------


@digest_app.command("clicks")
def digest_clicks(
    ctx: typer.Context,
    list_slug: ListArg,
    period: Annotated[
        str, typer.Option(metavar="DATE", help="The period containing DATE (YYYY-MM-DD)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array of objects")] = False,
) -> None:
    """Per article of one digest: readers' clicks, scanner requests and copies delivered."""
    import json

    from syndication.services import clicks

    c = context(ctx)
    day = parse_period(period)
    assert day is not None
    rows = clicks.report_for(c.settings, c.engine, list_slug, day)
    if as_json:
        typer.echo(json.dumps(clicks.as_json(rows), ensure_ascii=False, indent=2))
        return
    if not rows:
        out.print(f"{list_slug} {period}: no click counts (the list does not count clicks)")
        return
    readers = sum(row.reader_clicks for row in rows)
    scanners = sum(row.scanner_requests for row in rows)
    out.print(
        f"{readers:,} readers' clicks, {scanners:,} scanner requests, "
        f"{rows[0].delivered:,} copies delivered"
    )
    for row in rows:
        out.print(
            f"{row.reader_clicks:>7,} {row.scanner_requests:>7,} "
            f"{row.click_through:>7.1%}  {row.source_id}  {row.title}"
        )
