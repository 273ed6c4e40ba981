"""``/admin/``: the state of the service at a glance, from the one status report."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from syndication.services.status import service_status, unsent_mails
from syndication.web.admin.charts import bar_chart, line_chart
from syndication.web.admin.common import Admin, Viewer

FUNNEL = ("sent", "bounced", "complained")
DIGEST_LIMIT = 10
UNSENT_LIMIT = 20


async def dashboard(admin: Admin, request: Request, viewer: Viewer) -> Response:
    view = await run_in_threadpool(
        lambda: service_status(
            admin.settings, admin.engine, digest_limit=DIGEST_LIMIT, growth=True, now=admin.now()
        )
    )
    unsent = await run_in_threadpool(unsent_mails, admin.engine, UNSENT_LIMIT)
    # In the table's order (newest first), labelled with list and period in full.
    digests = view.digests
    funnel = bar_chart(
        [
            (
                f"{d.list_slug} {d.period_key}",
                {
                    "sent": d.deliveries.get("sent", 0),
                    "bounced": d.bounced,
                    "complained": d.complained,
                },
            )
            for d in digests
        ],
        FUNNEL,
    )
    lists = [(ml, view.lists.get(ml.slug, {})) for ml in admin.settings.lists]
    # Configured sources, with what the last polls left (none yet: never polled).
    polled = {source.name: source for source in view.sources}
    sources = [(s.name, s.kind, polled.get(s.name)) for s in admin.settings.sources]
    # Readers and articles by language (issue 30): the newsroom's, then any other found.
    languages = view.languages.languages(admin.settings.languages.available)
    return admin.page(
        "dashboard.html",
        viewer,
        view=view,
        lists=lists,
        languages=languages,
        language_names={tag: admin.settings.languages.name(tag) for tag in languages},
        sources=sources,
        statuses=("active", "pending", "bounced", "complained", "unsubscribed"),
        growth=line_chart(view.growth, admin.now()),
        funnel=funnel,
        funnel_keys=FUNNEL,
        jobs=view.jobs,
        unsent=unsent,
        now=admin.now(),
    )
