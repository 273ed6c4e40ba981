"""Click counting in the store (issue 31): a digest's article links, and the sums.

Only sums are written: ``digest_clicks`` has one row per digest and article with the
readers' clicks and the scanners' requests; nothing names a reader, a copy or a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from syndication.core.clicks import DigestLink
from syndication.store.models import (
    Article,
    Delivery,
    Digest,
    DigestClicks,
    TopicRow,
    article_topics,
)
from syndication.store.models import DigestLink as LinkRow
from syndication.store.upsert import upsert


def store_links(
    session: Session, digest_id: int, links: Iterable[tuple[int, str, str]]
) -> list[DigestLink]:
    """Record a digest's article links, given as ``(position, source id, url)``; returns
    them with the articles' store ids (a source id the store no longer has is left out)."""
    wanted = list(links)
    found = session.execute(
        select(Article.source_id, Article.id).where(
            Article.source_id.in_({source_id for _, source_id, _ in wanted})
        )
    )
    ids = {str(source_id): int(article_id) for source_id, article_id in found}
    out = [
        DigestLink(position, ids[source_id], url)
        for position, source_id, url in wanted
        if source_id in ids
    ]
    upsert(
        session,
        LinkRow.__table__,
        [
            {
                "digest_id": digest_id,
                "position": link.position,
                "article_id": link.article_id,
                "url": link.url,
            }
            for link in out
        ],
        ["digest_id", "position"],
        [],
    )
    return out


def digest_links(session: Session, digest_id: int) -> list[DigestLink]:
    """A digest's article links in position order (none: it does not count clicks)."""
    rows = session.execute(
        select(LinkRow.position, LinkRow.article_id, LinkRow.url)
        .where(LinkRow.digest_id == digest_id)
        .order_by(LinkRow.position)
    )
    return [DigestLink(position, article_id, url) for position, article_id, url in rows]


def link_target(session: Session, digest_id: int, article_id: int, position: int) -> str | None:
    """The current URL of the article a digest's link names, or ``None`` if the digest
    has no such link (the redirect's only source of URLs)."""
    return session.scalar(
        select(Article.url)
        .join(LinkRow, LinkRow.article_id == Article.id)
        .where(
            LinkRow.digest_id == digest_id,
            LinkRow.position == position,
            LinkRow.article_id == article_id,
        )
    )


def add_counts(session: Session, counts: Mapping[tuple[int, int], tuple[int, int]]) -> None:
    """Add ``{(digest, article): (readers, scanners)}`` to the sums (rows made as needed;
    a digest or article deleted since is skipped)."""
    if not counts:
        return
    digests = {d for d, _ in counts}
    articles = {a for _, a in counts}
    live_digests = set(session.scalars(select(Digest.id).where(Digest.id.in_(digests))))
    live_articles = set(session.scalars(select(Article.id).where(Article.id.in_(articles))))
    rows = {
        key: value
        for key, value in counts.items()
        if key[0] in live_digests and key[1] in live_articles
    }
    upsert(
        session,
        DigestClicks.__table__,
        [
            {"digest_id": d, "article_id": a, "reader_clicks": 0, "scanner_requests": 0}
            for d, a in rows
        ],
        ["digest_id", "article_id"],
        [],
    )
    for (digest_id, article_id), (readers, scanners) in sorted(rows.items()):
        session.execute(
            update(DigestClicks)
            .where(DigestClicks.digest_id == digest_id, DigestClicks.article_id == article_id)
            .values(
                reader_clicks=DigestClicks.reader_clicks + readers,
                scanner_requests=DigestClicks.scanner_requests + scanners,
            )
        )


@dataclass(frozen=True)
class ArticleClicks:
    """One story of a digest: its clicks, and the copies delivered."""

    position: int
    article_id: int
    source_id: str
    title: str
    reader_clicks: int
    scanner_requests: int
    delivered: int

    @property
    def click_through(self) -> float:
        """Readers' clicks per delivered copy (0 before anything was delivered)."""
        return self.reader_clicks / self.delivered if self.delivered else 0.0


def delivered(session: Session, digest_id: int) -> int:
    """Copies of the digest the mail server accepted."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.digest_id == digest_id, Delivery.status == "sent")
        )
        or 0
    )


def digest_clicks(session: Session, digest_id: int) -> list[ArticleClicks]:
    """The digest's stories ranked by readers' clicks (then position); empty when the
    digest does not count clicks."""
    sent = delivered(session, digest_id)
    rows = session.execute(
        select(
            LinkRow.position,
            Article.id,
            Article.source_id,
            Article.title,
            func.coalesce(DigestClicks.reader_clicks, 0),
            func.coalesce(DigestClicks.scanner_requests, 0),
        )
        .join(Article, Article.id == LinkRow.article_id)
        .outerjoin(
            DigestClicks,
            (DigestClicks.digest_id == LinkRow.digest_id)
            & (DigestClicks.article_id == LinkRow.article_id),
        )
        .where(LinkRow.digest_id == digest_id)
        .order_by(LinkRow.position)
    )
    seen: set[int] = set()
    out: list[ArticleClicks] = []
    for position, article_id, source_id, title, readers, scanners in rows:
        if article_id in seen:  # one article under two positions: its sums once
            continue
        seen.add(article_id)
        out.append(
            ArticleClicks(position, article_id, source_id, title, int(readers), int(scanners), sent)
        )
    return sorted(out, key=lambda row: (-row.reader_clicks, row.position))


def list_totals(session: Session) -> dict[tuple[str, str], int]:
    """``{(list, "reader"|"scanner"): sum}`` over every digest: what /metrics shows."""
    rows = session.execute(
        select(
            Digest.list_slug,
            func.sum(DigestClicks.reader_clicks),
            func.sum(DigestClicks.scanner_requests),
        )
        .join(Digest, Digest.id == DigestClicks.digest_id)
        .group_by(Digest.list_slug)
    )
    out: dict[tuple[str, str], int] = {}
    for slug, readers, scanners in rows:
        out[slug, "reader"] = int(readers or 0)
        out[slug, "scanner"] = int(scanners or 0)
    return out


def list_digests(session: Session, list_slug: str) -> Sequence[tuple[str, int, int, int]]:
    """Per digest of a list that counts clicks, oldest first: ``(period, readers,
    scanners, delivered)`` (the console's "per list over time" table)."""
    sums = (
        select(
            DigestClicks.digest_id,
            func.sum(DigestClicks.reader_clicks).label("readers"),
            func.sum(DigestClicks.scanner_requests).label("scanners"),
        )
        .group_by(DigestClicks.digest_id)
        .subquery()
    )
    sent = (
        select(Delivery.digest_id, func.count().label("sent"))
        .where(Delivery.status == "sent")
        .group_by(Delivery.digest_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Digest.period_key,
            func.coalesce(sums.c.readers, 0),
            func.coalesce(sums.c.scanners, 0),
            func.coalesce(sent.c.sent, 0),
        )
        .join(sums, sums.c.digest_id == Digest.id)
        .outerjoin(sent, sent.c.digest_id == Digest.id)
        .where(Digest.list_slug == list_slug)
        .order_by(Digest.period_key)
    )
    return [(p, int(r), int(s), int(d)) for p, r, s, d in rows]


def topic_history(session: Session, list_slug: str) -> dict[str, dict[str, int]]:
    """Readers' clicks per digest period and topic of the list's digests: ``{period:
    {topic slug: clicks}}``. A story in two topics counts in both."""
    rows = session.execute(
        select(Digest.period_key, TopicRow.slug, func.sum(DigestClicks.reader_clicks))
        .join(Digest, Digest.id == DigestClicks.digest_id)
        .join(article_topics, article_topics.c.article_id == DigestClicks.article_id)
        .join(TopicRow, TopicRow.id == article_topics.c.topic_id)
        .where(Digest.list_slug == list_slug)
        .group_by(Digest.period_key, TopicRow.slug)
    )
    out: dict[str, dict[str, int]] = {}
    for period, slug, readers in rows:
        out.setdefault(str(period), {})[str(slug)] = int(readers or 0)
    return out
