"""Translation groups (issue 30): chains, originals still to come, loops, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndication.core.entries import Translation
from syndication.core.translations import Member, translation_index

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def member(source_id: str, of: str = "", language: str = "en", **fields: object) -> Member:
    values: dict[str, object] = {
        "source_id": source_id,
        "translation_of": of,
        "language": language,
        "url": f"https://news.example.org/{source_id}",
        "retracted": False,
        "published_at": T0 + timedelta(hours=len(source_id)),
        "topics": ("culture",),
    }
    values.update(fields)
    return Member(**values)  # type: ignore[arg-type]


def test_a_translation_of_a_translation_joins_the_originals_group() -> None:
    index = translation_index(
        [member("ja", "ko", "ja"), member("ko", "en", "ko"), member("en"), member("other")]
    )
    assert [m.source_id for m in index.group("ja")] == ["en", "ja", "ko"]  # original first
    assert index.group("other") == ()
    assert index.links("en") == (
        Translation("ja", "https://news.example.org/ja"),
        Translation("ko", "https://news.example.org/ko"),
    )
    assert [t.language for t in index.links("ja")] == ["en", "ko"]


def test_translations_whose_original_has_not_arrived_link_each_other() -> None:
    index = translation_index([member("ko", "missing", "ko"), member("ja", "missing", "ja")])
    assert [t.language for t in index.links("ko")] == ["ja"]


def test_a_loop_is_one_group_and_ends() -> None:
    index = translation_index([member("a", "b", "ko"), member("b", "a", "ja")])
    assert [t.language for t in index.links("a")] == ["ja"]


def test_retracted_unsafe_and_same_language_members_are_not_linked() -> None:
    index = translation_index(
        [
            member("en"),
            member("ko", "en", "ko", retracted=True),
            member("ja", "en", "ja", url="javascript:alert(1)"),
            member("en-2", "en", "en"),
            member("ko-2", "en", "ko"),
        ]
    )
    assert index.links("en") == (Translation("ko", "https://news.example.org/ko-2"),)
    # The retracted one still links the others: its tombstone carries no links anyway.
    assert [t.language for t in index.links("ko")] == ["en"]
