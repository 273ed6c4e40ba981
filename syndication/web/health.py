"""``/healthz``: the database answers, and how far the feeds are behind."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from syndication.core.feeds import expected_paths
from syndication.edges.files import missing_files
from syndication.store import status as webstore
from syndication.web.pages import NO_STORE, Pages

log = logging.getLogger(__name__)


class HealthPage(Pages):
    """What a load balancer or a monitor asks."""

    def missing_feed_files(self) -> list[str]:
        """Feed files a build always writes that are not on disk (lost, not yet built)."""
        return missing_files(self.settings.feeds.dir, expected_paths(self.settings))

    async def healthz(self, request: Request) -> Response:
        try:
            missing = await run_in_threadpool(self.missing_feed_files)
            report = await run_in_threadpool(self.read, webstore.health, len(missing))
        except SQLAlchemyError as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "error", "database": "unreachable"}, 503, NO_STORE)
        return JSONResponse({"status": "ok", "database": "ok", **report}, headers=NO_STORE)
