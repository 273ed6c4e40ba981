"""Digest states in the database: which digests senders may take (see ``DigestState``).

Functions take a :class:`Session`; the caller owns the transaction. The transitions and
their rules live in :mod:`syndication.services.digests.approval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from syndication.core.deliveries import UNSETTLED, digest_state, unsent
from syndication.core.retractions import link_to
from syndication.errors import NotFoundError
from syndication.store.models import (
    SENDABLE_DIGEST_STATES,
    Article,
    Delivery,
    Digest,
    DigestState,
)


@dataclass(frozen=True)
class DigestStatus:
    """A digest, its state and its deliveries counted by status."""

    digest_id: int
    list_slug: str
    period_key: str
    period_end: datetime
    subject: str
    state: str
    changed_at: datetime | None
    changed_by: str
    approved_at: datetime | None
    approved_by: str
    deliveries: dict[str, int]

    @property
    def left(self) -> int:
        """Deliveries that may still be sent (queued or being sent)."""
        return unsent(self.deliveries)

    @property
    def shown_state(self) -> str:
        """The state to show: ``state``, or ``finished`` once every delivery is settled."""
        return digest_state(self.state, self.deliveries)


def digest_status(session: Session, list_slug: str, period_key: str) -> DigestStatus:
    """The digest of ``list_slug`` for ``period_key``, locked for update on PostgreSQL."""
    stmt = select(Digest).where(Digest.list_slug == list_slug, Digest.period_key == period_key)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    digest = session.scalar(stmt)
    if digest is None:
        raise NotFoundError(
            f"{list_slug} {period_key}: no such digest (compile it first; "
            "'syndication status' lists the digests)"
        )
    state = session.get(DigestState, digest.id)
    counts = {
        str(status): int(count)
        for status, count in session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.digest_id == digest.id)
            .group_by(Delivery.status)
        )
    }
    return DigestStatus(
        digest_id=digest.id,
        list_slug=digest.list_slug,
        period_key=digest.period_key,
        period_end=digest.period_end,
        subject=digest.subject,
        state=state.state if state else "ready",
        changed_at=state.changed_at if state else None,
        changed_by=state.changed_by if state else "",
        approved_at=state.approved_at if state else None,
        approved_by=state.approved_by if state else "",
        deliveries=counts,
    )


def set_state(
    session: Session,
    digest_id: int,
    state: str,
    now: datetime,
    by: str,
    *,
    approved: bool = False,
) -> None:
    """Record ``state`` for a digest (and, with ``approved``, who approved it when)."""
    row = session.get(DigestState, digest_id)
    if row is None:
        row = DigestState(digest_id=digest_id, state=state, approved_by="")
        session.add(row)
    row.state, row.changed_at, row.changed_by = state, now, by
    if approved:
        row.approved_at, row.approved_by = now, by


def skip_queued(session: Session, digest_id: int, reason: str) -> int:
    """Settle a digest's queued rows as ``skipped`` with ``reason``; returns how many.

    Rows a sender holds (``sending``) are left to settle as they go: they may be on the
    wire already, and the outbox records what truly happened to them.
    """
    result = session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == "queued")
        .values(status="skipped", last_error=reason[:2000], lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def hold_digests_linking(
    session: Session, source_id: str, now: datetime, by: str
) -> list[tuple[str, str]]:
    """Hold every digest that links to article ``source_id``, may go out (ready or
    approved) and has copies left to send; returns their ``(list, period)``.

    Called as the article is retracted, in the same transaction (issue 28: a digest
    compiled before a retraction went on sending the retracted article)."""
    url = session.scalar(select(Article.url).where(Article.source_id == source_id))
    if not url:
        return []
    left = exists().where(Delivery.digest_id == Digest.id, Delivery.status.in_(UNSETTLED))
    stopped = exists().where(
        DigestState.digest_id == Digest.id, DigestState.state.not_in(SENDABLE_DIGEST_STATES)
    )
    stmt = (
        select(Digest.id, Digest.list_slug, Digest.period_key)
        .where(Digest.html.contains(link_to(url), autoescape=True), left, ~stopped)
        .order_by(Digest.period_key, Digest.list_slug)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Digest)
    held = []
    for digest_id, list_slug, period_key in session.execute(stmt).all():
        set_state(session, digest_id, "held", now, by)
        held.append((str(list_slug), str(period_key)))
    return held
