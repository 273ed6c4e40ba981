"""``/admin/``: the state of the service at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from syndication.store import database as db
from syndication.store import job_runs as scheduling
from syndication.store import status as queries
from syndication.web.admin.charts import bar_chart, line_chart
from syndication.web.admin.common import Admin, Viewer

FUNNEL = ("sent", "bounced", "complained")


@dataclass(frozen=True)
class _Data:
    view: queries.Overview
    growth: dict[str, list[tuple[datetime, int]]]
    planned: dict[str, datetime | None]


def _read(admin: Admin) -> _Data:
    with db.read_session(admin.engine) as session:
        view = queries.overview(session, digest_limit=10)
        growth = queries.subscriber_growth(session)
    planned = {job.job_id: job.next_run for job in scheduling.stored_jobs(admin.engine)}
    return _Data(view, growth, planned)


async def dashboard(admin: Admin, request: Request, viewer: Viewer) -> Response:
    data = await run_in_threadpool(_read, admin)
    view, planned = data.view, data.planned
    digests = list(reversed(view.digests))
    funnel = bar_chart(
        [
            (
                f"{d.list_slug} {d.period_key}",
                {
                    "sent": d.deliveries.get("sent", 0),
                    "bounced": d.deliveries.get("bounced", 0),
                    "complained": d.complained,
                },
            )
            for d in digests
        ],
        FUNNEL,
    )
    job_ids = sorted({j.job_id for j in view.jobs} | set(planned))
    jobs = {j.job_id: j for j in view.jobs}
    lists = [(ml, view.subscribers.get(ml.slug, {})) for ml in admin.settings.lists]
    # Configured sources, with what the last polls left (none yet: never polled).
    polled = {source.name: source for source in view.sources}
    sources = [(s.name, s.kind, polled.get(s.name)) for s in admin.settings.sources]
    return admin.page(
        "dashboard.html",
        viewer,
        view=view,
        lists=lists,
        sources=sources,
        statuses=("active", "pending", "bounced", "complained", "unsubscribed"),
        growth=line_chart(data.growth, admin.now()),
        funnel=funnel,
        funnel_keys=FUNNEL,
        jobs=[(job_id, jobs.get(job_id), planned.get(job_id)) for job_id in job_ids],
        now=admin.now(),
    )
