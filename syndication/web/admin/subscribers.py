"""``/admin/subscribers``: a page of subscribers by filter with the count, one subscriber's
lists, consent, history and audit record, actions, the export (operators only)."""

from __future__ import annotations

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from syndication.errors import InputError, NotFoundError
from syndication.services import audit, privacy, subscribers
from syndication.web.admin.common import (
    PAGE_SIZE,
    ActionHandler,
    Admin,
    Viewer,
    date_range,
    id_param,
    page_number,
    paged,
    query_param,
    query_string,
    redirect,
)
from syndication.web.pages import NO_STORE

DONE = {
    "unsubscribe": "Unsubscribed from every list.",
    "suppress": "Suppressed: this address is never mailed again unless restored.",
    "restore": "Restored: the address may be mailed again.",
}


def _filter(admin: Admin, request: Request) -> subscribers.SubscriberFilter:
    """The page's filters, each checked (a 400 names a field whose value is not one): the
    page and its export read them here, so the export holds the rows the page shows."""
    query = query_param(request, "q")
    list_slug = query_param(request, "list")
    status = query_param(request, "status")
    known = [ml.slug for ml in admin.settings.lists]
    if list_slug and list_slug not in known:
        raise InputError(f"list: {list_slug[:40]!r} is not a list ({', '.join(known)})")
    if status and status not in subscribers.STATUSES:
        raise InputError(f"status: {status[:20]!r}: one of {', '.join(subscribers.STATUSES)}")
    since, until = date_range(admin, request)
    return subscribers.SubscriberFilter(query, list_slug, status, since, until)


def _scope(request: Request, where: subscribers.SubscriberFilter) -> list[str]:
    """The filters in force, in words, for the page to say what its export holds."""
    said = []
    if where.list_slug:
        said.append(f"list {where.list_slug}")
    if where.status:
        said.append(f"status {where.status}")
    if where.query:
        said.append(f"address or name containing “{where.query}”")
    since, until = request.query_params.get("from", ""), request.query_params.get("to", "")
    if since or until:
        said.append(f"signed up {since or '…'} to {until or '…'}")
    return said


async def search(admin: Admin, request: Request, viewer: Viewer) -> Response:
    """Subscribers by address, 50 a page, with the count: narrowed by ``q`` (part of an
    address or name), ``list``, ``status`` and the sign-up dates ``from``/``to``."""
    where = _filter(admin, request)
    number = page_number(request)
    found = await run_in_threadpool(
        subscribers.page, admin.engine, where, PAGE_SIZE, (number - 1) * PAGE_SIZE
    )
    return admin.page(
        "subscribers.html",
        viewer,
        query=where.query,
        list_slug=where.list_slug,
        chosen_status=where.status,
        lists=[ml.slug for ml in admin.settings.lists],
        statuses=subscribers.STATUSES,
        rows=found.rows,
        export_query=query_string(request, page=""),
        export_scope=_scope(request, where),
        **paged(request, found.total, number),
    )


async def detail(admin: Admin, request: Request, viewer: Viewer) -> Response:
    subscriber_id = id_param(request, "subscriber_id")

    history = await run_in_threadpool(subscribers.history, admin.engine, subscriber_id)
    if history is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    consent = await run_in_threadpool(privacy.consent_history, admin.engine, subscriber_id)
    done = DONE.get(request.query_params.get("done", ""), "")
    actions = await run_in_threadpool(audit.about, admin.engine, "subscriber", str(subscriber_id))
    return admin.page(
        "subscriber.html", viewer, history=history, consent=consent, done=done, audit=actions
    )


def action(name: str) -> ActionHandler:
    """The handler of ``POST /admin/subscribers/<id>/<name>``."""

    async def handler(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
        subscriber_id = id_param(request, "subscriber_id")
        now = admin.now()
        actor = viewer.actor
        if name == "unsubscribe":
            await run_in_threadpool(
                lambda: subscribers.unsubscribe(admin.engine, subscriber_id, now, actor=actor)
            )
        elif name == "suppress":
            await run_in_threadpool(subscribers.suppress, admin.engine, subscriber_id, actor, now)
        else:
            await run_in_threadpool(
                lambda: subscribers.restore(admin.engine, subscriber_id, now, actor=actor)
            )
        return redirect(f"/admin/subscribers/{subscriber_id}", done=name)

    return handler


async def export(admin: Admin, request: Request, viewer: Viewer) -> Response:
    """The subscribers the page's filters match (everyone, with the suppressed addresses
    that have no record, when none is set) as CSV (operators only: the route says so);
    the export is an audit record naming the filters."""
    where = _filter(admin, request)
    now = admin.now()
    stamp = now.astimezone(admin.settings.site.tz).strftime("%Y%m%d-%H%M")
    shown = query_string(request, page="") if where.narrows else "everything"
    await run_in_threadpool(
        audit.record,
        admin.engine,
        viewer.actor,
        "subscribers-export",
        "export",
        "subscribers",
        now,
        shown,
    )
    return StreamingResponse(
        iterate_in_threadpool(subscribers.export_csv(admin.engine, where)),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "content-disposition": f'attachment; filename="subscribers-{stamp}.csv"',
        },
    )
