"""Subscribing, confirming, unsubscribing and preferences: the pages behind our mail's links.

Links in our mail carry signed tokens (:mod:`syndication.core.tokens`): the token itself is the
proof that the visitor reads that mailbox, so the unsubscribe and preferences forms need no
CSRF token (a forging site cannot know it), and RFC 8058 one-click unsubscribe works with no
cookie at all. Only the public subscribe form has a CSRF token and a rate limit.

Subscribing answers with the same page whatever the address's state (new, pending, active,
suppressed), so the form cannot be used to learn who subscribes. The confirmation mail is
queued with the sign-up, in its transaction, and tried once after the answer, in the
background (which also keeps the timing alike); if the mail server is away the scheduler's
``deliver`` job retries it (:mod:`syndication.services.transactional`). An erased address
gets that same answer and no mail. The form carries the ``[privacy]`` notice, and a
sign-up's consent record keeps the client's address."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from syndication.clock import utc_now
from syndication.core.tokens import (
    CONFIRM,
    CONFIRM_MAX_AGE,
    PREFERENCES,
    UNSUBSCRIBE,
    TokenError,
    make_token,
    read_token,
)
from syndication.errors import NotFoundError, RecordError, SyndicationError
from syndication.services import subscribers
from syndication.web.pages import Pages
from syndication.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    ClientRateLimiter,
    csrf_ok,
    with_csrf_cookie,
)

log = logging.getLogger(__name__)
FEED_FORMATS = (
    ("rss.xml", "RSS", "application/rss+xml"),
    ("atom.xml", "Atom", "application/atom+xml"),
    ("feed.json", "JSON Feed", "application/feed+json"),
)


class SubscriptionPages(Pages):
    """The home page with its form, and every page a link in our mail leads to."""

    subscribe_limit: ClientRateLimiter
    confirm_limit: ClientRateLimiter
    now: Callable[[], datetime]  # the app's clock (tests pass their own)

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

    async def home(self, request: Request) -> Response:
        return with_csrf_cookie(request, self.settings.secret_key, self.home_page)

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
            privacy=self.settings.privacy,
            error=error,
            form=form or {"email": "", "name": "", "lists": []},
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
        try:
            signup = subscribers.read_sign_up(self.settings, raw_email, name, requested)
        except RecordError as exc:
            return self.home_page(str(cookie), 400, exc.reason, values)
        now = self.now()
        mail_id = await run_in_threadpool(
            subscribers.sign_up,
            self.settings,
            self.engine,
            signup,
            now,
            request.client.host if request.client else "",
            self.confirm_limit.allow,
        )
        task = None if mail_id is None else BackgroundTask(self._try_mail, mail_id, now)
        return self.page(
            "message.html",
            title="Check your inbox",
            body=(
                "If this address can be subscribed, we are sending it a message with a link "
                "to confirm. It usually arrives within a few minutes; if our mail server is "
                "busy we keep trying for a day. Nothing else is sent to you until you follow "
                "that link."
            ),
            background=task,
        )

    def _try_mail(self, mail_id: int, now: datetime) -> None:
        """One immediate try, after the answer went out. The mail is queued already: if
        this try fails, the scheduler's ``deliver`` job retries it."""
        try:
            result = subscribers.send_mail_now(self.settings, self.engine, mail_id, now)
        except SyndicationError as exc:
            log.warning("confirmation mail %s: immediate try failed: %s", mail_id, exc)
            return
        if result.status != "sent":
            log.warning(
                "confirmation mail %s %s: %s", mail_id, result.status, result.error or "(no error)"
            )

    async def confirm(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = self.now()
        try:
            claims = read_token(self.settings.secret_key, CONFIRM, token, now, CONFIRM_MAX_AGE)
            if request.method != "POST":
                # GET and HEAD only show the button: mail scanners (Safe Links and the
                # like) fetch every link in a message, and must not complete a double
                # opt-in that only the mailbox's owner may complete.
                return self.page("confirm.html", action=request.url.path)
            confirmed = await run_in_threadpool(
                subscribers.confirm, self.engine, claims.subscriber_id, claims.request, now
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
            subscribers.leave, self.engine, claims.subscriber_id, claims.list_slug, now
        )
        preferences = make_token(self.settings.secret_key, PREFERENCES, claims.subscriber_id, now)
        return self.page("unsubscribed.html", what=what, preferences=f"/preferences/{preferences}")

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
                    subscribers.save_preferences,
                    self.settings,
                    self.engine,
                    claims.subscriber_id,
                    leave=leave,
                    chosen=chosen,
                    name=name,
                    now=now,
                )
            current = await run_in_threadpool(
                subscribers.load_preferences, self.engine, claims.subscriber_id
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
