"""Which version of each story a digest in one language shows (pure; issue 30).

A story is a translation group (:mod:`syndication.core.translations`); an article in no
group is a story of its own. A digest written in language *L* shows each story once, in
the first of *L*'s chain (``[languages]``: *L*, its fallback, that one's, ..., the
primary language) that the story has a version in. A story with no version in the chain
is shown in its original's language (the group's first member: the original, or the
oldest translation when the original is retracted or still to come). Whatever version
is shown in another language than *L* is marked as such (the digest says "In English"
on it), so a reader is never handed a foreign text without a word.

A list's ``translations = "only"`` leaves out every story with no version in *L* itself:
a Korean copy then holds Korean versions and nothing else.

Only members that are published (not retracted) and carry one of the list's topics are
versions. A story appears in the period its chosen version was published in: when the
chosen version lies in another period (an English original last week, its Korean
translation this week), this period's copy in that language leaves the story out, as
that other period's copy holds it.

Languages are compared as the newsroom names them: an article's tag is found among
``[languages] available`` by RFC 4647 lookup (``ko-KR`` is ``ko``), and an article with
no language is in the site's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from syndication.core.articles import StoredArticle
from syndication.core.language_tags import site_or_own
from syndication.core.reader_languages import lookup
from syndication.core.translations import TranslationIndex

FALLBACK = "fallback"
ONLY = "only"


@dataclass(frozen=True)
class ShownStory:
    """The version of a story a digest shows, and its language as the newsroom names it."""

    article: StoredArticle
    language: str

    def foreign_to(self, language: str) -> bool:
        """Whether this version is in another language than a digest in ``language``."""
        return self.language.lower() != language.lower()


def newsroom_language(tag: str, available: Sequence[str], site_language: str) -> str:
    """An article's language as one of ``available`` (by lookup), else its own tag; an
    article with none (or an unreadable one) is in ``site_language``."""
    own = site_or_own(tag, site_language)
    return lookup(own, available) or own


def choose_stories(
    articles: Iterable[StoredArticle],
    index: TranslationIndex,
    chain: Sequence[str],
    available: Sequence[str],
    site_language: str,
    list_topics: Iterable[str],
    mode: str = FALLBACK,
) -> list[ShownStory]:
    """The stories of ``articles`` (the period's published articles of a list) as a
    digest in ``chain[0]`` shows them: each story once, in the version the module
    docstring describes; ``mode`` is the list's ``translations``."""
    wanted = tuple(tag.lower() for tag in (chain if mode == FALLBACK else chain[:1]))
    topics = frozenset(list_topics)
    in_period = {article.source_id: article for article in articles}
    shown: list[ShownStory] = []
    seen: set[str] = set()
    for article in in_period.values():
        group = index.group(article.source_id)
        if group:
            story = group[0].source_id
            if story in seen:
                continue
            seen.add(story)
            versions = [
                (m.source_id, newsroom_language(m.language, available, site_language))
                for m in group
                if not m.retracted and topics.intersection(m.topics)
            ]
        else:
            versions = [
                (
                    article.source_id,
                    newsroom_language(article.language, available, site_language),
                )
            ]
        chosen = _best(versions, wanted)
        if chosen is None and mode == FALLBACK and versions:
            chosen = versions[0]
        if chosen is None or chosen[0] not in in_period:
            continue
        shown.append(ShownStory(in_period[chosen[0]], chosen[1]))
    return shown


def _best(versions: list[tuple[str, str]], wanted: Sequence[str]) -> tuple[str, str] | None:
    """The first version in the first language of ``wanted`` that has one."""
    for tag in wanted:
        for version in versions:
            if version[1].lower() == tag:
                return version
    return None
