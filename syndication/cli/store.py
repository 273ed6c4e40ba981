"""``init`` and ``status``: the store itself."""

from __future__ import annotations

import typer

from syndication.cli.base import Context, app, context, out


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database and sync topics from the settings (safe to repeat)."""
    from syndication.services import store_admin

    c = context(ctx)
    changed = store_admin.init_store(c.settings, c.engine)
    out.print(
        f"database ready at {c.engine.url.render_as_string(hide_password=True)}; "
        f"{len(c.settings.topics)} topics ({changed} added or changed)"
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """Summarise what is in the store."""
    from syndication.services import store_admin

    c = context(ctx)
    report = store_admin.store_status(c.engine)
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
        _print_bounces(digest.counts, report.bounces.get((digest.list_slug, digest.period_key)))
    if report.intake_backlog:
        out.print(f"bounce intake: {report.intake_backlog} reports stored, not yet processed")
    from syndication.cli.sources import print_source_status

    print_source_status(c.settings, c.engine)
    _print_jobs(c)


def _print_bounces(counts: dict[str, int], events: dict[str, int] | None) -> None:
    """Per digest: bounced (hard/soft/blocked), complained, the complaint rate, alarms."""
    from syndication.core.bounce_rules import digest_alarms

    if not events:
        return
    sent = counts.get("sent", 0) + counts.get("bounced", 0)
    hard, soft, blocked = (events.get(k, 0) for k in ("hard", "soft", "blocked"))
    complaints = events.get("complaint", 0)
    rate = f"{complaints / sent:.2%}" if sent else "n/a"
    out.print(
        f"  {'':<28} bounced {hard + soft + blocked} (hard {hard}, soft {soft}, "
        f"blocked {blocked}); complained {complaints} (complaint rate {rate})"
    )
    for alarm in digest_alarms(sent, complaints, blocked):
        out.print(f"  {'':<28} [bold red]warning:[/bold red] {alarm}")


def _print_jobs(c: Context) -> None:
    """Each scheduled job's next run (from the job store) and its last recorded result."""
    from syndication.store import job_runs

    tz = c.settings.site.tz
    planned = {job.job_id: job.next_run for job in job_runs.stored_jobs(c.engine)}
    runs = job_runs.last_runs(c.engine)
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
