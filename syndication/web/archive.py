"""The public digest archive: each digest as the stored e-mail (the "view in a browser"
link), a "reader" list's copies in other languages beside it (issue 30)."""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from syndication.core.digests import archive_path
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

# Short: a digest held, cancelled or retracted from leaves shared caches within minutes
# (it was an hour: issue 28).
ARCHIVE_CACHE = "public, max-age=300"


class ArchivePages(Pages):
    """``/digests/`` and one digest as its readers got it, in each language it has."""

    async def digest_index(self, request: Request) -> Response:
        rows = await run_in_threadpool(archive.archive_index, self.settings, self.engine)
        lang = self.language(request)
        names = self.settings.languages.name
        digests = [
            {
                "list": self.list_name(row.list_slug, lang),
                "period": row.period_key,
                "subject": row.subject,
                "url": archive_path(row.list_slug, row.period_key),
                # A "reader" list's copies in other languages (issue 30), each named as
                # the language switch names it (its own words, or [languages] names).
                "copies": [
                    {
                        "tag": tag,
                        "name": names(tag),
                        "url": archive_path(row.list_slug, row.period_key, tag),
                    }
                    for tag in row.languages
                ],
            }
            for row in rows
        ]
        # Shared caches keep one copy per language the visitor's browser or cookie asks.
        headers = {"cache-control": ARCHIVE_CACHE, "vary": "Accept-Language, Cookie"}
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
        """``/digests/<list>/<period>``: the digest's main copy."""
        slug = str(request.path_params["list_slug"])
        period = str(request.path_params["period"])
        if not _valid(slug, period):
            return self.no_digest(request)
        return await self._copy(request, slug, period, "")

    async def digest_in_language(self, request: Request) -> Response:
        """``/digests/<list>/<period>/<language>``: a "reader" list's copy in another
        language (issue 30). The main copy's language there is a permanent redirect to
        the canonical address; a language the newsroom does not offer, or one the digest
        has no copy in, is the 404 page."""
        slug = str(request.path_params["list_slug"])
        period = str(request.path_params["period"])
        language = str(request.path_params["language"])
        # Only the tags of [languages] available, exactly as configured, name a copy:
        # checked before any query, like the list and period (see _valid).
        if language not in self.languages or not _valid(slug, period):
            return self.no_digest(request)
        main = archive.main_language(self.settings, slug)
        if main is None:
            return self.no_digest(request)
        if language != main:
            return await self._copy(request, slug, period, language)
        # Redirected only to a page that is there: a held digest is a 404 at every address.
        shown = await run_in_threadpool(
            archive.on_the_archive, self.settings, self.engine, slug, period
        )
        if not shown:
            return self.no_digest(request)
        return RedirectResponse(
            archive_path(slug, period), 308, headers={"cache-control": ARCHIVE_CACHE}
        )

    async def _copy(self, request: Request, slug: str, period: str, language: str) -> Response:
        """One copy of a digest as the archive shows it, or the 404 page."""
        html = await run_in_threadpool(
            archive.archive_copy, self.settings, self.engine, slug, period, language
        )
        if html is None:
            return self.no_digest(request)
        return HTMLResponse(
            html,
            headers={"cache-control": ARCHIVE_CACHE, "content-security-policy": DIGEST_CSP},
        )


def _valid(slug: str, period: str) -> bool:
    """Whether a list slug and period key are well formed. Checked before any query:
    PostgreSQL refuses a NUL ("%00") in a parameter with an error, which must be a 404
    like any other name we do not have."""
    return SLUG_RE.fullmatch(slug) is not None and PERIOD_RE.fullmatch(period) is not None
