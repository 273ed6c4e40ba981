"""The push API: a CMS sends articles to ``POST /api/articles`` instead of being polled.

The body is the import format (JSON Lines, ``Content-Type: application/x-ndjson``) and
goes through the same importer as ``syndication articles import``, so the same rules,
the same upsert and the same answer: a repeated request changes nothing. Callers
authenticate with ``Authorization: Bearer <key>`` (RFC 6750 §2.1); keys are made with
``syndication api-keys create`` and stored as hashes. Each key is rate-limited.

Answers are JSON: ``200`` with the counts and the rejected lines whenever the body was
read (a bad line is the caller's to fix, not a failed request), ``401`` without a valid
key (with ``WWW-Authenticate``, RFC 6750 §3), ``413`` over :data:`MAX_BODY`, ``415`` for
another media type, ``429`` with ``Retry-After`` past the rate limit.
``DELETE /api/articles/<id>?reason=…`` retracts (a tombstone in the feeds); ``404`` if
unknown, ``400`` for a reason the one retraction policy refuses (a control character); the
reason may be left out, as it always could, and a long one is cut at 2,000 characters.
"""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syndication.clock import utc_now
from syndication.errors import InputError, NotFoundError
from syndication.services import api_keys
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

    async def authenticate(self, request: Request) -> str | Response:
        """The key's name, or the 401/429 answer to send."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return _error(
                401,
                "send Authorization: Bearer <key> (syndication api-keys create)",
                {"www-authenticate": 'Bearer realm="syndication"'},
            )
        name = await run_in_threadpool(api_keys.verify_key, self.engine, key)
        if name is None:
            return _error(
                401,
                "unknown or revoked API key",
                {"www-authenticate": 'Bearer realm="syndication", error="invalid_token"'},
            )
        if not self.limiter.allow(name):
            retry = str(self.limiter.retry_after(name))
            return _error(429, f"too many requests for key {name!r}", {"retry-after": retry})
        return name

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
            return Response(status_code=400)
        # Imported here: serving feeds does not need the importer.
        from syndication.services.articles import import_articles

        report = await run_in_threadpool(
            import_articles,
            self.engine,
            bytes(body).split(b"\n"),
            source=f"api:{who}",
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
        from syndication.services.articles import retract

        source_id = request.path_params["source_id"]
        reason = request.query_params.get("reason", "")
        try:
            done = await run_in_threadpool(
                retract, self.engine, source_id, reason, utc_now(), reason_required=False
            )
        except NotFoundError:
            return _error(404, f"article {source_id!r}: no such article in the store")
        except InputError as exc:
            return _error(400, str(exc))
        return JSONResponse(
            {"id": source_id, "retracted": True, "changed": done.changed}, headers=NO_STORE
        )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, {**NO_STORE, **(headers or {})})


def _too_large(limit: int) -> JSONResponse:
    return _error(413, f"the body is larger than {limit:,} bytes; send it in several requests")


def routes(
    settings: Settings, engine: Engine, limiter: ClientRateLimiter | None = None
) -> list[Route]:
    """The API's routes; 120 requests a minute per key unless ``limiter`` says otherwise."""
    api = ArticlesApi(settings, engine, limiter or ClientRateLimiter(120, 60))
    return [
        Route("/api/articles", api.post, methods=["POST"]),
        Route("/api/articles/{source_id:path}", api.delete, methods=["DELETE"]),
    ]
