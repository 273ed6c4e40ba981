"""Rendering e-mails: Jinja2 templates from ``templates/email/``, CSS inlined by premailer.

A digest is rendered and inlined **once** per list and period; what comes out
(:class:`RenderedDigest`) is what the outbox stores. The few values that differ per
recipient (name, address, unsubscribe, preferences and confirmation URLs) appear in the
output only as placeholders such as ``%%SYNDICATION:UNSUBSCRIBE_URL%%``, which
:mod:`syndication.core.mime` substitutes, escaped for where each one lands.

Each is written in one language: a digest in its list's (``DigestContent.language``), the
confirmation mail in the subscriber's. The fixed strings come from the message catalogs
(:mod:`syndication.render.i18n`), and the environment, hence the compiled templates, is
kept per language; ``<html lang dir>`` says which.

Autoescaping is on for ``.html`` templates and every undefined name is an error, so a typo
in a template fails the render instead of mailing an empty string to everyone.
"""

from __future__ import annotations

import gettext
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from premailer import Premailer

from syndication.core.digests import HTML_LIMIT, DigestContent, digest_language
from syndication.core.placeholders import PLACEHOLDERS, RenderedDigest
from syndication.core.reader_languages import text_direction
from syndication.errors import SyndicationError
from syndication.render import i18n
from syndication.render.templates import search_path
from syndication.settings import MailingList, Settings


class TemplateMissingError(SyndicationError):
    """A list names a template that is not in ``templates/email/``."""

    exit_code = 2


class RenderError(Exception):
    """The rendered output broke a rule the templates are meant to keep (a bug, not input)."""


@cache
def environment(settings: Settings, language: str = "") -> Environment:
    """The Jinja2 environment for ``language`` ("" the primary): autoescape for HTML,
    strict about undefined names, the catalog's strings for ``_()``."""
    env = Environment(
        extensions=["jinja2.ext.i18n"],
        loader=FileSystemLoader(search_path(settings, "email")),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return i18n.install(env, language or settings.languages.primary)


def inline_css(html: str) -> str:
    """Move ``<style>`` rules into ``style`` attributes, as mail clients need.

    Rules inside media queries cannot be inlined and stay in a ``<style>`` block, with
    their ``!important`` (without it the inlined styles would win). Premailer never
    fetches anything (``allow_network=False``); cssutils' warnings about mail-client
    properties such as ``mso-hide`` are silenced rather than logged for every digest.
    """
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    inlined = Premailer(
        html,
        allow_network=False,
        keep_style_tags=False,
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        # Keep the templates' width attributes: premailer would turn ``width: 100%``
        # into ``width="100%"`` on images and ``height: auto`` into an invalid attribute.
        disable_basic_attributes=["width", "height"],
    ).transform()
    # lxml drops the doctype; mail clients render in quirks mode without one.
    if not inlined.lstrip().lower().startswith("<!doctype"):
        inlined = "<!DOCTYPE html>\n" + inlined
    return str(inlined)


def digest_words(settings: Settings, mailing_list: MailingList) -> gettext.NullTranslations:
    """The catalog of the list's digest language, for ``build_digest``'s counted words."""
    return i18n.translations(digest_language(settings, mailing_list))


def render_digest(settings: Settings, content: DigestContent) -> RenderedDigest:
    """Render ``content`` with its list's templates (``<template>.html`` and ``.txt``).

    The HTML is inlined once. Raises :class:`RenderError` if it came out larger than
    :data:`~syndication.digest.HTML_LIMIT` bytes: :func:`~syndication.digest.build_digest`
    budgets for that, so reaching it means the budget's constants need measuring again.
    """
    mailing_list = settings.mailing_list(content.list_slug)
    words = i18n.translations(content.language)
    count = content.article_count
    lead = words.ngettext(
        "This issue has %(count)s article.", "This issue has %(count)s articles.", count
    ) % {"count": count}
    if content.more:
        lead = words.gettext(
            "This issue has %(count)s articles: %(shown)s here, the other %(more)s on the website."
        ) % {"count": count, "shown": content.shown, "more": content.more}
    context: dict[str, Any] = {
        "site": settings.site,
        "language": content.language,
        "direction": text_direction(content.language),
        "subject": content.subject,
        "preheader": content.preheader,
        "heading": content.list_name,
        "dates": content.period_label,
        "lead": lead,
        "digest": content,
        "p": PLACEHOLDERS,
    }
    html_template, text_template = _templates(settings, mailing_list, content.language)
    html = inline_css(html_template.render(context))
    if len(html.encode()) > HTML_LIMIT:
        raise RenderError(
            f"digest {content.list_slug}/{content.period_key}: inlined HTML is "
            f"{len(html.encode()):,} bytes, over the {HTML_LIMIT:,} byte budget"
        )
    text = text_template.render(context)
    return RenderedDigest(content.subject, content.preheader, html, _normalise_text(text))


@dataclass(frozen=True)
class UnknownReader:
    """Words for a reader the message does not know, in one language: what the greeting
    calls them when they gave no name ("Hello there," / "구독자님, 안녕하세요.") and what the
    footer says instead of the address on the public archive, where there is no reader."""

    name: str
    address: str


def unknown_reader(language: str) -> UnknownReader:
    """:class:`UnknownReader` in ``language`` (the English words where its catalog has
    none). The greeting's sentence is translated around a name; the fallback for no name
    must be translated with it, or a Korean digest greets "there님"."""
    words = i18n.translations(language)
    return UnknownReader(
        name=words.pgettext("greeting a reader whose name is not known", "there"),
        address=words.pgettext("footer on the public archive, for the address", "you"),
    )


def render_confirmation(
    settings: Settings,
    mailing_lists: tuple[MailingList, ...] | list[MailingList],
    language: str = "",
) -> RenderedDigest:
    """The double opt-in mail asking a new subscriber to confirm ``mailing_lists``, in
    ``language`` ("" the primary).

    Per-recipient values (name, address, confirmation URL) are placeholders, like in a
    digest, so one rendering serves every subscriber of an import.
    """
    language = language or settings.languages.primary
    words = i18n.translations(language)
    names = [words.gettext("“%(name)s”") % {"name": ml.name} for ml in mailing_lists]
    if not names:
        raise ValueError("a confirmation needs at least one list")
    phrase = names[0]
    if len(names) > 1:
        phrase = words.gettext("%(lists)s and %(last)s") % {
            "lists": words.gettext(", ").join(names[:-1]),
            "last": names[-1],
        }
    subject = words.gettext("Please confirm your subscription to %(site)s") % {
        "site": settings.site.title
    }
    context: dict[str, Any] = {
        "site": settings.site,
        "language": language,
        "direction": text_direction(language),
        "subject": subject,
        "preheader": words.gettext("One click and you will receive %(lists)s.") % {"lists": phrase},
        "heading": words.gettext("Confirm your subscription"),
        "dates": "",
        "lists_phrase": phrase,
        "p": PLACEHOLDERS,
    }
    env = environment(settings, language)
    html = inline_css(env.get_template("confirm.html").render(context))
    text = env.get_template("confirm.txt").render(context)
    return RenderedDigest(subject, context["preheader"], html, _normalise_text(text))


def _templates(
    settings: Settings, mailing_list: MailingList, language: str
) -> tuple[Template, Template]:
    """The list's HTML and text templates; a missing one is the operator's to fix."""
    env = environment(settings, language)
    try:
        return (
            env.get_template(f"{mailing_list.template}.html"),
            env.get_template(f"{mailing_list.template}.txt"),
        )
    except TemplateNotFound as exc:
        raise TemplateMissingError(
            f"list {mailing_list.slug!r}: template {exc.name!r} not found in "
            f"{' or '.join(str(d) for d in search_path(settings, 'email'))} "
            "(lists[].template needs a .html and a .txt file)"
        ) from None


def _normalise_text(text: str) -> str:
    """Trailing spaces off (except the signature separator), at most two blank lines."""
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and len(out) >= 2 and out[-1] == "" and out[-2] == "":
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"
