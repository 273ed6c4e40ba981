"""The store layer: typed database access, one module per concept.

The flat ``syndication.store`` module became :mod:`syndication.store.articles` when the
console (issue 12) needed ``store/users.py`` and ``store/admin.py`` beside it; its names
are re-exported here so ``from syndication import store; store.write_articles(...)`` keeps
working until every caller imports the module it means (the layout move, issue 13).
"""

from __future__ import annotations

from syndication.store.articles import (
    StoreSummary,
    TopicCount,
    WriteCounts,
    articles_published_between,
    current_change_seq,
    first_published_from,
    last_published_before,
    load_articles,
    load_articles_published_between,
    mark_topics_changed,
    newest_published_articles,
    newest_updated_articles,
    read_counter,
    read_counters,
    retract_article,
    store_summary,
    sync_topics,
    take_change_numbers,
    topic_ids,
    topics_changed_since,
    upsert,
    write_articles,
    write_counter,
)

__all__ = [
    "StoreSummary",
    "TopicCount",
    "WriteCounts",
    "articles_published_between",
    "current_change_seq",
    "first_published_from",
    "last_published_before",
    "load_articles",
    "load_articles_published_between",
    "mark_topics_changed",
    "newest_published_articles",
    "newest_updated_articles",
    "read_counter",
    "read_counters",
    "retract_article",
    "store_summary",
    "sync_topics",
    "take_change_numbers",
    "topic_ids",
    "topics_changed_since",
    "upsert",
    "write_articles",
    "write_counter",
]
