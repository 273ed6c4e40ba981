"""The sample reader of digest previews, console previews and test sends."""

from __future__ import annotations

from syndication.core import mime as mail
from syndication.settings import Settings

SAMPLE_RECIPIENT = "Sample Reader <sample.reader@example.org>"
# Real signed tokens come with subscribers; a preview's links say plainly what they are.
SAMPLE_TOKEN = "SAMPLE-TOKEN-preview-only"


def sample_recipient(settings: Settings, address: str, name: str) -> mail.Recipient:
    """A recipient whose unsubscribe and preferences links carry the sample token, which
    unsubscribes nobody."""
    base = settings.site.base_url
    return mail.Recipient(
        address=address,
        name=name,
        unsubscribe_url=f"{base}/unsubscribe/{SAMPLE_TOKEN}",
        preferences_url=f"{base}/preferences/{SAMPLE_TOKEN}",
    )
