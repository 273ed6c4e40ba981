"""The public digest archive: each digest as the stored e-mail (the "view in a browser" link)."""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from syndication.services.digests import archive
from syndication.settings import SLUG_RE
from syndication.web.pages import Pages

log = logging.getLogger(__name__)
PERIOD_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The digest archive shows the stored e-mail itself. Its CSS is inlined into style
# attributes for mail clients, which needs 'unsafe-inline' for styles; scripts, forms and
# frames stay forbidden, and images load only over HTTPS (they are absolute in the mail).
DIGEST_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


class ArchivePages(Pages):
    """``/digests/`` and one digest as its readers got it."""

    async def digest_index(self, request: Request) -> Response:
        rows = await run_in_threadpool(archive.archive_index, self.settings, self.engine)
        lang = self.language(request)
        digests = [
            {
                "list": self.list_name(slug, lang),
                "period": period,
                "subject": subject,
                "url": f"/digests/{slug}/{period}",
            }
            for slug, period, subject in rows
        ]
        # Shared caches keep one copy per language the visitor's browser or cookie asks.
        headers = {"cache-control": "public, max-age=300", "vary": "Accept-Language, Cookie"}
        return self.page(request, lang, "digests.html", headers=headers, digests=digests)

    def no_digest(self, request: Request) -> HTMLResponse:
        lang = self.language(request)
        return self.message(
            request,
            lang,
            404,
            self.t(lang, "No such digest"),
            self.t(lang, "There is no digest for that list and date."),
        )

    async def digest(self, request: Request) -> Response:
        slug = str(request.path_params["list_slug"])
        period = str(request.path_params["period"])
        if not SLUG_RE.fullmatch(slug) or not PERIOD_RE.fullmatch(period):
            # Checked before the query: PostgreSQL refuses a NUL ("%00") in a parameter
            # with an error, which must be a 404 like any other name we do not have.
            return self.no_digest(request)
        html = await run_in_threadpool(
            archive.archive_copy, self.settings, self.engine, slug, period
        )
        if html is None:
            return self.no_digest(request)
        return HTMLResponse(
            html,
            headers={
                # Short: a digest held, cancelled or retracted from leaves shared caches
                # within minutes (it was an hour: issue 28).
                "cache-control": "public, max-age=300",
                "content-security-policy": DIGEST_CSP,
            },
        )
