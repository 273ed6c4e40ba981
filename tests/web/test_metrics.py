"""``/metrics``: who may scrape it, and that prometheus_client's own parser reads it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from starlette.testclient import TestClient

from syndication.services.digests import approval
from syndication.settings import LanguageSettings, Settings, WebSettings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import BounceEvent, JobRun
from syndication.store.sources import record_poll
from syndication.web.app import create_app
from tests.support.builders import AFTER_WEEK, import_demo_translations
from tests.support.console import Clock
from tests.support.outbox import (
    PERIOD,
    queue_demo_digest,
)

FAMILIES = {
    "syndication_database_up": "gauge",
    "syndication_bounce_reports": "gauge",
    "syndication_articles_total": "gauge",
    "syndication_feeds_behind_changes": "gauge",
    "syndication_outbox_queued": "gauge",
    "syndication_outbox_held": "gauge",
    "syndication_outbox_sending": "gauge",
    "syndication_outbox_oldest_queued_seconds": "gauge",
    "syndication_deliveries_total": "gauge",
    "syndication_subscribers": "gauge",
    "syndication_subscribers_by_language": "gauge",
    "syndication_articles_by_language": "gauge",
    "syndication_digests": "gauge",
    "syndication_job_last_success_timestamp_seconds": "gauge",
    "syndication_source_last_success_timestamp_seconds": "gauge",
    "syndication_source_failures": "gauge",
    "syndication_bounce_events": "gauge",
    "syndication_transactional_mails": "gauge",
    "syndication_digest_clicks": "counter",  # issue 31: sums, never per reader
}


def scrape(
    settings: Settings, engine: Engine, host: str = "127.0.0.1", **headers: str
) -> tuple[int, str]:
    app = create_app(settings, engine, now=Clock(AFTER_WEEK).now)
    with TestClient(app, client=(host, 40000)) as client:
        response = client.get("/metrics", headers=headers)
    return response.status_code, response.text


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    result: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        assert FAMILIES.get(family.name) == family.type, family.name
        samples = result.setdefault(family.name, {})
        for sample in family.samples:
            samples[tuple(sorted(sample.labels.items()))] = sample.value
    return result


def test_every_family_is_announced_on_an_empty_store(settings: Settings, engine: Engine) -> None:
    status, text = scrape(settings, engine)
    assert status == 200
    for name, kind in FAMILIES.items():
        exposed = f"{name}_total" if kind == "counter" else name  # the text format's name
        assert f"# HELP {exposed} " in text and f"# TYPE {exposed} {kind}\n" in text
    values = parse(text)
    assert set(values) == set(FAMILIES)
    assert values["syndication_job_last_success_timestamp_seconds"] == {}
    assert values["syndication_database_up"] == {(): 1.0}


def test_values_come_from_the_database_at_scrape_time(settings: Settings, engine: Engine) -> None:
    queue_demo_digest(settings, engine, 3)
    with db.write_session(engine) as session:
        session.add(
            JobRun(
                job_id="poll",
                started_at=AFTER_WEEK - timedelta(minutes=1),
                finished_at=AFTER_WEEK,
                ok=True,
                summary="",
                error="",
            )
        )
        session.add(
            BounceEvent(
                report_key="r1", created_at=AFTER_WEEK, source="smtp", kind="hard", report=b""
            )
        )
        record_poll(session, "city-wp", "wordpress", now=AFTER_WEEK, ok=True, result="3 new")
        record_poll(session, "agency", "feed", now=AFTER_WEEK, ok=False, result="", error="503")
    values = parse(scrape(settings, engine)[1])
    assert values["syndication_source_failures"] == {
        (("source", "agency"),): 1.0,
        (("source", "city-wp"),): 0.0,
    }
    assert values["syndication_source_last_success_timestamp_seconds"] == {
        (("source", "city-wp"),): AFTER_WEEK.timestamp()
    }
    assert values["syndication_bounce_events"] == {(("kind", "hard"),): 1.0}
    assert values["syndication_outbox_queued"] == {(): 3.0}
    assert values["syndication_deliveries_total"][(("status", "queued"),)] == 3.0
    assert values["syndication_subscribers"][(("list", "weekly-city"), ("status", "active"))] == 3.0
    assert values["syndication_articles_total"][(("status", "published"),)] > 0
    assert values["syndication_job_last_success_timestamp_seconds"] == {
        (("job", "poll"),): AFTER_WEEK.timestamp()
    }
    age = values["syndication_outbox_oldest_queued_seconds"][()]
    assert age == 0.0  # compiled at AFTER_WEEK, scraped at AFTER_WEEK
    approval.hold(settings, engine, "weekly-city", PERIOD, "op", AFTER_WEEK)
    values = parse(scrape(settings, engine)[1])
    assert values["syndication_outbox_queued"] == {(): 0.0}
    assert values["syndication_outbox_held"] == {(): 3.0}
    assert values["syndication_digests"][(("state", "held"),)] == 1.0


def test_readers_and_articles_by_language(settings: Settings, engine: Engine) -> None:
    """Issue 30: a new family each, so the existing ones keep their labels."""
    settings = replace(settings, languages=LanguageSettings(available=("en", "ko", "ja")))
    queue_demo_digest(settings, engine, 2)
    import_demo_translations(settings, engine)
    with db.write_session(engine) as session:
        for address, locale in (("kim@example.org", "ko,en"), ("lee@example.org", "ko-KR")):
            subscribers.add_subscriber(
                session, address, "", ["weekly-city"], confirmed=True, now=AFTER_WEEK, locale=locale
            )
    values = parse(scrape(settings, engine)[1])
    readers = values["syndication_subscribers_by_language"]
    city = (("list", "weekly-city"), ("status", "active"))
    assert readers[(("language", "en"), *city)] == 2.0
    assert readers[(("language", "ko"), *city)] == 2.0
    assert (("language", "ja"), *city) not in readers
    articles = values["syndication_articles_by_language"]
    assert articles[(("language", "ko"), ("status", "published"))] == 2.0
    assert articles[(("language", "ja"), ("status", "published"))] == 2.0
    published = values["syndication_articles_total"][(("status", "published"),)]
    assert articles[(("language", "en"), ("status", "published"))] == published - 4
    # The family the dashboards rely on keeps its two labels.
    assert values["syndication_subscribers"][city] == 4.0


def test_only_loopback_or_the_bearer_token_may_scrape(settings: Settings, engine: Engine) -> None:
    assert scrape(settings, engine, "::1")[0] == 200
    assert scrape(settings, engine, "203.0.113.9")[0] == 403
    # Relayed by a proxy on this host: not a local scrape.
    assert scrape(settings, engine, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"})[0] == 403
    # No token configured: a Bearer header opens nothing.
    assert scrape(settings, engine, "203.0.113.9", Authorization="Bearer ")[0] == 403
    with_token = replace(settings, metrics_token="s3cret-scrape-token")
    ok = scrape(with_token, engine, "203.0.113.9", Authorization="Bearer s3cret-scrape-token")
    assert ok[0] == 200 and "# TYPE syndication_outbox_queued gauge" in ok[1]
    assert scrape(with_token, engine, "203.0.113.9", Authorization="Bearer wrong")[0] == 403
    assert scrape(with_token, engine, "203.0.113.9", Authorization="Basic s3cret")[0] == 403
    denied = scrape(with_token, engine, "203.0.113.9")
    assert denied[0] == 403 and "SYNDICATION_METRICS_TOKEN" in denied[1]


def test_behind_a_proxy_loopback_alone_opens_nothing(settings: Settings, engine: Engine) -> None:
    # Through nginx on the same host every request came from loopback (issue 29 item 1).
    proxied = replace(settings, web=WebSettings(trusted_proxies=("127.0.0.1",)))
    assert scrape(proxied, engine, "127.0.0.1")[0] == 403
    assert scrape(proxied, engine, "::1")[0] == 403
    assert scrape(proxied, engine, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"})[0] == 403
    with_token = replace(proxied, metrics_token="s3cret-scrape-token")
    assert (
        scrape(with_token, engine, "127.0.0.1", Authorization="Bearer s3cret-scrape-token")[0]
        == 200
    )
