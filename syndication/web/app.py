"""The web app: feeds over HTTP, subscribe with double opt-in, unsubscribe, preferences,
the digest archive, counted digest links (``/r/``), a health check, the push API, the
console and metrics. ``create_app(settings, engine)`` builds it from one module per concern
(pages.py, subscription.py, archive.py, clicks.py, health.py, feeds.py, api.py, admin/,
metrics.py, security.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from syndication.clock import utc_now
from syndication.services.clicks import ClickCounter
from syndication.settings import Settings
from syndication.web import api
from syndication.web.admin import admin_routes
from syndication.web.archive import ArchivePages
from syndication.web.clicks import ClickPages, Redirects, flusher
from syndication.web.feeds import FeedServer
from syndication.web.health import HealthPage
from syndication.web.metrics import metrics_route
from syndication.web.pages import FORM_LIMIT
from syndication.web.security import (
    BodyDeadline,
    ClientRateLimiter,
    ForwardedClient,
    SecurityHeaders,
)
from syndication.web.subscription import SubscriptionPages


class Web(SubscriptionPages, ArchivePages, HealthPage, ClickPages):
    """The public pages' state and endpoints; one instance per app."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        subscribe_limit: ClientRateLimiter,
        confirm_limit: ClientRateLimiter,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__(settings, engine)
        self.subscribe_limit = subscribe_limit
        self.confirm_limit = confirm_limit
        self.now = now
        self.counter = ClickCounter(settings, engine, now)


class App(Starlette):
    """Starlette with the counted links' hot path (:class:`~syndication.web.clicks.
    Redirects`) ahead of its middleware and router; set ``redirects`` after building."""

    redirects: Redirects | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.redirects is not None
            and scope["type"] == "http"
            and scope["path"].startswith("/r/")
            and await self.redirects.answer(scope, send)
        ):
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    subscribe_limit: ClientRateLimiter | None = None,
    confirm_limit: ClientRateLimiter | None = None,
    api_limit: ClientRateLimiter | None = None,
    now: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The ASGI app. Limits default to 10 sign-ups per client per 10 minutes and 3
    confirmation mails per address per day; tests pass their own, and their own clock
    for sign-up, confirmation, ``/healthz``, the console and metrics (``now``)."""
    web = Web(
        settings,
        engine,
        subscribe_limit or ClientRateLimiter(10, 600),
        confirm_limit or ClientRateLimiter(3, 86400),
        now,
    )
    feeds = FeedServer(settings.feeds.dir)
    token_methods = ["GET", "POST"]
    routes: list[BaseRoute] = [
        Route("/", web.home, methods=["GET"]),
        Route("/subscribe", web.subscribe, methods=["POST"], max_body_size=FORM_LIMIT),
        Route("/confirm/{token}", web.confirm, methods=token_methods, max_body_size=FORM_LIMIT),
        Route(
            "/unsubscribe/{token}", web.unsubscribe, methods=token_methods, max_body_size=FORM_LIMIT
        ),
        Route(
            "/preferences/{token}", web.preferences, methods=token_methods, max_body_size=FORM_LIMIT
        ),
        Route("/digests/", web.digest_index, methods=["GET"]),
        Route("/digests/{list_slug}/{period}", web.digest, methods=["GET"]),
        Route("/digests/{list_slug}/{period}/{language}", web.digest_in_language, methods=["GET"]),
        Route("/healthz", web.healthz, methods=["GET"]),
        Route("/r/{token}", web.redirect, methods=["GET", "HEAD"]),  # counted links (issue 31)
        Route("/static/site.css", web.stylesheet_file, methods=["GET"]),
        Route("/feeds/{path:path}", feeds, methods=["GET", "HEAD", "OPTIONS"]),
        *api.routes(settings, engine, api_limit),  # the push API (issue 11)
    ]
    # The operator console and Prometheus metrics (issue 12).
    routes += admin_routes(settings, engine, now)
    routes.append(metrics_route(settings, engine, now))
    app = App(
        routes=routes,
        lifespan=flusher(web.counter),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(ForwardedClient, trusted=settings.web.trusted_proxies),
            Middleware(
                BodyDeadline,
                seconds=settings.web.body_timeout_seconds,
                larger=(("/api/", api.MAX_BODY),),
            ),
        ],
        exception_handlers={
            404: _api_json(web.not_found),
            405: _api_json(web.not_found),
            500: _api_json(web.server_error),
        },
    )
    app.redirects = Redirects(web.counter)
    app.state.clicks = web.counter  # tests and the bench flush it by hand
    return app


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _api_json(page: Handler) -> Handler:
    """``page`` for the site; under ``/api/`` the same status as JSON, as the push API
    answers everything (a 405 keeps its ``Allow``)."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/api/"):
            return await page(request, exc)
        if isinstance(exc, HTTPException):
            message = {404: "no such API endpoint", 405: "method not allowed here"}.get(
                exc.status_code, exc.detail
            )
            return api.json_error(exc.status_code, message, dict(exc.headers or {}))
        return api.json_error(500, "internal error; the server's log says more")

    return handler
