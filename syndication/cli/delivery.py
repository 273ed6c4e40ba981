"""``send``: deliver the queued digests."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syndication.cli.base import app, context, out
from syndication.core.deliveries import LEASE


@app.command()
def send(
    ctx: typer.Context,
    workers: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Parallel connections [default: mail.smtp.connections, 1 for files]"
        ),
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="How long a claimed message is reserved for this sender"
        ),
    ] = LEASE.total_seconds(),
    max_wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds to keep retrying while the server is unreachable"
        ),
    ] = 300.0,
) -> None:
    """Deliver queued digests with the configured transport; exit 1 if any remain."""
    from datetime import timedelta

    from syndication import clock
    from syndication.scheduler import runner as scheduling
    from syndication.services import delivery
    from syndication.services.send_loop import SendReport
    from syndication.services.status import outbox
    from syndication.terminal import progress

    c = context(ctx)
    settings = c.signing()
    options = delivery.SendOptions.from_settings(
        settings, max_wait=max_wait, workers=workers, lease=timedelta(seconds=lease_seconds)
    )
    before = outbox(c.engine)
    total = before.queued + before.sending
    stop = scheduling.install_stop_handlers(lambda: None)
    with progress("sending", total) as bar:

        def show(report: SendReport) -> None:
            done = report.sent + report.bounced + report.retried
            status = f"sent {report.sent}, failed {report.retried + report.bounced}"
            bar.advance_to(done, status=status)

        report = delivery.send_digests(
            settings, c.engine, now=clock.utc_now, options=options, stop=stop, on_progress=show
        )
    after = outbox(c.engine)
    left, held = after.backlog, after.held
    out.print(
        f"sent {report.sent}, retry later {report.retried}, bounced {report.bounced}; "
        f"{left} still queued" + (f" ({held} of them held: see 'digest resume')" if held else "")
    )
    if report.unavailable:
        print(f"error: {report.unavailable}", file=sys.stderr)
    if report.errors or report.unavailable:
        raise typer.Exit(1)
