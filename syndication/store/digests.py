"""Compiled digests as stored: one per (list, period), and how their deliveries stand.

The deliveries themselves, claimed, sent and settled, are :mod:`syndication.store.outbox`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syndication.store.models import Delivery, Digest
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


@dataclass(frozen=True)
class DigestCounts:
    list_slug: str
    period_key: str
    subject: str
    counts: dict[str, int]


def digest_counts(session: Session) -> list[DigestCounts]:
    """Per digest, how many deliveries are in each status (for ``syndication status``)."""
    digests = list(
        session.execute(
            select(Digest.id, Digest.list_slug, Digest.period_key, Digest.subject).order_by(
                Digest.period_key.desc(), Digest.list_slug
            )
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for digest_id, status, count in session.execute(
        select(Delivery.digest_id, Delivery.status, func.count()).group_by(
            Delivery.digest_id, Delivery.status
        )
    ):
        counts.setdefault(digest_id, {})[status] = int(count)
    return [
        DigestCounts(d.list_slug, d.period_key, d.subject, counts.get(d.id, {})) for d in digests
    ]
