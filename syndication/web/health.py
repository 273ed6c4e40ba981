"""``/healthz``: the database answers, and how far the feeds and the outbox are behind.

The numbers are :func:`syndication.services.status.health_status`'s, counted as the rest
of the status report counts them (``status``, the console, ``/metrics``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from syndication.services.status import HealthStatus, health_problems, health_status
from syndication.web.pages import NO_STORE, Pages

log = logging.getLogger(__name__)


def health_body(report: HealthStatus) -> dict[str, object]:
    """The JSON body beyond "the database answered".

    ``feeds``: the change number the feed files reflect, the store's newest, how many
    changes the feeds are behind with each missing feed file counted as one (readers get
    404s); a number that keeps growing means the feed job is not running.
    ``last_poll``: when the scheduler's poll job last finished (ISO 8601, UTC) and whether
    it succeeded, or ``None`` when no scheduler has run yet.
    ``outbox_backlog``: deliveries still to go out (queued, held or being sent);
    ``outbox_held``: those of them that wait on a held digest.
    ``bounce_intake_backlog``: bounce reports stored but not yet processed; one that keeps
    growing means ``bounces serve`` stopped processing; ``bounce_intake_failed``: reports
    whose processing raised (each is kept, marked failed, and the queue goes on).
    ``transactional_mail``: readers awaiting confirmation; confirmation and test mails
    queued (not handed over yet), those of them retrying after a failure, those given up
    on in the last 7 days, and when the oldest unsent one was queued. One waiting past 10
    minutes, or any given up on, makes the status "degraded".
    """
    feeds, poll = report.feeds, report.last_poll
    return {
        "feeds": {
            "built_to": feeds.built_to,
            "store_at": feeds.store_at,
            "behind": feeds.behind,
            "missing_files": feeds.missing_files,
        },
        "last_poll": None
        if poll is None
        else {"finished_at": poll.finished_at.isoformat(), "ok": poll.ok},
        "outbox_backlog": report.outbox.backlog,
        "outbox_held": report.outbox.held,
        "bounce_intake_backlog": report.intake.backlog,
        "bounce_intake_failed": report.intake.failed,
        "transactional_mail": {
            "awaiting_confirmation": report.mail.awaiting_confirmation,
            "queued": report.mail.queued,
            "retrying": report.mail.retrying,
            "gave_up": report.mail.gave_up,
            "oldest_queued_at": None
            if report.mail.oldest_queued_at is None
            else report.mail.oldest_queued_at.isoformat(),
        },
    }


class HealthPage(Pages):
    """What a load balancer or a monitor asks."""

    now: Callable[[], datetime]  # the app's clock (tests pass their own)

    async def healthz(self, request: Request) -> Response:
        try:
            now = self.now()
            report = await run_in_threadpool(health_status, self.settings, self.engine, now)
        except SQLAlchemyError as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "error", "database": "unreachable"}, 503, NO_STORE)
        # Degraded is still 200: the service answers; a monitor reads "problems".
        problems = health_problems(report, now)
        state = {"status": "degraded", "problems": problems} if problems else {"status": "ok"}
        body = {**state, "database": "ok", **health_body(report)}
        return JSONResponse(body, headers=NO_STORE)
