"""``/admin/subscribers``: search, one subscriber's lists, consent and history, actions,
export."""

from __future__ import annotations

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from syndication.errors import NotFoundError
from syndication.services import privacy, subscribers
from syndication.web.admin.common import (
    ActionHandler,
    Admin,
    Viewer,
    id_param,
    query_param,
    redirect,
)
from syndication.web.pages import NO_STORE

DONE = {
    "unsubscribe": "Unsubscribed from every list.",
    "suppress": "Suppressed: this address is never mailed again unless restored.",
    "restore": "Restored: the address may be mailed again.",
}


async def search(admin: Admin, request: Request, viewer: Viewer) -> Response:
    query = query_param(request, "q")

    rows = await run_in_threadpool(subscribers.search, admin.engine, query)
    return admin.page("subscribers.html", viewer, query=query, rows=rows)


async def detail(admin: Admin, request: Request, viewer: Viewer) -> Response:
    subscriber_id = id_param(request, "subscriber_id")

    history = await run_in_threadpool(subscribers.history, admin.engine, subscriber_id)
    if history is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    consent = await run_in_threadpool(privacy.consent_history, admin.engine, subscriber_id)
    done = DONE.get(request.query_params.get("done", ""), "")
    return admin.page("subscriber.html", viewer, history=history, consent=consent, done=done)


def action(name: str) -> ActionHandler:
    """The handler of ``POST /admin/subscribers/<id>/<name>``."""

    async def handler(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
        subscriber_id = id_param(request, "subscriber_id")
        now = admin.now()
        if name == "unsubscribe":
            await run_in_threadpool(subscribers.unsubscribe, admin.engine, subscriber_id, now)
        elif name == "suppress":
            await run_in_threadpool(
                subscribers.suppress, admin.engine, subscriber_id, viewer.user.email, now
            )
        else:
            await run_in_threadpool(subscribers.restore, admin.engine, subscriber_id, now)
        return redirect(f"/admin/subscribers/{subscriber_id}", done=name)

    return handler


async def export(admin: Admin, request: Request, viewer: Viewer) -> Response:
    stamp = admin.now().astimezone(admin.settings.site.tz).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        iterate_in_threadpool(subscribers.export_csv(admin.engine)),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "content-disposition": f'attachment; filename="subscribers-{stamp}.csv"',
        },
    )
