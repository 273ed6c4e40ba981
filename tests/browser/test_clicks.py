"""A counted digest link followed in a real browser (issue 31): Debian's Chromium opens
the ``/r/`` link of a delivered copy and lands on the article; the click is a reader's."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage

from playwright.sync_api import Browser
from sqlalchemy import Engine, select, update

from syndication.core import clicks as core
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Article, DigestClicks
from tests.support.browser import needs_chromium, serving
from tests.support.builders import import_demo_articles

pytestmark = needs_chromium

# In the past, so that the click is long after the copy was sent (not a gateway's scan).
SENT = datetime(2026, 11, 24, tzinfo=UTC)


def test_chromium_follows_a_counted_link_to_the_article(
    settings: Settings, engine: Engine, browser: Browser
) -> None:
    lists = tuple(
        replace(ml, count_clicks=True) if ml.slug == "weekly-city" else ml for ml in settings.lists
    )
    with serving(replace(settings, lists=lists), engine) as (base, served):
        import_demo_articles(served, engine)
        with db.write_session(engine) as session:
            subscribers.add_subscriber(
                session, "r@example.org", "", ["weekly-city"], confirmed=True, now=SENT
            )
        compiling.compile_digest(served, engine, "weekly-city", date(2026, 11, 18), SENT)
        assert delivery.send_digests(served, engine, workers=1, now=lambda: SENT).sent == 1
        [path] = (served.mail.outbox_dir / "weekly-city").rglob("*.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        html = message.get_body(("html",))
        assert html is not None
        link = re.findall(rf'href="({re.escape(base)}/r/[^"]+)"', str(html.get_content()))[0]
        claims = core.read_link(link.rsplit("/", 1)[1].partition(".")[0])[0]
        assert claims is not None
        # The article's page must be reachable from here: it is the archive's index.
        with db.write_session(engine) as session:
            session.execute(
                update(Article)
                .where(Article.id == claims.article_id)
                .values(url=f"{base}/digests/")
            )
        page = browser.new_page()
        page.goto(link)
        assert page.url == f"{base}/digests/"
        page.close()
    # serve stopped: its lifespan wrote the tally.
    with db.read_session(engine) as session:
        row = session.execute(
            select(DigestClicks.reader_clicks, DigestClicks.scanner_requests).where(
                DigestClicks.article_id == claims.article_id
            )
        ).one()
    assert tuple(row) == (1, 0)
