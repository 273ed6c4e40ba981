"""Transactional mail through the outbox: confirmations and test sends, queued and retried.

A mail somebody waits for is a row of :mod:`syndication.store.mail_outbox`, written in the
transaction that asked for it (a sign-up, an ``add``, a console test send). It goes out
through the same send loop as digests (:mod:`syndication.services.send_loop`): claimed
with a lease that the sender renews while it works, settled once, given back on a crash
or a stop, retried with backoff. Two ways send it:

- :func:`send_now` tries one mail at once for the person waiting (the web's answer does
  not wait for it; the console's test send does). If the server is away nothing is
  counted and the row stays queued: the queue, not this attempt, is the truth.
- every run of ``send`` and of the scheduler's ``deliver`` job drains the outbox through
  :class:`MailFirst`, which asks this outbox before the digest one at every claim, so a
  confirmation never waits behind a digest's copies.

Each message is built when it is sent, from the row: links, Date and Message-ID are
issued at the row's ``created_at``, so every attempt sends the same message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.core import mime as mail
from syndication.core import verp
from syndication.core.deliveries import LEASE, Claimed, Outcome
from syndication.edges.transport import Envelope, Transport, make_transport
from syndication.errors import NotFoundError, SyndicationError
from syndication.services.send_loop import (
    Clock,
    LoopOptions,
    MessageSource,
    Outbox,
    send_outbox,
)
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import digests as digest_store
from syndication.store import mail_outbox, subscribers
from syndication.store.models import Digest, Subscriber, TransactionalMail

CONFIRM = "confirm"
TEST = "test"


@dataclass(frozen=True)
class MailOutbox:
    """The send loop's :class:`~syndication.services.send_loop.Outbox` over transactional
    mail; with ``only``, an outbox holding that one mail (:func:`send_now`)."""

    engine: Engine
    only: int | None = None

    def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, token: str
    ) -> list[Claimed]:
        with db.write_session(self.engine) as session:
            return mail_outbox.claim_batch(session, worker, now, lease, limit, token, self.only)

    def renew(self, token: str, now: datetime, lease: timedelta) -> set[int]:
        with db.write_session(self.engine) as session:
            return mail_outbox.renew_mails(session, token, now, lease)

    def settle(self, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
        with db.write_session(self.engine) as session:
            mail_outbox.settle(session, token, outcomes, now)

    def release(self, worker: str) -> int:
        with db.write_session(self.engine) as session:
            return mail_outbox.release_worker(session, worker)

    def stopped(self, digest_ids: Collection[int]) -> set[int]:
        return set()  # an operator's hold stops a digest's copies, not a test of it


class MailFirst:
    """Two outboxes as one: every claim asks ``first`` (transactional mail) and takes
    ``then`` (digest copies) only when it has nothing due. A claim's token says which
    outbox its rows are in, for the renewals and settles that follow."""

    def __init__(self, first: Outbox, then: Outbox) -> None:
        self.first, self.then = first, then
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def _of(self, token: str) -> Outbox:
        with self._lock:
            return self.first if token in self._tokens else self.then

    def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, token: str
    ) -> list[Claimed]:
        rows = self.first.claim(worker, now, lease, limit, token)
        if rows:
            with self._lock:
                self._tokens.add(token)
            return rows
        return self.then.claim(worker, now, lease, limit, token)

    def renew(self, token: str, now: datetime, lease: timedelta) -> set[int]:
        return self._of(token).renew(token, now, lease)

    def settle(self, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
        self._of(token).settle(token, outcomes, now)

    def release(self, worker: str) -> int:
        return self.first.release(worker) + self.then.release(worker)

    def stopped(self, digest_ids: Collection[int]) -> set[int]:
        return self.then.stopped(digest_ids)


class MailFirstMessages:
    """Builds a claimed row's message with the source of the outbox it came from."""

    def __init__(self, mails: MessageSource, digests: MessageSource) -> None:
        self.mails, self.digests = mails, digests

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        source = self.digests if claimed.kind == "digest" else self.mails
        return source.envelope(claimed)


class MailMessages:
    """Builds a transactional mail's bytes from its row (thread-safe: a session each)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        with db.read_session(self.engine) as session:
            row = session.get(TransactionalMail, claimed.delivery_id)
            if row is None:
                raise NotFoundError(f"transactional mail {claimed.delivery_id}: gone")
            if row.kind == TEST:
                found = session.get(Digest, row.digest_id)
                if found is None:
                    raise NotFoundError(f"test mail {row.id}: its digest is gone")
                from syndication.services.digests.approval import test_envelope
                from syndication.services.digests.copies import find_copy

                digest = digest_store.find_digest(session, found.list_slug, found.period_key)
                assert digest is not None  # read in this session a moment ago
                # A test's ``request`` names the copy it is of ("" the main one).
                copy = find_copy(self.settings, session, digest, row.request)
                return test_envelope(self.settings, digest, row.email, row.created_at, copy)
            subscriber = session.get(Subscriber, row.subscriber_id)
            if subscriber is None:
                raise NotFoundError(f"confirmation mail {row.id}: its subscriber is gone")
            slugs = subscribers.subscriber_lists(session, subscriber.id)
            return confirmation_envelope(
                self.settings, subscriber, slugs, row.request, row.created_at
            )


def confirmation_envelope(
    settings: Settings, subscriber: Subscriber, slugs: Sequence[str], request: str, issued: datetime
) -> tuple[str, Envelope]:
    """The double opt-in mail for ``subscriber``'s sign-up ``request``, issued at ``issued``.

    With the file transport it lands in ``<outbox>/confirmations/<date>/``."""
    from syndication.core.reader_languages import reader_language
    from syndication.render import email as rendering
    from syndication.services.delivery import confirm_url, preferences_url, sender_address

    lists = [ml for ml in settings.lists if ml.slug in slugs]
    if not lists:
        raise SyndicationError(f"{subscriber.email}: subscribed to no configured list")
    # In the subscriber's language: the first of theirs the newsroom offers (issue 30).
    language = reader_language(subscriber.locale, settings.languages.available)
    rendered = rendering.render_confirmation(settings, lists, language)
    template = mail.confirmation_template(
        settings, rendered, issued, language, rendering.unknown_reader(language).name
    )
    recipient = mail.Recipient(
        address=subscriber.email,
        name=subscriber.name,
        confirm_url=confirm_url(settings, subscriber.id, issued, request),
        preferences_url=preferences_url(settings, subscriber.id, issued),
    )
    data = mail.personalise(template, recipient)
    envelope = Envelope(
        sender_address(settings, verp.SUBSCRIBER, subscriber.id),
        subscriber.email,
        data,
        folder=("confirmations", issued.astimezone(settings.site.tz).date().isoformat()),
        name=subscriber.email,
    )
    return mail.message_id(template, subscriber.email, recipient.confirm_url), envelope


@dataclass(frozen=True)
class MailResult:
    """How :func:`send_now` left one mail: ``sent``, ``queued`` (retried later, with
    ``error`` saying why not now), ``failed``/``bounced``, or ``skipped``."""

    mail_id: int
    status: str
    error: str


def send_now(
    settings: Settings,
    engine: Engine,
    mail_id: int,
    now: Callable[[], datetime],
    transport_factory: Callable[[], Transport] | None = None,
) -> MailResult:
    """Try mail ``mail_id`` once, now, under a claim like any sender's (so the scheduler
    cannot send it too); a server that is away leaves it queued, uncounted."""
    from syndication.services.delivery import SendOptions, make_limiter

    options = SendOptions.from_settings(settings, max_wait=0.0, workers=1)
    send_outbox(
        MailOutbox(engine, only=mail_id),
        MailMessages(settings, engine),
        transport_factory or (lambda: make_transport(settings.mail)),
        make_limiter(settings, engine, options.rate_per_second),
        LoopOptions(workers=1, lease=LEASE, max_wait=0.0, batch_size=1),
        Clock(now),
    )
    with db.read_session(engine) as session:
        status, error = mail_outbox.mail_status(session, mail_id)
    return MailResult(mail_id, status, error)


def send_queued(
    settings: Settings,
    engine: Engine,
    now: Callable[[], datetime],
    transport_factory: Callable[[], Transport] | None = None,
) -> int:
    """Send every due transactional mail once (no waiting for a server that is away);
    returns how many were sent. ``subscribers import`` runs it after its last batch."""
    from syndication.services.delivery import SendOptions, make_limiter

    options = SendOptions.from_settings(settings, max_wait=0.0)
    report = send_outbox(
        MailOutbox(engine),
        MailMessages(settings, engine),
        transport_factory or (lambda: make_transport(settings.mail)),
        make_limiter(settings, engine, options.rate_per_second),
        options.loop,
        Clock(now),
    )
    return report.sent
