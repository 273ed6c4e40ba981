"""Digests out of the outbox: personalise, send; and the confirmation mail.

Digests are compiled (:mod:`syndication.services.digests.compiling`), then ``send_digests``
drains the outbox through the configured transport (see :mod:`syndication.services.sending`
for the loop and :mod:`syndication.store.outbox` for why a crash loses nothing). Each
recipient's bytes come from the digest's message template by one substitution pass, so a
message costs little more than copying its bytes. ``send_confirmation`` mails the double
opt-in link.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from syndication.core import mime as mail
from syndication.core import tokens, verp
from syndication.core.placeholders import RenderedDigest
from syndication.edges.transport import Envelope, TemporaryFailure, Transport, make_transport
from syndication.errors import NotFoundError, SyndicationError
from syndication.render import email as rendering
from syndication.services.sending import SendOptions, SendReport, send_outbox
from syndication.settings import Settings
from syndication.store import database as db
from syndication.store import outbox, subscribers
from syndication.store.models import Digest, Subscriber
from syndication.store.rate_limits import SharedRateLimiter


def sender_address(settings: Settings, kind: str = "", ident: int = 0) -> str:
    """The envelope sender: with ``bounces.address`` set, a signed VERP return path naming
    this copy (``kind``/``ident``, see :mod:`syndication.core.verp`), else the From address."""
    if settings.bounces.address and kind:
        return verp.make_return_path(settings.secret_key, settings.bounces.address, kind, ident)
    return _bare_address(settings.mail.from_address)


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

    A digest's template is built once per process, on first use, from the stored render.
    Tokens are issued at the digest's compile time, so a retried message is byte-for-byte
    the one sent before, Message-ID included.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.sender = sender_address(settings)
        self._templates: dict[int, tuple[Digest, mail.MessageTemplate]] = {}
        self._lock = threading.Lock()

    def _template(self, digest_id: int) -> tuple[Digest, mail.MessageTemplate]:
        with self._lock:
            if digest_id not in self._templates:
                with db.read_session(self.engine) as session:
                    row = session.get(Digest, digest_id)
                if row is None:
                    raise NotFoundError(f"digest {digest_id}: gone from the store")
                rendered = RenderedDigest(row.subject, row.preheader, row.html, row.text)
                ml = self.settings.mailing_list(row.list_slug)
                template = mail.digest_template(
                    self.settings, ml, row.period_key, rendered, row.created_at
                )
                self._templates[digest_id] = (row, template)
            return self._templates[digest_id]

    def envelope(self, claimed: outbox.Claimed) -> tuple[str, Envelope]:
        row, template = self._template(claimed.digest_id)
        issued = row.created_at
        recipient = mail.Recipient(
            address=claimed.email,
            name=claimed.name,
            unsubscribe_url=unsubscribe_url(
                self.settings, claimed.subscriber_id, row.list_slug, issued
            ),
            preferences_url=preferences_url(self.settings, claimed.subscriber_id, issued),
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


def send_digests(
    settings: Settings,
    engine: Engine,
    *,
    workers: int,
    now: Callable[[], datetime],
    stop: threading.Event | None = None,
    lease: timedelta = timedelta(minutes=2),
    max_wait: float = 300.0,
    on_progress: Callable[[SendReport], None] = lambda _r: None,
    transport_factory: Callable[[], Transport] | None = None,
) -> SendReport:
    """Deliver every due outbox row with the configured transport (see module docstring)."""
    db.require_current_schema(engine)
    options = SendOptions(
        workers=workers,
        lease=lease,
        max_wait=max_wait,
        rate_per_second=settings.mail.smtp.rate_per_second
        if settings.mail.transport == "smtp"
        else 1_000_000.0,
        soft_limit=settings.bounces.soft_limit,
    )
    factory = transport_factory or (lambda: make_transport(settings.mail))
    # The SMTP rate is one for the whole service, however many senders share the outbox.
    limiter = (
        SharedRateLimiter(engine, options.rate_per_second)
        if settings.mail.transport == "smtp"
        else None
    )
    return send_outbox(
        engine,
        DigestMessages(settings, engine),
        factory,
        options,
        now,
        stop=stop,
        on_progress=on_progress,
        limiter=limiter,
    )


# -- confirmation -------------------------------------------------------------------------


def send_confirmation(
    settings: Settings,
    engine: Engine,
    subscriber_id: int,
    now: datetime,
    transport: Transport | None = None,
) -> None:
    """Mail the double opt-in link to a pending subscriber, for the lists it asked for.

    With the file transport the message lands in ``<outbox>/confirmations/<date>/``.
    Raises :class:`SyndicationError` when the mail cannot be handed over.
    """
    with db.read_session(engine) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
        slugs = subscribers.subscriber_lists(session, subscriber_id)
        # Read with the lists: the link confirms the request this mail describes.
        request = subscriber.request_nonce
    lists = [ml for ml in settings.lists if ml.slug in slugs]
    if not lists:
        raise SyndicationError(f"{subscriber.email}: subscribed to no configured list")
    rendered = rendering.render_confirmation(settings, lists)
    template = mail.confirmation_template(settings, rendered, now)
    recipient = mail.Recipient(
        address=subscriber.email,
        name=subscriber.name,
        confirm_url=confirm_url(settings, subscriber_id, now, request),
        preferences_url=preferences_url(settings, subscriber_id, now),
    )
    data = mail.personalise(template, recipient)
    envelope = Envelope(
        sender_address(settings, verp.SUBSCRIBER, subscriber_id),
        subscriber.email,
        data,
        folder=("confirmations", now.astimezone(settings.site.tz).date().isoformat()),
        name=subscriber.email,
    )
    transport = transport or make_transport(settings.mail)
    try:
        transport.send(envelope)
    except TemporaryFailure as exc:
        raise SyndicationError(
            f"{subscriber.email}: confirmation mail not sent ({exc}); add the address again "
            "later to resend it"
        ) from exc
    except Exception as exc:
        if isinstance(exc, SyndicationError):
            raise
        raise SyndicationError(f"{subscriber.email}: confirmation mail refused: {exc}") from exc
    finally:
        transport.close()
