"""Compiled digests as stored: one per (list, period), and how their deliveries stand.

A "reader" list's digest also has one render per further language (``digest_languages``,
issue 30); the ``digests`` row is the primary language's.

The deliveries themselves, claimed, sent and settled, are :mod:`syndication.store.outbox`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import NamedTuple

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from syndication.core.mime import NAME_FALLBACK
from syndication.core.placeholders import PLACEHOLDER_RE, RenderedDigest
from syndication.store.models import (
    Article,
    Delivery,
    Digest,
    DigestLanguage,
    DigestState,
    Subscriber,
)
from syndication.store.upsert import upsert


def store_languages(session: Session, digest_id: int, renders: dict[str, RenderedDigest]) -> None:
    """Keep a digest's renders in further languages (a "reader" list's; issue 30)."""
    for language, rendered in renders.items():
        session.add(
            DigestLanguage(
                digest_id=digest_id,
                language=language,
                subject=rendered.subject,
                preheader=rendered.preheader,
                html=rendered.html,
                text=rendered.text,
            )
        )


def digest_in(session: Session, digest_id: int, language: str) -> RenderedDigest | None:
    """The digest's render in ``language`` if it has one besides the primary's."""
    row = session.get(DigestLanguage, (digest_id, language))
    if row is None:
        return None
    return RenderedDigest(row.subject, row.preheader, row.html, row.text)


def copy_languages(session: Session, digest_id: int) -> set[str]:
    """The languages a digest has a render in besides the primary's."""
    return set(
        session.scalars(
            select(DigestLanguage.language).where(DigestLanguage.digest_id == digest_id)
        )
    )


def store_digest(
    session: Session,
    *,
    list_slug: str,
    period_key: str,
    period_start: datetime,
    period_end: datetime,
    subject: str,
    preheader: str,
    html: str,
    text: str,
    article_count: int,
    now: datetime,
) -> tuple[int, bool]:
    """Store a rendered digest unless (list, period) already has one: ``(id, created)``."""
    upsert(
        session,
        Digest.__table__,
        [
            {
                "list_slug": list_slug,
                "period_key": period_key,
                "period_start": period_start,
                "period_end": period_end,
                "subject": subject,
                "preheader": preheader,
                "html": html,
                "text": text,
                "article_count": article_count,
                "created_at": now,
            }
        ],
        ["list_slug", "period_key"],
        [],
    )
    digest_id, created_at = session.execute(
        select(Digest.id, Digest.created_at).where(
            Digest.list_slug == list_slug, Digest.period_key == period_key
        )
    ).one()
    return int(digest_id), created_at == now


def compiled_articles(session: Session, list_slug: str, period_key: str) -> int | None:
    """The article count of (list, period)'s stored digest; None when none is compiled.

    The one "already compiled" check: compiling and the scheduler's due rule both ask it.
    """
    return session.scalar(
        select(Digest.article_count).where(
            Digest.list_slug == list_slug, Digest.period_key == period_key
        )
    )


@dataclass(frozen=True)
class StoredDigest:
    """A compiled digest as stored: its render and when it was compiled."""

    digest_id: int
    list_slug: str
    period_key: str
    subject: str
    preheader: str
    html: str
    text: str
    created_at: datetime


def find_digest(session: Session, list_slug: str, period_key: str) -> StoredDigest | None:
    """The stored digest of (list, period), or None."""
    row = session.scalar(
        select(Digest).where(Digest.list_slug == list_slug, Digest.period_key == period_key)
    )
    if row is None:
        return None
    return StoredDigest(
        row.id,
        row.list_slug,
        row.period_key,
        row.subject,
        row.preheader,
        row.html,
        row.text,
        row.created_at,
    )


def digest_deliveries(
    session: Session, digest_id: int, statuses: Sequence[str] = (), limit: int = 200
) -> list[tuple[str, str, int, str]]:
    """``(email, status, attempts, last_error)`` of a digest's deliveries, by address."""
    stmt = (
        select(Subscriber.email, Delivery.status, Delivery.attempts, Delivery.last_error)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.digest_id == digest_id)
        .order_by(Subscriber.email)
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(Delivery.status.in_(statuses))
    return [(str(e), str(s), int(a), str(x)) for e, s, a, x in session.execute(stmt)]


# -- the public archive ---------------------------------------------------------------------


# A delivery in one of these was handed to a mail server: the digest went out.
WENT_OUT = ("sent", "bounced", "failed")
# A digest in one of these is not on the public archive, whatever went out before.
OFF_THE_ARCHIVE = ("held", "cancelled")


def _on_the_archive(public_lists: Collection[str]) -> ColumnElement[bool]:
    """A digest the public archive shows (issue 28): its list is public, it is neither
    held nor cancelled (so a manual list's digest was approved), and it started going
    out (a copy was handed to a mail server)."""
    stopped = exists().where(
        DigestState.digest_id == Digest.id, DigestState.state.in_(OFF_THE_ARCHIVE)
    )
    went_out = exists().where(Delivery.digest_id == Digest.id, Delivery.status.in_(WENT_OUT))
    return and_(Digest.list_slug.in_(list(public_lists)), ~stopped, went_out)


class ArchiveEntry(NamedTuple):
    """A digest on the public archive: its main copy's subject, and the languages it has
    further copies in (a "reader" list's, issue 30), by tag."""

    list_slug: str
    period_key: str
    subject: str
    languages: tuple[str, ...]


def digest_index(session: Session, public_lists: Collection[str]) -> list[ArchiveEntry]:
    """The digests on the public archive (of ``public_lists``: see ``_on_the_archive``),
    newest first."""
    shown = _on_the_archive(public_lists)
    copies: dict[tuple[str, str], set[str]] = {}
    for slug, period, language in session.execute(
        select(Digest.list_slug, Digest.period_key, DigestLanguage.language)
        .join(DigestLanguage, DigestLanguage.digest_id == Digest.id)
        .where(shown)
    ):
        copies.setdefault((slug, period), set()).add(language)
    rows = session.execute(
        select(Digest.list_slug, Digest.period_key, Digest.subject)
        .where(shown)
        .order_by(Digest.period_key.desc(), Digest.list_slug)
    )
    return [
        ArchiveEntry(slug, period, subject, tuple(sorted(copies.get((slug, period), ()))))
        for slug, period, subject in rows
    ]


def on_the_archive(
    session: Session, list_slug: str, period_key: str, public_lists: Collection[str]
) -> bool:
    """Whether the public archive shows (list, period)'s digest (see ``_on_the_archive``)."""
    found = session.scalar(
        select(Digest.id).where(
            Digest.list_slug == list_slug,
            Digest.period_key == period_key,
            _on_the_archive(public_lists),
        )
    )
    return found is not None


@dataclass(frozen=True)
class PublicDigest:
    """A digest on the public archive and the articles retracted since it was compiled
    (``(url, reason)``) whose place it must show as retracted."""

    html: str
    retracted: list[tuple[str, str]]


def public_digest(
    session: Session,
    list_slug: str,
    period_key: str,
    public_lists: Collection[str],
    language: str = "",
) -> PublicDigest | None:
    """The digest if the public archive shows it (see ``_on_the_archive``), else None:
    its main copy, or with ``language`` its copy in that language (None when it has
    none), under the same rule.

    ``retracted``: articles of its period retracted since (a digest holds only articles
    published in its period; the caller looks for each one's link in the HTML)."""
    html = Digest.html if not language else DigestLanguage.html
    query = (
        select(html, Digest.period_start, Digest.period_end)
        .select_from(Digest)
        .where(
            Digest.list_slug == list_slug,
            Digest.period_key == period_key,
            _on_the_archive(public_lists),
        )
    )
    if language:
        query = query.join(DigestLanguage, DigestLanguage.digest_id == Digest.id).where(
            DigestLanguage.language == language
        )
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    retracted = session.execute(
        select(Article.url, Article.retraction_reason).where(
            Article.status == "retracted",
            Article.published_at >= row.period_start,
            Article.published_at < row.period_end,
        )
    )
    return PublicDigest(row[0], [(str(url), str(reason)) for url, reason in retracted])


def public_copy(html: str, base_url: str, name: str = NAME_FALLBACK, address: str = "you") -> str:
    """A stored digest as the public archive shows it: per-recipient placeholders neutral.

    The renderer leaves ``%%SYNDICATION:NAME%%`` and friends for the sender to fill per
    recipient; on the web there is no recipient, so the greeting is the mail's own
    fallback (``name``: "Hello there,"), the footer's address ``address`` ("because you
    subscribed"), both in the copy's language, and the unsubscribe and preferences links
    lead to the home page.
    """
    neutral = {
        "NAME": escape(name, quote=False),
        "ADDRESS": escape(address, quote=False),
        "UNSUBSCRIBE_URL": f"{base_url}/",
        "PREFERENCES_URL": f"{base_url}/",
        "CONFIRM_URL": f"{base_url}/",
    }
    return PLACEHOLDER_RE.sub(lambda m: neutral.get(m.group(1), ""), html)
