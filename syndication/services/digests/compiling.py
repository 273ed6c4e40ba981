"""Compiling digests: a list's period rendered **once**, stored and queued in one go.

:func:`compile_digest` renders a list's digest for a period and, in one transaction,
stores it and queues one delivery per active subscriber (``digest compile``). A "reader"
list's digest is rendered once per language of ``[languages] available`` too (issue 30),
each language's copy with each story in its best translation for that language
(:mod:`syndication.core.digest_stories`).
:func:`compile_due` is the rule the scheduler asks at start-up (the catch-up) and at every
firing alike: the latest complete period is compiled if it ended no more than
``max_digest_delay`` ago; older than that it is skipped, never sent late. Compiling is
unique per (list, period), so a second attempt is a no-op and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from syndication.core import digests as digest
from syndication.core.articles import StoredArticle
from syndication.core.digests import DigestDecision, Period
from syndication.core.placeholders import RenderedDigest
from syndication.core.translations import TranslationIndex, translation_index
from syndication.errors import SyndicationError
from syndication.render import email as rendering
from syndication.render import i18n
from syndication.settings import READER_LANGUAGE, MailingList, Settings
from syndication.store import approval, article_queries, clicks, digests, outbox
from syndication.store import database as db


@dataclass(frozen=True)
class CompileReport:
    """What compiling did. ``created`` is False when the period already had its digest."""

    list_slug: str
    period_key: str
    period: Period
    articles: int
    created: bool
    queued: int
    empty: bool


def compile_digests(
    settings: Settings,
    engine: Engine,
    list_slug: str | None,
    period_date: date | None,
    now: datetime,
) -> list[CompileReport]:
    """Compile one list's digest, or every list's, for the given or latest complete period."""
    slugs = [list_slug] if list_slug else [ml.slug for ml in settings.lists]
    return [compile_digest(settings, engine, slug, period_date, now) for slug in slugs]


def compile_digest(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_date: date | None,
    now: datetime,
) -> CompileReport:
    """Render and store ``list_slug``'s digest for a period and queue its deliveries.

    The period is the one named by ``period_date``, or the most recent complete one
    (:func:`digest.choose_period`). A period that has not ended yet is refused (its digest
    would miss what is still to come). An empty period stores nothing and says so.
    Running it again for the same period adds nothing.
    """
    db.require_current_schema(engine)
    the_list = settings.mailing_list(list_slug)
    tz = settings.site.tz
    period = digest.choose_period(the_list, period_date, now, tz)
    if period.end > now:
        ends = period.end.astimezone(tz)
        raise SyndicationError(
            f"{list_slug}: the period {period.key(tz)} runs until {ends:%Y-%m-%d %H:%M %Z};"
            " compile it after it has ended"
        )
    return _compile_period(settings, engine, the_list, period, now)


def _already_compiled(
    engine: Engine, the_list: MailingList, key: str, period: Period
) -> CompileReport | None:
    """The report of a (list, period) that has its digest already, else None."""
    with db.read_session(engine) as session:
        articles = digests.compiled_articles(session, the_list.slug, key)
    if articles is None:
        return None
    return CompileReport(the_list.slug, key, period, articles, False, 0, False)


def _compile_period(
    settings: Settings, engine: Engine, the_list: MailingList, period: Period, now: datetime
) -> CompileReport:
    """Compile one ended period unless it has its digest (see :func:`compile_digest`)."""
    list_slug, key = the_list.slug, period.key(settings.site.tz)
    existing = _already_compiled(engine, the_list, key, period)
    if existing is not None:
        return existing
    with db.read_session(engine) as session:
        articles = article_queries.articles_published_between(
            session, the_list.topics, period.start, period.end
        )
        index = translation_index(article_queries.translation_members(session))
    content = digest.build_digest(
        settings,
        the_list,
        period,
        articles,
        rendering.digest_words(settings, the_list),
        index=index,
    )
    if content is None:
        return CompileReport(list_slug, key, period, 0, False, 0, True)
    rendered = rendering.render_digest(settings, content)
    others = _other_languages(settings, the_list, period, articles, index)
    with db.write_session(engine) as session:
        digest_id, created = digests.store_digest(
            session,
            list_slug=list_slug,
            period_key=key,
            period_start=period.start,
            period_end=period.end,
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=rendered.html,
            text=rendered.text,
            article_count=content.article_count,
            now=now,
        )
        if created:
            digests.store_languages(session, digest_id, others)
        if created and the_list.count_clicks:
            # The links /r/<token> names (issue 31); the stored render keeps the articles'
            # own URLs, so the archive, previews and test sends show them unchanged.
            clicks.store_links(session, digest_id, _article_links(content))
        queued = outbox.enqueue(session, digest_id, list_slug, now) if created else 0
        if created and the_list.approval == "manual":
            # Compiled held: nothing goes out until an operator approves (issue 12).
            approval.set_state(session, digest_id, "held", now, "awaiting approval")
    return CompileReport(list_slug, key, period, content.article_count, created, queued, False)


def _article_links(content: digest.DigestContent) -> list[tuple[int, str, str]]:
    """``(position, source id, url)`` of each article shown, in the digest's order."""
    items = [item for section in content.sections for item in section.items]
    return [(index, item.source_id, item.url) for index, item in enumerate(items, 1)]


def _other_languages(
    settings: Settings,
    the_list: MailingList,
    period: Period,
    articles: list[StoredArticle],
    index: TranslationIndex,
) -> dict[str, RenderedDigest]:
    """A "reader" list's digest in each language but the primary: rendered and inlined
    once per language (each costs one more render; sending costs nothing more per
    recipient), each story in its best translation for that language. A language whose
    copy would be empty (``translations = "only"`` and nothing in it) has none: its
    readers get the primary copy."""
    if the_list.language != READER_LANGUAGE:
        return {}
    renders: dict[str, RenderedDigest] = {}
    for language in settings.languages.available[1:]:
        content = digest.build_digest(
            settings,
            the_list,
            period,
            articles,
            i18n.translations(language),
            language,
            index,
        )
        if content is not None:
            renders[language] = rendering.render_digest(settings, content)
    return renders


# -- what the scheduler asks --------------------------------------------------------------


@dataclass(frozen=True)
class DueReport:
    """What :func:`compile_due` did: the period it judged, and the compile report, or
    None when the period was past ``max_digest_delay`` and had no digest (skipped)."""

    period_key: str
    decision: DigestDecision
    max_delay: timedelta
    compiled: CompileReport | None

    @property
    def skipped(self) -> bool:
        return self.compiled is None


def compile_due(settings: Settings, engine: Engine, list_slug: str, now: datetime) -> DueReport:
    """Compile ``list_slug``'s latest complete period if it is still in time (module doc).

    A period past ``max_digest_delay`` that was compiled already reports that compile
    (``created`` False), so a late look at a sent week says "already compiled", not
    "skipped".
    """
    db.require_current_schema(engine)
    the_list = settings.mailing_list(list_slug)
    tz = settings.site.tz
    max_delay = settings.scheduler.max_digest_delay
    decision = digest.decide(the_list, tz, now, max_delay)
    key = decision.period.key(tz)
    if decision.due:
        compiled: CompileReport | None = _compile_period(
            settings, engine, the_list, decision.period, now
        )
    else:
        compiled = _already_compiled(engine, the_list, key, decision.period)
    return DueReport(key, decision, max_delay, compiled)
