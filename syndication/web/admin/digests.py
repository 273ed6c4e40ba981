"""``/admin/digests/…``: a digest as its readers see it (each language's copy of a
"reader" list's: ``?language=``), its deliveries, and the actions hold, resume, approve,
cancel and send test (see :mod:`syndication.services.digests`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from syndication.core.audit import digest_subject
from syndication.core.digests import HTML_LIMIT
from syndication.errors import InputError
from syndication.services import audit, clicks
from syndication.services.clicks import ArticleClicks
from syndication.services.digests import approval, archive
from syndication.services.status import DigestRow, digest_report, recent_digests
from syndication.web.admin.charts import BarChart, bar_chart
from syndication.web.admin.common import (
    ActionHandler,
    Admin,
    Viewer,
    period_param,
    redirect,
    slug_param,
)
from syndication.web.pages import NO_STORE

# Gmail shows "[Message clipped]" and hides the rest (our unsubscribe link) above about
# 102 KB of HTML; our own budget (HTML_LIMIT) keeps a margin under it.
GMAIL_CLIP = 102 * 1024
# The preview is the stored mail, shown in a sandboxed frame of the digest page: no
# scripts, no forms, no plugins, a unique origin (the empty ``sandbox`` directive), only
# inline styles (the CSS is inlined for mail clients) and images over HTTPS.
PREVIEW_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
# The digest page itself: the site's policy plus frames from ourselves (the preview).
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SHOWN_STATES = ("queued", "sending", "failed", "bounced", "skipped")


async def index(admin: Admin, request: Request, viewer: Viewer) -> Response:
    rows: list[DigestRow] = await run_in_threadpool(recent_digests, admin.engine, 200)
    return admin.page("digests.html", viewer, digests=rows)


def language_param(request: Request) -> str:
    """``?language=<tag>``: which language's copy of a digest the page shows and tests
    (issue 30), "" (absent) for the main one. Taken as given: a tag it has no copy in,
    however malformed, is a 404 below (a NUL was a 400 before: ``refuse_nul``)."""
    return request.query_params.get("language", "")


async def page(admin: Admin, request: Request, viewer: Viewer) -> Response:
    list_slug, period_key = slug_param(request, "list_slug"), period_param(request)
    view = await run_in_threadpool(
        archive.digest_view,
        admin.settings,
        admin.engine,
        list_slug,
        period_key,
        SHOWN_STATES,
        language_param(request),
    )
    # The bounced and complained counts as the status report counts them (issue 24: one
    # number wherever it is shown), not the deliveries' own "bounced" status.
    report = await run_in_threadpool(digest_report, admin.engine, list_slug, period_key)
    actions = await run_in_threadpool(
        audit.about, admin.engine, "digest", digest_subject(list_slug, period_key)
    )
    click_rows = await run_in_threadpool(clicks.digest_report, admin.engine, view.status.digest_id)
    history = (
        await run_in_threadpool(clicks.list_history, admin.engine, list_slug) if click_rows else []
    )
    topics = (
        await run_in_threadpool(clicks.topic_history, admin.settings, admin.engine, list_slug)
        if click_rows
        else ([], [])
    )
    copies = copy_choices(admin, view)
    done = request.query_params.get("done", "")
    message = DONE.get(done, "")
    in_flight = request.query_params.get("in_flight", "")
    if message and done in ("hold", "cancel") and in_flight.isdigit() and int(in_flight):
        note = approval.Transition(
            list_slug, period_key, "", "held", {}, in_flight=min(int(in_flight), 1000)
        ).in_flight_note
        message = f"{message[:-1]}; {note}."
    return admin.page(
        "digest.html",
        viewer,
        headers={"content-security-policy": PAGE_CSP},
        view=view,
        digest=view.status,
        report=report,
        base=f"/admin/digests/{list_slug}/{period_key}",
        copies=copies,
        copy_query=next((c["query"] for c in copies if c["current"]), ""),
        done=message,
        audit=actions,
        gmail_clip=GMAIL_CLIP,
        html_limit=HTML_LIMIT,
        clicks=click_rows,
        click_chart=click_chart(click_rows),
        click_history=history,
        click_topics=topics,
        counts_clicks=admin.settings.mailing_list(list_slug).count_clicks,
    )


def copy_choices(admin: Admin, view: archive.DigestView) -> list[dict[str, Any]]:
    """The language choice of a digest with copies in several languages: each copy's
    tag, its name (as the public site names it), the page's query for it and whether it
    is the one shown; empty for a digest in one language."""
    if len(view.languages) < 2:
        return []
    main = view.languages[0]
    return [
        {
            "tag": tag,
            "name": admin.settings.languages.name(tag),
            "query": "" if tag == main else "?" + urlencode({"language": tag}),
            "current": tag == view.language,
        }
        for tag in view.languages
    ]


CHART_STORIES = 10
CHART_TITLE = 44  # characters of a story's title drawn above its bars (16 px labels)


def click_chart(rows: list[ArticleClicks]) -> BarChart:
    """The stories most clicked by readers, each with its scanner requests beside."""
    shown = [
        (_short(row.title), {READERS: row.reader_clicks, SCANNERS: row.scanner_requests})
        for row in rows[:CHART_STORIES]
    ]
    return bar_chart(shown, (READERS, SCANNERS))


READERS, SCANNERS = "readers' clicks", "scanner requests"


def _short(title: str) -> str:
    return title if len(title) <= CHART_TITLE else title[: CHART_TITLE - 1].rstrip() + "…"


async def clicks_export(admin: Admin, request: Request, viewer: Viewer) -> Response:
    """The digest's click sums as CSV (operators only: the route says so)."""
    list_slug, period_key = slug_param(request, "list_slug"), period_param(request)
    view = await run_in_threadpool(
        archive.digest_view, admin.settings, admin.engine, list_slug, period_key, ()
    )
    rows = await run_in_threadpool(clicks.digest_report, admin.engine, view.status.digest_id)
    return Response(
        clicks.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "content-disposition": f'attachment; filename="clicks-{list_slug}-{period_key}.csv"',
        },
    )


async def preview(admin: Admin, request: Request, viewer: Viewer) -> Response:
    list_slug, period_key = slug_param(request, "list_slug"), period_param(request)
    html = await run_in_threadpool(
        archive.console_preview,
        admin.settings,
        admin.engine,
        list_slug,
        period_key,
        language_param(request),
    )
    return HTMLResponse(
        html,
        headers={
            **NO_STORE,
            "content-security-policy": PREVIEW_CSP,
            "x-frame-options": "SAMEORIGIN",
        },
    )


DONE = {
    "hold": "Held: nothing more of this digest is sent until it is resumed.",
    "resume": "Resumed: the deliveries not yet sent go out with the next send.",
    "approve": "Approved: the digest goes out with the next send.",
    "cancel": "Cancelled: nothing more of this digest will ever be sent.",
    "test": "Test sent: one message, subject marked [TEST], to the address you gave.",
    "test-queued": "Test queued: the mail server did not take it yet; the deliver job "
    "retries it within minutes (the dashboard's transactional mail shows the last error).",
    "test-failed": "Test not sent: the mail server refused it (the dashboard's "
    "transactional mail shows why).",
}


def shown_copy(form: FormData) -> dict[str, str]:
    """The copy the page showed when the form was sent (its hidden ``language`` field), as
    the query that shows it again: ``{}`` for the main one. An action's answer returns to
    the copy the operator was looking at."""
    language = form.get("language", "")
    if not isinstance(language, str):
        raise InputError("language: a language tag, not a file")
    return {"language": language} if language else {}


def action(name: str) -> ActionHandler:
    """The handler of ``POST …/hold`` (``resume``, ``approve``, ``cancel``)."""
    work = {
        "hold": approval.hold,
        "resume": approval.resume,
        "approve": approval.approve,
        "cancel": approval.cancel,
    }[name]

    async def handler(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
        list_slug, period_key = slug_param(request, "list_slug"), period_param(request)
        result = await run_in_threadpool(
            work,
            admin.settings,
            admin.engine,
            list_slug,
            period_key,
            viewer.actor,
            admin.now(),
        )
        extra = {"in_flight": str(result.in_flight)} if result.in_flight_note else {}
        return redirect(
            f"/admin/digests/{list_slug}/{period_key}", **shown_copy(form), done=name, **extra
        )

    return handler


async def send_test(admin: Admin, request: Request, viewer: Viewer, form: FormData) -> Response:
    list_slug, period_key = slug_param(request, "list_slug"), period_param(request)
    to = form.get("email")
    if not isinstance(to, str) or not to.strip():
        raise InputError("type the address the test should go to")
    language = shown_copy(form).get("language", "")
    result = await run_in_threadpool(
        lambda: approval.test_send(
            admin.settings,
            admin.engine,
            list_slug,
            period_key,
            to[:254],
            admin.now(),
            actor=viewer.actor,
            language=language,
        )
    )
    done = {"sent": "test", "queued": "test-queued"}.get(result.status, "test-failed")
    return redirect(f"/admin/digests/{list_slug}/{period_key}", **shown_copy(form), done=done)
