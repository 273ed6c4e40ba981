"""Signing in and out of the console.

The sign-in form is protected against login CSRF with the site's signed double-submit
cookie (there is no session yet to hold a token). A wrong address and a wrong password
get the same page, status and timing (see :mod:`syndication.core.passwords`). More than
five failures for an address or a client in 15 minutes answer 429 until the window passes.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from syndication.errors import InputError
from syndication.services import users
from syndication.services.users import LOCKOUT_WINDOW
from syndication.web.admin.common import (
    SESSION_COOKIE,
    Admin,
    Viewer,
    client_address,
    read_form,
)
from syndication.web.pages import NO_STORE
from syndication.web.security import CSRF_COOKIE, csrf_ok, with_csrf_cookie

WRONG = "That address and password do not match an account. Check both and try again."


def _safe_next(value: str) -> str:
    # Only a path inside the console: never another site (an open redirect).
    if value.startswith("/admin/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


async def login_form(admin: Admin, request: Request) -> Response:
    if await admin.viewer(request) is not None:
        return RedirectResponse("/admin/", 303, headers=NO_STORE)
    return _login_page(admin, request, 200, "", "")


def _login_page(admin: Admin, request: Request, status: int, error: str, email: str) -> Response:
    headers = {"retry-after": str(int(LOCKOUT_WINDOW.total_seconds()))} if status == 429 else {}
    return with_csrf_cookie(
        request,
        admin.settings.secret_key,
        lambda token: admin.page(
            "login.html",
            None,
            status,
            headers,
            login_csrf=token,
            error=error,
            email=email,
            next=_safe_next(request.query_params.get("next", "")),
        ),
    )


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def login(admin: Admin, request: Request) -> Response:
    try:
        form = await read_form(request)
    except InputError:
        return _login_page(admin, request, 400, "The form could not be read.", "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    submitted = _field(form, "csrf")
    if not (cookie.isascii() and submitted.isascii()) or not csrf_ok(
        admin.settings.secret_key, cookie, submitted
    ):
        return _login_page(admin, request, 403, "The form had expired. Please sign in again.", "")
    email = _field(form, "email")[:254]
    password = _field(form, "password")
    result = await run_in_threadpool(
        users.sign_in, admin.engine, email, password, client_address(request), admin.now()
    )
    if result.outcome is users.LoginOutcome.LOCKED:
        minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
        return _login_page(
            admin,
            request,
            429,
            f"Too many failed sign-ins. Wait {minutes} minutes and try again.",
            email,
        )
    if result.outcome is users.LoginOutcome.WRONG:
        return _login_page(admin, request, 403, WRONG, email)
    response = RedirectResponse(_safe_next(_field(form, "next")), 303, headers=NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/admin",
    )
    return response


async def logout(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
    await run_in_threadpool(
        lambda: users.sign_out(admin.engine, viewer.session_id, admin.now(), actor=viewer.actor)
    )
    response = RedirectResponse("/admin/login", 303, headers=NO_STORE)
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="strict")
    return response
