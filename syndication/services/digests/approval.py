"""Holding, resuming, cancelling and approving a digest, and sending a test of it.

The rules (issue 12):

- A list with ``approval = "manual"`` compiles its digest ``held``; nothing goes out until
  an operator approves it. Approval after ``max_digest_delay`` from the end of the period
  is refused: a stale digest should not go out.
- ``hold`` stops a digest that is going out. Deliveries already ``sent`` stay sent; the
  rest stay ``queued`` and no sender (``send`` or the scheduler) takes them. A sender
  checks the state before each message, so after the answer at most one message per
  connection (the one being handed over) still goes out; the answer says how many.
- ``resume`` lets exactly those rows go; a manual list's digest that was never approved
  needs ``approve`` instead.
- ``cancel`` settles every row not yet sent as ``skipped``; a cancelled digest never goes
  out and cannot be resumed.

Each transition is one transaction that reads the digest's state under a row lock
(PostgreSQL) or the write lock (SQLite), so two operators clicking at once cannot both win.
Each writes its audit record (who, from where, before -> after) in that transaction; a
``by`` given as a plain string is a system actor (a job, a retraction's hold).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.core import mime as mail
from syndication.core.audit import SYSTEM, Actor, digest_subject
from syndication.core.digests import past_max_delay
from syndication.edges.transport import Envelope, Transport
from syndication.errors import InputError, NotFoundError, SyndicationError
from syndication.services.delivery import sender_address
from syndication.services.digests.copies import DigestCopy, copy_template, find_copy, main_copy
from syndication.services.digests.samples import sample_recipient
from syndication.settings import Settings
from syndication.store import approval as store
from syndication.store import audit, mail_outbox
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store.approval import DigestStatus as DigestStatus
from syndication.store.digests import StoredDigest

TEST_PREFIX = "[TEST] "


# Who acts: an entry point's actor, or a plain string naming a system actor.
By = Actor | str


class ApprovalError(SyndicationError):
    """A transition that the digest's state or age does not allow."""


def _hours(delta: timedelta) -> str:
    return f"{delta / timedelta(hours=1):.1f} h"


@dataclass(frozen=True)
class Transition:
    """What an action did: the state before and after, and rows settled on the way."""

    list_slug: str
    period_key: str
    before: str
    after: str
    deliveries: dict[str, int]
    skipped: int = 0
    in_flight: int = 0

    @property
    def in_flight_note(self) -> str:
        """The honest tail of a hold's or cancel's answer: what may still go out."""
        if self.after not in ("held", "cancelled") or not self.in_flight:
            return ""
        s = "" if self.in_flight == 1 else "s"
        return (
            f"at most {self.in_flight} message{s} already being handed to the mail server "
            "may still go out"
        )


def _transition(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_key: str,
    action: str,
    by: By,
    now: datetime,
) -> Transition:
    db.require_current_schema(engine)
    actor = by if isinstance(by, Actor) else Actor.system(by)
    by = actor.label
    the_list = settings.mailing_list(list_slug)
    name = f"{list_slug} {period_key}"
    with db.write_session(engine) as session:
        status = store.digest_status(session, list_slug, period_key)
        before, skipped = status.state, 0
        if before == "cancelled":
            raise ApprovalError(f"{name}: the digest was cancelled; it can never be sent")
        if status.shown_state == "finished" and action in ("hold", "cancel"):
            raise ApprovalError(
                f"{name}: the digest is finished (every delivery is settled: {_counts(status)}); "
                f"there is nothing left to {action}"
            )
        if action == "hold":
            after = "held"
            if before != "held":
                store.set_state(session, status.digest_id, after, now, by)
        elif action == "resume":
            if before != "held":
                raise ApprovalError(f"{name}: the digest is not held (it is {before})")
            if the_list.approval == "manual" and status.approved_at is None:
                raise ApprovalError(
                    f"{name}: the list needs approval and this digest was never approved; "
                    f"approve it ('syndication digest approve {list_slug} {period_key}')"
                )
            after = "approved" if status.approved_at is not None else "ready"
            store.set_state(session, status.digest_id, after, now, by)
        elif action == "approve":
            late = now - status.period_end
            limit = settings.scheduler.max_digest_delay
            if past_max_delay(status.period_end, now, limit):
                raise ApprovalError(
                    f"{name}: the period ended {_hours(late)} ago, past max_digest_delay "
                    f"({_hours(limit)}); a stale digest should not go out. Cancel it, or "
                    "raise scheduler.max_digest_delay if it must still be sent"
                )
            after = "approved"
            if before != "approved":
                store.set_state(session, status.digest_id, after, now, by, approved=True)
        elif action == "cancel":
            after = "cancelled"
            store.set_state(session, status.digest_id, after, now, by)
            skipped = store.skip_queued(session, status.digest_id, f"digest cancelled by {by}")
        else:
            raise ValueError(f"unknown action {action!r}")
        counts = store.digest_status(session, list_slug, period_key).deliveries
        detail = f"{before} -> {after}" + (
            f"; {skipped} unsent deliveries skipped" if skipped else ""
        )
        audit.record(
            session,
            actor,
            f"digest-{action}",
            "digest",
            digest_subject(list_slug, period_key),
            now,
            detail,
        )
    # A sender checks the state before each message (send_loop), so of the rows it holds
    # only the one it is handing over right now can still go: one per connection.
    in_flight = min(counts.get("sending", 0), _connections(settings))
    return Transition(list_slug, period_key, before, after, counts, skipped, in_flight)


def _counts(status: DigestStatus) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(status.deliveries.items()))


def _connections(settings: Settings) -> int:
    """How many messages one sender hands over at once (its connections)."""
    return settings.mail.smtp.connections if settings.mail.transport == "smtp" else 1


def hold(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, by: By, now: datetime
) -> Transition:
    """Stop a digest: no sender takes its unsent rows until it is resumed or approved."""
    return _transition(settings, engine, list_slug, period_key, "hold", by, now)


def resume(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, by: By, now: datetime
) -> Transition:
    """Let a held digest go on: exactly its unsent rows are sent."""
    return _transition(settings, engine, list_slug, period_key, "resume", by, now)


def approve(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, by: By, now: datetime
) -> Transition:
    """Approve a digest for sending; refused once ``max_digest_delay`` has passed."""
    return _transition(settings, engine, list_slug, period_key, "approve", by, now)


def cancel(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, by: By, now: datetime
) -> Transition:
    """Cancel a digest: every row not yet sent is settled ``skipped``; it never goes out."""
    return _transition(settings, engine, list_slug, period_key, "cancel", by, now)


def digest_status(engine: Engine, list_slug: str, period_key: str) -> DigestStatus:
    """A digest's state and its deliveries counted by status; NotFoundError if none."""
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.digest_status(session, list_slug, period_key)


@dataclass(frozen=True)
class SentTest:
    """A test send: its Message-ID, and how the outbox left it (``sent``, or ``queued``
    with the reason it was not handed over yet: the ``deliver`` job retries it)."""

    message_id: str
    status: str
    error: str


def test_envelope(
    settings: Settings,
    digest: StoredDigest,
    to: str,
    issued: datetime,
    copy: DigestCopy | None = None,
) -> tuple[str, Envelope]:
    """One copy of a stored digest for ``to``, subject prefixed ``[TEST]``, dated
    ``issued``: the main copy, or ``copy`` (one language's: :func:`copies.find_copy`)
    built as that language's readers get it; :class:`InputError` for an address that
    cannot be mailed."""
    the_list = settings.mailing_list(digest.list_slug)
    copy = copy or main_copy(digest)
    rendered = replace(copy.rendered, subject=TEST_PREFIX + copy.rendered.subject)
    template = copy_template(settings, the_list, digest.period_key, rendered, issued, copy.language)
    # Its own Message-ID: a test to a subscriber's address must not look like (and be
    # deduplicated against) the real message they get later, nor a test of another
    # language's copy sent in the same second.
    seed = ".".join(filter(None, ("test", copy.language, template.id_seed)))
    template = replace(template, id_seed=f"{seed}.{int(issued.timestamp())}")
    recipient = sample_recipient(settings, to.strip(), "")
    try:
        data = mail.personalise(template, recipient, issued)
    except mail.MailError as exc:
        raise InputError(f"test address {to!r}: {exc}") from None
    envelope = Envelope(
        sender_address(settings),
        recipient.address,
        data,
        folder=("tests", digest.list_slug, digest.period_key),
        name="-".join(filter(None, (f"{issued:%Y%m%dT%H%M%S}", copy.language, recipient.address))),
    )
    return mail.message_id(template, recipient.address), envelope


def test_send(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_key: str,
    to: str,
    now: datetime,
    transport: Transport | None = None,
    *,
    actor: Actor | None = None,
    language: str = "",
) -> SentTest:
    """Queue one copy of a stored digest to ``to``, subject prefixed ``[TEST]``, in the
    transactional outbox, and try it at once (:func:`transactional.send_now`); the audit
    record of ``actor``, naming the copy's language, is written in the transaction that
    queues it. ``language``: that language's copy, as its readers get it (NotFoundError
    when the digest has none: :func:`copies.find_copy`); "" the main one.

    Not a delivery, not counted, not in the archive: the stored digest is untouched. Its
    links carry a sample token that unsubscribes nobody. A server that is away leaves it
    queued for the ``deliver`` job, like a confirmation mail.
    """
    from syndication.services import transactional

    with db.write_session(engine) as session:
        digest = digest_store.find_digest(session, list_slug, period_key)
        if digest is None:
            raise NotFoundError(f"{list_slug} {period_key}: no such digest")
        copy = find_copy(settings, session, digest, language)
        message_id, _ = test_envelope(settings, digest, to, now, copy)  # refuses a bad address
        # The row's ``request`` (a confirmation's sign-up nonce) names a test's copy: the
        # message is built from the row when it is sent, and "" is the main copy.
        mail_id = mail_outbox.enqueue(
            session,
            transactional.TEST,
            to.strip(),
            now,
            digest_id=digest.digest_id,
            request=copy.language,
        )
        the_list = settings.mailing_list(list_slug)
        written_in = mail.content_language(settings, the_list, copy.language)
        audit.record(
            session,
            actor or SYSTEM,
            "digest-test",
            "digest",
            digest_subject(list_slug, period_key),
            now,
            f"to {to.strip()}, {message_id}, the {written_in} copy",
        )
    result = transactional.send_now(
        settings,
        engine,
        mail_id,
        lambda: now,
        None if transport is None else (lambda: transport),
    )
    return SentTest(message_id, result.status, result.error)
