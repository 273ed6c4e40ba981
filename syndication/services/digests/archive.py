"""Stored digests as people read them: the public archive and the console's digest page.

The public archive (``/digests/``) shows each digest as the stored e-mail with its
per-recipient placeholders made neutral, and only what went out (issue 28): a digest of a
list with ``archive = "public"`` (the default) that is neither held nor cancelled (so a
manual list's digest was approved) and of which a copy was handed to a mail server; a
"reader" list's copies in other languages (issue 30) under the same rule. An article
retracted since shows as a retraction notice in its place. The console shows one
digest, whatever its state, as a sample reader would get it, with its state and the
deliveries not (yet) sent.
"""

from __future__ import annotations

import email
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from sqlalchemy import Engine

from syndication.core import mime as mail
from syndication.core.digests import digest_language
from syndication.core.retractions import with_notices
from syndication.errors import NotFoundError
from syndication.render.email import unknown_reader
from syndication.services.digests.copies import copy_template, find_copy, other_languages
from syndication.services.digests.samples import sample_recipient
from syndication.settings import Settings
from syndication.store import approval as approval_store
from syndication.store import database as db
from syndication.store import digests as store
from syndication.store.approval import DigestStatus

# -- the public archive ---------------------------------------------------------------------


def public_lists(settings: Settings) -> list[str]:
    """The lists whose digests may be on the public archive (``archive = "public"``)."""
    return [ml.slug for ml in settings.lists if ml.archive == "public"]


def main_language(settings: Settings, list_slug: str) -> str | None:
    """The language of a list's main copy (the one at ``/digests/<list>/<period>``: the
    primary language's for a "reader" list), or None for a list not on the archive."""
    for the_list in settings.lists:
        if the_list.slug == list_slug and the_list.archive == "public":
            return digest_language(settings, the_list)
    return None


def on_the_archive(settings: Settings, engine: Engine, list_slug: str, period_key: str) -> bool:
    """Whether the public archive shows (list, period)'s digest (see the module docstring)."""
    with db.read_session(engine) as session:
        return store.on_the_archive(session, list_slug, period_key, public_lists(settings))


def archive_index(settings: Settings, engine: Engine) -> list[store.ArchiveEntry]:
    """The digests on the public archive (see the module docstring), newest first, each
    with the languages of ``[languages] available`` it has further copies in, in that
    order (a copy in a language taken out of the settings is not served, so not listed)."""
    available = settings.languages.available
    with db.read_session(engine) as session:
        entries = store.digest_index(session, public_lists(settings))
    return [
        entry._replace(languages=tuple(tag for tag in available if tag in entry.languages))
        for entry in entries
    ]


def archive_copy(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, language: str = ""
) -> str | None:
    """A digest's HTML as the public archive shows it (placeholders neutral: see
    :func:`syndication.store.digests.public_copy`; retracted articles replaced by a
    notice), or None when the archive does not show it (none, held, cancelled, not sent
    yet, or a private list's). ``language``: its copy in that language instead of the
    main one (None when it has none), under the same rules."""
    if language and language not in settings.languages.available:
        return None
    with db.read_session(engine) as session:
        found = store.public_digest(
            session, list_slug, period_key, public_lists(settings), language
        )
    if found is None:
        return None
    the_list = settings.mailing_list(list_slug)
    html = _neutral(settings, found.html, mail.content_language(settings, the_list, language))
    return with_notices(html, found.retracted)


# -- the console ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestView:
    """One digest as the console shows it: state, the sample message of one language's
    copy, unsent deliveries. ``language`` is the copy's language; ``languages`` those of
    all its copies, the main one's first (one for a digest in one language)."""

    status: DigestStatus
    list_name: str
    approval: str
    language: str
    languages: list[str]
    subject: str
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
    language: str = "",
) -> DigestView:
    """The console's view of a digest; ``not_sent`` lists deliveries in ``shown_states``.

    The message is the template of its copy in ``language`` ("" the main copy; a tag it
    has no copy in is a NotFoundError: :func:`copies.find_copy`) personalised for the
    sample reader, with the digest's compile time as the issue time, as that language's
    subscribers got it (:func:`copies.copy_template`, as the sender builds it).
    """
    the_list = settings.mailing_list(list_slug)
    with db.read_session(engine) as session:
        digest = store.find_digest(session, list_slug, period_key)
        if digest is None:
            raise NotFoundError(f"{list_slug} {period_key}: no such digest")
        copy = find_copy(settings, session, digest, language)
        others = other_languages(settings, session, digest)
        status = approval_store.digest_status(session, list_slug, period_key)
        not_sent = store.digest_deliveries(session, digest.digest_id, shown_states)
    template = copy_template(
        settings, the_list, period_key, copy.rendered, digest.created_at, copy.language
    )
    sample = sample_recipient(settings, "sample.reader@example.org", "Sample Reader")
    data = mail.personalise(template, sample)
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    written_in = mail.content_language(settings, the_list, copy.language)
    return DigestView(
        status=status,
        list_name=the_list.name,
        approval=the_list.approval,
        language=written_in,
        languages=[mail.content_language(settings, the_list), *others],
        subject=copy.rendered.subject,
        text=_neutral(settings, copy.rendered.text, written_in),
        headers=[(k, str(v)) for k, v in message.items()],
        html_bytes=len(copy.rendered.html.encode()),
        message_bytes=len(data),
        not_sent=not_sent,
    )


def console_preview(
    settings: Settings, engine: Engine, list_slug: str, period_key: str, language: str = ""
) -> str:
    """The HTML of the digest's copy in ``language`` ("" the main one) for the console's
    preview frame, as stored and whatever its state; NotFoundError when there is none."""
    with db.read_session(engine) as session:
        digest = store.find_digest(session, list_slug, period_key)
        if digest is None:
            raise NotFoundError(f"{list_slug} {period_key}: no such digest")
        copy = find_copy(settings, session, digest, language)
    the_list = settings.mailing_list(list_slug)
    written_in = mail.content_language(settings, the_list, copy.language)
    return _neutral(settings, copy.rendered.html, written_in)


def _neutral(settings: Settings, stored: str, language: str) -> str:
    """A stored part with its placeholders neutral, the fallbacks in ``language``'s words
    (see :func:`syndication.store.digests.public_copy`)."""
    unknown = unknown_reader(language)
    return store.public_copy(stored, settings.site.base_url, unknown.name, unknown.address)
