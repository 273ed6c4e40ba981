"""``/admin/articles``: newest first, search, retract with a reason."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from syndication.services import console
from syndication.store import article_queries as queries
from syndication.store import database as db
from syndication.web.admin.common import Admin, Viewer, id_param, query_param, redirect


async def search(admin: Admin, request: Request, viewer: Viewer) -> Response:
    query = query_param(request, "q")

    def read() -> list[queries.ArticleRow]:
        with db.read_session(admin.engine) as session:
            return queries.search_articles(session, query)

    rows = await run_in_threadpool(read)
    retracted = query_param(request, "retracted")
    return admin.page("articles.html", viewer, query=query, rows=rows, retracted=retracted)


async def retract(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
    article_id = id_param(request, "article_id")
    reason = form.get("reason")
    source_id = await run_in_threadpool(
        console.retract,
        admin.engine,
        article_id,
        reason if isinstance(reason, str) else "",
        admin.now(),
    )
    return redirect("/admin/articles", retracted=source_id)
