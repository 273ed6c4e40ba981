"""``/admin/audit``: the audit log of operator actions, newest first, by filter, and its
CSV export (operators only, and itself recorded)."""

from __future__ import annotations

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from syndication.core.audit import ACTIONS, SOURCES, SUBJECTS
from syndication.errors import InputError
from syndication.services import audit
from syndication.web.admin.common import (
    PAGE_SIZE,
    Admin,
    Viewer,
    date_range,
    page_number,
    paged,
    query_param,
    query_string,
)
from syndication.web.pages import NO_STORE


def _filter(admin: Admin, request: Request) -> audit.AuditFilter:
    """The page's filters, each checked: a 400 names a field whose value is not one."""
    chosen = {name: query_param(request, name) for name in ("actor", "action", "source", "kind")}
    for name, allowed in (("action", ACTIONS), ("source", SOURCES), ("kind", SUBJECTS)):
        if chosen[name] and chosen[name] not in allowed:
            raise InputError(f"{name}: {chosen[name][:40]!r}: one of {', '.join(allowed)}")
    since, until = date_range(admin, request)
    return audit.AuditFilter(
        actor=chosen["actor"].lower(),
        action=chosen["action"],
        source=chosen["source"],
        subject_kind=chosen["kind"],
        subject_key=query_param(request, "key", 254),
        since=since,
        until=until,
    )


async def index(admin: Admin, request: Request, viewer: Viewer) -> Response:
    where = _filter(admin, request)
    number = page_number(request)
    found = await run_in_threadpool(
        audit.events, admin.engine, where, PAGE_SIZE, (number - 1) * PAGE_SIZE
    )
    return admin.page(
        "audit.html",
        viewer,
        where=where,
        actions=ACTIONS,
        sources=SOURCES,
        kinds=SUBJECTS,
        rows=found.rows,
        export_query=query_string(request, page=""),
        **paged(request, found.total, number),
    )


async def export(admin: Admin, request: Request, viewer: Viewer) -> Response:
    """The rows the page's filters match, oldest first, as CSV; the export is recorded."""
    where = _filter(admin, request)
    now = admin.now()
    stamp = now.astimezone(admin.settings.site.tz).strftime("%Y%m%d-%H%M")
    shown = query_string(request, page="") or "everything"
    await run_in_threadpool(
        audit.record, admin.engine, viewer.actor, "audit-export", "export", "audit", now, shown
    )
    return StreamingResponse(
        iterate_in_threadpool(audit.export_csv(admin.engine, where)),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "content-disposition": f'attachment; filename="audit-{stamp}.csv"',
        },
    )
