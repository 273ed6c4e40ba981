"""Import with history (issue 29 item 5): our own export, listmonk's, Mailchimp's, a bare
suppression list; statuses kept, suppressions that nothing silently undoes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from syndication.core.subscribers import Event
from syndication.edges.transport import SmtpTransport
from syndication.errors import InputError, RecordError
from syndication.services import delivery
from syndication.services import subscriber_imports as imports
from syndication.services import subscribers as services
from syndication.services.digests import compiling
from syndication.settings import DatabaseSettings, MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Subscriber, Suppression
from tests.support.builders import AFTER_WEEK, import_demo_articles
from tests.support.smtp import SmtpServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


def statuses(engine: Engine) -> dict[str, str]:
    with db.read_session(engine) as session:
        return {s.email: s.status for s in session.scalars(select(Subscriber))}


def suppressed(engine: Engine) -> dict[str, str]:
    with db.read_session(engine) as session:
        return {s.email: s.reason for s in session.scalars(select(Suppression))}


def import_file(
    settings: Settings, engine: Engine, path: Path, *lists: str, confirmed: bool = False
) -> tuple[imports.SubscriberImportReport, list[str]]:
    seen: list[str] = []
    report = imports.import_subscribers_file(
        settings,
        engine,
        str(path),
        confirmed=confirmed,
        lists=lists,
        on_rejection=lambda r: seen.append(str(r)),
        now=lambda: AFTER_WEEK,
    )
    return report, seen


def export(engine: Engine, path: Path) -> str:
    with path.open("w", encoding="utf-8", newline="") as handle:
        services.export_subscribers(engine, handle)
    return path.read_text(encoding="utf-8")


@pytest.fixture
def fresh(settings: Settings, empty_database_url: str) -> Iterator[tuple[Settings, Engine]]:
    """A second, empty database on the same backend, to import into."""
    other = replace(settings, database=DatabaseSettings(url=empty_database_url))
    engine = db.make_engine(empty_database_url)
    db.upgrade(engine)
    with db.write_session(engine) as session:
        from syndication.store import articles as store

        store.sync_topics(session, other.topics)
    yield other, engine
    engine.dispose()


def test_round_trip_keeps_every_status_and_mails_no_suppressed_address(
    settings: Settings,
    engine: Engine,
    fresh: tuple[Settings, Engine],
    smtp_server: SmtpServer,
    tmp_path: Path,
    now: datetime,
) -> None:
    # Before: the import refused the export ("the header must be email,name,lists").
    with db.write_session(engine) as session:
        for name in ("active1", "active2", "left", "bounced", "complained", "suppressed"):
            subscribers.add_subscriber(
                session, f"{name}@example.org", name, ["weekly-city"], confirmed=True, now=now
            )
        subscribers.add_subscriber(
            session, "pending@example.org", "", ["weekly-city"], confirmed=False, now=now
        )
        subscribers.unsubscribe(
            session, subscribers.find_subscriber(session, "left@example.org").id, now
        )
        subscribers.suppress(session, "bounced@example.org", "550 5.1.1", now, Event.HARD_BOUNCE)
        subscribers.suppress(session, "complained@example.org", "ARF", now, Event.COMPLAINT)
        subscribers.suppress(session, "suppressed@example.org", "by an operator", now)
        subscribers.suppress(session, "never.subscribed@example.org", "a list", now)
    before = export(engine, tmp_path / "before.csv")

    other, target = fresh
    report, rejected = import_file(other, target, tmp_path / "before.csv")
    assert rejected == []
    assert report.summary == (
        "7 added, 0 updated, 0 rejected, 1 confirmation mails sent, 5 on the suppression list"
    )
    assert "never.subscribed@example.org,,,suppressed," in before
    assert export(target, tmp_path / "after.csv") == before  # statuses, lists, times
    assert statuses(target) == {
        "active1@example.org": "active",
        "active2@example.org": "active",
        "pending@example.org": "pending",
        "left@example.org": "unsubscribed",
        "bounced@example.org": "bounced",
        "complained@example.org": "complained",
        "suppressed@example.org": "unsubscribed",
    }
    assert set(suppressed(target)) == {
        "left@example.org",
        "bounced@example.org",
        "complained@example.org",
        "suppressed@example.org",
        "never.subscribed@example.org",  # on the list, with no record, as before
    }

    # Nothing silently brings them back: the form ignores them, an add and a later
    # import of the same addresses as confirmed are refused with their line.
    for address in suppressed(target):
        form = services.SignUp(address, "", ["weekly-city"])
        assert services.sign_up(other, target, form, AFTER_WEEK) is None
        with pytest.raises(InputError, match="suppression list"):
            services.add_subscriber(other, target, address, ["weekly-city"], "", confirmed=True)
    again = tmp_path / "again.csv"
    again.write_text(
        "email,name,lists,status\nleft@example.org,L,weekly-city,active\n", encoding="utf-8"
    )
    report, rejected = import_file(other, target, again)
    assert rejected == [
        f"{again}:2: email: left@example.org is on the suppression list and is never re-added"
    ]
    assert statuses(target)["left@example.org"] == "unsubscribed"
    assert export(target, tmp_path / "still.csv") == before  # the sign-ups changed nothing

    # A digest to the list mails the active readers only, through a real SMTP server.
    import_demo_articles(other, target)
    compiling.compile_digest(other, target, "weekly-city", date(2026, 11, 18), AFTER_WEEK)
    mail = MailSettings(
        transport="smtp",
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, rate_per_second=1000),
    )
    sent = delivery.send_digests(
        replace(other, mail=mail),
        target,
        workers=1,
        now=lambda: AFTER_WEEK,
        transport_factory=lambda: SmtpTransport(mail),
    )
    assert sent.sent == 2
    assert sorted(smtp_server.handler.recipients()) == [
        "active1@example.org",
        "active2@example.org",
    ]

    # An operator's restore may bring one back: it had confirmed, so it is active again.
    assert services.restore_address(target, "bounced@example.org", AFTER_WEEK) == "active"


def test_listmonk_and_mailchimp_exports(settings: Settings, engine: Engine) -> None:
    report, rejected = import_file(
        settings, engine, FIXTURES / "listmonk_subscribers.csv", "weekly-city"
    )
    assert report.shape == "listmonk export"
    assert [r.split(": ", 1)[1] for r in rejected] == [
        "email: 'broken-address' is not a valid e-mail address: "
        "An email address must have an @-sign.",
        "status: 'archived' is not a listmonk status (enabled, disabled, blocklisted)",
    ]
    # Not confirmed in the export: pending, with the confirmation mail.
    assert (report.added, report.confirmations, report.suppressed) == (4, 2, 2)
    assert statuses(engine)["anna.berg@example.org"] == "pending"
    reasons = suppressed(engine)
    assert reasons == {
        "left.long.ago@example.net": "imported from listmonk_subscribers.csv line 4: "
        "listmonk blocklisted",
        "paused@example.org": "imported from listmonk_subscribers.csv line 5: listmonk disabled",
    }

    report, rejected = import_file(
        settings, engine, FIXTURES / "listmonk_list_subscriptions.csv", "weekly-international"
    )
    assert rejected == []
    assert statuses(engine)["anna.berg@example.org"] == "active"  # confirmed in listmonk
    assert statuses(engine)["gone.from.list@example.org"] == "unsubscribed"

    for name in ("mailchimp_unsubscribed.csv", "mailchimp_cleaned.csv"):
        report, rejected = import_file(settings, engine, FIXTURES / name)
        assert rejected == []
    report, rejected = import_file(
        settings, engine, FIXTURES / "mailchimp_subscribed.csv", "weekly-city"
    )
    assert report.shape == "Mailchimp export of subscribed members"
    assert report.confirmations == 0  # Mailchimp's subscribed members had opted in
    assert len(rejected) == 1 and "CONFIRM_TIME" in rejected[0]
    found = statuses(engine)
    assert found["reader.one@example.org"] == "active"
    assert found["left.us@example.org"] == "unsubscribed"
    assert found["no.such.user@example.org"] == "bounced"
    with db.read_session(engine) as session:
        one = subscribers.find_subscriber(session, "reader.one@example.org")
        assert one.confirmed_at is not None and one.confirmed_at.isoformat() == (
            "2023-02-01T08:05:30+00:00"
        )
        assert subscribers.subscriber_lists(session, one.id) == ["weekly-city"]
        cleaned = subscribers.find_subscriber(session, "no.such.user@example.org")
        # Cleaned, but the file says it had confirmed: a restore makes it active.
        assert cleaned.confirmed_at is not None

    # The same files again change nothing and refuse nothing.
    before = statuses(engine)
    for name in ("mailchimp_unsubscribed.csv", "mailchimp_cleaned.csv"):
        assert import_file(settings, engine, FIXTURES / name)[1] == []
    assert statuses(engine) == before


def test_a_file_of_no_known_shape_is_refused_naming_file_line_and_column(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("email,name,lists,state\na@example.org,A,weekly-city,x\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        import_file(settings, engine, odd)
    assert str(refused.value) == (
        f"{odd}:1: column 4 ('state'): not a column of this tool's files "
        "(email, name, lists, status, created_at, confirmed_at, language)"
    )
    assert statuses(engine) == {}


def test_suppress_from_a_file_is_idempotent_and_keeps_the_valid_lines(
    settings: Settings, engine: Engine, tmp_path: Path, now: datetime
) -> None:
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "blocked.two@example.org", "", ["weekly-city"], confirmed=True, now=now
        )
    seen: list[str] = []
    path = FIXTURES / "suppression_list.txt"
    report = imports.suppress_from_file(
        settings,
        engine,
        str(path),
        by="ops",
        on_rejection=lambda r: seen.append(str(r)),
        batch_size=2,
        now=lambda: now,
    )
    assert report.summary == "2 put on the suppression list, 1 already on it, 1 rejected"
    assert seen == [
        f"{path}:4: email: 'not an address' is not a valid e-mail address: "
        "An email address must have an @-sign."
    ]
    assert set(suppressed(engine)) == {"blocked.one@example.org", "blocked.two@example.org"}
    assert statuses(engine) == {"blocked.two@example.org": "unsubscribed"}
    again = imports.suppress_from_file(
        settings, engine, str(path), by="ops", on_rejection=lambda r: None, now=lambda: now
    )
    assert (again.listed, again.already) == (0, 3)
    assert suppressed(engine)["blocked.one@example.org"] == (
        "suppression list suppression_list.txt, imported by ops"
    )
    with db.write_session(engine) as session:
        with pytest.raises(RecordError, match="suppression list"):
            subscribers.add_subscriber(
                session, "blocked.one@example.org", "", ["weekly-city"], confirmed=True, now=now
            )
    # An address with no record comes off the list by an operator's restore only.
    assert services.restore_address(engine, "blocked.one@example.org", now) == "not subscribed"
    assert set(suppressed(engine)) == {"blocked.two@example.org"}
