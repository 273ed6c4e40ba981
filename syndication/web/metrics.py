"""``GET /metrics``: the service's state in the Prometheus text format.

Values are read from the database at scrape time by a custom collector, so every web
process behind a load balancer reports the same truth, and nothing is counted in memory
that a restart would lose. Every family is announced (``# HELP``/``# TYPE``) on every
scrape, with or without samples, so alerts written against a family never see it vanish.

Some names end in ``_total`` because the issue asks for them; they are gauges (a count of
rows now), not counters, and are typed as such.

Access: with ``Authorization: Bearer $SYNDICATION_METRICS_TOKEN`` from anywhere; without
it only from loopback, and only while ``[web] trusted_proxies`` is empty. Once a proxy is
configured, a request it relays arrives from loopback too (and may carry any address in
its headers), so loopback alone proves nothing (issue 29: through the README's nginx
block ``/metrics`` answered anyone).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from ipaddress import ip_address

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from syndication.services import clicks
from syndication.services.status import (
    DELIVERY_STATUSES,
    DIGEST_STATES,
    SUBSCRIBER_STATUSES,
    ServiceStatus,
    service_status,
)
from syndication.settings import Settings

log = logging.getLogger(__name__)

ARTICLE_STATUSES = ("published", "retracted")


def families(view: ServiceStatus | None, now: datetime, lists: Iterable[str]) -> list[Metric]:
    """The metric families for one snapshot; ``None`` (database unreachable) gives every
    family without samples and ``syndication_database_up 0``."""
    up = GaugeMetricFamily(
        "syndication_database_up", "1 when the database answered this scrape, else 0"
    )
    up.add_metric([], 1.0 if view is not None else 0.0)
    articles = GaugeMetricFamily(
        "syndication_articles_total", "Articles in the news store", labels=["status"]
    )
    behind = GaugeMetricFamily(
        "syndication_feeds_behind_changes",
        "Article changes the published feeds do not reflect yet, plus missing feed files",
    )
    queued = GaugeMetricFamily(
        "syndication_outbox_queued", "Deliveries waiting to be sent (held digests excluded)"
    )
    held = GaugeMetricFamily(
        "syndication_outbox_held", "Deliveries waiting on a held or cancelled digest"
    )
    sending = GaugeMetricFamily("syndication_outbox_sending", "Deliveries a sender holds now")
    oldest = GaugeMetricFamily(
        "syndication_outbox_oldest_queued_seconds",
        "Age of the oldest digest with deliveries still queued (0 when none)",
    )
    deliveries = GaugeMetricFamily(
        "syndication_deliveries_total", "Deliveries by status", labels=["status"]
    )
    subscribers = GaugeMetricFamily(
        "syndication_subscribers",
        "Readers of each list by status (former readers: unsubscribed or complained)",
        labels=["list", "status"],
    )
    by_language = GaugeMetricFamily(
        "syndication_subscribers_by_language",
        "Members of each list by status and the language their digests are written in",
        labels=["list", "status", "language"],
    )
    articles_language = GaugeMetricFamily(
        "syndication_articles_by_language",
        "Articles in the news store by language and status",
        labels=["language", "status"],
    )
    digests = GaugeMetricFamily("syndication_digests", "Digests by state", labels=["state"])
    jobs = GaugeMetricFamily(
        "syndication_job_last_success_timestamp_seconds",
        "When each scheduled job last finished successfully (Unix time)",
        labels=["job"],
    )
    source_success = GaugeMetricFamily(
        "syndication_source_last_success_timestamp_seconds",
        "When each source was last polled successfully (Unix time)",
        labels=["source"],
    )
    source_failures = GaugeMetricFamily(
        "syndication_source_failures",
        "Failed polls of each source in a row (0 after a success)",
        labels=["source"],
    )
    bounces = GaugeMetricFamily(
        "syndication_bounce_events",
        "Bounces, complaints and restores recorded, by kind",
        labels=["kind"],
    )
    intake = GaugeMetricFamily(
        "syndication_bounce_reports",
        "Bounce reports in the intake: queued (not yet processed) and failed (processing raised)",
        labels=["state"],
    )
    mail = GaugeMetricFamily(
        "syndication_transactional_mails",
        "Confirmation and test mails: queued (not handed over yet), retrying (of them, "
        "failed at least once), gave_up (failed or refused in the last 7 days); "
        "awaiting_confirmation counts readers",
        labels=["state"],
    )
    result: list[Metric] = [
        mail,
        up,
        articles,
        behind,
        queued,
        held,
        sending,
        oldest,
        deliveries,
        subscribers,
        by_language,
        articles_language,
        digests,
        jobs,
        source_success,
        source_failures,
        bounces,
        intake,
    ]
    if view is None:
        return result
    for status in ARTICLE_STATUSES:
        articles.add_metric([status], float(view.articles_by_status.get(status, 0)))
    behind.add_metric([], float(view.feeds.behind))
    queued.add_metric([], float(view.outbox.queued))
    held.add_metric([], float(view.outbox.held))
    sending.add_metric([], float(view.outbox.sending))
    since = view.outbox.oldest_queued_since
    oldest.add_metric([], max(0.0, (now - since).total_seconds()) if since else 0.0)
    for status in DELIVERY_STATUSES:
        deliveries.add_metric([status], float(view.deliveries.get(status, 0)))
    for slug in sorted(set(lists) | set(view.lists)):
        counts = view.lists.get(slug, {})
        for status in SUBSCRIBER_STATUSES:
            subscribers.add_metric([slug, status], float(counts.get(status, 0)))
    for (slug, status, language), count in sorted(view.languages.readers.items()):
        by_language.add_metric([slug, status, language], float(count))
    for (language, status), count in sorted(view.languages.articles.items()):
        articles_language.add_metric([language, status], float(count))
    for state in DIGEST_STATES:
        digests.add_metric([state], float(view.digest_states.get(state, 0)))
    for job in view.jobs:
        if job.last_success_at is not None:
            jobs.add_metric([job.job_id], job.last_success_at.timestamp())
    for kind, count in sorted(view.bounce_events.items()):
        bounces.add_metric([kind], float(count))
    intake.add_metric(["queued"], float(view.intake.backlog))
    intake.add_metric(["failed"], float(view.intake.failed))
    for state in ("awaiting_confirmation", "queued", "retrying", "gave_up"):
        mail.add_metric([state], float(getattr(view.mail, state)))
    for source in view.sources:
        source_failures.add_metric([source.name], float(source.failures))
        if source.last_success_at is not None:
            source_success.add_metric([source.name], source.last_success_at.timestamp())
    return result


class DatabaseCollector(Collector):
    """Reads the status report once per scrape (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Engine, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.engine = engine
        self.lists = tuple(ml.slug for ml in settings.lists)
        self.now = now

    def describe(self) -> Iterable[Metric]:
        # Registering must not query the database: describe the families without samples.
        return [*families(None, self.now(), ()), click_family({})]

    def collect(self) -> Iterable[Metric]:
        try:
            view: ServiceStatus | None = service_status(
                self.settings, self.engine, digest_limit=0, now=self.now()
            )
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreachable: %s", exc)
            view = None
        sums: dict[tuple[str, str], int] = {}
        if view is not None:
            try:
                sums = clicks.totals(self.engine)
            except SQLAlchemyError as exc:
                log.warning("metrics: click sums unreadable: %s", exc)
        return [*families(view, self.now(), self.lists), click_family(sums)]


def click_family(sums: dict[tuple[str, str], int]) -> Metric:
    """``syndication_digest_clicks_total{list,kind}``: the stored sums of issue 31 (counts
    still in a ``serve`` process's memory join them at its next flush)."""
    family = CounterMetricFamily(
        "syndication_digest_clicks",
        "Requests to digest links: readers' clicks and link scanners' requests",
        labels=["list", "kind"],
    )
    for (slug, kind), value in sorted(sums.items()):
        family.add_metric([slug, kind], float(value))
    return family


def _local_scrape(request: Request, proxies: tuple[str, ...]) -> bool:
    # Behind a proxy, a relayed request arrives from loopback too: only a token counts.
    if proxies:
        return False
    # No proxy configured, yet a forwarding header: a proxy nobody told us about relayed
    # it (RFC 7239 Forwarded, X-Forwarded-For); not a local scrape either.
    if "forwarded" in request.headers or "x-forwarded-for" in request.headers:
        return False
    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsEndpoint:
    """The ``/metrics`` route: checks access, then renders the registry in a thread."""

    def __init__(self, settings: Settings, engine: Engine, now: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(DatabaseCollector(settings, engine, now))
        self.token = settings.metrics_token
        self.proxies = settings.web.trusted_proxies

    def allowed(self, request: Request) -> bool:
        if _local_scrape(request, self.proxies):
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not self.token or scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def endpoint(self, request: Request) -> Response:
        if not self.allowed(request):
            return PlainTextResponse(
                "metrics are served with Authorization: Bearer $SYNDICATION_METRICS_TOKEN "
                "(or to loopback while [web] trusted_proxies is empty)\n",
                403,
                headers={"cache-control": "no-store"},
            )
        body = await run_in_threadpool(generate_latest, self.registry)
        return Response(
            body, headers={"content-type": CONTENT_TYPE_LATEST, "cache-control": "no-store"}
        )


def metrics_route(settings: Settings, engine: Engine, now: Callable[[], datetime]) -> Route:
    """``GET /metrics`` for the site's app."""
    return Route("/metrics", MetricsEndpoint(settings, engine, now).endpoint, methods=["GET"])
