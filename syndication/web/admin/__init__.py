"""The operator console under ``/admin`` (issue 12): one module per group of pages.

:func:`admin_routes` gives the routes to mount into the site's app. Pages are GET and
read only; every action is a POST to its own route, an HTML form that works without
JavaScript and can be scripted (see :mod:`syndication.web.admin.common` for the rules).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from syndication.settings import Settings
from syndication.web.admin import articles, audit, auth, dashboard, digests, subscribers
from syndication.web.admin.common import (
    ActionHandler,
    Admin,
    Handler,
    action_route,
    page_route,
)
from syndication.web.pages import FORM_LIMIT, NO_STORE


def admin_routes(
    settings: Settings, engine: Engine, now: Callable[[], datetime]
) -> list[BaseRoute]:
    """The console's routes: ``/admin`` and everything under it."""
    admin = Admin(settings, engine, now)

    def post(path: str, handler: ActionHandler, *, operator: bool = True) -> Route:
        return Route(
            path,
            action_route(admin, handler, operator=operator),
            methods=["POST"],
            max_body_size=FORM_LIMIT,
        )

    def get(path: str, handler: Handler, *, operator: bool = False) -> Route:
        return Route(path, page_route(admin, handler, operator=operator), methods=["GET"])

    async def login_form(request: Request) -> Response:
        return await auth.login_form(admin, request)

    async def login(request: Request) -> Response:
        return await auth.login(admin, request)

    async def stylesheet(request: Request) -> Response:
        return Response(
            admin.stylesheet,
            media_type="text/css; charset=utf-8",
            headers={"cache-control": "public, max-age=3600"},
        )

    async def bare(request: Request) -> Response:
        return RedirectResponse("/admin/", 308, headers=NO_STORE)

    digest = "/digests/{list_slug}/{period}"
    subscriber = "/subscribers/{subscriber_id:int}"
    routes: list[BaseRoute] = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"], max_body_size=FORM_LIMIT),
        post("/logout", auth.logout, operator=False),
        Route("/static/admin.css", stylesheet, methods=["GET"]),
        get("/", dashboard.dashboard),
        get("/digests/", digests.index),
        get(digest, digests.page),
        get(digest + "/preview", digests.preview),
        get(digest + "/clicks.csv", digests.clicks_export, operator=True),  # issue 31
        post(digest + "/hold", digests.action("hold")),
        post(digest + "/resume", digests.action("resume")),
        post(digest + "/approve", digests.action("approve")),
        post(digest + "/cancel", digests.action("cancel")),
        post(digest + "/test", digests.send_test),
        get("/subscribers", subscribers.search),
        get("/subscribers/export.csv", subscribers.export, operator=True),
        get(subscriber, subscribers.detail),
        post(subscriber + "/unsubscribe", subscribers.action("unsubscribe")),
        post(subscriber + "/suppress", subscribers.action("suppress")),
        post(subscriber + "/restore", subscribers.action("restore")),
        get("/articles", articles.search),
        post("/articles/{article_id:int}/retract", articles.retract),
        get("/audit", audit.index),
        get("/audit/export.csv", audit.export, operator=True),
    ]
    return [Route("/admin", bare, methods=["GET"]), Mount("/admin", routes=routes)]
