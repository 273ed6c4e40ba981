"""A retracted article's place in a digest that went out before the retraction.

The public archive shows a digest as the stored e-mail. An article retracted after its
digest was compiled must not stay readable there (issue 28): its block (the ``<div>`` of
the digest template that links to it, a full item or a brief) is replaced by a notice
that says it was retracted and why. Pure: the HTML and the articles in, the HTML out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import escape

# Never on the archive: a retracted article's block with no reason given says this.
NO_REASON = "The newsroom withdrew this article."


def link_to(url: str) -> str:
    """How a digest's HTML links to an article at ``url``: the attribute as the digest
    template writes it (``%%`` defused as in :mod:`syndication.core.digests`, then
    HTML-escaped)."""
    return f'href="{escape(url.replace("%%", "%25%25"))}"'


def _block(url: str) -> re.Pattern[str]:
    """The innermost ``<div>`` whose content links to ``url`` (as the template escaped it).

    Innermost: no other ``<div`` opens or closes between its start and the link, nor
    between the link and its end, so an outer wrapper is never taken for the item."""
    href = re.escape(link_to(url))
    inside = r"(?:(?!<div\b|</div>).)*?"
    return re.compile(rf"<div\b[^>]*>{inside}{href}(?:(?!<div\b|</div>).)*</div>", re.S)


def notice(reason: str) -> str:
    """The block that stands in a retracted article's place (escaped HTML)."""
    said = str(escape(reason.strip() or NO_REASON))
    return (
        '<div class="item retracted" style="border-left:4px solid #9b1c1c;padding-left:12px">'
        f"<p><strong>Retracted.</strong> This article was retracted after the digest was "
        f"sent: {said}</p></div>"
    )


def with_notices(html: str, retracted: Iterable[tuple[str, str]]) -> str:
    """``html`` with the block of each retracted ``(url, reason)`` it links to replaced by
    :func:`notice`; an article it does not link to (another list's, or a "more" count)
    changes nothing."""
    for url, reason in retracted:
        if not url:
            continue
        block = notice(reason)
        html = _block(url).sub(lambda _m, b=block: b, html)  # type: ignore[misc]
    return html
