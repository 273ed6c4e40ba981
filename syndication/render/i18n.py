"""Message catalogs: the translated strings of our pages and e-mails (gettext, via Babel).

The catalogs are ``syndication/locale/<tag>/LC_MESSAGES/messages.po`` (``zh_Hant`` for
``zh-Hant``), extracted from the templates and this package by ``make catalogs``
(``pybabel extract`` with ``babel.cfg``, then ``update`` and ``compile``). The ``.po``
files are the source and are what git and the wheel carry; a compiled ``.mo`` beside one
is used when it is at least as new, otherwise the ``.po`` is compiled in memory on first
use (a few milliseconds, once per process and language). So an install needs no build
step, and a newsroom's edited ``.po`` takes effect at the next start.

A language without a catalog, and English (the templates' own words), get the strings as
written. Templates use Jinja2's i18n extension with new-style gettext:
``{{ _("Hello %(name)s,", name=p.name) }}`` escapes ``name`` and never the catalog's text.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from jinja2 import Environment

from syndication.core.reader_languages import babel_locale, lookup

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


@cache
def catalog_languages() -> tuple[str, ...]:
    """The BCP 47 tags that have a catalog shipped (``zh_Hant`` folder -> ``zh-Hant``)."""
    if not LOCALE_DIR.is_dir():
        return ()
    return tuple(
        sorted(
            folder.name.replace("_", "-")
            for folder in LOCALE_DIR.iterdir()
            if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
        )
    )


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog for ``language`` (found by BCP 47 lookup), or the strings as written."""
    found = lookup(language, catalog_languages()) if language else None
    if found is None:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / babel_locale(found) / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    return gettext.GNUTranslations(io.BytesIO(compile_po(po, found)))


def compile_po(po: Path, language: str) -> bytes:
    """A ``.po`` file as ``.mo`` bytes (fuzzy entries left out, as ``pybabel compile``)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=babel_locale(language), abort_invalid=True)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def install(environment: Environment, language: str) -> Environment:
    """``environment`` with the i18n extension's ``_``, ``gettext`` and ``ngettext`` for
    ``language`` (the environment must have been made with ``jinja2.ext.i18n``)."""
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    return environment


def translate(language: str, message: str, **values: object) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``values``
    (always, as the templates' new-style gettext does: a literal ``%`` is written ``%%``).
    ``make catalogs`` extracts its second argument (``-k translate:2``)."""
    return translations(language).gettext(message) % values
