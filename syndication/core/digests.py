"""What a digest contains: periods from a list's schedule and the articles in one period.

Pure: no database, no files, no clock. Callers pass ``now`` (or a moment) and the articles;
everything here is computed from frozen dataclasses, so a digest is byte-stable and cheap
to test.

A period is the interval between two consecutive firings of the list's cron schedule in
the site's timezone (``0 8 * * mon`` in Seoul: Monday 08:00 to the next Monday 08:00).
APScheduler's :class:`CronTrigger` computes the firings, because APScheduler is also what
fires the digest job: the two can never disagree, across DST changes included.

A digest is built in one language (:func:`digest_language`: the list's fixed tag, else the
primary): its dates are that language's CLDR formats and its counted words come from the
catalog the caller passes (``words``, a gettext translations object). English keeps the
labels it always had, byte for byte.

Each story is shown once, in the version :mod:`syndication.core.digest_stories` chooses
for that language (the translation along the language's chain, issue 30); a version in
another language carries a small label saying which ("In English", from the catalog).
"""

from __future__ import annotations

import gettext
import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from syndication.core.articles import StoredArticle
from syndication.core.digest_stories import ShownStory, choose_stories
from syndication.core.language_tags import site_or_own
from syndication.core.reader_languages import (
    day_label,
    is_english,
    language_name,
    list_language,
    period_label,
)
from syndication.core.translations import TranslationIndex
from syndication.core.urls import IMAGE_SCHEMES, safe_url
from syndication.settings import MailingList, Settings

# Gmail clips HTML over about 102 KB and hides what follows: the unsubscribe link. The
# whole inlined HTML must stay under HTML_LIMIT; BUDGET is what the articles may take
# after the layout (header, footer, inlined styles), measured with the real templates.
HTML_LIMIT = 90_000
LAYOUT_BYTES = 9_000
BUDGET = HTML_LIMIT - LAYOUT_BYTES
# Inlined markup around one article, besides its escaped text and URLs (measured, with
# margin, from templates/email/digest.html: 946 bytes for an article with a thumbnail).
FULL_ITEM_OVERHEAD = 1000
TITLE_ITEM_OVERHEAD = 320
LABEL_OVERHEAD = 120  # the "In English" label's markup on a version in another language
SECTION_OVERHEAD = 600
# What a digest shows of long fields; the website has the rest.
MAX_TITLE = 200
MAX_SUMMARY = 320
# At most this many articles are shown in full; the rest are title-only links.
MAX_FULL_ITEMS = 40

_MARKER = "%%SYNDICATION"  # how rendering.py marks per-recipient values
_LOOKBACK_START = timedelta(minutes=1)
_LOOKBACK_MAX = timedelta(days=366 * 8)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` between two consecutive firings of a schedule; aware, in UTC."""

    start: datetime
    end: datetime

    def key(self, tz: ZoneInfo) -> str:
        """The period's name in URLs and the outbox: its start date in site time."""
        return self.start.astimezone(tz).date().isoformat()

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def _trigger(schedule_cron: str, tz: ZoneInfo) -> CronTrigger:
    return CronTrigger.from_crontab(schedule_cron, timezone=tz)


def _next_firing(trigger: CronTrigger, after: datetime) -> datetime:
    """The first firing strictly after ``after``."""
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if fire is None:  # pragma: no cover - a crontab trigger has no end date
        raise ValueError("schedule never fires again")
    return fire


def period_containing(schedule_cron: str, tz: ZoneInfo, moment: datetime) -> Period:
    """The period of ``schedule_cron`` (site time ``tz``) that contains ``moment``.

    ``start`` is the last firing at or before ``moment``, ``end`` the first one after it.
    A naive ``moment`` is refused.
    """
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    trigger = _trigger(schedule_cron, tz)
    end = _next_firing(trigger, moment)
    # CronTrigger only walks forward: look back over a doubling window until it holds a
    # firing, then walk forward to the last one that is not after ``moment``.
    lookback = _LOOKBACK_START
    while lookback <= _LOOKBACK_MAX:
        fire: datetime | None = trigger.get_next_fire_time(None, moment - lookback)
        if fire is not None and fire <= moment:
            start = fire
            following = _next_firing(trigger, start)
            while following <= moment:
                start, following = following, _next_firing(trigger, following)
            # Stored in UTC: arithmetic on two datetimes sharing a ZoneInfo is wall-clock
            # arithmetic, which is an hour off across a DST change.
            return Period(start.astimezone(UTC), end.astimezone(UTC))
        lookback *= 2
    raise ValueError(f"schedule {schedule_cron!r} did not fire in the eight years before {moment}")


def period_for_date(schedule_cron: str, tz: ZoneInfo, day: date) -> Period:
    """The period named by a calendar date: the one containing the end of ``day`` in site
    time, so that a period's own key (its start date) names it."""
    end_of_day = datetime.combine(day + timedelta(days=1), time(), tz)
    return period_containing(schedule_cron, tz, end_of_day - timedelta(microseconds=1))


def latest_complete_period(schedule_cron: str, tz: ZoneInfo, now: datetime) -> Period:
    """The most recent period that ended at or before ``now``."""
    current = period_containing(schedule_cron, tz, now)
    return period_containing(schedule_cron, tz, current.start - timedelta(microseconds=1))


def choose_period(the_list: MailingList, day: date | None, now: datetime, tz: ZoneInfo) -> Period:
    """The period a digest command or job means: the one ``day`` names (see
    :func:`period_for_date`), or with no day the latest complete period at ``now``.

    The one place this choice is made: ``digest preview``, ``digest compile`` and the
    scheduler all ask it, so they cannot name different weeks for the same input.
    """
    if day is None:
        return latest_complete_period(the_list.schedule, tz, now)
    return period_for_date(the_list.schedule, tz, day)


def past_max_delay(period_end: datetime, now: datetime, max_delay: timedelta) -> bool:
    """Whether a digest of a period that ended at ``period_end`` is too stale to send.

    The one lateness rule: the scheduler skips such a period, and ``digest approve``
    refuses such a digest (issue 12). Exactly ``max_delay`` late is still in time.
    """
    return now - period_end > max_delay


@dataclass(frozen=True)
class DigestDecision:
    """The latest complete period of a schedule at ``now`` and whether it may still go out."""

    period: Period
    late_by: timedelta
    due: bool


def decide(
    the_list: MailingList, tz: ZoneInfo, now: datetime, max_delay: timedelta
) -> DigestDecision:
    """The scheduler's question: the list's latest complete period at ``now`` (as
    :func:`choose_period` gives it) and whether it is within ``max_delay``.

    ``late_by`` is how long ago the period ended; a period is due when that is at most
    ``max_delay`` (:func:`past_max_delay`). Periods and ``now`` are aware; arithmetic is in
    UTC, so a period across a DST change is its true length.
    """
    period = choose_period(the_list, None, now, tz)
    return DigestDecision(period, now - period.end, not past_max_delay(period.end, now, max_delay))


@dataclass(frozen=True)
class DigestItem:
    """One article as a digest shows it. ``full`` items show summary and image too."""

    source_id: str
    title: str
    url: str
    summary: str
    image_url: str
    topic: str
    published_at: datetime
    date_label: str
    full: bool
    language: str = ""
    # "In English" on a version in another language than the digest's; "" otherwise.
    language_label: str = ""


@dataclass(frozen=True)
class DigestSection:
    """A topic's articles, newest first; ``more`` of them did not fit and are only counted."""

    topic: str
    name: str
    items: tuple[DigestItem, ...]
    more: int


@dataclass(frozen=True)
class DigestContent:
    """Everything the templates need for one list and period; per-recipient values excluded."""

    list_slug: str
    list_name: str
    list_description: str
    period: Period
    period_key: str
    period_label: str
    subject: str
    preheader: str
    web_url: str
    sections: tuple[DigestSection, ...]
    article_count: int
    more: int
    language: str = "en"

    @property
    def shown(self) -> int:
        return self.article_count - self.more


def build_digest(
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    articles: Iterable[StoredArticle],
    words: gettext.NullTranslations | None = None,
    language: str = "",
    index: TranslationIndex | None = None,
) -> DigestContent | None:
    """The digest of ``mailing_list`` for ``period``, or ``None`` when it has no articles.

    Holds the published (not retracted) articles carrying one of the list's topics whose
    ``published_at`` is in ``[period.start, period.end)``, grouped by topic in the list's
    order (an article with several of the list's topics appears once, under the first),
    newest first inside a topic. The first articles are shown in full, then title-only,
    then only counted ("and N more on the website"), so that the rendered HTML stays
    under :data:`HTML_LIMIT`. Written in ``language``, by default :func:`digest_language`,
    with ``words`` (that language's catalog; none: the English as written). Each story
    (translation group of ``index``; none: every article is its own) appears once, in
    the version :func:`~syndication.core.digest_stories.choose_stories` picks.
    """
    main = digest_language(settings, mailing_list)
    language = language or main
    words = words or gettext.NullTranslations()
    tz = settings.site.tz
    order = {slug: rank for rank, slug in enumerate(mailing_list.topics)}
    published = [
        article
        for article in articles
        if not article.is_retracted
        and article.published_at in period
        and any(slug in order for slug in article.topics)
    ]
    stories = choose_stories(
        published,
        index or TranslationIndex({}),
        settings.languages.chain(language),
        settings.languages.available,
        settings.site.language,
        mailing_list.topics,
        mailing_list.translations,
    )
    chosen: dict[str, list[ShownStory]] = {slug: [] for slug in mailing_list.topics}
    for story in stories:
        ranked = [slug for slug in story.article.topics if slug in order]
        chosen[min(ranked, key=order.__getitem__)].append(story)
    total = len(stories)
    if total == 0:
        return None

    # Every non-empty topic gets its heading (and its "N more" line) whatever happens.
    budget = BUDGET - SECTION_OVERHEAD * sum(1 for group in chosen.values() if group)
    full_left = MAX_FULL_ITEMS
    sections: list[DigestSection] = []
    more_total = 0
    for slug in mailing_list.topics:
        group = sorted(
            chosen[slug],
            key=lambda s: (s.article.published_at, s.article.source_id),
            reverse=True,
        )
        if not group:
            continue
        items: list[DigestItem] = []
        for story in group:
            label = _language_label(story, language, words)
            item = _item(story.article, slug, tz, language, label, full=True)
            cost = _cost(item)
            if full_left <= 0 or cost > budget:
                item = _item(story.article, slug, tz, language, label, full=False)
                cost = _cost(item)
            if cost > budget:
                break
            budget -= cost
            full_left -= item.full
            items.append(item)
        more = len(group) - len(items)
        more_total += more
        sections.append(DigestSection(slug, settings.topic(slug).name, tuple(items), more))

    key = period.key(tz)
    label = _period_label(period, tz, language)
    titles = [item.title for section in sections for item in section.items]
    count = words.ngettext("%(count)s article", "%(count)s articles", total) % {"count": total}
    return DigestContent(
        list_slug=mailing_list.slug,
        list_name=mailing_list.name,
        list_description=mailing_list.description,
        period=period,
        period_key=key,
        period_label=label,
        subject=f"{mailing_list.name}: {label}",
        preheader=_shorten(f"{count}: " + "; ".join(titles[:3]), 140),
        web_url=settings.site.base_url
        + archive_path(mailing_list.slug, key, "" if language == main else language),
        sections=tuple(sections),
        article_count=total,
        more=more_total,
        language=language,
    )


def archive_path(list_slug: str, period_key: str, language: str = "") -> str:
    """Where the public archive serves a digest: ``/digests/<list>/<period>`` for its main
    copy, ``/digests/<list>/<period>/<language>`` for a "reader" list's copy in another
    language (issue 30). The one spelling of these paths: a copy's "view in your browser"
    link, the archive's index and its redirect to the main copy all take it from here."""
    path = f"/digests/{list_slug}/{period_key}"
    return f"{path}/{language}" if language else path


def digest_language(settings: Settings, mailing_list: MailingList) -> str:
    """The language a list's digest is written in (see :func:`list_language`)."""
    return list_language(mailing_list.language, settings.languages.primary)


def _language_label(story: ShownStory, language: str, words: gettext.NullTranslations) -> str:
    """ "In English" for a version in another language than the digest's, else "". The
    language is named in the digest's language when its catalog has the label, else in
    English, so the label never mixes two languages."""
    if not story.foreign_to(language):
        return ""
    translated = words.gettext("In %(language)s")
    named_in = language if translated != "In %(language)s" else "en"
    return translated % {"language": language_name(story.language, named_in)}


def _item(
    article: StoredArticle,
    topic: str,
    tz: ZoneInfo,
    language: str,
    language_label: str,
    *,
    full: bool,
) -> DigestItem:
    local = article.published_at.astimezone(tz)
    english = is_english(language)
    return DigestItem(
        source_id=article.source_id,
        title=_defuse(_shorten(article.title, MAX_TITLE)),
        url=_defuse_url(article.url),
        summary=_defuse(_shorten(article.summary, MAX_SUMMARY)) if full else "",
        image_url=_defuse_url(article.image_url) if full else "",
        topic=topic,
        published_at=article.published_at,
        date_label=f"{local:%a} {local.day} {local:%b}"
        if english
        else day_label(local.date(), language),
        full=full,
        # Its BCP 47 tag in the recommended case; "" (the page's, the site's) for none
        # or for a value stored before tags were checked (issue 26 item 6).
        language=site_or_own(article.language, ""),
        language_label=language_label,
    )


def _cost(item: DigestItem) -> int:
    """Bytes the item adds to the inlined HTML: markup plus its escaped text and URLs.

    The title appears once (the image's ``alt`` is empty: it would repeat the title with
    images off), the article URL up to twice in a full item (title, "read more").
    """
    text = _html_bytes(item.title) + _html_bytes(item.summary)
    urls = _url_bytes(item.url) * (2 if item.full else 1) + _url_bytes(item.image_url)
    overhead = FULL_ITEM_OVERHEAD if item.full else TITLE_ITEM_OVERHEAD
    if item.language_label:
        overhead += LABEL_OVERHEAD + _html_bytes(item.language_label)
    return overhead + text + urls


def _html_bytes(text: str) -> int:
    return len(html.escape(text).encode())


def _url_bytes(url: str) -> int:
    # The HTML serialiser percent-encodes non-ASCII bytes in URLs: one byte becomes three.
    raw = html.escape(url).encode()
    return len(raw) + 2 * sum(1 for byte in raw if byte > 127)


def _defuse(text: str) -> str:
    """Article text that cannot pass for a per-recipient placeholder of the renderer.

    A word joiner (U+2060, invisible) goes between ``%%`` and ``SYNDICATION``, so a title
    quoting the marker is shown as written but never substituted.
    """
    return text.replace(_MARKER, "%%\u2060SYNDICATION")


def _defuse_url(url: str) -> str:
    # Only http(s) links reach a digest (the URL policy, issue 15); an unsafe one is left
    # out. ``%%`` is no valid escape in a URL anyway; as ``%25%25`` it means what it says.
    return (safe_url(url, "", IMAGE_SCHEMES) or "").replace("%%", "%25%25")


def _shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def _period_label(period: Period, tz: ZoneInfo, language: str = "en") -> str:
    """``16–23 November 2026``: the local dates the period touches (in English; other
    languages in their CLDR interval format, ``2026년 11월 16일~23일``)."""
    first: date = period.start.astimezone(tz).date()
    last_moment = period.end.astimezone(tz)
    last: date = (last_moment - timedelta(microseconds=1)).date()
    if not is_english(language):
        return period_label(first, last, language)
    if first == last:
        return f"{first.day} {first:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"
