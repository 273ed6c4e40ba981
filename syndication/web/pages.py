"""What every public page shares: the templates, a session per request, the message pages.

Pages are Jinja2 templates from ``templates/web/`` with autoescaping on, so every string a
visitor or the newsroom supplied is escaped. They use no JavaScript and one stylesheet of
our own, which lets the Content-Security-Policy forbid scripts outright."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from syndication.core.tokens import (
    TokenError,
)
from syndication.errors import ConfigError, NotFoundError
from syndication.render.templates import search_path
from syndication.settings import Settings
from syndication.store import database as db
from syndication.web.security import (
    SECURITY_HEADERS,
)

log = logging.getLogger(__name__)
NO_STORE = {"cache-control": "no-store"}
FORM_LIMIT = 16 * 1024  # a form body larger than this is refused (413)
P = ParamSpec("P")
T = TypeVar("T")


class Pages:
    """The app's settings, database and templates, and the helpers every page uses."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        if not settings.secret_key:
            raise ConfigError(
                "the web app signs its links: set SYNDICATION_SECRET_KEY to a long random string"
            )
        self.settings = settings
        self.engine = engine
        self.templates = Environment(
            loader=FileSystemLoader(search_path(settings, "web")),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.stylesheet = _find(search_path(settings, "web"), "site.css").read_bytes()

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

    def list_name(self, slug: str) -> str:
        if not slug:
            return "all our mailing lists"
        try:
            return self.settings.mailing_list(slug).name
        except NotFoundError:
            return slug

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


def _find(folders: list[Path], name: str) -> Path:
    """The first ``name`` in ``folders`` (the operator's folder before ours)."""
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return folders[-1] / name
