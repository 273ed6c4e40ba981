"""Stored digests as people read them: the public archive and the console's page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from syndication.core.retractions import link_to
from syndication.edges.transport import MemoryTransport
from syndication.errors import NotFoundError
from syndication.services import articles, delivery
from syndication.services.digests import approval, archive
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import outbox
from syndication.store.models import Article
from tests.support.builders import AFTER_WEEK
from tests.support.outbox import PERIOD, queue_demo_digest

LIST = "weekly-city"
OP = "op@example.org"


def send_all(settings: Settings, engine: Engine, limit: int | None = None) -> list[str]:
    """Send every due copy (or the first ``limit``); the recipients, in order."""
    sink = MemoryTransport()
    if limit is None:
        delivery.send_digests(
            settings, engine, workers=1, now=lambda: AFTER_WEEK, transport_factory=lambda: sink
        )
        return [e.recipient for e in sink.sent]
    with db.write_session(engine) as session:
        claimed = outbox.claim_batch(session, "w", AFTER_WEEK, timedelta(minutes=2), limit, "c")
        outbox.settle(
            session,
            "c",
            [outbox.Outcome(c.delivery_id, "sent", c.email, "<m@x>") for c in claimed],
            AFTER_WEEK,
        )
    return [c.email for c in claimed]


def shown(settings: Settings, engine: Engine, list_slug: str = LIST) -> bool:
    """Whether the public archive links the digest and serves it."""
    linked = (list_slug, PERIOD) in [row[:2] for row in archive.archive_index(settings, engine)]
    served = archive.archive_copy(settings, engine, list_slug, PERIOD) is not None
    assert linked == served, "linked and served must agree"
    assert archive.on_the_archive(settings, engine, list_slug, PERIOD) == served
    return linked


def test_the_archive_shows_only_what_went_out(settings: Settings, engine: Engine) -> None:
    queue_demo_digest(settings, engine, 6, LIST)
    assert not shown(settings, engine), "compiled, nothing sent yet"
    send_all(settings, engine, limit=2)
    assert shown(settings, engine)
    approval.hold(settings, engine, LIST, PERIOD, OP, AFTER_WEEK)
    assert not shown(settings, engine), "held"
    approval.resume(settings, engine, LIST, PERIOD, OP, AFTER_WEEK)
    assert shown(settings, engine)
    approval.cancel(settings, engine, LIST, PERIOD, OP, AFTER_WEEK)
    assert not shown(settings, engine), "cancelled"


def test_a_manual_list_is_on_the_archive_once_approved_and_sent(
    settings: Settings, engine: Engine
) -> None:
    manual = replace(settings.mailing_list(LIST), approval="manual")
    settings = replace(settings, lists=(manual,))
    queue_demo_digest(settings, engine, 2, LIST)
    assert send_all(settings, engine) == [] and not shown(settings, engine)
    soon = approval.digest_status(engine, LIST, PERIOD).period_end + timedelta(hours=1)
    approval.approve(settings, engine, LIST, PERIOD, OP, soon)
    assert not shown(settings, engine), "approved, not sent yet"
    send_all(settings, engine)
    assert shown(settings, engine)


def test_a_private_lists_digests_never_appear(settings: Settings, engine: Engine) -> None:
    private = replace(settings.mailing_list(LIST), archive="private")
    settings = replace(settings, lists=(private,))
    queue_demo_digest(settings, engine, 2, LIST)
    send_all(settings, engine)
    assert approval.digest_status(engine, LIST, PERIOD).deliveries == {"sent": 2}
    assert not shown(settings, engine)


def article_in_digest(settings: Settings, engine: Engine) -> tuple[str, str]:
    """``(source id, url)`` of an article the compiled digest carries in full."""
    html = archive.console_preview(settings, engine, LIST, PERIOD)
    with db.read_session(engine) as session:
        for source_id, url in session.execute(select(Article.source_id, Article.url)):
            if link_to(url) in html:
                return source_id, url
    raise AssertionError("the digest links no article")


def test_retracting_an_article_holds_the_digests_still_sending_it(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 4, LIST)
    first = send_all(settings, engine, limit=1)
    source_id, url = article_in_digest(settings, engine)
    done = articles.retract(engine, source_id, "Wrong figures", AFTER_WEEK, reason_required=True)
    assert done.held == (f"{LIST} {PERIOD}",)
    assert "cancel it, or resume it" in done.held_note
    status = approval.digest_status(engine, LIST, PERIOD)
    assert (status.state, status.changed_by) == ("held", f"retraction of article {source_id}")
    assert send_all(settings, engine) == [], "nothing more goes out"
    assert len(first) == 1 and not shown(settings, engine)
    # Retracted again (a new reason): the operator's decision is not undone.
    approval.resume(settings, engine, LIST, PERIOD, OP, AFTER_WEEK)
    again = articles.retract(engine, source_id, "Other reason", AFTER_WEEK, reason_required=True)
    assert again.changed and again.held == ()


def test_the_archive_page_shows_a_retraction_in_the_articles_place(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 2, LIST)
    send_all(settings, engine)
    source_id, url = article_in_digest(settings, engine)
    before = archive.archive_copy(settings, engine, LIST, PERIOD)
    assert before is not None and link_to(url) in before
    done = articles.retract(engine, source_id, "Wrong <figures>", AFTER_WEEK, reason_required=True)
    assert done.held == (), "nothing left to send: nothing to hold"
    page = archive.archive_copy(settings, engine, LIST, PERIOD)
    assert page is not None and link_to(url) not in page
    assert "This article was retracted after the digest was sent: Wrong &lt;figures&gt;" in page
    assert page.count("<div") == before.count("<div"), "one block for one block"


def test_the_archive_lists_and_shows_each_digest_with_no_placeholder_left(
    settings: Settings, engine: Engine
) -> None:
    report = queue_demo_digest(settings, engine, 2, LIST)
    send_all(settings, engine)
    [(slug, period, subject, languages)] = archive.archive_index(settings, engine)
    assert (slug, period, languages) == (LIST, PERIOD, ()) and subject
    html = archive.archive_copy(settings, engine, LIST, PERIOD)
    assert html is not None and "%%SYNDICATION" not in html
    assert f'href="{settings.site.base_url}/"' in html  # unsubscribe leads home
    assert archive.archive_copy(settings, engine, LIST, "2020-01-06") is None
    assert archive.console_preview(settings, engine, LIST, PERIOD) == html
    with pytest.raises(NotFoundError, match="no such digest"):
        archive.console_preview(settings, engine, LIST, "2020-01-06")
    assert report.queued == 2


def test_the_console_view_is_the_sample_readers_message_and_the_unsent_rows(
    settings: Settings, engine: Engine
) -> None:
    queue_demo_digest(settings, engine, 3, LIST)
    view = archive.digest_view(settings, engine, LIST, PERIOD, ("queued",))
    assert view.status.state == "ready" and view.status.deliveries == {"queued": 3}
    assert [row[:2] for row in view.not_sent] == [
        (f"reader{i}@example.org", "queued") for i in range(3)
    ]
    headers = dict(view.headers)
    assert headers["To"] == "Sample Reader <sample.reader@example.org>"
    assert "SAMPLE-TOKEN-preview-only" in headers["List-Unsubscribe"]
    assert view.list_name == settings.mailing_list(LIST).name
    assert "%%SYNDICATION" not in view.text
    assert 0 < view.html_bytes < view.message_bytes
    assert archive.digest_view(settings, engine, LIST, PERIOD, ("failed",)).not_sent == []
    with pytest.raises(NotFoundError, match="no such digest"):
        archive.digest_view(settings, engine, LIST, "2020-01-06", ("queued",))
