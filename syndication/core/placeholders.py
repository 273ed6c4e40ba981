"""Per-recipient placeholders, and a rendered e-mail that still carries them.

A digest is rendered once per list and period with these markers where each reader's own
values go; :mod:`syndication.core.mime` swaps them per recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The per-recipient values, each as it appears in rendered output. The pattern is
# deliberately unlike anything in HTML, text, URLs or MIME (``%%`` is not a valid
# percent-escape), so it cannot occur by accident.
# COPY: the per-copy value of a click-counting digest's links (core.clicks).
PLACEHOLDER_NAMES = (
    "NAME",
    "ADDRESS",
    "UNSUBSCRIBE_URL",
    "PREFERENCES_URL",
    "CONFIRM_URL",
    "COPY",
)
PLACEHOLDER_RE = re.compile(r"%%SYNDICATION:([A-Z_]+)%%")


def placeholder(name: str) -> str:
    """The marker for per-recipient value ``name`` (one of :data:`PLACEHOLDER_NAMES`)."""
    return f"%%SYNDICATION:{name}%%"


PLACEHOLDERS = {name.lower(): placeholder(name) for name in PLACEHOLDER_NAMES}


@dataclass(frozen=True)
class RenderedDigest:
    """A rendered e-mail: subject, preheader, inlined HTML and plain text, with placeholders."""

    subject: str
    preheader: str
    html: str
    text: str
