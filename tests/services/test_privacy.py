"""Privacy on both databases: one person's export, erasure that leaves no trace but a keyed
hash, the admission check every entry makes, retention, and consent records."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, LargeBinary, String, Text, select

from syndication.core import privacy as rules
from syndication.errors import InputError
from syndication.services import bounces, privacy, users
from syndication.services import subscriber_imports as imports
from syndication.services import subscribers as services
from syndication.settings import PrivacySettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Base, ConsentRecord, ErasedAddress, Subscriber
from tests.support.bounces import BOUNCE_ADDRESS, dsn, send_week, with_bounces
from tests.support.builders import AFTER_WEEK, import_demo_articles

KIM = "kim.reader@example.org"
TYPED = "Kim.Reader@Example.org"  # as she typed it, and as reports carry it
OTHER = "fine@reader.example.net"


def subscriber_id_of(engine: Engine, address: str) -> int:
    """The record's id (a sign-up answers with its confirmation mail's id, not this)."""
    with db.read_session(engine) as session:
        found = subscribers.find_subscriber(session, address)
        assert found is not None
        return found.id


def confirm_by_link(engine: Engine, subscriber_id: int, now: datetime) -> None:
    with db.read_session(engine) as session:
        nonce = session.get(Subscriber, subscriber_id).request_nonce  # type: ignore[union-attr]
    assert nonce is not None
    assert services.confirm(engine, subscriber_id, nonce, now)


def kim_with_history(settings: Settings, engine: Engine) -> Settings:
    """Kim signs up on the form, confirms, gets a digest, soft-bounces it, writes an
    automatic reply, is suppressed by an operator; someone fails to sign in as her."""
    settings = with_bounces(settings)
    import_demo_articles(settings, engine)
    signed_up = AFTER_WEEK - timedelta(days=3)
    form = services.SignUp(KIM, "Kim Reader", ["weekly-city"])
    assert services.sign_up(settings, engine, form, signed_up, client="203.0.113.7") is not None
    kim = subscriber_id_of(engine, KIM)
    confirm_by_link(engine, kim, signed_up + timedelta(minutes=5))
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, OTHER, "", ["weekly-city"], confirmed=True, now=signed_up
        )
    week = send_week(settings, engine, date(2026, 11, 18), AFTER_WEEK)
    copy = week[KIM]
    full = dsn(BOUNCE_ADDRESS, TYPED, "4.2.2", "452 4.2.2 mailbox full", copy.message_id)
    reply = (
        f"From: {TYPED}\r\nTo: {copy.return_path}\r\nAuto-Submitted: auto-replied\r\n"
        "Subject: Out of office\r\n\r\nBack on Monday.\r\n"
    ).encode()
    for data, to in ((full, ""), (reply, copy.return_path)):
        bounces.accept(
            engine, data, source="smtp", sender="", recipients=[to] if to else [], now=AFTER_WEEK
        )
    done = bounces.process_pending(settings, engine, lambda: AFTER_WEEK)
    assert (done.applied, done.ignored) == (1, 1)
    services.suppress(engine, kim, "op@example.org", AFTER_WEEK)
    users.sign_in(engine, TYPED, "not her password", "198.51.100.2", AFTER_WEEK)
    return settings


def rows_holding(engine: Engine, address: str) -> list[str]:
    """``table.column`` of every stored value that contains ``address`` in any case: every
    text column of every table, and every binary one (compressed or not)."""
    needle = address.lower()
    found: list[str] = []
    with db.read_session(engine) as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary)]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        try:
                            value = zlib.decompress(value)
                        except zlib.error:
                            pass
                        value = value.decode("utf-8", errors="replace")
                    if isinstance(value, str) and needle in value.lower():
                        found.append(f"{table.name}.{column.name}")
    return found


def test_export_person_holds_every_table_about_them(settings: Settings, engine: Engine) -> None:
    settings = kim_with_history(settings, engine)
    data = privacy.export_person(settings, engine, TYPED, AFTER_WEEK)
    assert data["address"] == KIM and data["held"] is True
    assert data["subscriber"]["email"] == KIM
    assert data["subscriber"]["name"] == "Kim Reader"
    assert data["subscriber"]["status"] == "unsubscribed"  # the operator suppressed her
    assert data["lists"] == ["weekly-city"]
    [consent] = data["consent_records"]
    assert consent["method"] == "web form" and consent["client_ip"] == "203.0.113.7"
    assert consent["lists"] == "weekly-city"
    assert consent["confirmation"] == rules.BY_LINK
    assert consent["confirmed_at"] == "2026-11-21T00:05:00+00:00"
    [delivery] = data["deliveries"]
    assert delivery["status"] == "sent" and delivery["digest"]["list"] == "weekly-city"
    assert len(data["soft_bounces"]) == 1
    assert data["suppression"]["reason"] == "suppressed by op@example.org"
    [event] = data["bounce_events"]
    assert event["kind"] == "soft" and "mailbox full" in event["report"]
    # Both raw reports: the DSN and the automatic reply that was ignored.
    assert len(data["bounce_reports"]) == 2
    assert all(TYPED in r["data"] for r in data["bounce_reports"])
    [failure] = data["login_failures"]
    assert failure["client"] == "198.51.100.2"
    assert data["console_user"] is None and data["erased"] is None
    # The other reader's rows are not in her export.
    assert OTHER not in str(data)


def test_export_of_an_address_we_do_not_hold_says_so(settings: Settings, engine: Engine) -> None:
    data = privacy.export_person(settings, engine, "nobody@example.org", AFTER_WEEK)
    assert data["held"] is False and data["subscriber"] is None
    with pytest.raises(InputError, match="not a valid e-mail address"):
        privacy.export_person(settings, engine, "not an address", AFTER_WEEK)


def test_erase_leaves_no_row_holding_the_address_only_its_keyed_hash(
    settings: Settings, engine: Engine
) -> None:
    settings = kim_with_history(settings, engine)
    assert rows_holding(engine, KIM)  # the search finds her before
    erasure = privacy.erase_person(settings, engine, TYPED, AFTER_WEEK)
    assert erasure.deleted["subscribers"] == 1
    assert erasure.deleted["bounce_intake"] == 2
    assert rows_holding(engine, KIM) == []
    assert rows_holding(engine, "kim.reader") == []  # not even the local part
    # The other reader and the digest they got are untouched.
    assert rows_holding(engine, OTHER) != []
    with db.read_session(engine) as session:
        [kept] = session.scalars(select(ErasedAddress)).all()
    assert kept.reason == "erased"
    assert kept.address_hash == rules.address_hash(settings.secret_key, KIM)
    # Keyed: the same address under another key (a dictionary without ours) misses.
    assert kept.address_hash != rules.address_hash("another key entirely", KIM)
    # Erasing again is harmless and says there was nothing left.
    assert privacy.erase_person(settings, engine, KIM, AFTER_WEEK).deleted == {}


def test_an_erased_address_is_refused_by_add_and_import_and_ignored_by_the_form(
    settings: Settings, engine: Engine, tmp_path: Path, now: datetime
) -> None:
    privacy.erase_person(settings, engine, KIM, now)
    with pytest.raises(InputError, match="was erased at the person's request"):
        services.add_subscriber(settings, engine, TYPED, ["weekly-city"], "", confirmed=True)
    csv_file = tmp_path / "old-list.csv"
    csv_file.write_text(
        f"email,name,lists\n{TYPED},Kim,weekly-city\nnew@example.org,New,weekly-city\n"
    )
    rejected: list[str] = []
    report = imports.import_subscribers_file(
        settings,
        engine,
        str(csv_file),
        confirmed=True,
        on_rejection=lambda r: rejected.append(str(r)),
    )
    assert (report.added, report.rejected) == (1, 1)
    assert rejected == [
        f"{csv_file}:2: email: {KIM} was erased at the person's request "
        "(subscribers erase) and is never re-added"
    ]
    form = services.SignUp(KIM, "", ["weekly-city"])
    assert services.sign_up(settings, engine, form, now, client="192.0.2.1") is None
    assert rows_holding(engine, KIM) == []


def test_erase_refuses_a_console_account(settings: Settings, engine: Engine, now: datetime) -> None:
    users.add_user(engine, "editor@example.org", "operator", "correct horse battery", now)
    with pytest.raises(privacy.ConsoleUserError, match="users remove editor@example.org"):
        privacy.erase_person(settings, engine, "Editor@example.org", now)


def test_retention_deletes_expired_pending_and_unsubscribed_records(
    settings: Settings, engine: Engine, now: datetime
) -> None:
    settings = settings.__class__(
        **{**settings.__dict__, "privacy": PrivacySettings(pending_days=30, unsubscribed_days=365)}
    )

    def add(address: str, at: datetime, confirmed: bool = True) -> int:
        with db.write_session(engine) as session:
            return subscribers.add_subscriber(
                session, address, "", ["weekly-city"], confirmed=confirmed, now=at
            ).subscriber_id

    add("old-pending@example.org", now - timedelta(days=31), confirmed=False)
    add("new-pending@example.org", now - timedelta(days=29), confirmed=False)
    left = add("left-long-ago@example.org", now - timedelta(days=800))
    services.leave(engine, left, "", now - timedelta(days=366))
    recent = add("left-lately@example.org", now - timedelta(days=800))
    services.leave(engine, recent, "", now - timedelta(days=364))
    banned = add("suppressed@example.org", now - timedelta(days=800))
    services.suppress(engine, banned, "op@example.org", now - timedelta(days=400))
    add("faithful@example.org", now - timedelta(days=3000))

    done = privacy.apply_retention(settings, engine, now)
    assert (done.pending, done.unsubscribed) == (1, 2)
    with db.read_session(engine) as session:
        remaining = set(session.scalars(select(Subscriber.email)))
        hashes = {h.address_hash: h.reason for h in session.scalars(select(ErasedAddress))}
    assert remaining == {
        "new-pending@example.org",
        "left-lately@example.org",
        "faithful@example.org",
    }
    key = settings.secret_key
    assert hashes == {
        rules.address_hash(key, "left-long-ago@example.org"): "unsubscribed",
        rules.address_hash(key, "suppressed@example.org"): "suppressed",
    }
    for gone in ("old-pending@example.org", "left-long-ago@example.org", "suppressed@example.org"):
        assert rows_holding(engine, gone) == []
    assert privacy.apply_retention(settings, engine, now) == privacy.Retention(0, 0, 0)

    # An import never brings an expired address back...
    with pytest.raises(InputError, match="unsubscribed and its record was deleted"):
        services.add_subscriber(
            settings, engine, "left-long-ago@example.org", ["weekly-city"], "", confirmed=True
        )
    with pytest.raises(InputError, match="was on the suppression list"):
        services.add_subscriber(
            settings, engine, "suppressed@example.org", ["weekly-city"], "", confirmed=False
        )
    # ...the form's double opt-in may, as for any unsubscribed reader, but not a
    # suppressed address; a pending one that never confirmed owes us nothing.
    again = services.SignUp("left-long-ago@example.org", "", ["weekly-city"])
    assert services.sign_up(settings, engine, again, now) is not None
    banned_again = services.SignUp("suppressed@example.org", "", ["weekly-city"])
    assert services.sign_up(settings, engine, banned_again, now) is None
    services.add_subscriber(
        settings, engine, "old-pending@example.org", ["weekly-city"], "", confirmed=True
    )


def test_consent_records_say_how_each_reader_came_and_confirmed(
    settings: Settings, engine: Engine, now: datetime, tmp_path: Path
) -> None:
    form = services.SignUp("web@example.org", "", ["weekly-city"])
    assert services.sign_up(settings, engine, form, now, client="203.0.113.9") is not None
    web = subscriber_id_of(engine, "web@example.org")
    # The form sent again for the same pending request: still one record (checked below).
    assert services.sign_up(settings, engine, form, now, client="203.0.113.9") is not None
    assert subscriber_id_of(engine, "web@example.org") == web
    confirm_by_link(engine, web, now + timedelta(hours=1))
    cli = services.add_subscriber(
        settings, engine, "cli@example.org", ["weekly-city"], "", confirmed=True, by="ana"
    )
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("email,name,lists\nimported@example.org,,weekly-international\n")
    imports.import_subscribers_file(
        settings, engine, str(csv_file), confirmed=False, on_rejection=lambda r: None
    )
    services.leave(engine, cli.subscriber_id, "", now)
    services.save_preferences(
        settings, engine, cli.subscriber_id, leave=False, chosen=["weekly-city"], name="", now=now
    )

    [web_record] = privacy.consent_history(engine, web)
    assert (web_record.method, web_record.client_ip) == ("web form", "203.0.113.9")
    assert web_record.origin == f"{settings.site.base_url}/"
    assert web_record.confirmed_at == now + timedelta(hours=1)
    assert web_record.confirmation == rules.BY_LINK
    records = {r.method: r for r in privacy.consent_history(engine, cli.subscriber_id)}
    attested, came_back = records["command line"], records["preferences link"]
    assert (attested.method, attested.confirmation) == ("command line", rules.BY_OPERATOR)
    assert attested.origin == "subscribers add --confirmed by ana"
    assert (came_back.method, came_back.confirmation) == ("preferences link", rules.BY_PREFERENCES)
    with db.read_session(engine) as session:
        imported = subscribers.find_subscriber(session, "imported@example.org")
        record = session.scalars(
            select(ConsentRecord).where(ConsentRecord.subscriber_id == imported.id)
        ).one()
    assert (record.method, record.origin) == ("import", "list.csv, double opt-in")
    assert record.lists == "weekly-international" and record.confirmed_at is None
    assert record.request_nonce == imported.request_nonce
