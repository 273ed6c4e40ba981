"""``/admin/articles``: newest first, search, retract with a reason."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from syndication.services import articles
from syndication.web.admin.common import Admin, Viewer, id_param, query_param, redirect


async def search(admin: Admin, request: Request, viewer: Viewer) -> Response:
    query = query_param(request, "q")
    rows = await run_in_threadpool(articles.search, admin.engine, query)
    retracted = query_param(request, "retracted")
    held = query_param(request, "held")
    return admin.page(
        "articles.html", viewer, query=query, rows=rows, retracted=retracted, held=held
    )


async def retract(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
    article_id = id_param(request, "article_id")
    reason = form.get("reason")
    done = await run_in_threadpool(
        lambda: articles.retract(
            admin.engine,
            article_id,
            reason if isinstance(reason, str) else "",
            admin.now(),
            reason_required=True,
            actor=viewer.actor,
        )
    )
    if done.held:
        return redirect("/admin/articles", retracted=done.source_id, held=", ".join(done.held))
    return redirect("/admin/articles", retracted=done.source_id)
