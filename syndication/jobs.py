"""The units of work that the CLI and the scheduler both call.

Each function takes the settings and an engine, owns its transactions, and returns plain
data describing what it did; printing is the caller's business. No business logic lives in
the CLI or in ``scheduler.py``: they call these.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from syndication import db, digest, mail, rendering, store
from syndication.console import progress
from syndication.digest import Period
from syndication.errors import EmptyDigestError, InputError, NotFoundError
from syndication.importer import ImportReport, Rejection, import_articles
from syndication.settings import Settings


def utc_now() -> datetime:
    """The one clock of the edges; the core takes ``now`` as an argument instead."""
    return datetime.now(UTC)


def open_engine(settings: Settings) -> Engine:
    return db.make_engine(settings.database.url)


def init_store(settings: Settings, engine: Engine) -> int:
    """Create or upgrade the schema and sync topics from the config; safe to repeat.

    Returns how many topic rows were added or changed.
    """
    db.upgrade(engine)
    with db.write_session(engine) as session:
        return store.sync_topics(session, settings.topics)


def import_articles_file(
    settings: Settings,
    engine: Engine,
    path: str,
    on_rejection: Callable[[Rejection], None],
    stdin: IO[bytes] | None = None,
) -> ImportReport:
    """Import a JSON Lines file (``-`` for standard input) with progress on a terminal."""
    db.require_current_schema(engine)
    known = {t.slug for t in settings.topics}
    with _open_lines(path, stdin) as (lines, total_bytes):
        with progress(f"importing {path}", total_bytes, unit="bytes") as bar:
            counter = _ByteCounter(lines)
            return import_articles(
                engine,
                counter,
                source="<stdin>" if path == "-" else path,
                known_topics=known,
                now=utc_now,
                on_rejection=on_rejection,
                on_progress=lambda n: bar.advance_to(counter.bytes, status=f"{n:,} lines"),
            )


class _ByteCounter:
    """Iterates raw lines while counting their size, for a byte-based progress bar."""

    def __init__(self, lines: IO[bytes]) -> None:
        self._lines = lines
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self._lines:
            self.bytes += len(line)
            yield line


@contextmanager
def _open_lines(path: str, stdin: IO[bytes] | None) -> Iterator[tuple[IO[bytes], int | None]]:
    # Bytes, not text: a line that is not UTF-8 is one rejected line, not a failed import.
    if path == "-":
        yield (stdin or sys.stdin.buffer), None
        return
    file = Path(path)
    try:
        handle = file.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        yield handle, file.stat().st_size


def retract_article(settings: Settings, engine: Engine, source_id: str, reason: str) -> bool:
    """Retract one article; False when it was already retracted for the same reason."""
    db.require_current_schema(engine)
    with db.write_session(engine) as session:
        return store.retract_article(session, source_id, reason, utc_now())


def store_status(engine: Engine) -> store.StoreSummary:
    db.require_current_schema(engine)
    with db.read_session(engine) as session:
        return store.store_summary(session)


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
    try:
        mailing_list = settings.mailing_list(list_slug)
    except KeyError:
        known = ", ".join(ml.slug for ml in settings.lists) or "none"
        raise NotFoundError(f"list {list_slug!r}: not in the settings (known: {known})") from None
    to = to or SAMPLE_RECIPIENT
    recipient = _sample_recipient(settings, to)
    tz = settings.site.tz
    if period_date is None:
        period = digest.latest_complete_period(mailing_list.schedule, tz, now())
    else:
        end_of_day = datetime.combine(period_date + timedelta(days=1), time(), tz)
        moment = end_of_day - timedelta(microseconds=1)
        period = digest.period_containing(mailing_list.schedule, tz, moment)
    with db.read_session(engine) as session:
        articles = store.load_articles_published_between(
            session, mailing_list.topics, period.start, period.end
        )
    content = digest.build_digest(settings, mailing_list, period, articles)
    if content is None:
        start, end = period.start.astimezone(tz), period.end.astimezone(tz)
        raise EmptyDigestError(
            f"{list_slug}: no articles published from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} {end:%Z} (period {period.key(tz)}); nothing to preview"
        )
    rendered = rendering.render_digest(settings, content)
    template = mail.digest_template(settings, mailing_list, content.period_key, rendered, now())
    try:
        data = mail.personalise(template, recipient)
    except mail.MailError as exc:
        raise InputError(f"--to {to!r}: {exc}") from None
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    files = []
    out_dir.mkdir(parents=True, exist_ok=True)
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
