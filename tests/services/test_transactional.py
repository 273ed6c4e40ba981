"""Transactional mail through the outbox (issue 29 item 4): retried soon and with backoff,
given up after a bounded time with a record, never sent twice by two senders, sent before
digest copies; test sends queued like confirmations. Real aiosmtpd on loopback, every
backend, the clock passed in."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta
from email import policy

import pytest
from sqlalchemy import Engine, select, update

from syndication.core.deliveries import Outcome
from syndication.edges.transport import Envelope, MemoryTransport, ServerUnavailable
from syndication.edges.transport.smtp import SmtpTransport
from syndication.errors import SyndicationError
from syndication.services import delivery, privacy, status, subscribers, transactional
from syndication.services.digests import approval
from syndication.settings import MailSettings, Settings, SmtpSettings
from syndication.store import database as db
from syndication.store import mail_outbox
from syndication.store.models import Subscriber, TransactionalMail
from tests.support.builders import AFTER_WEEK, FIXED_NOW, queue_demo_digest, statuses
from tests.support.net import free_port
from tests.support.smtp import SmtpServer

READER = "reader@example.org"
LATER = "451 4.3.0 try again later"


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    mail = MailSettings(
        transport="smtp",
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, rate_per_second=1000),
    )
    return replace(settings, mail=mail)


def sign_up(engine: Engine, settings: Settings, address: str, now: datetime) -> int:
    form = subscribers.read_sign_up(settings, address, "", ["weekly-city"])
    mail_id = subscribers.sign_up(settings, engine, form, now)
    assert mail_id is not None
    return mail_id


def row(engine: Engine, mail_id: int) -> TransactionalMail:
    with db.read_session(engine) as session:
        found = session.get(TransactionalMail, mail_id)
        assert found is not None
        return found


def deliver(settings: Settings, engine: Engine, at: datetime) -> int:
    """What the scheduler's deliver job runs, at ``at``; returns how many were sent."""
    options = delivery.SendOptions.from_settings(settings, max_wait=0.0)
    return delivery.send_digests(settings, engine, now=lambda: at, options=options).sent


def test_the_first_retries_come_within_two_minutes_then_back_off() -> None:
    delays = [mail_outbox.retry_delay(n) for n in range(1, 10)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert delays[-1] == mail_outbox.LONGEST_RETRY == timedelta(minutes=30)


def test_a_refused_attempt_is_retried_after_30_seconds_by_the_deliver_job(
    smtp_settings: Settings, engine: Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.rcpt_replies[READER] = LATER
    mail_id = sign_up(engine, smtp_settings, READER, FIXED_NOW)
    first = subscribers.send_mail_now(smtp_settings, engine, mail_id, FIXED_NOW)
    assert (first.status, first.error) == ("queued", first.error)
    assert "451" in first.error
    queued = row(engine, mail_id)
    assert (queued.attempts, queued.next_attempt_at) == (1, FIXED_NOW + timedelta(seconds=30))

    del smtp_server.handler.rcpt_replies[READER]
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(seconds=20)) == 0  # not due
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(seconds=31)) == 1
    assert smtp_server.handler.recipients() == [READER]
    assert row(engine, mail_id).status == "sent"


def test_a_mail_not_handed_over_within_a_day_is_given_up_with_its_reason(
    smtp_settings: Settings, engine: Engine, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.rcpt_replies[READER] = LATER
    mail_id = sign_up(engine, smtp_settings, READER, FIXED_NOW)
    at = FIXED_NOW
    while at < FIXED_NOW + mail_outbox.GIVE_UP_AFTER + timedelta(hours=1):
        deliver(smtp_settings, engine, at)
        at += timedelta(minutes=30)
    given_up = row(engine, mail_id)
    assert given_up.status == "failed"
    assert given_up.last_error.startswith("gave up")
    assert "451" in given_up.last_error
    assert 10 < given_up.attempts < 60  # backed off, not every run
    assert smtp_server.handler.messages == []

    report = status.service_status(smtp_settings, engine, look_at_files=False, now=at)
    assert (report.mail.queued, report.mail.gave_up) == (0, 1)
    assert "451" in report.mail.last_error
    health = status.health_status(smtp_settings, engine, now=at)
    assert any("given up" in p for p in status.health_problems(health, at))
    assert deliver(smtp_settings, engine, at + timedelta(days=1)) == 0  # the record stays


def test_a_sender_killed_mid_send_is_not_doubled_and_its_mail_is_not_lost(
    smtp_settings: Settings, engine: Engine, smtp_server: SmtpServer
) -> None:
    mail_id = sign_up(engine, smtp_settings, READER, FIXED_NOW)
    dead = transactional.MailOutbox(engine)
    lease = timedelta(minutes=2)
    [claimed] = dead.claim("killed-host:1:0", FIXED_NOW, lease, 10, "dead-token")
    assert claimed.delivery_id == mail_id
    # While the lease runs (a live sender renews it: see the send loop) nobody else sends.
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(minutes=1)) == 0
    assert dead.renew("dead-token", FIXED_NOW + timedelta(minutes=1), lease) == {mail_id}
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(minutes=2, seconds=30)) == 0
    # The process was killed: the renewed lease runs out and the next run sends it, once.
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(minutes=4)) == 1
    assert deliver(smtp_settings, engine, FIXED_NOW + timedelta(minutes=9)) == 0
    assert smtp_server.handler.recipients() == [READER]
    sent = row(engine, mail_id)
    # The dead sender's token no longer holds the row: it can neither renew nor settle it.
    assert dead.renew("dead-token", FIXED_NOW + timedelta(minutes=5), lease) == set()
    dead.settle("dead-token", [Outcome(mail_id, "bounced", READER, "", "5.1.1")], FIXED_NOW)
    assert (row(engine, mail_id).status, row(engine, mail_id).message_id) == (
        "sent",
        sent.message_id,
    )


def test_transactional_mail_goes_before_digest_copies(settings: Settings, engine: Engine) -> None:
    readers = [f"reader{n}@example.net" for n in range(3)]
    queue_demo_digest(settings, engine, readers, "weekly-city")
    mail_id = sign_up(engine, settings, "waiting@example.org", AFTER_WEEK)
    sink = MemoryTransport()
    options = delivery.SendOptions(workers=1, max_wait=0.0, batch_size=2)
    report = delivery.send_digests(
        settings, engine, now=lambda: AFTER_WEEK, options=options, transport_factory=lambda: sink
    )
    assert report.sent == 4
    assert [e.recipient for e in sink.sent][0] == "waiting@example.org"
    assert row(engine, mail_id).status == "sent"


def test_a_confirmation_that_cannot_be_built_is_recorded_and_holds_up_nothing(
    settings: Settings, engine: Engine
) -> None:
    mail_id = sign_up(engine, settings, READER, FIXED_NOW)
    only_other = replace(
        settings, lists=tuple(ml for ml in settings.lists if ml.slug != "weekly-city")
    )
    sink = MemoryTransport()
    options = delivery.SendOptions(workers=1, max_wait=0.0)
    delivery.send_digests(
        only_other, engine, now=lambda: FIXED_NOW, options=options, transport_factory=lambda: sink
    )
    failed = row(engine, mail_id)
    assert failed.status == "failed"
    assert "subscribed to no configured list" in failed.last_error
    assert sink.sent == []


def test_a_confirmation_is_queued_in_the_sign_up_transaction(
    settings: Settings, engine: Engine
) -> None:
    mail_id = sign_up(engine, settings, READER, FIXED_NOW)
    with db.read_session(engine) as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email == READER)).one()
        assert (subscriber.status, row(engine, mail_id).request) == (
            "pending",
            subscriber.request_nonce,
        )
    form = subscribers.read_sign_up(settings, READER, "", ["weekly-city"])
    # Refused by the caller's limit: the sign-up is recorded, nothing more is queued.
    assert subscribers.sign_up(settings, engine, form, FIXED_NOW, may_mail=lambda _a: False) is None
    with db.read_session(engine) as session:
        assert session.scalars(select(TransactionalMail.id)).all() == [mail_id]


def test_a_test_send_with_the_server_down_is_queued_and_sent_later(
    smtp_settings: Settings, engine: Engine, smtp_server: SmtpServer
) -> None:
    queue_demo_digest(smtp_settings, engine, ["reader@example.net"], "weekly-city")
    approval.hold(smtp_settings, engine, "weekly-city", "2026-11-16", "op", AFTER_WEEK)
    before = statuses(engine)

    class Down(MemoryTransport):
        def send(self, envelope: Envelope) -> None:
            raise ServerUnavailable("cannot connect to 127.0.0.1:25: refused")

    result = approval.test_send(
        smtp_settings, engine, "weekly-city", "2026-11-16", "editor@example.org", AFTER_WEEK, Down()
    )
    assert (result.status, result.error) == ("queued", "cannot connect to 127.0.0.1:25: refused")
    # The held digest's copies stay held; its test goes out with the next deliver run.
    mail = MailSettings(
        transport="smtp",
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, rate_per_second=1000),
    )
    sent = delivery.send_digests(
        smtp_settings,
        engine,
        now=lambda: AFTER_WEEK,
        options=delivery.SendOptions(workers=1, max_wait=0.0),
        transport_factory=lambda: SmtpTransport(mail),
    )
    assert sent.sent == 1
    [(_, rcpts, data)] = smtp_server.handler.messages
    assert rcpts == ["editor@example.org"]
    message = email.message_from_bytes(data, policy=policy.default)
    assert str(message["Subject"]).startswith("[TEST] ")
    assert message["Message-ID"] == result.message_id
    assert statuses(engine) == before


def test_subscribers_add_with_the_server_down_says_the_mail_is_queued(
    settings: Settings, engine: Engine
) -> None:
    nobody = MailSettings(
        transport="smtp", smtp=SmtpSettings(port=free_port(), rate_per_second=1000)
    )
    down = replace(settings, mail=nobody)
    with pytest.raises(SyndicationError, match="queued but not sent yet") as raised:
        subscribers.add_subscriber(down, engine, READER, ["weekly-city"], "", confirmed=False)
    assert "cannot connect" in str(raised.value)
    with db.read_session(engine) as session:
        [queued] = session.scalars(select(TransactionalMail)).all()
        assert (queued.email, queued.status, queued.attempts) == (READER, "queued", 0)


def test_mails_settled_longer_ago_than_the_setting_are_pruned_and_queued_ones_never(
    settings: Settings, engine: Engine
) -> None:
    """The retention job deletes outbox rows by when they were settled, not when queued."""
    t0 = FIXED_NOW
    day = timedelta(days=1)
    outbox = transactional.MailOutbox(engine)

    def queue(at: datetime, kind: str = transactional.TEST) -> int:
        with db.write_session(engine) as session:
            return mail_outbox.enqueue(session, kind, f"{kind}-{at:%j}@example.org", at)

    def claim_one(mail_id: int, at: datetime) -> None:
        with db.write_session(engine) as session:
            mail_outbox.claim_batch(
                session, "w", at, timedelta(minutes=2), 1, f"t{mail_id}", mail_id
            )

    def settle(mail_id: int, kind: str, at: datetime) -> None:
        claim_one(mail_id, at)
        outbox.settle(f"t{mail_id}", [Outcome(mail_id, kind, "", "<m@x>", "550 no")], at)

    sent_old = queue(t0)
    settle(sent_old, "sent", t0)
    bounced_old = queue(t0 + day)
    settle(bounced_old, "bounced", t0 + day)
    skipped_old = queue(t0, transactional.CONFIRM)  # no pending sign-up behind it
    claim_one(skipped_old, t0)
    given_up_old = queue(t0)
    claim_one(given_up_old, t0 + 2 * day)  # past its give_up_at: settled failed now
    given_up_late = queue(t0 + 9 * day)  # queued before the cut, given up after it
    claim_one(given_up_late, t0 + 11 * day)
    sent_new = queue(t0 + 15 * day)
    settle(sent_new, "sent", t0 + 15 * day)
    queued_old = queue(t0 - 5 * day)  # no sender ran since (the server was away)
    in_flight_old = queue(t0 - 5 * day)
    with db.write_session(engine) as session:
        session.execute(
            update(TransactionalMail)
            .where(TransactionalMail.id == in_flight_old)
            .values(status="sending", lease_until=t0 - 4 * day, claim_token="lost")
        )
    statuses_now = {
        m.id: (m.status, m.settled_at)
        for m in map(lambda i: row(engine, i), (given_up_old, given_up_late, skipped_old))
    }
    assert statuses_now == {
        given_up_old: ("failed", t0 + 2 * day),
        given_up_late: ("failed", t0 + 11 * day),
        skipped_old: ("skipped", t0),
    }

    at = t0 + 40 * day  # the cut: settled before t0 + 10 days
    done = privacy.apply_retention(settings, engine, at)
    assert done == privacy.Retention(0, 0, 4)
    assert done.summary.endswith("and 4 settled transactional mails deleted")
    with db.read_session(engine) as session:
        left = set(session.scalars(select(TransactionalMail.id)))
    assert left == {given_up_late, sent_new, queued_old, in_flight_old}
    assert privacy.apply_retention(settings, engine, at).mails == 0

    # A shorter setting takes the late ones too; queued and in-flight rows stay whatever
    # their age, for a sender to settle first.
    short = replace(settings, privacy=replace(settings.privacy, transactional_mail_days=1))
    assert privacy.apply_retention(short, engine, at).mails == 2
    with db.read_session(engine) as session:
        left = set(session.scalars(select(TransactionalMail.id)))
    assert left == {queued_old, in_flight_old}
