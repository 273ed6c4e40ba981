"""The console's actions on articles, each one transaction.

Digest actions live in :mod:`syndication.services.approval` and subscriber actions in
:mod:`syndication.services.subscribers`; this is what remains: retract an article.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from syndication.errors import InputError, NotFoundError
from syndication.store import article_queries as queries
from syndication.store import database as db
from syndication.store.articles import retract_article


def retract(engine: Engine, article_id: int, reason: str, now: datetime) -> str:
    """Retract an article with ``reason``; the next feed build publishes the tombstone."""
    reason = " ".join(reason.split())
    if not reason:
        raise InputError("give a reason for the retraction; feed readers are shown it")
    with db.write_session(engine) as session:
        source_id = queries.article_source_id(session, article_id)
        if source_id is None:
            raise NotFoundError(f"article {article_id}: no such article")
        retract_article(session, source_id, reason[:2000], now)
        return source_id
