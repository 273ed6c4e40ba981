"""The push API: a CMS sends articles to ``POST /api/articles`` instead of being polled.

The body is the import format (JSON Lines, ``Content-Type: application/x-ndjson``) and
goes through the same importer as ``syndication articles import``, so the same rules,
the same upsert and the same answer: a repeated request changes nothing. Callers
authenticate with ``Authorization: Bearer <key>`` (RFC 6750 §2.1); keys are made with
``syndication api-keys create`` and stored as hashes. Each key is rate-limited.

A key made with ``--source SOURCE`` may write and retract only the articles of that
source, ids ``SOURCE:…``: a body naming any other id is refused whole with ``403`` (nothing
written), as is retracting another source's article. A key made with ``--any-source``,
and every key made before scoped keys existed, may touch any article.

Answers are JSON, errors included (``{"error": …}``; the app's 404, 405 and 500 under
``/api/`` too): ``200`` with the counts and the rejected lines whenever the body was read
(a bad line is the caller's to fix, not a failed request), ``400`` for an id holding a
control character (NUL, a line break: no article can have one), ``401`` without a valid
key (with ``WWW-Authenticate``, RFC 6750 §3), ``403`` outside the key's source, ``413``
over :data:`MAX_BODY` (the app's body limit makes room for it under ``/api/``), ``415``
for another media type, ``429`` with ``Retry-After`` past the rate limit.
``DELETE /api/articles/<id>?reason=…`` retracts (a tombstone in the feeds); ``404`` if
unknown, ``400`` for a reason the one retraction policy refuses (a control character); the
reason may be left out, as it always could, and a long one is cut at 2,000 characters.
"""

from __future__ import annotations

import json
import unicodedata

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syndication.clock import utc_now
from syndication.errors import InputError, NotFoundError
from syndication.services import api_keys
from syndication.services.api_keys import KeyInfo
from syndication.settings import Settings
from syndication.web.security import ClientRateLimiter

MAX_BODY = 10 * 1024 * 1024
MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
NO_STORE = {"cache-control": "no-store"}


class ArticlesApi:
    """``/api/articles`` endpoints for one app."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        limiter: ClientRateLimiter,
        max_body: int = MAX_BODY,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.limiter = limiter
        self.max_body = max_body
        self.known_topics = frozenset(t.slug for t in settings.topics)

    async def authenticate(self, request: Request) -> KeyInfo | Response:
        """The key, or the 401/429 answer to send."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return _error(
                401,
                "send Authorization: Bearer <key> (syndication api-keys create)",
                {"www-authenticate": 'Bearer realm="syndication"'},
            )
        found = await run_in_threadpool(api_keys.verify_key, self.engine, key)
        if found is None:
            return _error(
                401,
                "unknown or revoked API key",
                {"www-authenticate": 'Bearer realm="syndication", error="invalid_token"'},
            )
        name = found.name
        if not self.limiter.allow(name):
            retry = str(self.limiter.retry_after(name))
            return _error(429, f"too many requests for key {name!r}", {"retry-after": retry})
        return found

    async def post(self, request: Request) -> Response:
        who = await self.authenticate(request)
        if isinstance(who, Response):
            return who
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in MEDIA_TYPES:
            return _error(415, "send JSON Lines with Content-Type: application/x-ndjson")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return _too_large(self.max_body)
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body:
                    return _too_large(self.max_body)
        except ClientDisconnect:
            return _error(400, "the client went away before the body arrived")
        lines = bytes(body).split(b"\n")
        if who.source is not None:
            outside = await run_in_threadpool(_outside_scope, lines, who)
            if outside is not None:
                number, article_id = outside
                return _error(403, _not_yours(who, article_id), line=number)
        # Imported here: serving feeds does not need the importer.
        from syndication.services.articles import import_articles

        report = await run_in_threadpool(
            import_articles,
            self.engine,
            lines,
            source=f"api:{who.name}",
            known_topics=self.known_topics,
            now=utc_now,
            keep_rejections=10_000,
            limits=self.settings.imports,
        )
        counts = report.counts
        return JSONResponse(
            {
                "inserted": counts.inserted,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "rejected": [
                    {"line": r.line, "field": r.field, "reason": r.reason}
                    for r in report.rejections
                ],
            },
            headers=NO_STORE,
        )

    async def delete(self, request: Request) -> Response:
        who = await self.authenticate(request)
        if isinstance(who, Response):
            return who
        from syndication.core.audit import Actor
        from syndication.services.articles import retract

        source_id = request.path_params["source_id"]
        control = next((c for c in source_id if unicodedata.category(c) == "Cc"), None)
        if control is not None:
            return _error(
                400,
                f"the id contains the control character U+{ord(control):04X}; no article id "
                "can hold one (retract such an article with 'syndication articles retract')",
            )
        if not who.may_write(source_id):
            return _error(403, _not_yours(who, source_id))
        reason = request.query_params.get("reason", "")
        try:
            # A CMS, not an operator: the audit log names its key, as the system's.
            actor = Actor.system(f"API key {who.name}")
            done = await run_in_threadpool(
                lambda: retract(
                    self.engine, source_id, reason, utc_now(), reason_required=False, actor=actor
                )
            )
        except NotFoundError:
            return _error(404, f"article {source_id!r}: no such article in the store")
        except InputError as exc:
            return _error(400, str(exc))
        return JSONResponse(
            {"id": source_id, "retracted": True, "changed": done.changed}, headers=NO_STORE
        )


def _error(
    status: int, message: str, headers: dict[str, str] | None = None, *, line: int | None = None
) -> JSONResponse:
    content: dict[str, object] = {"error": message}
    if line is not None:
        content["line"] = line
    return JSONResponse(content, status, {**NO_STORE, **(headers or {})})


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer in the API's shape, for the app's handlers under ``/api/``."""
    return _error(status, message, headers)


def _not_yours(who: KeyInfo, article_id: str) -> str:
    return (
        f"article {article_id!r}: key {who.name!r} may write only source {who.source!r} "
        f"(ids {who.source}:...)"
    )


def _outside_scope(lines: list[bytes], who: KeyInfo) -> tuple[int, str] | None:
    """The first line (number, id) whose article the key may not write; lines that are
    not JSON objects with a string id are left to the importer to reject."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            continue
        article_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(article_id, str) and not who.may_write(article_id.strip()):
            return number, article_id
    return None


def _too_large(limit: int) -> JSONResponse:
    return _error(413, f"the body is larger than {limit:,} bytes; send it in several requests")


def routes(
    settings: Settings, engine: Engine, limiter: ClientRateLimiter | None = None
) -> list[Route]:
    """The API's routes; 120 requests a minute per key unless ``limiter`` says otherwise."""
    api = ArticlesApi(settings, engine, limiter or ClientRateLimiter(120, 60))
    return [
        Route("/api/articles", api.post, methods=["POST"]),
        # "anything": an id with a line break still reaches delete(), which answers 400
        # (the "path" convertor's regex stops at a newline: a bare HTML 404).
        Route("/api/articles/{source_id:anything}", api.delete, methods=["DELETE"]),
    ]


class _Anything(Convertor[str]):
    """A path parameter that matches every character, line breaks included."""

    regex = "[\\s\\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anything", _Anything())
