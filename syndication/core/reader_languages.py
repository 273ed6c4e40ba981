"""A reader's languages (pure): Accept-Language, BCP 47 lookup, the stored preference list.

A subscriber's preferred languages are kept in ``subscribers.locale`` as an ordered,
comma-separated list of BCP 47 tags (``"ko,en"``; the first is the one used). What a page or
a mail is written in is the first of a reader's languages that the newsroom offers,
matched by RFC 4647 section 3.4 *lookup*: ``ko-KR`` finds ``ko``, ``zh-Hant-TW`` finds
``zh-Hant``, and nothing matches a longer tag than the one asked for.

``Accept-Language`` (RFC 9110 section 12.5.4) is read with its q-values: ranges are tried
in order of weight (ties in the order written), ``q=0`` means "not this one", and ``*``
matches whatever the newsroom offers first. A malformed range is skipped, not an error: a
browser's header is no place to refuse a page over.

Also here: which languages are written right to left (the page's ``dir``), and the
localized date labels of a digest (Babel's CLDR data) for languages other than English,
whose labels stay exactly as they always were.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date

from syndication.core.language_tags import LanguageTagError, language_tag

# Scripts written right to left (ISO 15924) and the languages written in one of them by
# default; a tag's explicit script subtag wins over its language's default.
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand"})
RTL_LANGUAGES = frozenset(
    {"ar", "he", "iw", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "syr", "arc"}
)
MAX_PREFERENCES = 5  # languages kept per reader; more says nothing a reader means
LOCALE_LENGTH = 20  # the subscribers.locale column's size


def text_direction(tag: str) -> str:
    """``"rtl"`` for a tag written right to left, else ``"ltr"`` (HTML's ``dir``)."""
    subtags = tag.split("-")
    for subtag in subtags[1:]:
        if len(subtag) == 4 and subtag.isalpha():
            return "rtl" if subtag.title() in RTL_SCRIPTS else "ltr"
    return "rtl" if subtags[0].lower() in RTL_LANGUAGES else "ltr"


def lookup(wanted: str, available: Sequence[str]) -> str | None:
    """RFC 4647 section 3.4: the tag of ``available`` that ``wanted`` finds, or ``None``.

    The range is cut one subtag at a time from the end (a single-letter subtag goes with
    the one after it) until a tag of ``available`` equals it, case-insensitively.
    """
    offered = {tag.lower(): tag for tag in available}
    subtags = wanted.lower().split("-")
    while subtags:
        found = offered.get("-".join(subtags))
        if found is not None:
            return found
        subtags.pop()
        if subtags and len(subtags[-1]) == 1:
            subtags.pop()
    return None


def accept_language(header: str) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most wanted first.

    Ranges with ``q=0`` are dropped; so are malformed ones (a bad tag, a bad q-value).
    ``*`` is kept as ``*``.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        tag = pieces[0]
        if not tag:
            continue
        weight = 1.0
        valid = True
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() != "q":
                continue
            weight = _qvalue(value.strip())
            valid = weight >= 0
        if not valid or weight == 0:
            continue
        if tag != "*":
            try:
                tag = language_tag(tag)
            except LanguageTagError:
                continue
        ranked.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _qvalue(value: str) -> float:
    """RFC 9110 section 12.4.2: ``0``-``1`` with at most three decimals; -1 if malformed."""
    whole, _, decimals = value.partition(".")
    if whole not in ("0", "1") or len(decimals) > 3 or not decimals.isdigit() and decimals:
        return -1
    weight = float(value)
    return weight if weight <= 1 else -1


def best_match(ranges: Iterable[str], available: Sequence[str]) -> str | None:
    """The first of ``available`` that the ranges (most wanted first) find by lookup."""
    for wanted in ranges:
        if wanted == "*":
            return available[0] if available else None
        found = lookup(wanted, available)
        if found is not None:
            return found
    return None


def parse_preferences(raw: str, available: Sequence[str], where: str = "language") -> list[str]:
    """A reader's languages as written (``"ko"``, ``"ko, en"``, ``"ko;en"``): each checked
    as a BCP 47 tag and found among ``available``, in order, each once.

    Raises :class:`ValueError` naming the tag and what is offered; ``""`` is no choice
    (the newsroom's primary language is used)."""
    chosen: list[str] = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            tag = language_tag(part)
        except LanguageTagError as exc:
            raise ValueError(f"{where}: {exc}") from None
        found = lookup(tag, available)
        if found is None:
            raise ValueError(
                f"{where}: {part!r} is not one of this newsroom's languages "
                f"({', '.join(available)})"
            )
        if found not in chosen:
            chosen.append(found)
    return chosen[:MAX_PREFERENCES]


def stored_preferences(locale: str) -> list[str]:
    """The tags kept in ``subscribers.locale`` (no check: they were checked going in)."""
    return [part.strip() for part in locale.split(",") if part.strip()]


def store_preferences(tags: Sequence[str], primary: str) -> str:
    """``subscribers.locale`` for ``tags``: comma-separated, as many as fit the column
    (:data:`LOCALE_LENGTH`; the first always does: a tag is at most 35 characters only in
    theory, the newsroom's own are short); the primary language if none."""
    kept: list[str] = []
    for tag in tags[:MAX_PREFERENCES]:
        if kept and len(",".join([*kept, tag])) > LOCALE_LENGTH:
            break
        kept.append(tag)
    return ",".join(kept)[:LOCALE_LENGTH] if kept else primary


@functools.lru_cache(maxsize=1024)
def reader_language(locale: str, available: tuple[str, ...]) -> str:
    """The language to write to a reader whose ``subscribers.locale`` is ``locale``: the
    first of their languages the newsroom offers (by lookup), else the primary. Cached:
    the sender asks it once per recipient, and readers share a few locales."""
    return best_match(stored_preferences(locale), available) or available[0]


def list_language(fixed: str, primary: str) -> str:
    """The language a list's digest is written in: the list's fixed tag, else ``primary``.

    A ``"reader"`` list's main render is the primary language's; its other languages are
    rendered beside it (services.digests.compiling, README Languages)."""
    return fixed if fixed and fixed != "reader" else primary


# -- dates of a digest --------------------------------------------------------------------


def is_english(tag: str) -> bool:
    """English keeps the labels the digest always had ("16–23 November 2026")."""
    return tag == "" or tag.split("-")[0].lower() == "en"


def babel_locale(tag: str) -> str:
    """A BCP 47 tag as a Babel locale identifier (``zh-Hant`` -> ``zh_Hant``)."""
    return tag.replace("-", "_")


def period_label(first: date, last: date, language: str) -> str:
    """The dates a digest covers in ``language``'s CLDR interval format
    (``2026년 11월 16일~23일``); not for English (see :func:`is_english`)."""
    from babel.dates import format_date, format_interval

    if first == last:
        return str(format_date(first, "long", locale=babel_locale(language)))
    return str(format_interval(first, last, "yMMMMd", locale=babel_locale(language)))


def day_label(day: date, language: str) -> str:
    """An article's day in ``language`` (CLDR's ``MMMEd``: ``11월 20일 (금)``)."""
    from babel.dates import format_skeleton

    return str(format_skeleton("MMMEd", day, locale=babel_locale(language)))


def language_name(tag: str, in_language: str) -> str:
    """What ``tag`` is called in ``in_language`` (CLDR: ``en`` in Korean is ``영어``);
    the tag itself when CLDR does not know either."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(babel_locale(tag)).get_display_name(babel_locale(in_language))
    except (UnknownLocaleError, ValueError):
        return tag
    return str(name) if name else tag
