"""Stored digests as people read them: the public archive and the console's digest page.

The public archive (``/digests/``) shows each digest as the stored e-mail with its
per-recipient placeholders made neutral; the console shows one digest as a sample reader
would get it, with its state and the deliveries not (yet) sent.
"""

from __future__ import annotations

import email
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from sqlalchemy import Engine

from syndication.core import mime as mail
from syndication.core.placeholders import RenderedDigest
from syndication.errors import NotFoundError
from syndication.services.digests.samples import sample_recipient
from syndication.settings import Settings
from syndication.store import approval as approval_store
from syndication.store import database as db
from syndication.store import digests as store
from syndication.store.approval import DigestStatus

# -- the public archive ---------------------------------------------------------------------


def archive_index(engine: Engine) -> list[tuple[str, str, str]]:
    """``(list slug, period key, subject)`` of every stored digest, newest first."""
    with db.read_session(engine) as session:
        return store.digest_index(session)


def archive_copy(settings: Settings, engine: Engine, list_slug: str, period_key: str) -> str | None:
    """A stored digest's HTML as the public archive shows it (placeholders neutral: see
    :func:`syndication.store.digests.public_copy`), or None when there is no such digest."""
    with db.read_session(engine) as session:
        html = store.digest_html(session, list_slug, period_key)
    return None if html is None else store.public_copy(html, settings.site.base_url)


# -- the console ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestView:
    """One digest as the console shows it: state, the sample message, unsent deliveries."""

    status: DigestStatus
    list_name: str
    approval: str
    text: str
    headers: list[tuple[str, str]]
    html_bytes: int
    message_bytes: int
    not_sent: list[tuple[str, str, int, str]]


def digest_view(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_key: str,
    shown_states: Sequence[str],
) -> DigestView:
    """The console's view of a digest; ``not_sent`` lists deliveries in ``shown_states``.

    The message is the digest's template personalised for the sample reader, with the
    digest's compile time as the issue time, as its subscribers got it.
    """
    the_list = settings.mailing_list(list_slug)
    with db.read_session(engine) as session:
        digest = store.find_digest(session, list_slug, period_key)
        if digest is None:
            raise NotFoundError(f"{list_slug} {period_key}: no such digest")
        status = approval_store.digest_status(session, list_slug, period_key)
        not_sent = store.digest_deliveries(session, digest.digest_id, shown_states)
    rendered = RenderedDigest(digest.subject, digest.preheader, digest.html, digest.text)
    template = mail.digest_template(settings, the_list, period_key, rendered, digest.created_at)
    sample = sample_recipient(settings, "sample.reader@example.org", "Sample Reader")
    data = mail.personalise(template, sample)
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return DigestView(
        status=status,
        list_name=the_list.name,
        approval=the_list.approval,
        text=store.public_copy(digest.text, settings.site.base_url),
        headers=[(k, str(v)) for k, v in message.items()],
        html_bytes=len(digest.html.encode()),
        message_bytes=len(data),
        not_sent=not_sent,
    )


def console_preview(settings: Settings, engine: Engine, list_slug: str, period_key: str) -> str:
    """The digest's HTML for the console's preview frame; NotFoundError when there is none."""
    html = archive_copy(settings, engine, list_slug, period_key)
    if html is None:
        raise NotFoundError(f"{list_slug} {period_key}: no such digest")
    return html
