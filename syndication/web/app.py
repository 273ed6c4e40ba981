"""The web app: feeds over HTTP, subscribe with double opt-in, unsubscribe, preferences,
the digest archive and a health check. ``create_app(settings, engine)`` builds it.

Pages are Jinja2 templates from ``templates/web/`` with autoescaping on, so every string a
visitor or the newsroom supplied is escaped. They use no JavaScript and one stylesheet of
our own, which lets the Content-Security-Policy forbid scripts outright.

Links in our mail carry signed tokens (:mod:`syndication.core.tokens`): the token itself is the
proof that the visitor reads that mailbox, so the unsubscribe and preferences forms need no
CSRF token (a forging site cannot know it), and RFC 8058 one-click unsubscribe works with no
cookie at all. Only the public subscribe form has a CSRF token and a rate limit.

Subscribing answers with the same page whatever the address's state (new, pending, active,
suppressed), so the form cannot be used to learn who subscribes; the confirmation mail is
sent after the answer, in the background, which also keeps the timing alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndication.clock import utc_now
from syndication.core.feeds import expected_paths
from syndication.core.tokens import (
    CONFIRM,
    CONFIRM_MAX_AGE,
    PREFERENCES,
    UNSUBSCRIBE,
    TokenError,
    make_token,
    read_token,
)
from syndication.edges.files import missing_files
from syndication.errors import ConfigError, NotFoundError, RecordError, SyndicationError
from syndication.render.templates import search_path
from syndication.settings import SLUG_RE, Settings
from syndication.store import database as db
from syndication.store import site as webstore
from syndication.store import subscribers
from syndication.web import api
from syndication.web.admin import admin_routes
from syndication.web.feeds import FeedServer
from syndication.web.metrics import metrics_route
from syndication.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    BodyDeadline,
    ClientRateLimiter,
    ForwardedClient,
    SecurityHeaders,
    csrf_ok,
    csrf_token_valid,
    new_csrf_token,
)

log = logging.getLogger(__name__)

FEED_FORMATS = (
    ("rss.xml", "RSS", "application/rss+xml"),
    ("atom.xml", "Atom", "application/atom+xml"),
    ("feed.json", "JSON Feed", "application/feed+json"),
)
FORM_LIMIT = 16 * 1024
NO_STORE = {"cache-control": "no-store"}
PERIOD_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The digest archive shows the stored e-mail itself. Its CSS is inlined into style
# attributes for mail clients, which needs 'unsafe-inline' for styles; scripts, forms and
# frames stay forbidden, and images load only over HTTPS (they are absolute in the mail).
DIGEST_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
P = ParamSpec("P")
T = TypeVar("T")


class Web:
    """The app's state and endpoints; one instance per app."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        subscribe_limit: ClientRateLimiter,
        confirm_limit: ClientRateLimiter,
    ) -> None:
        if not settings.secret_key:
            raise ConfigError(
                "the web app signs its links: set SYNDICATION_SECRET_KEY to a long random string"
            )
        self.settings = settings
        self.engine = engine
        self.subscribe_limit = subscribe_limit
        self.confirm_limit = confirm_limit
        self.templates = Environment(
            loader=FileSystemLoader(search_path(settings, "web")),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.stylesheet = _find(search_path(settings, "web"), "site.css").read_bytes()

    # -- helpers --------------------------------------------------------------------------

    def write(self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kw: P.kwargs) -> T:
        """Run ``work(session, …)`` in one write transaction (call it in a thread)."""
        with db.write_session(self.engine) as session:
            return work(session, *args, **kw)

    def read(self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kw: P.kwargs) -> T:
        """Run ``work(session, …)`` in a read-only session (call it in a thread)."""
        with db.read_session(self.engine) as session:
            return work(session, *args, **kw)

    def page(
        self,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(site=self.settings.site, **context)
        return HTMLResponse(
            html, status, headers={**NO_STORE, **(headers or {})}, background=background
        )

    def message(self, status: int, title: str, body: str, **context: Any) -> HTMLResponse:
        return self.page("message.html", status, title=title, body=body, **context)

    def bad_link(self, exc: TokenError | NotFoundError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return self.message(status, "This link does not work", str(exc))

    def feed_links(self) -> list[dict[str, Any]]:
        base = self.settings.site.feeds_url
        groups = [("all", "Everything", self.settings.site.description)]
        groups += [(t.slug, t.name, t.description) for t in self.settings.topics]
        return [
            {
                "slug": slug,
                "name": name,
                "description": description,
                "feeds": [
                    {"url": f"{base}/{slug}/{file}", "label": label, "type": media}
                    for file, label, media in FEED_FORMATS
                ],
            }
            for slug, name, description in groups
        ]

    # -- pages ----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        secret = self.settings.secret_key
        token = request.cookies.get(CSRF_COOKIE, "")
        fresh = not csrf_token_valid(secret, token)
        if fresh:
            token = new_csrf_token(secret)
        response = self.home_page(token)
        if fresh:
            self.set_csrf_cookie(response, request, token)
        return response

    def home_page(
        self, csrf: str, status: int = 200, error: str = "", form: Mapping[str, Any] | None = None
    ) -> HTMLResponse:
        return self.page(
            "home.html",
            status,
            groups=self.feed_links(),
            opml=f"{self.settings.site.feeds_url}/index.opml",
            lists=self.settings.lists,
            csrf=csrf,
            csrf_field=CSRF_FIELD,
            error=error,
            form=form or {"email": "", "name": "", "lists": []},
        )

    def set_csrf_cookie(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    async def subscribe(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        form = await request.form(max_files=0, max_fields=20)
        cookie = request.cookies.get(CSRF_COOKIE)
        submitted = form.get(CSRF_FIELD)
        if not csrf_ok(
            self.settings.secret_key, cookie, submitted if isinstance(submitted, str) else None
        ):
            return self.message(
                403,
                "Please try again",
                "This form had expired or did not come from our site. "
                "Go back to the home page, reload it and send the form again.",
            )
        if not self.subscribe_limit.allow(client):
            retry = self.subscribe_limit.retry_after(client)
            return self.message(
                429,
                "Too many requests",
                f"We received many sign-ups from your connection. Please wait {retry} "
                "seconds and try again.",
                headers={"retry-after": str(retry)},
            )
        raw_email = str(form.get("email", ""))
        name = str(form.get("name", ""))
        requested = [str(v) for v in form.getlist("lists")]
        values = {"email": raw_email, "name": name, "lists": requested}
        known = {ml.slug for ml in self.settings.lists}
        chosen = [slug for slug in dict.fromkeys(requested) if slug in known]
        try:
            email = subscribers.normalise_email(raw_email)
            name = subscribers.public_name(name)
        except RecordError as exc:
            return self.home_page(str(cookie), 400, exc.reason, values)
        if not chosen:
            return self.home_page(str(cookie), 400, "Choose at least one list.", values)
        now = utc_now()
        to_mail = await run_in_threadpool(
            self.write, webstore.record_signup, email, name, chosen, now
        )
        task = None
        if to_mail is not None and self.confirm_limit.allow(email):
            task = BackgroundTask(self._mail_confirmation, to_mail, now)
        return self.page(
            "message.html",
            title="Check your inbox",
            body=(
                "If this address can be subscribed, a message is on its way to it with a link "
                "to confirm. Nothing is sent to you until you follow that link."
            ),
            background=task,
        )

    def _mail_confirmation(self, subscriber_id: int, now: datetime) -> None:
        try:
            # Imported here: the renderers it needs are not loaded to serve a feed.
            from syndication.services import delivery

            delivery.send_confirmation(self.settings, self.engine, subscriber_id, now)
        except SyndicationError as exc:
            # After the answer page went out: the visitor can send the form again.
            log.warning("confirmation mail to subscriber %s not sent: %s", subscriber_id, exc)

    async def confirm(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = utc_now()
        try:
            claims = read_token(self.settings.secret_key, CONFIRM, token, now, CONFIRM_MAX_AGE)
            if request.method != "POST":
                # GET and HEAD only show the button: mail scanners (Safe Links and the
                # like) fetch every link in a message, and must not complete a double
                # opt-in that only the mailbox's owner may complete.
                return self.page("confirm.html", action=request.url.path)
            confirmed = await run_in_threadpool(
                self.write,
                subscribers.confirm_subscriber,
                claims.subscriber_id,
                claims.request,
                now,
            )
        except (TokenError, NotFoundError) as exc:
            return self.bad_link(exc)
        if not confirmed:
            return self.message(
                409,
                "This subscription cannot be confirmed",
                "This link belongs to a request that was replaced by a newer one, or the "
                "address was unsubscribed or can no longer receive our mail. Use the link "
                "in the newest confirmation mail, or subscribe again from the home page.",
            )
        return self.message(
            200,
            "You are subscribed",
            "Thank you. Your first digest arrives with the next issue.",
            home_link=True,
        )

    async def unsubscribe(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = utc_now()
        try:
            claims = read_token(self.settings.secret_key, UNSUBSCRIBE, token, now)
        except TokenError as exc:
            return self.bad_link(exc)
        what = self.list_name(claims.list_slug)
        if request.method != "POST":
            # A GET (or HEAD, which Starlette routes here too) only shows the button: mail
            # scanners and link previews fetch links, and must not unsubscribe anyone (the
            # reason RFC 8058 asks for a POST).
            return self.page("unsubscribe.html", what=what, action=request.url.path)
        # POST: a click on our button or an RFC 8058 one-click request
        # ("List-Unsubscribe=One-Click", no cookie, no CSRF token). Both are honoured at
        # once and answer 200, also when repeated or when the subscriber is gone.
        await run_in_threadpool(
            self.write, subscribers.unsubscribe, claims.subscriber_id, now, claims.list_slug
        )
        preferences = make_token(self.settings.secret_key, PREFERENCES, claims.subscriber_id, now)
        return self.page("unsubscribed.html", what=what, preferences=f"/preferences/{preferences}")

    def missing_feed_files(self) -> list[str]:
        """Feed files a build always writes that are not on disk (lost, not yet built)."""
        return missing_files(self.settings.feeds.dir, expected_paths(self.settings))

    def list_name(self, slug: str) -> str:
        if not slug:
            return "all our mailing lists"
        try:
            return self.settings.mailing_list(slug).name
        except NotFoundError:
            return slug

    async def preferences(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = utc_now()
        try:
            claims = read_token(self.settings.secret_key, PREFERENCES, token, now)
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=40)
                leave = form.get("action") == "leave"
                chosen = [str(v) for v in form.getlist("lists")]
                name = str(form.get("name", ""))
                await run_in_threadpool(
                    self.write,
                    webstore.save_preferences,
                    claims.subscriber_id,
                    leave=leave,
                    chosen=chosen,
                    known=[ml.slug for ml in self.settings.lists],
                    name=name,
                    now=now,
                )
            current = await run_in_threadpool(
                self.read, webstore.load_preferences, claims.subscriber_id
            )
        except (TokenError, NotFoundError) as exc:
            return self.bad_link(exc)
        return self.page(
            "preferences.html",
            lists=self.settings.lists,
            action=request.url.path,
            saved=request.method == "POST",
            email=current.email,
            name=current.name,
            subscriber_status=current.status,
            chosen=current.lists,
        )

    async def digest_index(self, request: Request) -> Response:
        rows = await run_in_threadpool(self.read, webstore.digest_index)
        digests = [
            {
                "list": self.list_name(slug),
                "period": period,
                "subject": subject,
                "url": f"/digests/{slug}/{period}",
            }
            for slug, period, subject in rows
        ]
        return self.page(
            "digests.html", headers={"cache-control": "public, max-age=300"}, digests=digests
        )

    async def digest(self, request: Request) -> Response:
        slug = str(request.path_params["list_slug"])
        period = str(request.path_params["period"])
        if not SLUG_RE.fullmatch(slug) or not PERIOD_RE.fullmatch(period):
            # Checked before the query: PostgreSQL refuses a NUL ("%00") in a parameter
            # with an error, which must be a 404 like any other name we do not have.
            return self.message(404, "No such digest", "There is no digest for that list and date.")
        html = await run_in_threadpool(self.read, webstore.digest_html, slug, period)
        if html is None:
            return self.message(404, "No such digest", "There is no digest for that list and date.")
        return HTMLResponse(
            webstore.public_copy(html, self.settings.site.base_url),
            headers={
                "cache-control": "public, max-age=3600",
                "content-security-policy": DIGEST_CSP,
            },
        )

    async def healthz(self, request: Request) -> Response:
        try:
            missing = await run_in_threadpool(self.missing_feed_files)
            report = await run_in_threadpool(self.read, webstore.health, len(missing))
        except SQLAlchemyError as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "error", "database": "unreachable"}, 503, NO_STORE)
        return JSONResponse({"status": "ok", "database": "ok", **report}, headers=NO_STORE)

    async def stylesheet_file(self, request: Request) -> Response:
        return Response(
            self.stylesheet,
            media_type="text/css; charset=utf-8",
            headers={"cache-control": "public, max-age=86400"},
        )

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # Starlette answers unhandled errors outside every middleware, so this page sets
        # the security headers itself (issue 15 item 5: every response carries them).
        response = self.message(
            500, "Something went wrong", "Please try again in a moment.", home_link=True
        )
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response

    async def not_found(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            # RFC 9110 §15.5.6: a 405 names the methods that are allowed.
            return self.message(
                405,
                "Not allowed",
                "This address does not accept that method.",
                headers=dict(exc.headers or {}),
            )
        return self.message(404, "Page not found", "There is nothing at this address.")


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
    for the console and metrics (``now``)."""
    web = Web(
        settings,
        engine,
        subscribe_limit or ClientRateLimiter(10, 600),
        confirm_limit or ClientRateLimiter(3, 86400),
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
        Route("/healthz", web.healthz, methods=["GET"]),
        Route("/static/site.css", web.stylesheet_file, methods=["GET"]),
        Route("/feeds/{path:path}", feeds, methods=["GET", "HEAD", "OPTIONS"]),
        *api.routes(settings, engine, api_limit),  # the push API (issue 11)
    ]
    # The operator console and Prometheus metrics (issue 12).
    routes += admin_routes(settings, engine, now)
    lists = [ml.slug for ml in settings.lists]
    routes.append(metrics_route(engine, lists, settings.metrics_token, now))
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(ForwardedClient, trusted=settings.web.trusted_proxies),
            Middleware(BodyDeadline, seconds=settings.web.body_timeout_seconds),
        ],
        exception_handlers={404: web.not_found, 405: web.not_found, 500: web.server_error},
    )


def _find(folders: list[Path], name: str) -> Path:
    """The first ``name`` in ``folders`` (the operator's folder before ours)."""
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return folders[-1] / name
