"""Translation groups: which articles are the same story in other languages (pure).

An article names the story it translates with ``translation_of`` (the original's source
id; the original names none: issue 30). The store keeps the field exactly as given, so
a translation may arrive before its original; groups are worked out here, when feeds
are built, from :class:`Member` rows the store hands over:

* an article's group is named by the end of its ``translation_of`` chain: a translation
  of a translation joins the original's group (``b`` translates ``a``, ``c`` names
  ``b``: all three are one group, whatever order they arrived in). The chain stops at a
  source id the store does not hold (the original still to come: its translations
  already form a group, which it joins when it arrives), and at a loop, which names the
  smallest source id in it;
* each entry links the other members of its group that are not retracted, one per
  language (the original first, then the oldest translation), never one in its own
  language: Atom forbids two ``alternate`` links with the same type and ``hreflang``
  (RFC 4287 section 4.1.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from syndication.core.entries import Translation, xml_safe
from syndication.core.urls import IMAGE_SCHEMES, safe_url


@dataclass(frozen=True)
class Member:
    """An article that is, or is named as, part of a translation group."""

    source_id: str
    translation_of: str
    language: str
    url: str
    retracted: bool
    published_at: datetime
    topics: tuple[str, ...]


@dataclass(frozen=True)
class TranslationIndex:
    """The translation groups of a store: by source id, its group's members."""

    groups: dict[str, tuple[Member, ...]]

    def group(self, source_id: str) -> tuple[Member, ...]:
        """Every member of ``source_id``'s group (itself included); () when it has none."""
        return self.groups.get(source_id, ())

    def links(self, source_id: str) -> tuple[Translation, ...]:
        """The translations an entry of ``source_id`` links to, by language."""
        group = self.group(source_id)
        language = next((m.language for m in group if m.source_id == source_id), "")
        found: dict[str, Translation] = {}
        for member in group:
            if member.source_id == source_id or member.retracted:
                continue
            if member.language.lower() == language.lower() or member.language in found:
                continue
            url = safe_url(xml_safe(member.url), "", IMAGE_SCHEMES)
            if url:
                found[member.language] = Translation(language=member.language, url=url)
        return tuple(sorted(found.values(), key=lambda t: t.language))


def translation_index(members: Iterable[Member]) -> TranslationIndex:
    """The groups of ``members`` (see the module docstring for the rules)."""
    by_id = {m.source_id: m for m in members}
    roots: dict[str, str] = {}
    for source_id in by_id:
        roots[source_id] = _root(source_id, by_id)
    grouped: dict[str, list[Member]] = {}
    for source_id, root in roots.items():
        grouped.setdefault(root, []).append(by_id[source_id])
    groups: dict[str, tuple[Member, ...]] = {}
    for members_of in grouped.values():
        if len(members_of) < 2:
            continue
        ordered = tuple(
            sorted(members_of, key=lambda m: (bool(m.translation_of), m.published_at, m.source_id))
        )
        for member in ordered:
            groups[member.source_id] = ordered
    return TranslationIndex(groups)


def _root(source_id: str, by_id: dict[str, Member]) -> str:
    seen = [source_id]
    current = by_id[source_id]
    while current.translation_of:
        target = current.translation_of
        if target in seen:
            loop = seen[seen.index(target) :]
            return min(loop)
        seen.append(target)
        if target not in by_id:
            return target
        current = by_id[target]
    return current.source_id
