"""Digests out of the outbox: personalise, send; the links our mail carries.

Digests are compiled (:mod:`syndication.services.digests.compiling`), then ``send_digests``
drains the outbox through the configured transport (see :mod:`syndication.services.send_loop`
for the loop and :mod:`syndication.store.outbox` for why a crash loses nothing), with the one
set of sending defaults, :class:`SendOptions`, that ``syndication send`` and the scheduler
share. Each recipient's bytes come from the digest's message template by one substitution
pass, so a message costs little more than copying its bytes; a list with ``count_clicks``
gets its article links through ``/r/`` (:mod:`syndication.core.clicks`) in the template,
and a random per-copy value per message. The same run sends the
transactional outbox's mails (confirmations, test sends) first: see
:mod:`syndication.services.transactional`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.clock import utc_now
from syndication.core import clicks, tokens, verp
from syndication.core import mime as mail
from syndication.core.deliveries import LEASE, Claimed, Outcome
from syndication.core.placeholders import RenderedDigest
from syndication.core.reader_languages import reader_language
from syndication.edges.transport import (
    Envelope,
    MessageRateLimiter,
    Transport,
    make_transport,
)
from syndication.errors import NotFoundError
from syndication.services.digests.copies import copy_template
from syndication.services.send_loop import Clock, Limiter, LoopOptions, SendReport, send_outbox
from syndication.settings import READER_LANGUAGE, Settings
from syndication.store import clicks as clicks_store
from syndication.store import database as db
from syndication.store import digests, outbox
from syndication.store.models import Digest
from syndication.store.rate_limits import SharedRateLimiter


def sender_address(settings: Settings, kind: str = "", ident: int = 0) -> str:
    """The envelope sender: with ``bounces.address`` set, a signed VERP return path naming
    this copy (``kind``/``ident``, see :mod:`syndication.core.verp`), else the From address."""
    if settings.bounces.address and kind:
        return verp.make_return_path(settings.secret_key, settings.bounces.address, kind, ident)
    return _bare_address(settings.mail.from_address)


def unsubscribe_mailto(settings: Settings, delivery_id: int) -> str:
    """The address a mail to which takes this copy's reader off its list (the bounce
    mailbox's VERP form, kind ``u``), or "" without ``bounces.address``: then no mailbox
    we read receives it, and List-Unsubscribe carries the https one-click alone."""
    if not settings.bounces.address:
        return ""
    return verp.make_return_path(
        settings.secret_key, settings.bounces.address, verp.UNSUBSCRIBE, delivery_id
    )


@functools.cache
def _bare_address(from_address: str) -> str:
    # Once per setting, not once per message: parseaddr costs ~25 µs (issue 16).
    from email.utils import parseaddr

    return parseaddr(from_address)[1]


def unsubscribe_url(
    settings: Settings, subscriber_id: int, list_slug: str, issued: datetime
) -> str:
    token = tokens.make_token(
        settings.secret_key, tokens.UNSUBSCRIBE, subscriber_id, issued, list_slug
    )
    return f"{settings.site.base_url}/unsubscribe/{token}"


def preferences_url(settings: Settings, subscriber_id: int, issued: datetime) -> str:
    token = tokens.make_token(settings.secret_key, tokens.PREFERENCES, subscriber_id, issued)
    return f"{settings.site.base_url}/preferences/{token}"


def confirm_url(
    settings: Settings, subscriber_id: int, issued: datetime, request: str | None
) -> str:
    """The confirmation link for the sign-up request named ``request``."""
    token = tokens.make_token(
        settings.secret_key, tokens.CONFIRM, subscriber_id, issued, request=request or ""
    )
    return f"{settings.site.base_url}/confirm/{token}"


# -- send ---------------------------------------------------------------------------------


class DigestMessages:
    """Builds each claimed delivery's bytes from its digest's template (thread-safe).

    A digest's template is built once per process and language, on first use, from the
    stored render. Tokens are issued at the digest's compile time, so a retried message is
    byte-for-byte the one sent before, Message-ID included (a click-counting list's copy
    differs only in its random per-copy value, which names no one). A "reader" list's recipient gets
    the copy in their language (the first of theirs the newsroom offers), the primary
    language's when the digest has none in it.
    """

    def __init__(
        self, settings: Settings, engine: Engine, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.now = now  # the send time a click-counting copy's links carry
        self.sender = sender_address(settings)
        self._rows: dict[int, Digest] = {}
        self._templates: dict[tuple[int, str], tuple[Digest, mail.MessageTemplate]] = {}
        self._lock = threading.Lock()

    def _template(self, digest_id: int, locale: str = "") -> tuple[Digest, mail.MessageTemplate]:
        with self._lock:
            if digest_id not in self._rows:
                with db.read_session(self.engine) as session:
                    found = session.get(Digest, digest_id)
                if found is None:
                    raise NotFoundError(f"digest {digest_id}: gone from the store")
                self._rows[digest_id] = found
            row = self._rows[digest_id]
            ml = self.settings.mailing_list(row.list_slug)
            languages = self.settings.languages
            language = ""
            if ml.language == READER_LANGUAGE and locale:
                language = reader_language(locale, languages.available)
                language = "" if language == languages.primary else language
            if (digest_id, language) not in self._templates:
                translated = None
                if language:
                    with db.read_session(self.engine) as session:
                        translated = digests.digest_in(session, digest_id, language)
                rendered = translated or RenderedDigest(
                    row.subject, row.preheader, row.html, row.text
                )
                if ml.count_clicks:
                    rendered = self._counted(digest_id, rendered)
                written_in = language if translated else ""
                template = copy_template(
                    self.settings, ml, row.period_key, rendered, row.created_at, written_in
                )
                self._templates[digest_id, language] = (row, template)
            return self._templates[digest_id, language]

    def _counted(self, digest_id: int, rendered: RenderedDigest) -> RenderedDigest:
        """``rendered`` with its article links through ``/r/<token>`` (issue 31)."""
        with db.read_session(self.engine) as session:
            links = clicks_store.digest_links(session, digest_id)
        secret = self.settings.secret_key
        tokens = [clicks.link_token(secret, digest_id, x.article_id, x.position) for x in links]
        return clicks.rewrite(rendered, links, self.settings.site.base_url, tokens)

    def envelope(self, claimed: Claimed) -> tuple[str, Envelope]:
        row, template = self._template(claimed.digest_id, claimed.locale)
        issued = row.created_at
        copy = ""
        if "COPY" in template.required:
            # Fresh and random per message built: never the reader's, never stored.
            copy = clicks.copy_token(self.settings.secret_key, row.id, self.now())
        recipient = mail.Recipient(
            address=claimed.email,
            name=claimed.name,
            unsubscribe_url=unsubscribe_url(
                self.settings, claimed.subscriber_id, row.list_slug, issued
            ),
            preferences_url=preferences_url(self.settings, claimed.subscriber_id, issued),
            unsubscribe_mailto=unsubscribe_mailto(self.settings, claimed.delivery_id),
            copy=copy,
        )
        data = mail.personalise(template, recipient)
        message_id = mail.message_id(template, claimed.email)
        envelope = Envelope(
            sender_address(self.settings, verp.DELIVERY, claimed.delivery_id),
            claimed.email,
            data,
            folder=(row.list_slug, row.period_key),
            name=claimed.email,
        )
        return message_id, envelope


# Files and test transports are not paced; only an SMTP server has a rate to respect.
UNPACED = 1_000_000.0


@dataclass(frozen=True)
class SendOptions:
    """How digests are sent: the one home of the sending defaults.

    ``syndication send`` and the scheduler's ``deliver`` job differ only in how long they
    keep trying a server that is down (``max_wait``); an operator may also set ``workers``
    and the ``lease`` on the command line.
    """

    workers: int
    max_wait: float
    lease: timedelta = LEASE
    rate_per_second: float = UNPACED
    soft_limit: int = 3
    batch_size: int = 100

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        max_wait: float,
        workers: int | None = None,
        lease: timedelta | None = None,
    ) -> SendOptions:
        """One SMTP connection per worker (``mail.smtp.connections``), one for files."""
        smtp = settings.mail.transport == "smtp"
        if workers is None:
            workers = settings.mail.smtp.connections if smtp else 1
        return cls(
            workers=max(1, workers),
            max_wait=max_wait,
            lease=LEASE if lease is None else lease,
            rate_per_second=settings.mail.smtp.rate_per_second if smtp else UNPACED,
            soft_limit=settings.bounces.soft_limit,
        )

    @property
    def loop(self) -> LoopOptions:
        return LoopOptions(self.workers, self.lease, self.max_wait, self.batch_size)


@dataclass(frozen=True)
class StoreOutbox:
    """The send loop's outbox (:class:`syndication.services.send_loop.Outbox`) in the
    database: each call one short transaction of :mod:`syndication.store.outbox`."""

    engine: Engine
    soft_limit: int

    def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int, token: str
    ) -> list[Claimed]:
        with db.write_session(self.engine) as session:
            return outbox.claim_batch(session, worker, now, lease, limit, token)

    def renew(self, token: str, now: datetime, lease: timedelta) -> set[int]:
        with db.write_session(self.engine) as session:
            return outbox.renew(session, token, now, lease)

    def settle(self, token: str, outcomes: Sequence[Outcome], now: datetime) -> None:
        with db.write_session(self.engine) as session:
            outbox.settle(session, token, outcomes, now, self.soft_limit)

    def release(self, worker: str) -> int:
        with db.write_session(self.engine) as session:
            return outbox.release_worker(session, worker)

    def stopped(self, digest_ids: Collection[int]) -> set[int]:
        with self.engine.connect() as connection:
            return outbox.stopped_digests(connection, digest_ids)


def make_limiter(settings: Settings, engine: Engine, rate_per_second: float) -> Limiter:
    """The pace of sending. The SMTP rate is one for the whole service, however many
    senders share the outbox; files and test transports go unpaced."""
    if settings.mail.transport == "smtp":
        return SharedRateLimiter(engine, rate_per_second)
    return MessageRateLimiter(rate_per_second)


def send_digests(
    settings: Settings,
    engine: Engine,
    *,
    now: Callable[[], datetime],
    options: SendOptions | None = None,
    workers: int | None = None,
    stop: threading.Event | None = None,
    on_progress: Callable[[SendReport], None] = lambda _r: None,
    transport_factory: Callable[[], Transport] | None = None,
) -> SendReport:
    """Deliver every due outbox row with the configured transport (see module docstring):
    the transactional outbox's mails first (:mod:`syndication.services.transactional`),
    then digest copies.

    Without ``options``: the settings' (:meth:`SendOptions.from_settings`), with
    ``workers`` if given, and no waiting for a server that is down.
    """
    if options is None:
        options = SendOptions.from_settings(settings, max_wait=0.0, workers=workers)
    elif workers is not None:
        raise TypeError("send_digests: give workers in options, not both")
    db.require_current_schema(engine)
    factory = transport_factory or (lambda: make_transport(settings.mail))
    limiter = make_limiter(settings, engine, options.rate_per_second)
    # Transactional mail (confirmations, test sends) first at every claim: someone waits.
    from syndication.services import transactional

    return send_outbox(
        transactional.MailFirst(
            transactional.MailOutbox(engine), StoreOutbox(engine, options.soft_limit)
        ),
        transactional.MailFirstMessages(
            transactional.MailMessages(settings, engine), DigestMessages(settings, engine, now)
        ),
        factory,
        limiter,
        options.loop,
        Clock(now),
        stop=stop,
        on_progress=on_progress,
    )
