"""Every e-mail template as the message a reader receives, without a database (issue 26).

:func:`messages` renders each template the service sends (the digest of each list, the
double opt-in confirmation), in English and in Korean, and the digest of a list that
counts clicks (its article links through ``/r/``), with the demo settings, builds each
MIME message and personalises it for one reader with real signed URLs, exactly as the
sender does. The
tests that judge mail as readers' software does (SpamAssassin, Chromium) take them from
here.
"""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

from syndication.core import clicks, mime
from syndication.core.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, make_token
from syndication.render.email import render_confirmation, render_digest
from syndication.settings import LanguageSettings, Settings
from tests.support.builders import CITY, small_digest

SENT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SECRET = "test-secret-key-not-for-production"


def _url(settings: Settings, purpose: str, path: str, list_slug: str = "") -> str:
    token = make_token(
        SECRET, purpose, 4106, SENT, list_slug, "r-4106" if purpose == CONFIRM else ""
    )
    return f"{settings.site.base_url}/{path}/{token}"


NAMES = ("digest", "confirmation", "digest-ko", "confirmation-ko", "digest-counted")


def messages(settings: Settings | None = None) -> dict[str, bytes]:
    """The raw message of each e-mail template, by name (:data:`NAMES`)."""
    settings = settings or Settings()
    korean = replace(settings, languages=LanguageSettings(available=("en", "ko")))
    recipient = mime.Recipient(
        address="min-ji.kim@example.org",
        name="김민지",
        unsubscribe_url=_url(settings, UNSUBSCRIBE, "unsubscribe", CITY.slug),
        preferences_url=_url(settings, PREFERENCES, "preferences"),
        confirm_url=_url(settings, CONFIRM, "confirm"),
    )
    digest = mime.digest_template(
        settings, CITY, "2026-11-16", render_digest(settings, small_digest()), SENT
    )
    confirmation = mime.confirmation_template(
        settings, render_confirmation(settings, settings.lists), SENT
    )
    digest_ko = mime.digest_template(
        korean,
        CITY,
        "2026-11-16",
        render_digest(korean, replace(small_digest(), language="ko")),
        SENT,
    )
    confirmation_ko = mime.confirmation_template(
        korean, render_confirmation(korean, korean.lists, language="ko"), SENT
    )
    # What a list with count_clicks = true mails: article links to /r/<link>.<copy>.
    rendered = render_digest(settings, small_digest())
    items = [item for section in small_digest().sections for item in section.items]
    links = [clicks.DigestLink(n, 4100 + n, item.url) for n, item in enumerate(items)]
    tokens = [clicks.link_token(SECRET, 17, link.article_id, link.position) for link in links]
    counted = mime.digest_template(
        settings,
        CITY,
        "2026-11-16",
        clicks.rewrite(rendered, links, settings.site.base_url, tokens),
        SENT,
    )
    copy = clicks.copy_token(SECRET, 17, SENT, nonce=bytes(6))
    return {
        "digest": mime.personalise(digest, recipient),
        "confirmation": mime.personalise(confirmation, recipient),
        "digest-ko": mime.personalise(digest_ko, recipient),
        "confirmation-ko": mime.personalise(confirmation_ko, recipient),
        "digest-counted": mime.personalise(counted, replace(recipient, copy=copy)),
    }


def html_part(raw: bytes) -> str:
    """The HTML alternative of a message."""
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    content: str = body.get_content()
    return content
