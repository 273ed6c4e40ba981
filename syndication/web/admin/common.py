"""What every console page shares: the signed-in user, templates, CSRF, answers.

Rules every admin route follows (issue 12, and the defects issue 15 found elsewhere):

- state changes only on POST, and every POST carries the session's CSRF token;
- a ``viewer`` may look; any action answers 403;
- every answer is ``Cache-Control: no-store`` (pages show subscribers' addresses);
- input that is malformed answers 4xx, never 500: path values are checked before they
  reach the database.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from syndication.core.audit import Actor
from syndication.errors import InputError, NotFoundError, SyndicationError
from syndication.render.templates import search_path
from syndication.services import users
from syndication.services.users import SignedIn
from syndication.settings import SLUG_RE, Settings
from syndication.web.pages import NO_STORE

SESSION_COOKIE = "syndication_admin"
CSRF_FIELD = "csrf"
PERIOD_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_ID = 2**31 - 1  # an INTEGER column: a larger number is simply not there


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of one request and the session id from its cookie."""

    user: SignedIn
    session_id: str

    client: str = ""

    @property
    def can_act(self) -> bool:
        return self.user.role == "operator"

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this request's actions: the user, from the console,
        at the client address (the proxy's, unless ``[web] trusted_proxies`` names it)."""
        return Actor.console(self.user.email, self.client)


def client_address(request: Request) -> str:
    """The address the request came from: the proxy's, or the client's it forwarded when
    ``[web] trusted_proxies`` names the proxy (see :mod:`syndication.web.security`)."""
    return request.client.host if request.client else "unknown"


class Admin:
    """The console's state: settings, engine, clock and templates (one per app)."""

    def __init__(self, settings: Settings, engine: Engine, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.engine = engine
        self.now = now
        # Ours, or the operator's of the same name from [templates] dir (render/templates).
        folders = search_path(settings, "admin")
        self.templates = Environment(
            loader=FileSystemLoader(folders),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["when"] = self.when
        self.templates.filters["count"] = lambda n: f"{int(n):,}"
        self.stylesheet = next(
            f / "admin.css" for f in folders if (f / "admin.css").is_file()
        ).read_bytes()

    def when(self, value: datetime | None) -> str:
        """A time as the newsroom reads it: site time zone, to the minute."""
        if value is None:
            return "never"
        return value.astimezone(self.settings.site.tz).strftime("%Y-%m-%d %H:%M %Z")

    def page(
        self,
        template: str,
        viewer: Viewer | None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            site=self.settings.site,
            viewer=viewer.user if viewer else None,
            can_act=bool(viewer and viewer.can_act),
            csrf=viewer.user.csrf_token if viewer else "",
            csrf_field=CSRF_FIELD,
            **context,
        )
        return HTMLResponse(html, status, headers={**NO_STORE, **(headers or {})})

    def message(
        self, viewer: Viewer | None, status: int, title: str, body: str, back: str = ""
    ) -> HTMLResponse:
        return self.page("message.html", viewer, status, title=title, body=body, back=back)

    def error(self, viewer: Viewer | None, exc: SyndicationError, back: str = "") -> HTMLResponse:
        """An operator error as a page: 404 for what is not there, 400 for bad input,
        409 for an action the current state does not allow."""
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, InputError):
            status = 400
        else:
            status = 409
        return self.message(viewer, status, "That did not work", str(exc), back)

    async def viewer(self, request: Request) -> Viewer | None:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if not session_id or not session_id.isascii():
            return None
        user = await run_in_threadpool(users.signed_in, self.engine, session_id, self.now())
        return Viewer(user, session_id, client_address(request)) if user else None

    def to_login(self, request: Request) -> Response:
        return RedirectResponse(
            "/admin/login?" + urlencode({"next": request.url.path}), 303, headers=NO_STORE
        )


Handler = Callable[[Admin, Request, Viewer], Awaitable[Response]]


def _form_token(form: FormData) -> str:
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def refuse_nul(request: Request, form: FormData | None = None) -> None:
    """An :class:`InputError` (a 400) for a NUL anywhere in the query or the form.

    Nothing we store holds one, PostgreSQL refuses it in text (a 500 before: N12), and
    feeds are XML, which cannot carry it; so it is refused at the edge, for every page
    and form of the console, before any handler sees it."""
    fields = [*request.query_params.multi_items(), *(form.multi_items() if form else [])]
    for name, value in fields:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            shown = name.replace("\x00", "\\0")[:40]
            raise InputError(f"{shown}: contains a NUL character (U+0000); remove it")


async def read_form(request: Request) -> FormData:
    """The posted form, with limits; a malformed body, or a NUL in it or in the query, is
    an :class:`InputError`."""
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception as exc:  # multipart/urlencoded parse errors of several kinds
        raise InputError(f"the form could not be read: {exc}") from None
    refuse_nul(request, form)
    return form


def page_route(
    admin: Admin, handler: Handler, *, operator: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """A GET page: signed-in users only (anyone else is sent to the sign-in form); with
    ``operator=True`` (the exports: whole lists of addresses) operators only, a viewer
    gets 403."""

    async def endpoint(request: Request) -> Response:
        viewer = await admin.viewer(request)
        if viewer is None:
            return admin.to_login(request)
        if operator and not viewer.can_act:
            return admin.message(
                viewer, 403, "Not allowed", "Exports are for operators; your role is viewer."
            )
        try:
            refuse_nul(request)
            return await handler(admin, request, viewer)
        except SyndicationError as exc:
            return admin.error(viewer, exc)

    return endpoint


ActionHandler = Callable[[Admin, Request, Viewer, FormData], Awaitable[Response]]


def action_route(
    admin: Admin, handler: ActionHandler, *, operator: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """A POST action: a session, its CSRF token and (unless ``operator=False``) the
    operator role, checked in that order."""

    async def endpoint(request: Request) -> Response:
        viewer = await admin.viewer(request)
        if viewer is None:
            return admin.message(
                None, 403, "Please sign in", "Your session has ended. Sign in and try again."
            )
        try:
            form = await read_form(request)
        except InputError as exc:
            return admin.error(viewer, exc)
        if not hmac.compare_digest(
            _form_token(form).encode("utf-8", "replace"), viewer.user.csrf_token.encode()
        ):
            return admin.message(
                viewer,
                403,
                "Please try again",
                "This form had expired or did not come from the console. Reload the page "
                "and send it again.",
            )
        if operator and not viewer.can_act:
            return admin.message(
                viewer, 403, "Not allowed", "Your role is viewer: you can look, not act."
            )
        try:
            return await handler(admin, request, viewer, form)
        except SyndicationError as exc:
            return admin.error(viewer, exc)

    return endpoint


def slug_param(request: Request, name: str) -> str:
    value = str(request.path_params[name])
    if not SLUG_RE.match(value):
        raise NotFoundError(f"{value!r}: no such list")
    return value


def period_param(request: Request) -> str:
    value = str(request.path_params["period"])
    if not PERIOD_RE.match(value):
        raise NotFoundError(f"{value!r}: not a period (YYYY-MM-DD)")
    return value


def id_param(request: Request, name: str) -> int:
    value = request.path_params[name]
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFoundError(f"{value!r}: no such record")
    return value


def query_param(request: Request, name: str, limit: int = 200) -> str:
    """A free-text query parameter, trimmed and without control characters (PostgreSQL
    refuses NUL in text, and nothing we store contains one)."""
    raw = request.query_params.get(name, "")
    return "".join(ch for ch in raw if ch >= " ")[:limit].strip()


def redirect(path: str, **query: str) -> Response:
    """After an action: POST-redirect-GET, so a reload does not repeat it."""
    target = path + ("?" + urlencode(query) if query else "")
    return RedirectResponse(target, 303, headers=NO_STORE)


PAGE_SIZE = 50
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def page_number(request: Request) -> int:
    """``?page=N`` (1 when absent); a 400 for anything but a positive number."""
    raw = request.query_params.get("page", "") or "1"
    if not raw.isdigit() or not 0 < int(raw) <= 100_000:
        raise InputError(f"page: {raw[:20]!r} is not a page number")
    return int(raw)


def date_range(admin: Admin, request: Request) -> tuple[datetime | None, datetime | None]:
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD`` as the newsroom means them (whole days in the
    site's time zone, both included) turned into ``[since, until)`` in UTC; a 400 naming
    the field for a date that is not one, or a range that ends before it starts."""
    tz = admin.settings.site.tz
    bounds: list[datetime | None] = []
    for name, days in (("from", 0), ("to", 1)):
        raw = request.query_params.get(name, "").strip()
        if not raw:
            bounds.append(None)
            continue
        try:
            if not DATE_RE.match(raw):
                raise ValueError
            day = date.fromisoformat(raw) + timedelta(days=days)
        except (ValueError, OverflowError):
            raise InputError(f"{name}: {raw[:20]!r} is not a date (YYYY-MM-DD)") from None
        bounds.append(datetime.combine(day, time(), tz).astimezone(UTC))
    since, until = bounds
    if since is not None and until is not None and until <= since:
        raise InputError("to: the range ends before it starts")
    return since, until


def paged(request: Request, total: int, current: int) -> dict[str, Any]:
    """What a paged page's template needs beside its rows: ``pager`` (the page, how many
    pages, the rows shown, the total), the queries of the previous and next pages (which
    keep the filters; empty where there is none) and the dates it was asked for."""
    last = max(1, -(-total // PAGE_SIZE))
    first_row = 0 if total == 0 else (current - 1) * PAGE_SIZE + 1
    return {
        "pager": {
            "page": current,
            "last": last,
            "first_row": first_row,
            "last_row": min(total, current * PAGE_SIZE),
            "total": total,
        },
        "prev_query": query_string(request, page=current - 1) if current > 1 else "",
        "next_query": query_string(request, page=current + 1) if current < last else "",
        "since": request.query_params.get("from", ""),
        "until": request.query_params.get("to", ""),
    }


def query_string(request: Request, **changes: str | int) -> str:
    """This page's query with ``changes`` (a pager's links keep the filters)."""
    query = dict(request.query_params)
    query.update({k: str(v) for k, v in changes.items()})
    return urlencode({k: v for k, v in query.items() if v != ""})
