"""Subscribers' use cases: the public form, links, preferences, CLI and CSV, the console."""

from __future__ import annotations

import csv
import email
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine

from syndication.core import subscriber_csv, subscriber_imports, tokens
from syndication.core.subscribers import Event
from syndication.errors import InputError, NotFoundError, RecordError
from syndication.services import subscriber_imports as imports
from syndication.services import subscribers as services
from syndication.settings import LanguageSettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from tests.support.builders import EXAMPLES


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    return message


def status_of(engine: Engine, address: str) -> tuple[str, list[str]]:
    with db.read_session(engine) as session:
        found = subscribers.find_subscriber(session, address)
        return found.status, subscribers.subscriber_lists(session, found.id)


def test_the_form_is_checked_before_anything_is_written(settings: Settings) -> None:
    form = services.read_sign_up(settings, " Kim@Example.org ", "Kim", ["weekly-city", "x"])
    assert form == services.SignUp("kim@example.org", "Kim", ["weekly-city"])
    with pytest.raises(RecordError, match="Choose at least one list."):
        services.read_sign_up(settings, "kim@example.org", "Kim", ["nope"])
    with pytest.raises(RecordError) as caught:
        services.read_sign_up(settings, "kim@example.org", "see evil.example", [])
    assert caught.value.field == "name"


def test_sign_up_confirm_leave_and_come_back_through_preferences(
    settings: Settings, engine: Engine, now: datetime
) -> None:
    form = services.SignUp("reader@example.org", "Reader", ["weekly-city"])
    assert services.sign_up(settings, engine, form, now) is not None  # its mail's id
    with db.read_session(engine) as session:
        reader = subscribers.find_subscriber(session, "reader@example.org")
        assert reader is not None
        sid, request = reader.id, reader.request_nonce
    assert request is not None
    assert not services.confirm(engine, sid, "stale", now)
    assert services.confirm(engine, sid, request, now)
    assert services.confirm(engine, sid, request, now)  # the same link again: still yes
    assert (
        services.sign_up(settings, engine, form, now) is None
    )  # active: a stranger changes nothing
    services.leave(engine, sid, "weekly-city", now)
    assert status_of(engine, "reader@example.org") == ("unsubscribed", [])
    assert not services.confirm(engine, sid, "", now)
    services.leave(engine, 999_999, "", now)  # an old link for a subscriber gone: fine
    services.save_preferences(
        settings,
        engine,
        sid,
        leave=False,
        chosen=["weekly-international"],
        name="Reader",
        now=now,
    )
    assert status_of(engine, "reader@example.org") == ("active", ["weekly-international"])
    prefs = services.load_preferences(engine, sid)
    assert (prefs.email, prefs.name, prefs.status) == ("reader@example.org", "Reader", "active")
    services.save_preferences(settings, engine, sid, leave=True, chosen=[], name="", now=now)
    assert status_of(engine, "reader@example.org") == ("unsubscribed", [])
    with pytest.raises(NotFoundError):
        services.load_preferences(engine, 999_999)


def test_console_actions_search_and_history(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        sid = subscribers.add_subscriber(
            session, "ann@example.org", "Ann", ["weekly-city"], confirmed=True, now=now
        ).subscriber_id
    found = services.page(engine, services.SubscriberFilter("ANN"), 50)
    [row] = found.rows
    assert found.total == 1
    assert (row.email, row.status, row.lists) == ("ann@example.org", "active", ("weekly-city",))
    assert services.page(engine, services.SubscriberFilter("nobody"), 50).rows == []
    assert services.suppress(engine, sid, "ed@example.org", now) == "ann@example.org"
    assert status_of(engine, "ann@example.org") == ("unsubscribed", ["weekly-city"])
    history = services.history(engine, sid)
    assert history is not None
    assert history.suppression_reason == "suppressed by ed@example.org"
    assert services.restore(engine, sid, now) == "ann@example.org"
    with db.read_session(engine) as session:
        assert not subscribers.is_suppressed(session, "ann@example.org")
    assert services.unsubscribe(engine, sid, now) == "ann@example.org"
    assert status_of(engine, "ann@example.org") == ("unsubscribed", [])
    assert services.history(engine, 999_999) is None
    with pytest.raises(NotFoundError):
        services.suppress(engine, 999_999, "ed@example.org", now)


def test_a_bounced_address_is_restored_by_address(engine: Engine, now: datetime) -> None:
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "gone@example.org", "", ["weekly-city"], confirmed=False, now=now
        )
        subscribers.suppress(session, "gone@example.org", "550", now, Event.HARD_BOUNCE)
    assert status_of(engine, "gone@example.org")[0] == "bounced"
    # It never confirmed: consent is not invented.
    assert services.restore_address(engine, "Gone@example.org", now) == "pending"


def test_add_refuses_unknown_lists_and_suppressed_addresses(
    settings: Settings, engine: Engine, now: datetime
) -> None:
    # A named list that does not exist: exit 1, like every command (README, The CLI).
    with pytest.raises(NotFoundError, match="unknown list 'nope'"):
        services.add_subscriber(settings, engine, "a@example.org", ["nope"], "", confirmed=True)
    with db.write_session(engine) as session:
        subscribers.suppress(session, "a@example.org", "by hand", now)
    with pytest.raises(InputError, match="on the suppression list"):
        services.add_subscriber(
            settings, engine, "a@example.org", ["weekly-city"], "", confirmed=True
        )


def test_the_console_export_streams_what_the_cli_writes(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "p@example.org", "=1+1", ["weekly-city"], confirmed=True, now=now
        )
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        services.export_subscribers(engine, handle)
    streamed = "".join(services.export_csv(engine, services.SubscriberFilter()))
    assert streamed.replace("\r\n", "\n") == out.read_text(encoding="utf-8")
    assert "'=1+1" in streamed


def test_subscriber_import_sends_confirmations_that_activate(
    settings: Settings, engine: Engine
) -> None:
    rejected: list[str] = []
    report = imports.import_subscribers_file(
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
    settings: Settings, engine: Engine, tmp_path: Path, now: datetime
) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "email,name,lists\nok@example.org,OK,weekly-city\nbroken,X,weekly-city\n"
        "who@example.org,Who,weekly-sport\n",
        encoding="utf-8",
    )
    seen: list[str] = []
    report = imports.import_subscribers_file(
        settings,
        engine,
        str(csv_file),
        confirmed=True,
        on_rejection=lambda r: seen.append(str(r)),
        now=lambda: now,
    )
    assert report.summary == "1 added, 0 updated, 2 rejected, 0 confirmation mails sent"
    assert seen == [
        f"{csv_file}:3: email: 'broken' is not a valid e-mail address: "
        "An email address must have an @-sign.",
        f"{csv_file}:4: lists: unknown list 'weekly-sport'",
    ]
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8") as handle:
        assert services.export_subscribers(engine, handle) == 1
    at = now.isoformat()
    assert out.read_text() == (
        "email,name,lists,status,created_at,confirmed_at,language\n"
        f"ok@example.org,OK,weekly-city,active,{at},{at},en\n"
    )


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
    report = imports.import_subscribers_file(
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
        services.export_subscribers(engine, handle)
    with out.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t"))]
    assert "'=HYPERLINK(" in out.read_text()
    # The protection comes off when a file in that form is imported again.
    for name in names:
        assert subscriber_csv.from_spreadsheet(subscriber_csv.spreadsheet_safe(name)) == name
    _, rows = subscriber_imports.read_import(
        subscriber_csv.csv_records(["email,name,lists\n", "'-dash@example.org,'=x,weekly-city\n"]),
        {"weekly-city"},
    )
    [(_, row)] = rows
    assert row == subscriber_imports.ImportRow("-dash@example.org", "=x", ("weekly-city",))


# -- languages (issue 30) -----------------------------------------------------------------


def bilingual(settings: Settings) -> Settings:
    return replace(settings, languages=LanguageSettings(available=("en", "ko")))


def locale_of(engine: Engine, address: str) -> str:
    with db.read_session(engine) as session:
        return subscribers.find_subscriber(session, address).locale


def test_add_with_a_language_checks_it_and_mails_the_confirmation_in_it(
    settings: Settings, engine: Engine
) -> None:
    settings = bilingual(settings)
    with pytest.raises(InputError, match=r"--language: 'ja' is not one of .* \(en, ko\)"):
        services.add_subscriber(
            settings, engine, "a@example.org", ["weekly-city"], "", confirmed=False, language="ja"
        )
    services.add_subscriber(
        settings, engine, "a@example.org", ["weekly-city"], "민지", confirmed=False, language="ko"
    )
    assert locale_of(engine, "a@example.org") == "ko"
    (path,) = (settings.mail.outbox_dir / "confirmations").glob("*/*.eml")
    message = parse(path.read_bytes())
    assert message["Content-Language"] == "ko"
    assert str(message["Subject"]) == f"{settings.site.title} 구독을 확인해 주세요"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "민지님, 안녕하세요." in text.get_content()
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert '<html lang="ko" dir="ltr">' in html.get_content()
    # No language named: the reader's stays as it was.
    services.add_subscriber(settings, engine, "a@example.org", ["weekly-city"], "", confirmed=True)
    assert locale_of(engine, "a@example.org") == "ko"


def test_the_language_column_round_trips_through_export_and_import(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    settings = bilingual(settings)
    source = tmp_path / "in.csv"
    source.write_text(
        "email,name,lists,language\n"
        'ko@example.org,Kim,weekly-city,"ko,en"\n'
        "en@example.org,Ann,weekly-city,\n"
        "ja@example.org,Jo,weekly-city,ja\n",
        encoding="utf-8",
    )
    rejected: list[str] = []
    report = imports.import_subscribers_file(
        settings,
        engine,
        str(source),
        confirmed=True,
        on_rejection=lambda r: rejected.append(str(r)),
    )
    assert (report.added, report.rejected) == (2, 1)
    assert rejected == [
        f"{source}:4: language: 'ja' is not one of this newsroom's languages (en, ko)"
    ]
    exported = tmp_path / "out.csv"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        services.export_subscribers(engine, handle)
    rows = list(csv.reader(exported.read_text(encoding="utf-8").splitlines()))
    assert [row[:4] + row[-1:] for row in rows] == [
        ["email", "name", "lists", "status", "language"],
        ["en@example.org", "Ann", "weekly-city", "active", "en"],
        ["ko@example.org", "Kim", "weekly-city", "active", "ko,en"],
    ]
    # The export imports back (into another newsroom's store: a fresh database here is
    # the same rows updated), languages included.
    with db.write_session(engine) as session:
        subscribers.find_subscriber(session, "ko@example.org").locale = "en"
    report = imports.import_subscribers_file(
        settings, engine, str(exported), confirmed=True, on_rejection=lambda r: None
    )
    assert (report.updated, report.rejected) == (2, 0)
    assert locale_of(engine, "ko@example.org") == "ko,en"


def test_sign_up_and_preferences_carry_the_language(
    settings: Settings, engine: Engine, now: datetime
) -> None:
    settings = bilingual(settings)
    form = services.read_sign_up(settings, "kim@example.org", "", ["weekly-city"], "ko-KR")
    assert form.locale == "ko"
    with pytest.raises(RecordError) as caught:
        services.read_sign_up(settings, "kim@example.org", "", ["weekly-city"], "fr")
    assert caught.value.field == "language"
    assert services.sign_up(settings, engine, form, now) is not None  # its mail's id
    with db.read_session(engine) as session:
        found = subscribers.find_subscriber(session, "kim@example.org")
        assert found is not None
        subscriber_id = found.id
    assert services.reader_locale(engine, subscriber_id) == "ko"
    with db.write_session(engine) as session:
        subscribers.find_subscriber(session, "kim@example.org").locale = "ko,en"
    services.save_preferences(
        settings,
        engine,
        subscriber_id,
        leave=False,
        chosen=["weekly-city"],
        name="",
        now=now,
        language="en",
    )
    # The choice goes first; the reader's other languages keep their order after it.
    assert services.load_preferences(engine, subscriber_id).locale == "en,ko"
    # A forged value changes nothing.
    services.save_preferences(
        settings,
        engine,
        subscriber_id,
        leave=False,
        chosen=["weekly-city"],
        name="",
        now=now,
        language="xx",
    )
    assert services.load_preferences(engine, subscriber_id).locale == "en,ko"
    assert services.reader_locale(engine, 999_999) == ""


def test_a_confirmation_to_a_reader_with_no_name_greets_them_in_its_language(
    settings: Settings, engine: Engine
) -> None:
    """A Korean reader who gave no name was greeted "there님, 안녕하세요."."""
    settings = bilingual(settings)
    for address, language in (("ko@example.org", "ko"), ("en@example.org", "en")):
        services.add_subscriber(
            settings, engine, address, ["weekly-city"], "", confirmed=False, language=language
        )
    greetings = {}
    for path in (settings.mail.outbox_dir / "confirmations").glob("*/*.eml"):
        message = parse(path.read_bytes())
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        greetings[str(message["To"])] = text.get_content()
    assert "구독자님, 안녕하세요." in greetings["ko@example.org"]
    assert "Hello there," in greetings["en@example.org"]
