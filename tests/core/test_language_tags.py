"""BCP 47 language tags (RFC 5646): checked, and written in their recommended case."""

from __future__ import annotations

import pytest

from syndication.core.language_tags import LanguageTagError, language_tag, site_or_own


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("ko", "ko"),
        ("en-gb", "en-GB"),
        ("EN-gb", "en-GB"),
        ("zh-hant", "zh-Hant"),
        ("ZH-HANT-tw", "zh-Hant-TW"),
        ("zh-cmn-hans-cn", "zh-cmn-Hans-CN"),  # extlang
        ("es-419", "es-419"),  # a UN M.49 region
        ("de-ch-1901", "de-CH-1901"),  # a variant
        ("sl-rozaj-biske", "sl-rozaj-biske"),
        ("en-us-u-ca-gregory", "en-US-u-ca-gregory"),  # extension: lower case after it
        ("az-latn-x-latn", "az-Latn-x-latn"),
        ("x-newsroom", "x-newsroom"),  # private use
        ("i-klingon", "i-klingon"),  # grandfathered
        ("SGN-be-fr", "sgn-BE-FR"),
    ],
)
def test_tags_are_accepted_and_written_in_the_recommended_case(given: str, written: str) -> None:
    assert language_tag(given) == written


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("english", "not a BCP 47 language tag"),  # 5-8 letters: none registered
        ("kore", "not a BCP 47 language tag"),  # 4 letters: reserved
        ("en_GB", "not a BCP 47 language tag"),
        ("e", "not a BCP 47 language tag"),
        ("ko-", "not a BCP 47 language tag"),
        ("en--gb", "not a BCP 47 language tag"),
        ("한국어", "not a BCP 47 language tag"),
        ("en-US-x", "not a BCP 47 language tag"),
        ("de-1901-1901", "repeats the variant '1901'"),
        ("en-a-bbb-a-ccc", "repeats the extension 'a'"),
        ("en-" + "-".join(["abcdefgh"] * 4), "longer than 35 characters"),
        ("", "is empty"),
    ],
)
def test_what_is_not_a_tag_is_refused_with_the_reason(given: str, why: str) -> None:
    with pytest.raises(LanguageTagError, match=why):
        language_tag(given)


def test_publishing_falls_back_to_the_sites_language() -> None:
    assert site_or_own("KO", "en") == "ko"
    assert site_or_own("", "en-gb") == "en-GB"
    assert site_or_own("english", "en") == "en"  # stored before tags were checked
