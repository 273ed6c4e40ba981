"""Counts by language for the console and ``/metrics`` (issue 30): readers per list and
language, articles per language.

The store groups by the raw columns (``subscribers.locale``, ``articles.language``);
which newsroom language a value means is the caller's to work out, from the settings
(:mod:`syndication.core.reader_languages`, :mod:`syndication.core.digest_stories`).
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from syndication.store.tables import articles, subscribers, subscriptions


def members_by_locale(connection: Connection) -> list[tuple[str, str, str, int]]:
    """Members of each list as ``(list, subscriber status, locale, count)`` rows (Core:
    part of the status report, which ``syndication status`` reads without the ORM)."""
    member, reader = subscriptions.c, subscribers.c
    return [
        (str(slug), str(status), str(locale), int(count))
        for slug, status, locale, count in connection.execute(
            select(member.list_slug, reader.status, reader.locale, func.count())
            .join(subscribers, reader.id == member.subscriber_id)
            .group_by(member.list_slug, reader.status, reader.locale)
        )
    ]


def articles_by_language(connection: Connection) -> list[tuple[str, str, int]]:
    """Articles as ``(language as stored, status, count)`` rows."""
    article = articles.c
    return [
        (str(language or ""), str(status), int(count))
        for language, status, count in connection.execute(
            select(article.language, article.status, func.count()).group_by(
                article.language, article.status
            )
        )
    ]
