"""Counts by language for the console and ``/metrics`` (issue 30): readers per list and
language, articles per language.

The store groups by the raw columns (``subscribers.locale``, ``articles.language``);
which newsroom language a value means is the caller's to work out, from the settings
(:mod:`syndication.core.reader_languages`, :mod:`syndication.core.digest_stories`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syndication.store.models import Article, Subscriber, Subscription


def members_by_locale(session: Session) -> list[tuple[str, str, str, int]]:
    """Members of each list as ``(list, subscriber status, locale, count)`` rows."""
    return [
        (str(slug), str(status), str(locale), int(count))
        for slug, status, locale, count in session.execute(
            select(Subscription.list_slug, Subscriber.status, Subscriber.locale, func.count())
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .group_by(Subscription.list_slug, Subscriber.status, Subscriber.locale)
        )
    ]


def articles_by_language(session: Session) -> list[tuple[str, str, int]]:
    """Articles as ``(language as stored, status, count)`` rows."""
    return [
        (str(language or ""), str(status), int(count))
        for language, status, count in session.execute(
            select(Article.language, Article.status, func.count()).group_by(
                Article.language, Article.status
            )
        )
    ]
