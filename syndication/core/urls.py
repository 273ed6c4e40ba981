"""Which URLs may appear in what we publish (pure).

Every URL we write into a feed, a page or a mail goes through :func:`safe_url`, after any
joining with a base URL, so that what a reader's software finally follows is http(s) or
mailto (images: http(s) only), however the newsroom or a visitor spelled it.

Why trimming matters: HTML sanitisers decide a URL's scheme on the raw attribute. A
``U+00A0``, ``U+3000`` or ``U+2028`` before ``javascript:`` makes it look relative (no
scheme), so it passes; our own ``str.strip`` (which trims every Unicode white space) and
``urljoin`` then turned it into a live ``javascript:`` link. Browsers also drop ASCII
tab and newline anywhere in a URL and C0 controls and spaces at its ends (WHATWG URL
standard, "basic URL parser"), so ``java\\tscript:`` is ``javascript:`` to them. The rule
here is therefore applied to the URL exactly as it will be written, with every such
character already removed.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})

# Removed anywhere: what the WHATWG parser removes anywhere (tab, LF, CR), plus the other
# C0 controls and DEL, which no URL we publish needs.
_INVISIBLE = re.compile("[\x00-\x1f\x7f]")


def trim(value: str) -> str:
    """``value`` without control characters and without white space of any kind (Unicode
    ``str.isspace``: U+00A0, U+3000, U+2028 …) or format characters at either end."""
    value = _INVISIBLE.sub("", value)
    start, end = 0, len(value)
    while start < end and _blank(value[start]):
        start += 1
    while end > start and _blank(value[end - 1]):
        end -= 1
    return value[start:end]


def _blank(ch: str) -> bool:
    # White space, and zero-width format characters (U+200B, U+FEFF …) that trim invisibly.
    return ch.isspace() or ch in "\u200b\u200c\u200d\u2060\ufeff"


def _percent(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode())


# What str.isspace() calls white space: sre's \s on str patterns is the same predicate
# (Py_UNICODE_ISSPACE), and a regex scan costs a feed build far less than a loop over
# every character of every URL (issue 16).
_SPACE = re.compile(r"\s")


def _percent_match(match: re.Match[str]) -> str:
    return _percent(match.group())


# An absolute http(s) URL made only of printable ASCII that needs no encoding, with a host
# of letters, digits, dots and hyphens (no user info, no IPv6 literal, no port quirks).
_PLAIN_HTTP = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9\-._~%!$&'()*+,;=:@/?#]*)?"
)


def scheme_of(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" for a relative reference)."""
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def safe_url(value: str, base: str = "", schemes: frozenset[str] = LINK_SCHEMES) -> str | None:
    """``value`` trimmed and resolved against ``base``, or ``None`` unless the result is an
    absolute URL with one of ``schemes`` (and, for http(s), a host).

    The result is what must be written: it is checked as it stands, so trimming or joining
    cannot turn it into something else afterwards.
    """
    if not base and _PLAIN_HTTP.fullmatch(value):
        # The usual case, an absolute http(s) URL of plain characters, passes every step
        # of _checked unchanged (nothing to trim or encode, a scheme and a host): one scan.
        return value if value[: value.index(":")] in schemes else None
    return _checked(value, base, schemes)


def _checked(value: str, base: str, schemes: frozenset[str]) -> str | None:
    # Inner white space is kept as its percent-encoding (what browsers send for it), so
    # "/a b.jpg" still works while "java\u00a0script:" can never become a scheme.
    url = _SPACE.sub(_percent_match, trim(value))
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    if url != trim(url) or _SPACE.search(url):
        return None  # unreachable after the encoding above; kept as the stated contract
    scheme = scheme_of(url)
    if scheme not in schemes:
        return None
    if scheme in ("http", "https"):
        try:
            if not urlsplit(url).hostname:
                return None
        except ValueError:
            return None
    return url
