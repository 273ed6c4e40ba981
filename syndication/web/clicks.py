"""``/r/<token>``: a click-counting digest's article links (issue 31).

``GET`` answers 302 to the article's URL as the store has it now; ``HEAD`` answers the
same but is counted as a scanner's. A token we did not sign, or naming no link we mailed,
gets a plain 404 page in the visitor's language, with the article's address to follow by
hand when the token's ids name one: never a redirect to anything the token says, never a
500. Counting happens in memory (:class:`~syndication.services.clicks.ClickCounter`);
the background task of :func:`flusher` writes the sums every few seconds.

A link whose target is cached is answered by :class:`Redirects` ahead of Starlette's
middleware and router (the app calls it first, see :mod:`syndication.web.app`), with the
same headers the routed answer gets: the security headers included. Everything else (a
link not cached yet, a bad token, the store away) goes the routed way, to
:meth:`ClickPages.redirect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Message, Scope, Send

from syndication.services.clicks import FLUSH_SECONDS, ClickCounter, Resolved
from syndication.web.pages import Pages
from syndication.web.security import SECURITY_HEADERS

log = logging.getLogger(__name__)
MAX_TOKEN = 80


class ClickPages(Pages):
    """The redirect endpoint; ``counter`` is the app's one tally."""

    counter: ClickCounter

    async def redirect(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        resolved = None
        if len(token) <= MAX_TOKEN and token.isascii():
            try:
                resolved = self.counter.cached(token) or await run_in_threadpool(
                    self.counter.resolve, token
                )
            except Exception:  # the store is away: say so plainly, never a 500 page
                log.exception("click token %r not resolved", token)
                lang = self.language(request)
                return self.message(
                    request,
                    lang,
                    503,
                    self.t(lang, "Please try again"),
                    self.t(lang, "We cannot look this link up just now; try again in a minute."),
                    headers={"retry-after": "60"},
                )
        if resolved is None or resolved.url is None:
            lang = self.language(request)
            return self.message(
                request,
                lang,
                404,
                self.t(lang, "Link not found"),
                self.t(lang, "This link is not one we sent, or it was changed on the way."),
                link=resolved.hint if resolved is not None else None,
                home_link=True,
            )
        refresh_later(self.counter, resolved)
        self.counter.record(
            resolved,
            head=request.method == "HEAD",
            user_agent=request.headers.get("user-agent", ""),
        )
        # Not cached: each click must reach us to be counted, and the URL may change.
        return RedirectResponse(resolved.url, status_code=302, headers=NO_STORE)


NO_STORE = {"cache-control": "no-store"}


def refresh_later(counter: ClickCounter, resolved: Resolved) -> None:
    """Read a cached target again in a thread when :meth:`ClickCounter.cached` asks."""
    if resolved.refresh:
        asyncio.get_running_loop().run_in_executor(None, counter.refresh)


class Redirects:
    """The ``/r/`` hot path: a GET or HEAD whose link is cached is counted and answered
    here, without a ``Request``, a ``Response``, the middleware or the router (about a
    third of the routed answer's cost). :meth:`answer` says ``False`` for anything else,
    before it has sent a byte; the routed handler then deals with it."""

    def __init__(self, counter: ClickCounter) -> None:
        self.counter = counter
        self._headers: dict[str, tuple[tuple[bytes, bytes], ...]] = {}

    async def answer(self, scope: Scope, send: Send) -> bool:
        if scope["method"] not in ("GET", "HEAD") or scope.get("root_path"):
            return False
        token: str = scope["path"][3:]  # after "/r/"
        if not token or len(token) > MAX_TOKEN or "/" in token or not token.isascii():
            return False
        resolved = self.counter.cached(token)
        if resolved is None or resolved.url is None:
            return False
        refresh_later(self.counter, resolved)
        agent = b""
        for name, value in scope["headers"]:
            if name == b"user-agent":  # the server gives names in lower case
                agent = value
                break
        self.counter.record(
            resolved, head=scope["method"] == "HEAD", user_agent=agent.decode("latin-1")
        )
        start: Message = {
            "type": "http.response.start",
            "status": 302,
            "headers": self._headers.get(resolved.url) or self._built(resolved.url),
        }
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return True

    def _built(self, url: str) -> tuple[tuple[bytes, bytes], ...]:
        """The routed answer's headers, in its order: ``RedirectResponse``'s (its
        quoting of the URL included), then what ``SecurityHeaders`` adds."""
        routed = RedirectResponse(url, status_code=302, headers=NO_STORE)
        headers = (*routed.raw_headers, *SECURITY_HEADERS)  # shared: a tuple, never changed
        if len(self._headers) > 10_000:
            self._headers.clear()
        self._headers[url] = headers
        return headers


def flusher(counter: ClickCounter, seconds: float = FLUSH_SECONDS) -> Callable[[Any], Any]:
    """The app's lifespan: flush the tally every ``seconds`` and once more at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                await run_in_threadpool(counter.flush)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(counter.flush, True)

    return lifespan
