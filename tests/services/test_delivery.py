"""Digests into the outbox and out: compile, personalise, send; confirmation mail."""

from __future__ import annotations

import csv
import email
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from syndication.core import tokens
from syndication.edges.transport import SmtpTransport
from syndication.services import delivery, subscriptions
from syndication.services.digests import compiling
from syndication.settings import MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Delivery
from tests.support.builders import AFTER_WEEK, EXAMPLES, import_demo_articles
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


def test_subscriber_import_sends_confirmations_that_activate(
    settings: Settings, engine: Engine
) -> None:
    rejected: list[str] = []
    report = subscriptions.import_subscribers_file(
        settings,
        engine,
        str(EXAMPLES / "subscribers.csv"),
        confirmed=False,
        on_rejection=lambda r: rejected.append(str(r)),
    )
    assert (report.added, report.rejected, report.confirmations) == (12, 0, 12)
    mails = sorted((settings.mail.outbox_dir / "confirmations").glob("*/*.eml"))
    assert len(mails) == 12
    message = parse(next(p for p in mails if p.name.startswith("minji")).read_bytes())
    assert str(message["To"]) == "김민지 <minji.kim@example.com>"
    text = message.get_body(("plain",))
    assert text is not None
    url = next(w for w in text.get_content().split() if "/confirm/" in w)
    claims = tokens.read_token(
        settings.secret_key,
        tokens.CONFIRM,
        url.rsplit("/", 1)[1],
        datetime.now(UTC),
        tokens.CONFIRM_MAX_AGE,
    )
    with db.write_session(engine) as session:
        assert subscribers.confirm_subscriber(
            session, claims.subscriber_id, claims.request, datetime.now(UTC)
        )
        assert subscribers.find_subscriber(session, "minji.kim@example.com").status == "active"


def test_bad_subscriber_rows_are_reported_and_the_rest_kept(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "email,name,lists\nok@example.org,OK,weekly-city\nbroken,X,weekly-city\n"
        "who@example.org,Who,weekly-sport\n",
        encoding="utf-8",
    )
    seen: list[str] = []
    report = subscriptions.import_subscribers_file(
        settings, engine, str(csv_file), confirmed=True, on_rejection=lambda r: seen.append(str(r))
    )
    assert report.summary == "1 added, 0 updated, 2 rejected, 0 confirmation mails sent"
    assert seen == [
        f"{csv_file}:3: email: 'broken' is not a valid e-mail address: "
        "An email address must have an @-sign.",
        f"{csv_file}:4: lists: unknown list 'weekly-sport'",
    ]
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8") as handle:
        assert subscriptions.export_subscribers(engine, handle) == 1
    assert out.read_text() == "email,name,lists,status\nok@example.org,OK,weekly-city,active\n"


def test_a_subscriber_csv_with_a_bad_byte_loses_only_that_row(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # The first 500 rows were committed and the rest dropped, with no line number
    # (issue 15 item 15).
    rows = [f"r{i}@example.org,R{i},weekly-city\n".encode() for i in range(1200)]
    rows[700] = b"bad@example.org,Caf\xe9,weekly-city\n"  # Latin-1, not UTF-8
    csv_file = tmp_path / "people.csv"
    csv_file.write_bytes(b"\xef\xbb\xbfemail,name,lists\n" + b"".join(rows))
    seen: list[str] = []
    report = subscriptions.import_subscribers_file(
        settings, engine, str(csv_file), confirmed=True, on_rejection=lambda r: seen.append(str(r))
    )
    assert seen == [f"{csv_file}:702: not UTF-8 text (invalid continuation byte at byte 20)"]
    assert report.added == 1199


def test_formulas_from_the_public_form_are_exported_as_text(
    settings: Settings, engine: Engine, tmp_path: Path, now: datetime
) -> None:
    # Names typed into the public form came out as live spreadsheet formulas (item 16).
    names = ['=HYPERLINK("https://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tx", "Kim"]
    with db.write_session(engine) as session:
        for n, name in enumerate(names):
            subscribers.add_subscriber(
                session, f"p{n}@example.org", name, ["weekly-city"], confirmed=True, now=now
            )
        subscribers.add_subscriber(
            session, "-dash@example.org", "", ["weekly-city"], confirmed=True, now=now
        )
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        subscriptions.export_subscribers(engine, handle)
    with out.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t"))]
    assert "'=HYPERLINK(" in out.read_text()
    # The protection comes off when a file in that form is imported again.
    for name in names:
        assert subscribers.from_spreadsheet(subscribers.spreadsheet_safe(name)) == name
    [(_, row)] = subscribers.read_subscriber_csv(
        ["email,name,lists\n", "'-dash@example.org,'=x,weekly-city\n"], {"weekly-city"}
    )
    assert row == subscribers.SubscriberRow("-dash@example.org", "=x", ("weekly-city",))
