"""Creating, upgrading and summarising the store: ``init``, ``status``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine

from syndication.settings import Settings
from syndication.store import article_queries, bounces, outbox, subscribers
from syndication.store import articles as store
from syndication.store import database as db
from syndication.store.digests import DigestCounts, digest_counts

log = logging.getLogger(__name__)


def open_engine(settings: Settings) -> Engine:
    return db.make_engine(settings.database.url)


def init_store(settings: Settings, engine: Engine) -> int:
    """Create or upgrade the schema and sync topics from the config; safe to repeat.

    Returns how many topic rows were added or changed.
    """
    db.upgrade(engine)
    with db.write_session(engine) as session:
        return store.sync_topics(session, settings.topics)


@dataclass(frozen=True)
class StatusReport:
    """What ``syndication status`` shows: the store, the lists and the outbox."""

    store: article_queries.StoreSummary
    lists: dict[str, dict[str, int]]
    digests: list[DigestCounts]
    # Bounce events per (list, period) and kind; reports stored but not processed.
    bounces: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    intake_backlog: int = 0


def store_status(engine: Engine) -> StatusReport:
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return StatusReport(
            article_queries.store_summary(session),
            subscribers.list_counts(session),
            digest_counts(session),
            bounces.digest_event_counts(session),
            bounces.backlog(session),
        )


def outbox_backlog(engine: Engine) -> int:
    """Deliveries still to be sent (queued, or claimed by a sender)."""
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return outbox.pending_count(session)
