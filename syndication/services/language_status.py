"""Readers and articles by language, for the console and ``/metrics`` (issue 30).

A reader counts under the language their digests are written in: the first of their
languages (``subscribers.locale``) the newsroom offers, else the primary. An article
counts under its language as the newsroom names it (``ko-KR`` is ``ko``; none is the
site's), the same reading the digests make of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from syndication.core.digest_stories import newsroom_language
from syndication.core.reader_languages import reader_language
from syndication.settings import Settings
from syndication.store import language_counts as queries


@dataclass(frozen=True)
class LanguageCounts:
    """``readers``: (list, subscriber status, language) -> members; ``articles``:
    (language, article status) -> articles."""

    readers: dict[tuple[str, str, str], int]
    articles: dict[tuple[str, str], int]

    def languages(self, available: tuple[str, ...]) -> list[str]:
        """The newsroom's languages, then any other a reader or an article is counted
        under (an article in a language the newsroom does not offer), sorted."""
        seen = {key[2] for key in self.readers} | {key[0] for key in self.articles}
        return [*available, *sorted(seen - set(available))]

    def active(self, list_slug: str, language: str) -> int:
        """Active members of ``list_slug`` reading in ``language``."""
        return self.readers.get((list_slug, "active", language), 0)

    def published(self, language: str) -> int:
        return self.articles.get((language, "published"), 0)


def language_counts(settings: Settings, connection: Connection) -> LanguageCounts:
    """The counts, read on ``connection`` (see the module docstring)."""
    available = settings.languages.available
    readers: dict[tuple[str, str, str], int] = {}
    for slug, status, locale, count in queries.members_by_locale(connection):
        key = (slug, status, reader_language(locale, available))
        readers[key] = readers.get(key, 0) + count
    articles: dict[tuple[str, str], int] = {}
    for tag, status, count in queries.articles_by_language(connection):
        article_key = (newsroom_language(tag, available, settings.site.language), status)
        articles[article_key] = articles.get(article_key, 0) + count
    return LanguageCounts(readers, articles)
