from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from syndication.core.subscribers import Event
from syndication.store import database as db
from syndication.store import digests, outbox, subscribers
from syndication.store.models import Delivery, Subscriber
from tests.support.builders import add, make_digest, statuses


def queue_readers(engine: Engine, now: datetime, count: int) -> None:
    """``count`` readers of weekly-city, and a digest queued for them."""
    add(engine, now, count)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)


def test_digest_is_stored_once_and_enqueue_adds_nobody_twice(engine: Engine, now: datetime) -> None:
    add(engine, now, 5)
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "pending@example.org", "", ["weekly-city"], confirmed=False, now=now
        )
        subscribers.add_subscriber(
            session, "other@example.org", "", ["weekly-international"], confirmed=True, now=now
        )
        subscribers.add_subscriber(
            session, "gone@example.org", "", ["weekly-city"], confirmed=True, now=now
        )
        subscribers.suppress(session, "gone@example.org", "complaint", now, Event.COMPLAINT)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        assert outbox.enqueue(session, digest_id, "weekly-city", now) == 5
        assert outbox.enqueue(session, digest_id, "weekly-city", now) == 0
        again, created = digests.store_digest(
            session,
            list_slug="weekly-city",
            period_key="2026-11-16",
            period_start=now,
            period_end=now,
            subject="other",
            preheader="",
            html="",
            text="",
            article_count=0,
            now=now + timedelta(seconds=1),
        )
        assert (again, created) == (digest_id, False)
    assert statuses(engine) == {"queued": 5}


def test_claim_leases_and_expired_leases_are_claimed_again(engine: Engine, now: datetime) -> None:
    add(engine, now, 4)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
    lease = timedelta(seconds=30)
    with db.write_session(engine) as session:
        first = outbox.claim_batch(session, "w1", now, lease, 3, "w1")
    with db.write_session(engine) as session:
        second = outbox.claim_batch(session, "w2", now, lease, 10, "w2")
    assert len(first) == 3 and len(second) == 1
    assert {c.attempts for c in first + second} == {1}
    # w1 dies; after its lease runs out, w3 takes its rows and w1's late settle is ignored.
    later = now + lease + timedelta(seconds=1)
    with db.write_session(engine) as session:
        third = outbox.claim_batch(session, "w3", later, lease, 3, "w3")
    assert sorted(c.delivery_id for c in third) == sorted(c.delivery_id for c in first)
    with db.write_session(engine) as session:
        outbox.settle(
            session,
            "w1",
            [outbox.Outcome(c.delivery_id, "sent", message_id="<a@x>") for c in first],
            later,
        )
    assert statuses(engine) == {"sending": 4}
    with db.write_session(engine) as session:
        outbox.settle(
            session,
            "w3",
            [outbox.Outcome(c.delivery_id, "sent", message_id="<b@x>") for c in third],
            later,
        )
        outbox.settle(
            session,
            "w2",
            [outbox.Outcome(second[0].delivery_id, "sent", message_id="<c@x>")],
            later,
        )
    assert statuses(engine) == {"sent": 4}


def test_a_claim_takes_lapsed_leases_first_then_queued_rows_oldest_due_first(
    engine: Engine, now: datetime
) -> None:
    # Two index ranges read in order, not every due row sorted per claim (issue 16).
    queue_readers(engine, now, 5)
    lease = timedelta(seconds=30)
    with db.write_session(engine) as session:
        lapsed = outbox.claim_batch(session, "w1", now, lease, 2, "w1")
        [retry] = outbox.claim_batch(session, "w2", now, lease, 1, "w2")
        outbox.settle(
            session,
            "w2",
            [outbox.Outcome(retry.delivery_id, "retry", error="451", attempts=1)],
            now,
        )
    ids = sorted(c.delivery_id for c in lapsed)
    assert retry.delivery_id > max(ids)
    later = now + lease + timedelta(seconds=1)
    with db.write_session(engine) as session:
        third = outbox.claim_batch(session, "w3", later, timedelta(hours=1), 3, "w3")
        rest = outbox.claim_batch(session, "w4", later, timedelta(hours=1), 10, "w4")
    assert [c.delivery_id for c in third][:2] == ids
    # The retry is not due yet: the two rows never tried go, lowest id first.
    assert len(third) == 3 and len(rest) == 1
    assert retry.delivery_id not in {c.delivery_id for c in third + rest}
    assert third[2].delivery_id < rest[0].delivery_id
    # Once due, the retry comes after rows that were due before it, whatever its id.
    with db.write_session(engine) as session:
        outbox.settle(session, "w4", [outbox.Outcome(rest[0].delivery_id, "released")], later)
        due = later + outbox.retry_delay(1)
        [first] = outbox.claim_batch(session, "w5", due, lease, 1, "w5")
        [second] = outbox.claim_batch(session, "w6", due, lease, 1, "w6")
    assert (first.delivery_id, second.delivery_id) == (rest[0].delivery_id, retry.delivery_id)


def test_renew_keeps_what_the_claim_still_holds_and_reports_what_it_lost(
    engine: Engine, now: datetime
) -> None:
    add(engine, now, 3)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
    lease = timedelta(seconds=30)
    with db.write_session(engine) as session:
        first = outbox.claim_batch(session, "w1", now, lease, 2, "claim-a")
        rest = outbox.claim_batch(session, "w1", now, lease, 5, "claim-b")
    assert {c.token for c in first} == {"claim-a"} and len(rest) == 1
    # Renewed in time, claim-a keeps its rows: nobody can take them at the old deadline.
    renewed_at = now + timedelta(seconds=20)
    with db.write_session(engine) as session:
        assert outbox.renew(session, "claim-a", renewed_at, lease) == {c.delivery_id for c in first}
    expired = now + lease + timedelta(seconds=1)
    with db.write_session(engine) as session:
        taken = outbox.claim_batch(session, "w2", expired, lease, 5, "claim-c")
    assert [c.delivery_id for c in taken] == [rest[0].delivery_id]
    # claim-b was not renewed: w2 ("c") took its row, so claim-b holds nothing any more and
    # its late settle changes nothing, even though the same worker made both claims.
    with db.write_session(engine) as session:
        assert outbox.renew(session, "claim-b", renewed_at, lease) == set()
        outbox.settle(session, "claim-b", [outbox.Outcome(rest[0].delivery_id, "sent")], now)
    assert statuses(engine) == {"sending": 3}


def test_unsubscribe_between_compile_and_send_is_honoured(engine: Engine, now: datetime) -> None:
    add(engine, now, 3)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
        reader = subscribers.find_subscriber(session, "reader1@example.org")
        subscribers.unsubscribe(session, reader.id, now, "weekly-city")
    with db.write_session(engine) as session:
        claimed = outbox.claim_batch(session, "w", now, timedelta(minutes=1), 10, "w")
    assert sorted(c.email for c in claimed) == ["reader0@example.org", "reader2@example.org"]
    assert statuses(engine) == {"sending": 2, "skipped": 1}


def test_retries_back_off_then_fail_and_bounces_suppress(engine: Engine, now: datetime) -> None:
    add(engine, now, 2)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
    moment = now
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        with db.write_session(engine) as session:
            claimed = outbox.claim_batch(session, "w", moment, timedelta(minutes=1), 10, "w")
            assert len(claimed) == (2 if attempt == 1 else 1)
            outcomes = []
            for c in claimed:
                if c.email == "reader1@example.org":
                    outcomes.append(
                        outbox.Outcome(
                            c.delivery_id,
                            "bounced",
                            c.email,
                            "<m@x>",
                            "550 no such user (in reply to RCPT TO)",
                            c.attempts,
                        )
                    )
                else:
                    assert c.attempts == attempt
                    outcomes.append(
                        outbox.Outcome(
                            c.delivery_id, "retry", c.email, "<m@x>", "451 later", c.attempts
                        )
                    )
            outbox.settle(session, "w", outcomes, moment)
        with db.read_session(engine) as session:
            assert outbox.pending_count(session, moment) == 0, "not due again before its backoff"
        moment += outbox.retry_delay(attempt) + timedelta(seconds=1)
    assert statuses(engine) == {"failed": 1, "bounced": 1}
    with db.read_session(engine) as session:
        bounced = session.scalars(
            select(Subscriber).where(Subscriber.email == "reader1@example.org")
        ).one()
        assert bounced.status == "bounced"
        assert subscribers.is_suppressed(session, "reader1@example.org")
    assert outbox.retry_delay(1) == timedelta(minutes=5)
    assert outbox.retry_delay(30) == timedelta(hours=6)


def test_released_rows_do_not_count_an_attempt(engine: Engine, now: datetime) -> None:
    add(engine, now, 2)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
    with db.write_session(engine) as session:
        claimed = outbox.claim_batch(session, "w", now, timedelta(minutes=1), 10, "w")
        outbox.settle(session, "w", [outbox.Outcome(claimed[0].delivery_id, "released")], now)
        assert outbox.release_worker(session, "w") == 1
    with db.read_session(engine) as session:
        assert list(session.scalars(select(Delivery.attempts))) == [0, 0]
        assert outbox.pending_count(session, now) == 2


def test_concurrent_claimers_never_share_a_row(engine: Engine, now: datetime, backend: str) -> None:
    add(engine, now, 60)
    digest_id = make_digest(engine, now)
    with db.write_session(engine) as session:
        outbox.enqueue(session, digest_id, "weekly-city", now)
    taken: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        ids: list[int] = []
        while True:
            with db.write_session(engine) as session:
                batch = outbox.claim_batch(session, name, now, timedelta(minutes=1), 7, name)
            if not batch:
                break
            ids.extend(c.delivery_id for c in batch)
        taken[name] = ids

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken.values() for i in ids]
    assert len(every) == 60 and len(set(every)) == 60


@pytest.mark.parametrize("kind", ["unknown"])
def test_unknown_outcome_is_a_bug(engine: Engine, now: datetime, kind: str) -> None:
    with pytest.raises(ValueError):
        with db.write_session(engine) as session:
            outbox.settle(session, "w", [outbox.Outcome(1, kind)], now)
