"""``/r/<token>``: a click-counting digest's article links (issue 31).

``GET`` answers 302 to the article's URL as the store has it now; ``HEAD`` answers the
same but is counted as a scanner's. A token we did not sign, or naming no link we mailed,
gets a plain 404 page in the visitor's language, with the article's address to follow by
hand when the token's ids name one: never a redirect to anything the token says, never a
500. Counting happens in memory (:class:`~syndication.services.clicks.ClickCounter`);
the background task of :func:`flusher` writes the sums every few seconds.
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

from syndication.services.clicks import FLUSH_SECONDS, ClickCounter
from syndication.web.pages import Pages

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
        self.counter.record(
            resolved,
            head=request.method == "HEAD",
            user_agent=request.headers.get("user-agent", ""),
        )
        # Not cached: each click must reach us to be counted, and the URL may change.
        return RedirectResponse(
            resolved.url, status_code=302, headers={"cache-control": "no-store"}
        )


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
