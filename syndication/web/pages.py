"""What every public page shares: the templates, a session per request, the message pages.

Pages are Jinja2 templates from ``templates/web/`` with autoescaping on, so every string a
visitor or the newsroom supplied is escaped. They use no JavaScript and one stylesheet of
our own, which lets the Content-Security-Policy forbid scripts outright.

Every page is in one of the newsroom's languages (``[languages] available``), chosen by
:meth:`Pages.language`: the ``?lang=`` of the language switch (remembered in the ``lang``
cookie), else the subscriber's own preference on the pages a link in our mail leads to,
else the browser's ``Accept-Language``, else the primary language. Its strings come from
the message catalogs (:mod:`syndication.render.i18n`); ``<html lang dir>`` and the
``Content-Language`` header say which language it is."""

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

from syndication.core.reader_languages import (
    accept_language,
    best_match,
    lookup,
    reader_language,
    text_direction,
)
from syndication.core.tokens import (
    TokenError,
)
from syndication.errors import ConfigError, NotFoundError
from syndication.render import i18n
from syndication.render.i18n import translate
from syndication.render.templates import search_path
from syndication.settings import Settings
from syndication.store import database as db
from syndication.web.security import (
    SECURITY_HEADERS,
)

log = logging.getLogger(__name__)
NO_STORE = {"cache-control": "no-store"}
FORM_LIMIT = 16 * 1024  # a form body larger than this is refused (413)
LANG_COOKIE = "lang"  # the language a visitor chose with the switch
LANG_COOKIE_AGE = 365 * 24 * 3600
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
        self.languages = settings.languages.available
        self.environments: dict[str, Environment] = {}
        self.stylesheet = _find(search_path(settings, "web"), "site.css").read_bytes()

    def write(self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kw: P.kwargs) -> T:
        """Run ``work(session, …)`` in one write transaction (call it in a thread)."""
        with db.write_session(self.engine) as session:
            return work(session, *args, **kw)

    def read(self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kw: P.kwargs) -> T:
        """Run ``work(session, …)`` in a read-only session (call it in a thread)."""
        with db.read_session(self.engine) as session:
            return work(session, *args, **kw)

    def templates(self, language: str) -> Environment:
        """The page templates with ``language``'s catalog (one environment per language)."""
        if language not in self.environments:
            env = Environment(
                extensions=["jinja2.ext.i18n"],
                loader=FileSystemLoader(search_path(self.settings, "web")),
                autoescape=True,
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            self.environments[language] = i18n.install(env, language)
        return self.environments[language]

    def language(self, request: Request, preferred: str = "") -> str:
        """The page's language: ``?lang=``, the ``lang`` cookie, ``preferred`` (a
        subscriber's ``locale``), ``Accept-Language``, the primary; each matched against
        the newsroom's languages by BCP 47 lookup."""
        for chosen in (request.query_params.get("lang", ""), request.cookies.get(LANG_COOKIE, "")):
            found = lookup(chosen, self.languages) if chosen else None
            if found is not None:
                return found
        if preferred:
            return reader_language(preferred, self.languages)
        wanted = accept_language(request.headers.get("accept-language", ""))
        return best_match(wanted, self.languages) or self.languages[0]

    def t(self, language: str, message: str, **values: Any) -> str:
        """``message`` in ``language`` (see :func:`syndication.render.i18n.translate`)."""
        return translate(language, message, **values)

    def page(
        self,
        request: Request,
        language: str,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """``template`` in ``language``, with the language switch for ``request``'s page."""
        # The switch reloads this page in another language; a form's answer (a POST to
        # an address that has no GET, /subscribe) reloads the home page instead.
        path = request.url.path
        if request.method == "POST" and path == "/subscribe":
            path = "/"
        switch = [
            {
                "tag": tag,
                "name": self.settings.languages.name(tag),
                "url": f"{path}?lang={tag}",
                "current": tag == language,
            }
            for tag in self.languages
        ]
        html = (
            self.templates(language)
            .get_template(template)
            .render(
                site=self.settings.site,
                language=language,
                direction=text_direction(language),
                switch=switch if len(switch) > 1 else [],
                **context,
            )
        )
        response = HTMLResponse(
            html,
            status,
            headers={**NO_STORE, "content-language": language, **(headers or {})},
            background=background,
        )
        asked = request.query_params.get("lang", "")
        if asked and lookup(asked, self.languages) == language:
            response.set_cookie(
                LANG_COOKIE,
                language,
                max_age=LANG_COOKIE_AGE,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def message(
        self, request: Request, language: str, status: int, title: str, body: str, **context: Any
    ) -> HTMLResponse:
        """The one-paragraph page; ``title`` and ``body`` are in ``language`` already."""
        return self.page(
            request, language, "message.html", status, title=title, body=body, **context
        )

    def bad_link(
        self, request: Request, language: str, exc: TokenError | NotFoundError
    ) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400
        title = self.t(language, "This link does not work")
        # The token's reason in the page's words (the core's English names the kind).
        if isinstance(exc, NotFoundError):
            body = self.t(language, "This subscription no longer exists.")
        elif "expired" in str(exc):
            body = self.t(language, "This link has expired; ask for a new one.")
        elif " is for " in str(exc):
            body = self.t(language, "This link is for something else.")
        else:
            body = self.t(language, "This link is damaged or incomplete.")
        return self.message(request, language, status, title, body)

    def list_name(self, slug: str, language: str) -> str:
        if not slug:
            return self.t(language, "all our mailing lists")
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
        lang = self.language(request)
        response = self.message(
            request,
            lang,
            500,
            self.t(lang, "Something went wrong"),
            self.t(lang, "Please try again in a moment."),
            home_link=True,
        )
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response

    async def not_found(self, request: Request, exc: Exception) -> Response:
        lang = self.language(request)
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            # RFC 9110 §15.5.6: a 405 names the methods that are allowed.
            return self.message(
                request,
                lang,
                405,
                self.t(lang, "Not allowed"),
                self.t(lang, "This address does not accept that method."),
                headers=dict(exc.headers or {}),
            )
        return self.message(
            request,
            lang,
            404,
            self.t(lang, "Page not found"),
            self.t(lang, "There is nothing at this address."),
        )


def _find(folders: list[Path], name: str) -> Path:
    """The first ``name`` in ``folders`` (the operator's folder before ours)."""
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return folders[-1] / name
