"""Digest units of work: preview one for a sample reader, compile the due ones."""

from __future__ import annotations

import logging
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
from syndication.errors import EmptyDigestError, InputError, SyndicationError
from syndication.render import email as rendering
from syndication.services.delivery import (
    CompileReport,
    compile_digest,
)
from syndication.settings import Settings
from syndication.store import article_queries
from syndication.store import database as db

log = logging.getLogger(__name__)


# -- digests ------------------------------------------------------------------------------

SAMPLE_RECIPIENT = "Sample Reader <sample.reader@example.org>"
# Real signed tokens come with subscribers; a preview's links say plainly what they are.
SAMPLE_TOKEN = "SAMPLE-TOKEN-preview-only"


@dataclass(frozen=True)
class PreviewReport:
    """What ``digest preview`` wrote: the digest's numbers and the files."""

    list_slug: str
    period_key: str
    period: Period
    subject: str
    article_count: int
    shown: int
    html_bytes: int
    message_bytes: int
    files: tuple[Path, ...]


def preview_digest(
    settings: Settings,
    engine: Engine,
    list_slug: str,
    period_date: date | None,
    to: str | None,
    out_dir: Path,
    now: Callable[[], datetime] = utc_now,
) -> PreviewReport:
    """Render one list's digest for a sample recipient into ``out_dir``.

    The period is the one containing the end of ``period_date`` in site time (so a
    period's own key names it), or else the most recent complete period. Writes
    ``digest.html`` and ``digest.txt`` (the parts as a mail client shows them) and
    ``message.eml`` (the bytes a subscriber would get). Raises :class:`NotFoundError` for an
    unknown list, :class:`InputError` for a bad ``to``, :class:`EmptyDigestError` when the
    period has no articles.
    """
    db.require_current_schema(engine)
    the_list = settings.mailing_list(list_slug)
    to = to or SAMPLE_RECIPIENT
    recipient = _sample_recipient(settings, to)
    tz = settings.site.tz
    if period_date is None:
        period = digest.latest_complete_period(the_list.schedule, tz, now())
    else:
        period = digest.period_for_date(the_list.schedule, tz, period_date)
    with db.read_session(engine) as session:
        articles = article_queries.articles_published_between(
            session, the_list.topics, period.start, period.end
        )
    content = digest.build_digest(settings, the_list, period, articles)
    if content is None:
        start, end = period.start.astimezone(tz), period.end.astimezone(tz)
        raise EmptyDigestError(
            f"{list_slug}: no articles published from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} {end:%Z} (period {period.key(tz)}); nothing to preview"
        )
    rendered = rendering.render_digest(settings, content)
    template = mail.digest_template(settings, the_list, content.period_key, rendered, now())
    try:
        data = mail.personalise(template, recipient)
    except mail.MailError as exc:
        raise InputError(f"--to {to!r}: {exc}") from None
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
    return PreviewReport(
        list_slug=list_slug,
        period_key=content.period_key,
        period=period,
        subject=content.subject,
        article_count=content.article_count,
        shown=content.shown,
        html_bytes=len(rendered.html.encode()),
        message_bytes=len(data),
        files=tuple(files),
    )


def _sample_recipient(settings: Settings, to: str) -> mail.Recipient:
    name, address = parseaddr(to)
    base = settings.site.base_url
    return mail.Recipient(
        address=address,
        name=name,
        unsubscribe_url=f"{base}/unsubscribe/{SAMPLE_TOKEN}",
        preferences_url=f"{base}/preferences/{SAMPLE_TOKEN}",
    )


def compile_digests(
    settings: Settings, engine: Engine, list_slug: str | None, period_date: date | None
) -> list[CompileReport]:
    """Compile one list's digest, or every list's, for the given or latest complete period."""
    slugs = [list_slug] if list_slug else [ml.slug for ml in settings.lists]
    now = utc_now()
    return [compile_digest(settings, engine, slug, period_date, now) for slug in slugs]
