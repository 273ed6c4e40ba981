"""Digests into the outbox and out: compile, personalise, send; confirmation mail."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, select

from syndication.core import tokens
from syndication.edges.transport import SmtpTransport
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.services.send_loop import LoopOptions
from syndication.settings import LanguageSettings, MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Delivery
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.smtp import SmtpServer


@pytest.fixture
def demo_store(settings: Settings, engine: Engine) -> Engine:
    import_demo_articles(settings, engine)
    return engine


def add_readers(engine: Engine, count: int, list_slug: str = "weekly-city") -> None:
    with db.write_session(engine) as session:
        for i in range(count):
            subscribers.add_subscriber(
                session,
                f"reader{i}@example.org",
                f"독자 {i}",
                [list_slug],
                confirmed=True,
                now=AFTER_WEEK,
            )


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    return message


def test_file_transport_writes_one_parseable_message_per_recipient(
    settings: Settings, demo_store: Engine
) -> None:
    add_readers(demo_store, 4)
    compiling.compile_digest(settings, demo_store, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
    report = delivery.send_digests(settings, demo_store, workers=2, now=lambda: AFTER_WEEK)
    assert report.sent == 4
    folder = settings.mail.outbox_dir / "weekly-city" / "2026-11-16"
    files = sorted(folder.glob("*.eml"))
    assert [f.name for f in files] == [f"reader{i}@example.org.eml" for i in range(4)]
    with db.read_session(demo_store) as session:
        recorded = {r.message_id for r in session.scalars(select(Delivery))}
    for path in files:
        message = parse(path.read_bytes())
        assert message["Message-ID"] in recorded
        assert str(message["To"]).startswith("독자 ")
        header_url = str(message["List-Unsubscribe"]).strip("<>")
        token = header_url.rsplit("/", 1)[1]
        claims = tokens.read_token(settings.secret_key, tokens.UNSUBSCRIBE, token, AFTER_WEEK)
        assert claims.list_slug == "weekly-city"
        body = message.get_body(("html",))
        assert body is not None and header_url in body.get_content()
    # Sending again finds nothing to do.
    assert delivery.send_digests(settings, demo_store, workers=1, now=lambda: AFTER_WEEK).sent == 0


def test_smtp_delivery_carries_the_recorded_message_id(
    settings: Settings, demo_store: Engine, smtp_server: SmtpServer
) -> None:
    add_readers(demo_store, 6, "weekly-international")
    compiling.compile_digest(
        settings, demo_store, "weekly-international", date(2026, 11, 18), AFTER_WEEK
    )
    mail = MailSettings(
        transport="smtp",
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, rate_per_second=1000),
    )
    smtp = replace(settings, mail=mail)
    report = delivery.send_digests(
        smtp,
        demo_store,
        workers=2,
        now=lambda: AFTER_WEEK,
        transport_factory=lambda: SmtpTransport(mail),
    )
    assert report.sent == 6
    received = {parse(data)["Message-ID"]: rcpts for _, rcpts, data in smtp_server.handler.messages}
    with db.read_session(demo_store) as session:
        recorded = {r.message_id for r in session.scalars(select(Delivery))}
    assert set(received) == recorded


def test_one_set_of_sending_defaults_comes_from_the_settings(settings: Settings) -> None:
    """``syndication send`` and the scheduler build their options here; they differ only in
    how long they wait for a server that is down (and the CLI's own overrides)."""
    files = delivery.SendOptions.from_settings(settings, max_wait=60.0)
    assert files == delivery.SendOptions(
        workers=1,
        max_wait=60.0,
        lease=timedelta(minutes=2),
        rate_per_second=delivery.UNPACED,
        soft_limit=settings.bounces.soft_limit,
    )
    smtp_mail = MailSettings(
        transport="smtp", smtp=SmtpSettings(connections=3, rate_per_second=20.0)
    )
    smtp = delivery.SendOptions.from_settings(replace(settings, mail=smtp_mail), max_wait=300.0)
    assert (smtp.workers, smtp.rate_per_second, smtp.lease) == (3, 20.0, timedelta(minutes=2))
    chosen = delivery.SendOptions.from_settings(
        settings, max_wait=1.0, workers=0, lease=timedelta(seconds=2)
    )
    assert (chosen.workers, chosen.lease) == (1, timedelta(seconds=2)), "at least one worker"
    assert chosen.loop == LoopOptions(workers=1, lease=timedelta(seconds=2), max_wait=1.0)


def test_send_digests_takes_workers_or_options_not_both(
    settings: Settings, demo_store: Engine
) -> None:
    options = delivery.SendOptions.from_settings(settings, max_wait=0.0)
    with pytest.raises(TypeError, match="not both"):
        delivery.send_digests(
            settings, demo_store, now=lambda: AFTER_WEEK, options=options, workers=2
        )


def test_a_reader_list_sends_each_reader_the_digest_in_their_language(
    settings: Settings, demo_store: Engine
) -> None:
    """Issue 30: a list with language = "reader" is rendered once per language at compile
    time; each recipient is spliced into the copy of their first offered language."""
    city = replace(settings.mailing_list("weekly-city"), language="reader")
    settings = replace(
        settings,
        languages=LanguageSettings(available=("en", "ko")),
        lists=tuple(city if ml.slug == city.slug else ml for ml in settings.lists),
    )
    with db.write_session(demo_store) as session:
        for address, locale in (("kim@example.org", "ko,en"), ("ann@example.org", "fr,en")):
            subscribers.add_subscriber(
                session,
                address,
                "",
                ["weekly-city"],
                confirmed=True,
                now=AFTER_WEEK,
                locale=locale,
            )
    compiling.compile_digest(settings, demo_store, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
    assert delivery.send_digests(settings, demo_store, workers=1, now=lambda: AFTER_WEEK).sent == 2
    folder = settings.mail.outbox_dir / "weekly-city" / "2026-11-16"
    korean = parse((folder / "kim@example.org.eml").read_bytes())
    english = parse((folder / "ann@example.org.eml").read_bytes())
    assert korean["Content-Language"] == "ko"
    assert str(korean["Subject"]).endswith("2026년 11월 16일~23일")
    assert english["Content-Language"] == "en"
    assert str(english["Subject"]).endswith("16–23 November 2026")
    korean_html = korean.get_body(("html",))
    english_html = english.get_body(("html",))
    assert korean_html is not None and english_html is not None
    assert '<html lang="ko" dir="ltr">' in korean_html.get_content()
    assert "구독 해지" in korean_html.get_content()
    assert "구독" not in english_html.get_content()
    assert '<html lang="en" dir="ltr">' in english_html.get_content()
