"""A digest's copies, one per language, and the message each one's readers get (issue 30).

A "reader" list's digest is stored in its main language (the ``digests`` row) and in each
further language of ``[languages] available`` that had a copy at compile time
(``digest_languages``). A reader gets the copy in their language, the main one when the
digest has none in it. The sender (:class:`syndication.services.delivery.DigestMessages`),
the console's digest page and its test send all build a copy's message with
:func:`copy_template`, so what an operator sees and tests is what that language's readers
get: its Subject and parts, ``Content-Language`` and the greeting's words for a reader
with no name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from syndication.core import mime as mail
from syndication.core.placeholders import RenderedDigest
from syndication.errors import NotFoundError
from syndication.render.email import unknown_reader
from syndication.settings import READER_LANGUAGE, MailingList, Settings
from syndication.store import digests as store
from syndication.store.digests import StoredDigest


@dataclass(frozen=True)
class DigestCopy:
    """One language's copy of a stored digest: ``language`` is its tag for a further
    language's copy, "" for the main one (written in the list's language)."""

    language: str
    rendered: RenderedDigest


def copy_template(
    settings: Settings,
    the_list: MailingList,
    period_key: str,
    rendered: RenderedDigest,
    issued: datetime,
    language: str = "",
) -> mail.MessageTemplate:
    """The message template of one copy, in ``language`` ("" the list's own): its
    ``Content-Language``, and a reader with no name greeted in that language's words
    (a Korean copy must not greet "there님")."""
    written_in = mail.content_language(settings, the_list, language)
    return mail.digest_template(
        settings,
        the_list,
        period_key,
        rendered,
        issued,
        language,
        unknown_reader(written_in).name,
    )


def other_languages(settings: Settings, session: Session, digest: StoredDigest) -> list[str]:
    """The further languages whose readers get their own copy of ``digest``, in the order
    of ``[languages] available``: none for a list not written in each reader's language
    (its readers all get the main copy, as the sender sends), nor for a language taken
    out of the settings since."""
    the_list = settings.mailing_list(digest.list_slug)
    if the_list.language != READER_LANGUAGE:
        return []
    stored = store.copy_languages(session, digest.digest_id)
    primary = settings.languages.primary
    return [tag for tag in settings.languages.available if tag in stored and tag != primary]


def find_copy(
    settings: Settings, session: Session, digest: StoredDigest, language: str
) -> DigestCopy:
    """``digest``'s copy in ``language``: the main one for "" or the main copy's own
    language, else a further language's (:func:`other_languages`); NotFoundError naming
    the copies there are for any other tag."""
    the_list = settings.mailing_list(digest.list_slug)
    main = mail.content_language(settings, the_list)
    if language in ("", main):
        return main_copy(digest)
    if language in other_languages(settings, session, digest):
        found = store.digest_in(session, digest.digest_id, language)
        if found is not None:
            return DigestCopy(language, found)
    there = [main, *other_languages(settings, session, digest)]
    raise NotFoundError(
        f"{digest.list_slug} {digest.period_key}: no copy in {language[:40]!r}; "
        f"its copies: {', '.join(there)}"
    )


def main_copy(digest: StoredDigest) -> DigestCopy:
    """``digest``'s main copy (the ``digests`` row's render)."""
    rendered = RenderedDigest(digest.subject, digest.preheader, digest.html, digest.text)
    return DigestCopy("", rendered)
