"""The bounce pipeline on both databases: stored reports in, subscriber states out."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syndication.core import verp
from syndication.core.intake_limits import StrangerLimits
from syndication.edges.mail_files import NotMailError
from syndication.edges.transport import MemoryTransport
from syndication.services import bounces, delivery
from syndication.services.digests import compiling
from syndication.settings import Settings
from syndication.store import bounces as bounce_store
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import BounceEvent, BounceIntake, Suppression
from tests.support.bounces import (
    BOUNCE_ADDRESS,
    Sent,
    add_active,
    arf,
    deeply_nested,
    dsn,
    prose_bounce_with_charset,
    send_week,
    status_of,
    with_bounces,
)
from tests.support.builders import AFTER_WEEK, import_demo_articles

READERS = [
    "dead@reader.example.net",
    "full@reader.example.net",
    "blocked@reader.example.net",
    "fine@reader.example.net",
]


@pytest.fixture
def bounce_settings(settings: Settings) -> Settings:
    return with_bounces(settings)


@pytest.fixture
def week(bounce_settings: Settings, engine: Engine) -> dict[str, Sent]:
    import_demo_articles(bounce_settings, engine)
    add_active(engine, READERS)
    return send_week(bounce_settings, engine, date(2026, 11, 18), AFTER_WEEK)


def feed(settings: Settings, engine: Engine, data: bytes, to: str = "") -> bounces.ProcessReport:
    bounces.accept(
        engine,
        data,
        source="smtp",
        sender="",
        recipients=[to] if to else [],
        now=AFTER_WEEK,
    )
    return bounces.process_pending(settings, engine, lambda: AFTER_WEEK)


def event_count(engine: Engine) -> int:
    with db.read_session(engine) as session:
        return int(session.execute(select(func.count()).select_from(BounceEvent)).scalar_one())


def test_every_message_carries_a_verp_return_path_and_a_feedback_id(
    bounce_settings: Settings, week: dict[str, Sent]
) -> None:
    for copy in week.values():
        ref = verp.read_return_path(bounce_settings.secret_key, BOUNCE_ADDRESS, copy.return_path)
        assert ref == verp.VerpRef("d", copy.delivery_id)


def test_dsns_by_verp_end_in_the_described_states(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    for address, status, text in (
        ("dead@reader.example.net", "5.1.1", "550 5.1.1 no such user"),
        ("full@reader.example.net", "5.2.2", "552 5.2.2 mailbox full"),
        ("blocked@reader.example.net", "5.7.1", "550 5.7.1 rejected as spam"),
    ):
        copy = week[address]
        data = dsn(
            copy.return_path, address, status, text, copy.message_id, report_id=f"<{address}>"
        )
        report = feed(bounce_settings, engine, data, copy.return_path)
        assert report.applied == 1, report
    assert status_of(engine, "dead@reader.example.net") == "bounced"
    assert status_of(engine, "full@reader.example.net") == "active"
    assert status_of(engine, "blocked@reader.example.net") == "active"
    assert status_of(engine, "fine@reader.example.net") == "active"
    with db.read_session(engine) as session:
        assert subscribers.is_suppressed(session, "dead@reader.example.net")
        assert not subscribers.is_suppressed(session, "blocked@reader.example.net")
        kinds = dict(session.execute(select(BounceEvent.recipient, BounceEvent.kind)).all())
    assert kinds == {
        "dead@reader.example.net": "hard",
        "full@reader.example.net": "soft",
        "blocked@reader.example.net": "blocked",
    }


def test_the_same_report_twice_counts_once(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["full@reader.example.net"]
    data = dsn(copy.return_path, copy.email, "5.2.2", "552 5.2.2 full", copy.message_id)
    assert feed(bounce_settings, engine, data, copy.return_path).applied == 1
    again = feed(bounce_settings, engine, data, copy.return_path)
    assert (again.applied, again.duplicates) == (0, 1)
    assert event_count(engine) == 1


def test_forged_reports_change_nothing(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    victim = week["fine@reader.example.net"]
    local, domain = victim.return_path.split("@")
    forged_token = f"{local[:-4]}aaaa@{domain}"
    forged = dsn(forged_token, victim.email, "5.1.1", "550 5.1.1 no such user", victim.message_id)
    guessed = dsn(
        BOUNCE_ADDRESS,
        victim.email,
        "5.1.1",
        "550 5.1.1 no such user",
        "<digest.weekly-city.2026-11-16.0123456789abcdef01234567@news.example.org>",
        report_id="<guess@mta>",
    )
    complaint = arf(
        BOUNCE_ADDRESS,
        original_rcpt_to=victim.email,
        original_message_id="<never-sent@news.example.org>",
    )
    for data, to in ((forged, forged_token), (guessed, BOUNCE_ADDRESS), (complaint, "")):
        report = feed(bounce_settings, engine, data, to)
        assert (report.applied, report.ignored) == (0, 1)
    assert status_of(engine, victim.email) == "active"
    assert event_count(engine) == 0
    with db.read_session(engine) as session:
        notes = list(session.scalars(select(BounceIntake.note).order_by(BounceIntake.id)))
    assert "not ours" in notes[0] and "not one we sent" in notes[1]


def test_a_message_id_we_sent_to_that_address_is_enough_without_verp(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["dead@reader.example.net"]
    other = week["fine@reader.example.net"]
    # The right Message-ID but another reader's address: not the copy it names.
    mismatched = dsn(BOUNCE_ADDRESS, other.email, "5.1.1", "550 5.1.1 x", copy.message_id)
    assert feed(bounce_settings, engine, mismatched).ignored == 1
    data = dsn(
        BOUNCE_ADDRESS, copy.email, "5.1.1", "550 5.1.1 x", copy.message_id, report_id="<r2@m>"
    )
    assert feed(bounce_settings, engine, data).applied == 1
    assert status_of(engine, copy.email) == "bounced"
    assert status_of(engine, other.email) == "active"


def test_a_complaint_leaves_every_list_and_is_suppressed(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["fine@reader.example.net"]
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, copy.email, "", ["weekly-international"], confirmed=True, now=AFTER_WEEK
        )
    data = arf(
        "fbl@news.example.org",
        original_mail_from=f"<{copy.return_path}>",
        original_to=copy.email,
        original_message_id=copy.message_id,
    )
    assert feed(bounce_settings, engine, data).applied == 1
    assert status_of(engine, copy.email) == "complained"
    with db.read_session(engine) as session:
        assert session.get(Suppression, copy.email) is not None
        subscriber = subscribers.find_subscriber(session, copy.email)
        assert subscribers.subscriber_lists(session, subscriber.id) == []


def test_automatic_replies_are_ignored(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["dead@reader.example.net"]
    reply = (
        f"From: {copy.email}\r\nTo: {copy.return_path}\r\nAuto-Submitted: auto-replied\r\n"
        "Subject: Out of office\r\n\r\nBack on Monday.\r\n"
    ).encode()
    report = feed(bounce_settings, engine, reply, copy.return_path)
    assert (report.applied, report.ignored) == (0, 1)
    assert status_of(engine, copy.email) == "active"


def test_soft_bounces_need_consecutive_digests_and_a_clean_one_resets(
    settings: Settings, engine: Engine
) -> None:
    limit_two = with_bounces(settings, soft_limit=2)
    import_demo_articles(limit_two, engine)
    add_active(engine, ["full@reader.example.net"], "weekly-international")

    def soft(period: date, now: datetime, report_id: str, bounce: bool = True) -> None:
        sent = send_week(limit_two, engine, period, now, "weekly-international")
        copy = sent["full@reader.example.net"]
        if bounce:
            data = dsn(
                copy.return_path,
                copy.email,
                "5.2.2",
                "552 5.2.2 full",
                copy.message_id,
                report_id=report_id,
            )
            # The same digest soft-bouncing twice still counts once.
            feed(limit_two, engine, data, copy.return_path)
            feed(
                limit_two,
                engine,
                data.replace(report_id.encode(), b"<x" + report_id[1:].encode()),
                copy.return_path,
            )

    soft(date(2026, 11, 18), AFTER_WEEK, "<s1@m>")
    assert status_of(engine, "full@reader.example.net") == "active"
    soft(date(2026, 11, 11), AFTER_WEEK, "<s0@m>", bounce=False)  # an older, clean digest
    soft(date(2026, 11, 4), AFTER_WEEK, "<s-1@m>")
    assert status_of(engine, "full@reader.example.net") == "active"  # not consecutive
    soft(date(2026, 11, 25), AFTER_WEEK + timedelta(days=7), "<s2@m>")
    assert status_of(engine, "full@reader.example.net") == "bounced"


def test_restore_undoes_a_bounce(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["dead@reader.example.net"]
    data = dsn(copy.return_path, copy.email, "5.1.1", "550 5.1.1 x", copy.message_id)
    feed(bounce_settings, engine, data, copy.return_path)
    assert status_of(engine, copy.email) == "bounced"
    assert bounces.restore_subscriber(engine, copy.email, AFTER_WEEK) == "active"
    with db.read_session(engine) as session:
        assert not subscribers.is_suppressed(session, copy.email)


def test_a_refusal_at_send_time_follows_the_same_rules(
    bounce_settings: Settings, engine: Engine
) -> None:
    from syndication.edges.transport import Envelope, PermanentFailure
    from syndication.services import delivery
    from syndication.services.digests import compiling

    import_demo_articles(bounce_settings, engine)
    add_active(engine, ["dead@reader.example.net", "blocked@reader.example.net"])
    compiling.compile_digest(bounce_settings, engine, "weekly-city", date(2026, 11, 18), AFTER_WEEK)

    class Refusing:
        def send(self, envelope: Envelope) -> None:
            recipient = envelope.recipient
            if recipient.startswith("dead"):
                raise PermanentFailure("550 5.1.1 <dead@reader.example.net>: no such user", 550)
            raise PermanentFailure("550 5.7.1 message rejected as spam", 550)

        def close(self) -> None:
            return None

    report = delivery.send_digests(
        bounce_settings, engine, workers=1, now=lambda: AFTER_WEEK, transport_factory=Refusing
    )
    assert report.bounced == 2
    assert status_of(engine, "dead@reader.example.net") == "bounced"
    assert status_of(engine, "blocked@reader.example.net") == "active"
    with db.read_session(engine) as session:
        assert not subscribers.is_suppressed(session, "blocked@reader.example.net")
        kinds = sorted(session.scalars(select(BounceEvent.kind)))
    assert kinds == ["blocked", "hard"]


def test_import_reads_eml_mbox_and_maildir_and_refuses_garbage(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent], tmp_path: Path
) -> None:
    import mailbox

    dead, full, blocked = (week[a] for a in READERS[:3])
    eml = tmp_path / "dead.eml"
    eml.write_bytes(dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 x", dead.message_id))
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    box.add(
        dsn(
            full.return_path, full.email, "5.2.2", "552 5.2.2 x", full.message_id, report_id="<f@m>"
        )
    )
    box.close()
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    maildir.add(
        dsn(
            blocked.return_path,
            blocked.email,
            "5.7.1",
            "550 5.7.1 x",
            blocked.message_id,
            report_id="<b@m>",
        )
    )
    garbage = tmp_path / "notes.txt"
    garbage.write_bytes(b"\x00\x01 this is not mail")
    with pytest.raises(NotMailError, match="notes.txt: not an e-mail message"):
        bounces.import_paths(bounce_settings, engine, [garbage], lambda: AFTER_WEEK)
    assert event_count(engine) == 0 and bounces.intake_backlog(engine) == 0
    report = bounces.import_paths(
        bounce_settings,
        engine,
        [eml, tmp_path / "box.mbox", tmp_path / "Maildir", garbage],
        lambda: AFTER_WEEK,
    )
    assert report.applied == 3
    assert report.rejected == [f"{garbage}: not an e-mail message (no header field at the top)"]
    assert status_of(engine, dead.email) == "bounced"


def test_a_maildir_file_starting_with_an_mbox_from_line_is_read_with_the_others(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent], tmp_path: Path
) -> None:
    import mailbox

    dead, full = week[READERS[0]], week[READERS[1]]
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    maildir.add(dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 x", dead.message_id))
    # The second file is written by hand: an mbox separator line, then the report.
    (tmp_path / "Maildir" / "new" / "1764496800.M1P1.test").write_bytes(
        b"From MAILER-DAEMON Mon Nov 30 10:00:00 2026\n"
        + dsn(
            full.return_path,
            full.email,
            "5.1.1",
            "550 5.1.1 x",
            full.message_id,
            report_id="<m2@m>",
        )
    )
    report = bounces.import_paths(
        bounce_settings, engine, [tmp_path / "Maildir"], lambda: AFTER_WEEK
    )
    assert (report.applied, report.rejected) == (2, [])
    assert status_of(engine, full.email) == "bounced"


def intake_rows(engine: Engine) -> list[tuple[str, str]]:
    with db.read_session(engine) as session:
        return [
            (state, note)
            for state, note in session.execute(
                select(BounceIntake.state, BounceIntake.note).order_by(BounceIntake.id)
            )
        ]


def test_hostile_reports_never_stall_the_queue(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    dead, fine = week["dead@reader.example.net"], week["fine@reader.example.net"]
    nul_id = dsn(
        fine.return_path.replace(fine.return_path.split("@")[0], "bounces"),
        fine.email,
        "5.1.1",
        "550 5.1.1 x",
        fine.message_id[:-1] + "\x00>",
        report_id="<nul@m>",
    )
    hostile = [
        prose_bounce_with_charset(BOUNCE_ADDRESS, fine.email, "idna"),
        deeply_nested(BOUNCE_ADDRESS),
        nul_id,
    ]
    for data in hostile:
        bounces.accept(engine, data, source="smtp", sender="", recipients=[], now=AFTER_WEEK)
    valid = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    bounces.accept(
        engine, valid, source="smtp", sender="", recipients=[dead.return_path], now=AFTER_WEEK
    )
    report = bounces.process_pending(bounce_settings, engine, lambda: AFTER_WEEK)
    assert (report.processed, report.applied) == (4, 1)
    rows = intake_rows(engine)
    assert [state for state, _note in rows] == ["ignored", "failed", "ignored", "done"]
    assert "too deeply nested" in rows[1][1]
    for _state, note in rows:
        assert "\n" not in note and "\x00" not in note and note
    assert status_of(engine, dead.email) == "bounced"
    assert status_of(engine, fine.email) == "active"
    assert bounces.intake_backlog(engine) == 0


def test_a_report_whose_processing_raises_is_failed_and_the_rest_go_on(
    bounce_settings: Settings,
    engine: Engine,
    week: dict[str, Sent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = week["dead@reader.example.net"]
    from email.message import Message

    from syndication.core.bounce_reports import BounceReport, parse_report

    def brittle(message: Message, recipients: Sequence[str] = ()) -> BounceReport:
        if "explode" in str(message["Subject"]):
            raise UnicodeError("label empty or too long\nsecond line")
        return parse_report(message, recipients)

    monkeypatch.setattr(bounces, "parse_report", brittle)
    bomb = b"From: x@mta.test\r\nTo: bounces@news.example.org\r\nSubject: explode\r\n\r\nx\r\n"
    bounces.accept(engine, bomb, source="smtp", sender="", recipients=[], now=AFTER_WEEK)
    valid = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    first = feed(bounce_settings, engine, valid, dead.return_path)
    assert (first.failed, first.applied) == (1, 1)
    assert first.errors == ["report 1: UnicodeError: label empty or too long second line"]
    assert intake_rows(engine)[0] == ("failed", "UnicodeError: label empty or too long second line")
    assert status_of(engine, dead.email) == "bounced"
    with db.read_session(engine) as session:
        assert bounce_store.failed_count(session) == 1


def test_events_keep_reason_and_evidence_and_policy_never_touches_the_reader(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    blocked, dead = week["blocked@reader.example.net"], week["dead@reader.example.net"]
    # "Status: 5.1.1" but the server's own words are about our IP: alarm only.
    listed = dsn(
        blocked.return_path,
        blocked.email,
        "5.1.1",
        "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
        blocked.message_id,
        report_id="<listed@m>",
    )
    # Signed by VERP, about an alias of the reader: the alias is evidence, not a veto.
    alias = dsn(
        dead.return_path,
        "alias-of-dead@forward.example.net",
        "5.1.1",
        "550 5.1.1 <alias-of-dead@forward.example.net>: no such user",
        dead.message_id,
        report_id="<alias@m>",
    )
    assert feed(bounce_settings, engine, listed, blocked.return_path).applied == 1
    assert feed(bounce_settings, engine, alias, dead.return_path).applied == 1
    assert status_of(engine, blocked.email) == "active"
    assert status_of(engine, dead.email) == "bounced"
    with db.read_session(engine) as session:
        rows = {
            r.subscriber_id: (r.kind, r.reason, r.evidence)
            for r in session.scalars(select(BounceEvent))
        }
        ids = {
            email: subscribers.find_subscriber(session, email).id
            for email in (blocked.email, dead.email)
        }
    assert rows[ids[blocked.email]] == (
        "blocked",
        "blocked",
        "Diagnostic-Code (5.7.1): phrase 'client host blocked'",
    )
    assert rows[ids[dead.email]] == (
        "hard",
        "userunknown",
        "Diagnostic-Code (5.1.1): phrase 'no such user'",
    )
    health = bounces.intake_health(engine)
    assert (health.backlog, health.failed, health.undefined) == (0, 0, 0)
    assert health.reasons == {"blocked": 1, "userunknown": 1}


def test_an_arf_opt_out_unsubscribes_without_suppressing(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    copy = week["fine@reader.example.net"]
    data = arf(
        "fbl@news.example.org",
        feedback_type="opt-out",
        original_mail_from=f"<{copy.return_path}>",
        original_to=copy.email,
        original_message_id=copy.message_id,
    )
    assert feed(bounce_settings, engine, data).applied == 1
    assert status_of(engine, copy.email) == "unsubscribed"
    with db.read_session(engine) as session:
        assert session.get(Suppression, copy.email) is None


def process_at(settings: Settings, engine: Engine, data: bytes, to: str, now: datetime) -> str:
    bounces.accept(engine, data, source="smtp", sender="", recipients=[to] if to else [], now=now)
    bounces.process_pending(settings, engine, lambda: now)
    with db.read_session(engine) as session:
        return str(
            session.scalars(select(BounceIntake.note).order_by(BounceIntake.id.desc())).first()
        )


def test_a_report_about_a_copy_older_than_the_capability_changes_nobody(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    dead, full = week["dead@reader.example.net"], week["full@reader.example.net"]
    late = AFTER_WEEK + timedelta(days=91)
    by_verp = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    note = process_at(bounce_settings, engine, by_verp, dead.return_path, late)
    assert "more than 90 days ago (bounces.capability_days): ignored" in note
    by_message_id = dsn(
        BOUNCE_ADDRESS, full.email, "5.1.1", "550 5.1.1 x", full.message_id, report_id="<o@m>"
    )
    assert "capability_days" in process_at(bounce_settings, engine, by_message_id, "", late)
    assert status_of(engine, dead.email) == "active"
    assert status_of(engine, full.email) == "active"
    assert event_count(engine) == 0
    in_time = dsn(
        dead.return_path,
        dead.email,
        "5.1.1",
        "550 5.1.1 no such user",
        dead.message_id,
        report_id="<in-time@m>",
    )
    process_at(bounce_settings, engine, in_time, dead.return_path, AFTER_WEEK + timedelta(days=89))
    assert status_of(engine, dead.email) == "bounced"


def test_pruning_removes_raw_reports_after_retention_and_keeps_events(
    bounce_settings: Settings, engine: Engine, week: dict[str, Sent]
) -> None:
    dead = week["dead@reader.example.net"]
    data = dsn(dead.return_path, dead.email, "5.1.1", "550 5.1.1 no such user", dead.message_id)
    feed(bounce_settings, engine, data, dead.return_path)  # done, with an event
    feed(bounce_settings, engine, deeply_nested(BOUNCE_ADDRESS))  # failed
    later = AFTER_WEEK + timedelta(days=31)
    bounces.accept(engine, data, source="smtp", sender="", recipients=[], now=later)  # queued
    assert bounces.prune_reports(bounce_settings, engine, AFTER_WEEK + timedelta(days=29)) == (
        bounce_store.Pruned(0, 0, 0)
    )
    pruned = bounces.prune_reports(bounce_settings, engine, later)
    assert pruned == bounce_store.Pruned(intake_deleted=1, intake_emptied=1, events_emptied=1)
    with db.read_session(engine) as session:
        states = list(
            session.execute(select(BounceIntake.state, BounceIntake.note).order_by(BounceIntake.id))
        )
        events = list(session.execute(select(BounceEvent.reason, BounceEvent.report)))
    assert [state for state, _note in states] == ["failed", "queued"]
    assert "too deeply nested" in states[0][1]
    assert events == [("userunknown", b"")]
    assert status_of(engine, dead.email) == "bounced"


def test_the_intake_keeps_strangers_reports_within_limits_and_ours_always(
    bounce_settings: Settings,
    engine: Engine,
    week: dict[str, Sent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = StrangerLimits(per_peer=2, window=timedelta(hours=1), max_stored=3)
    copy = week["dead@reader.example.net"]

    def offer(data: bytes, to: str, peer: str) -> int | None:
        return bounces.accept_limited(
            bounce_settings,
            engine,
            limits,
            data,
            source="smtp",
            sender="",
            recipients=[to],
            peer=peer,
            now=AFTER_WEEK,
        )

    def stranger(n: int) -> bytes:
        never_sent = f"<never-sent-{n}@news.example.org>"
        return dsn(BOUNCE_ADDRESS, "x@elsewhere.example", "5.1.1", "550 5.1.1 x", never_sent)

    kept = [offer(stranger(n), BOUNCE_ADDRESS, "192.0.2.1") for n in range(3)]
    assert [k is not None for k in kept] == [True, True, False]  # two per peer per hour
    assert "dropped a report from 192.0.2.1 that names nothing of ours" in caplog.text
    assert offer(stranger(3), BOUNCE_ADDRESS, "198.51.100.7") is not None  # another peer
    # Three strangers' reports are held now: the total bound refuses a fourth peer too.
    assert offer(stranger(4), BOUNCE_ADDRESS, "203.0.113.9") is None
    assert limits.dropped == {"per-peer": 1, "total": 1}
    # Reports about a copy of ours are never limited: by VERP, and by our Message-ID alone.
    by_verp = dsn(copy.return_path, copy.email, "5.1.1", "550 5.1.1 x", copy.message_id)
    by_id = dsn(
        BOUNCE_ADDRESS, copy.email, "5.1.1", "550 5.1.1 x", copy.message_id, report_id="<r2@m>"
    )
    assert offer(by_verp, copy.return_path, "192.0.2.1") is not None
    assert offer(by_id, BOUNCE_ADDRESS, "192.0.2.1") is not None
    # A forged token is a stranger's report like any other.
    local, domain = copy.return_path.split("@")
    assert offer(by_verp, f"{local[:-4]}aaaa@{domain}", "192.0.2.1") is None
    with db.read_session(engine) as session:
        assert session.execute(select(func.count()).select_from(BounceIntake)).scalar_one() == 5
    report = bounces.process_pending(bounce_settings, engine, lambda: AFTER_WEEK)
    assert (report.applied, report.ignored) == (2, 3)
    assert status_of(engine, copy.email) == "bounced"


def test_a_mail_to_the_list_unsubscribe_mailto_address_leaves_that_list(
    bounce_settings: Settings, engine: Engine
) -> None:
    """Issue 26 item 7 (RFC 2369, RFC 8058 section 3.1): each digest's List-Unsubscribe
    carries, after the https one-click, a mailto: address in the bounce mailbox's VERP
    form; a mail to it, whatever it says, takes that reader off that list only."""
    import_demo_articles(bounce_settings, engine)
    add_active(engine, ["leaver@reader.example.net", "stayer@reader.example.net"])
    add_active(engine, ["leaver@reader.example.net"], "weekly-international")
    report = compiling.compile_digest(
        bounce_settings, engine, "weekly-city", date(2026, 11, 18), AFTER_WEEK
    )
    assert report.created
    transport = MemoryTransport()
    delivery.send_digests(
        bounce_settings,
        engine,
        workers=1,
        now=lambda: AFTER_WEEK,
        transport_factory=lambda: transport,
    )
    sent = {e.recipient: e for e in transport.sent}
    message = email.message_from_bytes(
        sent["leaver@reader.example.net"].message, policy=email.policy.default
    )
    https, mailto = (part.strip(" <>") for part in message["List-Unsubscribe"].split(","))
    assert https.startswith("https://") and mailto.startswith("mailto:bounces+u")
    address = mailto.removeprefix("mailto:").partition("?")[0]
    request = (
        f"From: leaver@reader.example.net\r\nTo: {address}\r\nSubject: unsubscribe\r\n"
        "Message-ID: <unsub-1@reader.example.net>\r\n\r\nunsubscribe\r\n"
    ).encode()
    outcome = feed(bounce_settings, engine, request, to=address)
    assert outcome.applied == 1, outcome.effects
    with db.read_session(engine) as session:
        leaver = subscribers.find_subscriber(session, "leaver@reader.example.net")
        stayer = subscribers.find_subscriber(session, "stayer@reader.example.net")
        assert subscribers.subscriber_lists(session, leaver.id) == ["weekly-international"]
        assert subscribers.subscriber_lists(session, stayer.id) == ["weekly-city"]
    assert status_of(engine, "leaver@reader.example.net") == "active"
    forged = address.replace("+u", "+d", 1)
    assert (
        feed(
            bounce_settings, engine, request.replace(address.encode(), forged.encode()), to=forged
        ).applied
        == 0
    )
