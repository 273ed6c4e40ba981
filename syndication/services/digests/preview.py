"""``digest preview``: one list's digest rendered for a sample reader, written to files.

``--language`` previews one language's copy of a "reader" list (issue 30): the copy its
readers of that language get, each story in its best translation for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import Engine

from syndication.clock import utc_now
from syndication.core import digests as digest
from syndication.core import mime as mail
from syndication.core.digests import Period
from syndication.core.language_tags import LanguageTagError, language_tag
from syndication.core.reader_languages import lookup
from syndication.core.translations import translation_index
from syndication.errors import EmptyDigestError, InputError, SyndicationError
from syndication.render import email as rendering
from syndication.render import i18n
from syndication.services.digests.copies import copy_template, find_copy
from syndication.services.digests.samples import SAMPLE_RECIPIENT, sample_recipient
from syndication.settings import READER_LANGUAGE, MailingList, Settings
from syndication.store import article_queries
from syndication.store import database as db
from syndication.store import digests as digest_store


@dataclass(frozen=True)
class PreviewReport:
    """What ``digest preview`` wrote: the digest's numbers and the files."""

    list_slug: str
    language: str
    period_key: str
    period: Period
    subject: str
    article_count: int
    shown: int | None
    html_bytes: int
    message_bytes: int
    files: tuple[Path, ...]
    compiled_at: datetime | None = None


def preview_digest(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_date: date | None,
    to: str | None,
    out_dir: Path,
    now: Callable[[], datetime] = utc_now,
    language: str | None = None,
) -> PreviewReport:
    """Render one list's digest for a sample recipient into ``out_dir``.

    The period is the one ``period_date`` names, or else the most recent complete period
    (:func:`digest.choose_period`). Writes ``digest.html`` and ``digest.txt`` (the parts as
    a mail client shows them) and ``message.eml`` (the bytes a subscriber would get).
    Raises :class:`NotFoundError` for an unknown list, :class:`InputError` for a bad ``to``,
    :class:`EmptyDigestError` when the period has no articles. ``language`` picks one
    language's copy (see :func:`preview_language`); none: the list's own language.

    A period already compiled is previewed from its stored copy (what its readers get, as
    the sender and the console build it, issued at its compile time), not rendered again
    from the articles, which may have changed since: ``compiled_at`` says so, and
    ``shown`` is None (the stored copy keeps no count of what it shows).
    """
    db.require_current_schema(engine)
    the_list = settings.mailing_list(list_slug)
    copy_language = preview_language(settings, the_list, language)
    to = to or SAMPLE_RECIPIENT
    sample_name, address = parseaddr(to)
    recipient = sample_recipient(settings, address, sample_name)
    tz = settings.site.tz
    period = digest.choose_period(the_list, period_date, now(), tz)
    with db.read_session(engine) as session:
        stored = digest_store.find_digest(session, list_slug, period.key(tz))
        copy = find_copy(settings, session, stored, copy_language) if stored else None
        count = digest_store.compiled_articles(session, list_slug, period.key(tz))
    if stored is not None and copy is not None:
        template = copy_template(
            settings, the_list, stored.period_key, copy.rendered, stored.created_at, copy.language
        )
        data = _personalised(template, recipient, to)
        return PreviewReport(
            list_slug=list_slug,
            language=copy_language,
            period_key=stored.period_key,
            period=period,
            subject=copy.rendered.subject,
            article_count=count or 0,
            shown=None,
            html_bytes=len(copy.rendered.html.encode()),
            message_bytes=len(data),
            files=_write_files(out_dir, data),
            compiled_at=stored.created_at,
        )
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
        i18n.translations(copy_language),
        copy_language,
        index,
    )
    if content is None:
        start, end = period.start.astimezone(tz), period.end.astimezone(tz)
        raise EmptyDigestError(
            f"{list_slug}: no articles published from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} {end:%Z} (period {period.key(tz)})"
            + (f" in {copy_language}" if language else "")
            + "; nothing to preview"
        )
    rendered = rendering.render_digest(settings, content)
    template = copy_template(settings, the_list, content.period_key, rendered, now(), copy_language)
    data = _personalised(template, recipient, to)
    files = _write_files(out_dir, data)
    return PreviewReport(
        list_slug=list_slug,
        language=copy_language,
        period_key=content.period_key,
        period=period,
        subject=content.subject,
        article_count=content.article_count,
        shown=content.shown,
        html_bytes=len(rendered.html.encode()),
        message_bytes=len(data),
        files=files,
    )


def _personalised(template: mail.MessageTemplate, recipient: mail.Recipient, to: str) -> bytes:
    try:
        return mail.personalise(template, recipient)
    except mail.MailError as exc:
        raise InputError(f"--to {to!r}: {exc}") from None


def preview_language(settings: Settings, the_list: MailingList, language: str | None) -> str:
    """The language a preview is written in: ``language`` as one of ``[languages]
    available`` (by lookup: ``ko-KR`` is ``ko``), or the list's own with none.

    Raises :class:`InputError` for a malformed tag, one the newsroom does not offer, and
    for another language than a fixed-language list's (its readers all get that one)."""
    own = digest.digest_language(settings, the_list)
    if language is None:
        return own
    available = settings.languages.available
    try:
        found = lookup(language_tag(language.strip()), available)
    except LanguageTagError as exc:
        raise InputError(f"--language {language!r}: {exc}") from None
    if found is None:
        raise InputError(
            f"--language {language!r}: not one of this newsroom's languages "
            f"([languages] available: {', '.join(available)})"
        )
    if the_list.language != READER_LANGUAGE and found != own:
        raise InputError(
            f"--language {language!r}: list {the_list.slug!r} is written in {own} for every "
            f'reader (its language setting); only a "reader" list has other copies'
        )
    return found


def _write_files(out_dir: Path, data: bytes) -> tuple[Path, ...]:
    """``digest.html`` and ``digest.txt`` (the parts as a mail client shows them) and
    ``message.eml`` (the bytes) in ``out_dir``, made if missing."""
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    files = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SyndicationError(
            f"--out {out_dir}: is a file, not a folder; name a folder for the preview"
        ) from None
    except OSError as exc:
        raise SyndicationError(f"--out {out_dir}: cannot create it: {exc.strerror}") from None
    for name, subtype in (("digest.html", "html"), ("digest.txt", "plain")):
        part = message.get_body((subtype,))
        assert part is not None
        path = out_dir / name
        path.write_text(part.get_content().replace("\r\n", "\n"), encoding="utf-8")
        files.append(path)
    eml = out_dir / "message.eml"
    eml.write_bytes(data)
    files.append(eml)
    return tuple(files)
