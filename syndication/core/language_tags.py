"""BCP 47 language tags (RFC 5646): is a string one, and how it is written (pure).

An article's ``language`` goes out as Atom's ``xml:lang``, RSS's ``dc:language``, JSON
Feed's ``language`` and HTML's ``lang``: every one of them expects a BCP 47 tag, and a
reader (a screen reader picking its voice, a search engine) trusts it. So a tag is
checked where articles come in (:mod:`syndication.core.articles`) and stored in the
case RFC 5646 section 2.1.1 recommends (``en``, ``ko``, ``zh-Hant``, ``en-GB``).

Checked: the syntax of section 2.1 (the ``langtag``, ``privateuse`` and ``grandfathered``
productions) and two rules of section 2.2.9 that need no registry (no variant and no
extension singleton twice). The grammar's 4-letter primary subtags are "reserved for
future use" and its 5-8 letter ones are for registration, and the registry holds none
(section 2.2.1): they are refused, which is what makes ``english`` or ``korean`` an
error instead of a tag. Not checked: that each subtag is in the IANA Language Subtag
Registry. ``xx-YY`` is well-formed and accepted; keeping a copy of the registry up to
date is more than a newsroom feed needs.
"""

from __future__ import annotations

import functools
import re

# RFC 5646 section 2.1, case-insensitive (section 2.1.1: case carries no meaning).
_LANGTAG = re.compile(
    r"""
    (?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3})  # ISO 639 code and extlangs
    (?:-(?P<script>[a-z]{4}))?
    (?:-(?P<region>[a-z]{2}|[0-9]{3}))?
    (?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)
    (?P<extensions>(?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*)
    (?:-x(?:-[a-z0-9]{1,8})+)?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PRIVATE_USE = re.compile(r"x(?:-[a-z0-9]{1,8})+", re.IGNORECASE)
_GRANDFATHERED = {
    tag.lower(): tag
    for tag in (
        # irregular
        "en-GB-oed i-ami i-bnn i-default i-enochian i-hak i-klingon i-lux i-mingo i-navajo "
        "i-pwn i-tao i-tay i-tsu sgn-BE-FR sgn-BE-NL sgn-CH-DE "
        # regular
        "art-lojban cel-gaulish no-bok no-nyn zh-guoyu zh-hakka zh-min zh-min-nan zh-xiang"
    ).split()
}
MAX_LENGTH = 35  # RFC 5646 section 4.4.1: what an implementation should be able to store


class LanguageTagError(ValueError):
    """Not a BCP 47 language tag; the message says why, for the article's ``language``."""


@functools.lru_cache(maxsize=512)
def language_tag(value: str) -> str:
    """``value`` as a BCP 47 tag in its recommended case, or :class:`LanguageTagError`.

    Case (RFC 5646 section 2.1.1): lower case, but for two-letter subtags (regions) in
    upper case and four-letter ones (scripts) in title case, except at the start of the
    tag and after a singleton (``x-``, extensions): ``EN-gb`` is ``en-GB``, ``zh-hant``
    is ``zh-Hant``, ``az-latn-x-latn`` is ``az-Latn-x-latn``.
    """
    if not value:
        raise LanguageTagError("is empty")
    if len(value) > MAX_LENGTH:
        raise LanguageTagError(f"longer than {MAX_LENGTH} characters")
    lowered = value.lower()
    if lowered in _GRANDFATHERED:
        return _GRANDFATHERED[lowered]
    match = _LANGTAG.fullmatch(value) if value.isascii() else None
    if match is None and not (value.isascii() and _PRIVATE_USE.fullmatch(value)):
        raise LanguageTagError(
            f"{value!r} is not a BCP 47 language tag (RFC 5646): write e.g. 'en', 'ko', "
            "'zh-Hant' or 'en-GB'"
        )
    if match is not None:
        # RFC 5646 section 2.2.9: a variant, or an extension's singleton, at most once.
        variants = match["variants"].lower().split("-")[1:]
        singletons = [s for s in match["extensions"].lower().split("-")[1:] if len(s) == 1]
        for kind, subtags in (("variant", variants), ("extension", singletons)):
            repeated = sorted({s for s in subtags if subtags.count(s) > 1})
            if repeated:
                raise LanguageTagError(f"{value!r} repeats the {kind} {repeated[0]!r}")
    return "-".join(_cased(lowered.split("-")))


def _cased(subtags: list[str]) -> list[str]:
    cased = [subtags[0]]
    after_singleton = len(subtags[0]) == 1
    for subtag in subtags[1:]:
        if len(subtag) == 1:
            after_singleton = True
        elif not after_singleton and len(subtag) == 2:
            subtag = subtag.upper()
        elif not after_singleton and len(subtag) == 4 and subtag.isalpha():
            subtag = subtag.title()
        cased.append(subtag)
    return cased


def site_or_own(language: str, site_language: str) -> str:
    """The tag to publish for text in ``language`` (as stored; "" for none) on a site in
    ``site_language``: its own in recommended case, or the site's when it has none or
    holds a value no check ever saw (stored before tags were checked)."""
    if language:
        try:
            return language_tag(language.strip())
        except LanguageTagError:
            pass
    try:
        return language_tag(site_language)
    except LanguageTagError:
        return site_language
