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
sign-up's consent record keeps the client's address.

The sign-up and preferences forms carry the reader's language (the newsroom's
``[languages] available``, the page's language preselected on sign-up); the pages a link
leads to are in the subscriber's language unless the visitor switched (see
:meth:`Pages.language`)."""

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
from syndication.core.reader_languages import is_english, lookup, reader_language
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

    def feed_links(self, language: str) -> list[dict[str, Any]]:
        base = self.settings.site.feeds_url
        groups = [("all", self.t(language, "Everything"), self.settings.site.description)]
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

    def language_choices(self) -> list[dict[str, str]]:
        """The newsroom's languages for a form's choice, each named in its own words."""
        return [{"tag": tag, "name": self.settings.languages.name(tag)} for tag in self.languages]

    async def home(self, request: Request) -> Response:
        language = self.language(request)
        return with_csrf_cookie(
            request,
            self.settings.secret_key,
            lambda csrf: self.home_page(request, language, csrf),
        )

    def home_page(
        self,
        request: Request,
        language: str,
        csrf: str,
        status: int = 200,
        error: str = "",
        form: Mapping[str, Any] | None = None,
    ) -> HTMLResponse:
        return self.page(
            request,
            language,
            "home.html",
            status,
            groups=self.feed_links(language),
            opml=f"{self.settings.site.feeds_url}/index.opml",
            lists=self.settings.lists,
            languages=self.language_choices(),
            csrf=csrf,
            csrf_field=CSRF_FIELD,
            privacy=self.settings.privacy,
            error=error,
            form=form or {"email": "", "name": "", "lists": [], "language": language},
        )

    async def subscribe(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        form = await request.form(max_files=0, max_fields=20)
        lang = self.language(request)
        cookie = request.cookies.get(CSRF_COOKIE)
        submitted = form.get(CSRF_FIELD)
        if not csrf_ok(
            self.settings.secret_key, cookie, submitted if isinstance(submitted, str) else None
        ):
            return self.message(
                request,
                lang,
                403,
                self.t(lang, "Please try again"),
                self.t(
                    lang,
                    "This form had expired or did not come from our site. "
                    "Go back to the home page, reload it and send the form again.",
                ),
            )
        if not self.subscribe_limit.allow(client):
            retry = self.subscribe_limit.retry_after(client)
            return self.message(
                request,
                lang,
                429,
                self.t(lang, "Too many requests"),
                self.t(
                    lang,
                    "We received many sign-ups from your connection. Please wait "
                    "%(seconds)s seconds and try again.",
                    seconds=retry,
                ),
                headers={"retry-after": str(retry)},
            )
        raw_email = str(form.get("email", ""))
        name = str(form.get("name", ""))
        requested = [str(v) for v in form.getlist("lists")]
        chosen_language = str(form.get("language", ""))
        # The page answering the form is in the language the reader chose on it.
        lang = (lookup(chosen_language, self.languages) if chosen_language else None) or lang
        values = {"email": raw_email, "name": name, "lists": requested, "language": lang}
        try:
            signup = subscribers.read_sign_up(
                self.settings, raw_email, name, requested, chosen_language
            )
        except RecordError as exc:
            return self.home_page(
                request, lang, str(cookie), 400, self.sign_up_error(lang, exc), values
            )
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
            request,
            lang,
            "message.html",
            title=self.t(lang, "Check your inbox"),
            body=self.t(
                lang,
                "If this address can be subscribed, we are sending it a message with a link "
                "to confirm. It usually arrives within a few minutes; if our mail server is "
                "busy we keep trying for a day. Nothing else is sent to you until you follow "
                "that link.",
            ),
            background=task,
        )

    def sign_up_error(self, language: str, exc: RecordError) -> str:
        """The form's error in the page's language (the address checker's own words, which
        say precisely what is wrong, stay English below a translated lead)."""
        if exc.field == "lists":
            return self.t(language, "Choose at least one list.")
        if exc.field == "language":
            return self.t(language, "Choose one of the languages offered.")
        if is_english(language):
            return exc.reason
        lead = self.t(language, "This e-mail address cannot be used.")
        return f"{lead} ({exc.reason})"

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
        lang = self.language(request)
        try:
            claims = read_token(self.settings.secret_key, CONFIRM, token, now, CONFIRM_MAX_AGE)
            lang = await self.reader_page_language(request, claims.subscriber_id)
            if request.method != "POST":
                # GET and HEAD only show the button: mail scanners (Safe Links and the
                # like) fetch every link in a message, and must not complete a double
                # opt-in that only the mailbox's owner may complete.
                return self.page(request, lang, "confirm.html", action=request.url.path)
            confirmed = await run_in_threadpool(
                subscribers.confirm, self.engine, claims.subscriber_id, claims.request, now
            )
        except (TokenError, NotFoundError) as exc:
            return self.bad_link(request, lang, exc)
        if not confirmed:
            return self.message(
                request,
                lang,
                409,
                self.t(lang, "This subscription cannot be confirmed"),
                self.t(
                    lang,
                    "This link belongs to a request that was replaced by a newer one, or the "
                    "address was unsubscribed or can no longer receive our mail. Use the link "
                    "in the newest confirmation mail, or subscribe again from the home page.",
                ),
            )
        return self.message(
            request,
            lang,
            200,
            self.t(lang, "You are subscribed"),
            self.t(lang, "Thank you. Your first digest arrives with the next issue."),
            home_link=True,
        )

    async def reader_page_language(self, request: Request, subscriber_id: int) -> str:
        """The page language for a link in a subscriber's mail: the switch's or cookie's
        choice, else the subscriber's own languages (a gone subscriber: the browser's)."""
        locale = await run_in_threadpool(subscribers.reader_locale, self.engine, subscriber_id)
        return self.language(request, locale)

    async def unsubscribe(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = utc_now()
        try:
            claims = read_token(self.settings.secret_key, UNSUBSCRIBE, token, now)
        except TokenError as exc:
            return self.bad_link(request, self.language(request), exc)
        lang = await self.reader_page_language(request, claims.subscriber_id)
        what = self.list_name(claims.list_slug, lang)
        if request.method != "POST":
            # A GET (or HEAD, which Starlette routes here too) only shows the button: mail
            # scanners and link previews fetch links, and must not unsubscribe anyone (the
            # reason RFC 8058 asks for a POST).
            return self.page(request, lang, "unsubscribe.html", what=what, action=request.url.path)
        # POST: a click on our button or an RFC 8058 one-click request
        # ("List-Unsubscribe=One-Click", no cookie, no CSRF token). Both are honoured at
        # once and answer 200, also when repeated or when the subscriber is gone.
        await run_in_threadpool(
            subscribers.leave, self.engine, claims.subscriber_id, claims.list_slug, now
        )
        preferences = make_token(self.settings.secret_key, PREFERENCES, claims.subscriber_id, now)
        return self.page(
            request, lang, "unsubscribed.html", what=what, preferences=f"/preferences/{preferences}"
        )

    async def preferences(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = utc_now()
        lang = self.language(request)
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
                    language=str(form.get("language", "")),
                )
            current = await run_in_threadpool(
                subscribers.load_preferences, self.engine, claims.subscriber_id
            )
        except (TokenError, NotFoundError) as exc:
            return self.bad_link(request, lang, exc)
        if request.method == "POST":
            # Saved: the answer is in the language just chosen, whatever the cookie said.
            lang = reader_language(current.locale, self.languages)
        else:
            lang = self.language(request, current.locale)
        return self.page(
            request,
            lang,
            "preferences.html",
            lists=self.settings.lists,
            languages=self.language_choices(),
            reader_language=reader_language(current.locale, self.languages),
            action=request.url.path,
            saved=request.method == "POST",
            email=current.email,
            name=current.name,
            subscriber_status=current.status,
            chosen=current.lists,
        )
