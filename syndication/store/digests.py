"""Compiled digests as stored: one per (list, period), and how their deliveries stand.

The deliveries themselves, claimed, sent and settled, are :mod:`syndication.store.outbox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syndication.core.mime import NAME_FALLBACK
from syndication.core.placeholders import PLACEHOLDER_RE
from syndication.store.models import Delivery, Digest, Subscriber
from syndication.store.upsert import upsert


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
        Digest.__table__,  # type: ignore[arg-type]
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


def digest_index(session: Session) -> list[tuple[str, str, str]]:
    """``(list slug, period key, subject)`` of every stored digest, newest first."""
    rows = session.execute(
        select(Digest.list_slug, Digest.period_key, Digest.subject).order_by(
            Digest.period_key.desc(), Digest.list_slug
        )
    )
    return [(slug, period, subject) for slug, period, subject in rows]


def digest_html(session: Session, list_slug: str, period_key: str) -> str | None:
    return session.execute(
        select(Digest.html).where(Digest.list_slug == list_slug, Digest.period_key == period_key)
    ).scalar_one_or_none()


def public_copy(html: str, base_url: str) -> str:
    """A stored digest as the public archive shows it: per-recipient placeholders neutral.

    The renderer leaves ``%%SYNDICATION:NAME%%`` and friends for the sender to fill per
    recipient; on the web there is no recipient, so the greeting is the mail's own
    fallback ("Hello there,") and the unsubscribe and preferences links lead to the home
    page.
    """
    neutral = {
        "NAME": NAME_FALLBACK,
        "ADDRESS": "you",
        "UNSUBSCRIBE_URL": f"{base_url}/",
        "PREFERENCES_URL": f"{base_url}/",
        "CONFIRM_URL": f"{base_url}/",
    }
    return PLACEHOLDER_RE.sub(lambda m: neutral.get(m.group(1), ""), html)
