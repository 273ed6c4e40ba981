"""``init``, ``backup`` and ``status``: the store itself (``status`` prints the one report)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syndication.cli.base import Context, alarm, app, context, out, strong

if TYPE_CHECKING:
    from syndication.services.status import DigestRow, ServiceStatus


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database and sync topics from the settings (safe to repeat)."""
    from syndication.services import database

    c = context(ctx)
    changed = database.init_store(c.settings, c.engine)
    out.print(
        f"database ready at {c.engine.url.render_as_string(hide_password=True)}; "
        f"{len(c.settings.topics)} topics ({changed} added or changed)"
    )


@app.command()
def backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="The new file to write")],
) -> None:
    """Copy the SQLite database to PATH, consistently, while the service runs."""
    from syndication.services import database

    c = context(ctx)
    done = database.backup(c.engine, path)
    out.print(
        f"backed up {c.engine.url.render_as_string(hide_password=True)} to {done.path} "
        f"({done.size} bytes, schema revision {done.revision or 'none'})"
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """Summarise what is in the store."""
    from syndication.services import database
    from syndication.services.status import deliverability, service_status

    c = context(ctx)
    database.require_current_schema(c.engine)
    # The CLI shows no feed numbers, so it does not look at the feed files on disk.
    report = service_status(c.settings, c.engine, look_at_files=False)
    summary = report.articles
    tz = c.settings.site.tz
    out.print(f"{strong(c.settings.site.title)} ({c.settings.source})")
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
        shown = ", ".join(f"{n} {status}" for status, n in sorted(digest.deliveries.items()))
        out.print(
            f"  {digest.list_slug:<28} {digest.period_key}  {digest.state}: "
            f"{shown or 'no recipients'}"
        )
        _print_bounces(digest)
    _print_mail(report)
    if report.intake.backlog:
        out.print(f"bounce intake: {report.intake.backlog} reports stored, not yet processed")
    if report.bounce_reasons:
        reasons = sorted(report.bounce_reasons.items(), key=lambda item: (-item[1], item[0]))
        out.print("bounce reasons: " + ", ".join(f"{n} {reason}" for reason, n in reasons))
    if report.intake.failed:
        out.print(
            "bounce intake: "
            + alarm(f"{report.intake.failed} reports failed to process")
            + " (kept, marked failed; the queue went on): 'bounces failed' lists them"
        )
    _print_sources(c, report)
    _print_jobs(c, report)
    for note in deliverability(c.settings):
        out.print(f"deliverability: {note}")


def _print_mail(report: ServiceStatus) -> None:
    """Readers awaiting confirmation and the transactional mail queue (issue 29)."""
    mail = report.mail
    line = (
        f"confirmations: {mail.awaiting_confirmation} readers awaiting confirmation; "
        f"{mail.queued} mails queued ({mail.retrying} retrying), {mail.gave_up} given up "
        "in the last 7 days"
    )
    out.print(line)
    if mail.last_error and (mail.retrying or mail.gave_up):
        out.print(f"  {'':<28} [bold red]last error:[/bold red] {mail.last_error}")


def _print_bounces(digest: DigestRow) -> None:
    """Per digest: bounced (hard/soft/blocked), complained, the complaint rate, alarms."""
    from syndication.core.bounce_rules import digest_alarms

    events = digest.bounce_events
    if not events:
        return
    counts = digest.deliveries
    sent = counts.get("sent", 0) + counts.get("bounced", 0)
    hard, soft, blocked = (events.get(k, 0) for k in ("hard", "soft", "blocked"))
    complaints = digest.complained
    rate = f"{complaints / sent:.2%}" if sent else "n/a"
    out.print(
        f"  {'':<28} bounced {digest.bounced} (hard {hard}, soft {soft}, "
        f"blocked {blocked}); complained {complaints} (complaint rate {rate})"
    )
    for warning in digest_alarms(sent, complaints, blocked):
        out.print(f"  {'':<28} {alarm('warning:')} {warning}")


def _print_sources(c: Context, report: ServiceStatus) -> None:
    """Per configured source: last poll, result, cursor, back-off."""
    if not c.settings.sources:
        return
    tz = c.settings.site.tz
    stored = {s.name: s for s in report.sources}
    out.print("sources:")
    for source in c.settings.sources:
        state = stored.get(source.name)
        if state is None or state.last_poll_at is None:
            out.print(f"  {source.name:<28} {source.kind}; never polled")
            continue
        at = f"{state.last_poll_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        line = f"  {source.name:<28} {source.kind}; last poll {at}: "
        line += "OK" if not state.last_error else "FAILED"
        line += f"; cursor {state.cursor or '-'}"
        if state.next_attempt_at:
            wait = f"{state.next_attempt_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
            line += f"; backing off after {state.failures} failures until {wait}"
        out.print(line)
        out.print(f"    {state.last_error or state.last_result}")


def _print_jobs(c: Context, report: ServiceStatus) -> None:
    """Each scheduled job's next run (from the job store) and its last recorded result."""
    tz = c.settings.site.tz
    if not report.jobs:
        out.print("scheduler: never ran on this database")
        return
    leader = report.scheduler
    if leader is not None and leader.last_finished_at is not None:
        # "active on web-1 (pid 4242)" or "stopped on web-1 (pid 4242)", recorded by it.
        state, _, where = leader.last_summary.partition(" on ")
        at = f"{leader.last_finished_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        since = "since" if state == "active" else "at"
        out.print(f"scheduler: {state} on {where} {since} {at}")
    out.print("scheduler jobs:")
    for job in report.jobs:
        when = job.next_run
        next_run = (
            "not scheduled" if when is None else f"next {when.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        )
        if job.last_finished_at is None:
            last = "never ran"
        else:
            at = f"{job.last_finished_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"
            if not job.last_ok:
                last = f"FAILED at {at}: {job.last_error}"
            elif job.last_skipped:
                last = f"SKIPPED at {at}: {job.last_summary}"
            else:
                last = f"last {at}: {job.last_summary}"
        out.print(f"  {job.job_id:<28} {next_run}; {last}")
