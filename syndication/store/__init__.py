"""The store layer: typed database access, one module per concept.

The flat ``syndication.store`` module became :mod:`syndication.store.articles` when the
console (issue 12) needed ``store/users.py`` and ``store/admin.py`` beside it; its names
are re-exported here so ``from syndication import store; store.write_articles(...)`` keeps
working until every caller imports the module it means (the layout move, issue 13).
"""

from __future__ import annotations

from syndication.store.articles import (
    upsert as upsert,
    take_change_numbers as take_change_numbers,
    current_change_seq as current_change_seq,
    read_counter as read_counter,
    write_counter as write_counter,
    sync_topics as sync_topics,
    topic_ids as topic_ids,
    topics_changed_since as topics_changed_since,
    WriteCounts as WriteCounts,
    write_articles as write_articles,
    mark_topics_changed as mark_topics_changed,
    retract_article as retract_article,
    load_articles as load_articles,
    load_articles_published_between as load_articles_published_between,
    read_counters as read_counters,
    newest_published_articles as newest_published_articles,
    newest_updated_articles as newest_updated_articles,
    articles_published_between as articles_published_between,
    last_published_before as last_published_before,
    first_published_from as first_published_from,
    TopicCount as TopicCount,
    StoreSummary as StoreSummary,
    store_summary as store_summary,
)
