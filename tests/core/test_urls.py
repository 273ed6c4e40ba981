"""The URL policy: what may appear as a link or an image in our output (pure)."""

from __future__ import annotations

import pytest

from syndication.core import urls
from syndication.core.urls import IMAGE_SCHEMES, LINK_SCHEMES, safe_url, trim

BASE = "https://news.example.org/articles/a"
# White space str.strip() trims but a sanitiser's scheme check does not see as such.
SPACES = ["\u00a0", "\u3000", "\u2028", "\u2029", "\u1680", "\u200b", "\ufeff", " ", "\t"]


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("scheme", ["javascript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_no_smuggled_scheme_survives_trimming_and_joining(space: str, scheme: str) -> None:
    for value in (space + scheme, space * 3 + scheme + space, scheme.replace(":", space + ":")):
        url = safe_url(value, BASE)
        assert url is None or url.startswith("https://news.example.org/"), (value, url)
        assert url is None or trim(url) == url


def test_tab_and_newline_inside_a_scheme_count_as_nothing() -> None:
    assert safe_url("java\tscript:alert(1)", BASE) is None
    assert safe_url("java\nscript:alert(1)", BASE) is None


def test_good_links_are_resolved_and_kept() -> None:
    assert safe_url("/about", BASE) == "https://news.example.org/about"
    assert safe_url("\u00a0https://x.example.org/a\u3000", BASE) == "https://x.example.org/a"
    assert safe_url("mailto:press@example.org", BASE) == "mailto:press@example.org"
    assert safe_url("/a b.jpg", BASE) == "https://news.example.org/a%20b.jpg"


def test_images_are_http_only() -> None:
    assert safe_url("mailto:press@example.org", BASE, IMAGE_SCHEMES) is None
    assert safe_url("data:image/png;base64,AAAA", BASE, IMAGE_SCHEMES) is None
    assert safe_url("https:///nohost", "", IMAGE_SCHEMES) is None


# URLs near the edge of the fast path (a plain absolute http(s) URL, no base), each with
# and without the variations below: what the fast path returns must be what the full
# check returns.
EDGES = [
    "https://news.example.org/articles/bench-1",
    "http://a.b",
    "https://x.org:8443/a?b=c&d=e#f",
    "https://x.org:/a",
    "https://x.org:123456/a",
    "https://x.org/?",
    "https://x.org/#",
    "https://.",
    "https://-/",
    "https:///nohost",
    "https:x.org/a",
    "HTTPS://x.org/a",
    "https://user@x.org/a",
    "https://[::1]/a",
    "https://x.org/a b",
    "https://x.org/%zz;p=1",
    "ftp://x.org/a",
    "mailto:a@b.org",
    "javascript://x.org/%0aalert(1)",
]
VARIATIONS = ["", " ", "\t", "\u00a0", "\x00", "/", "?q", "#", ":", "'", '"', "<", "\\"]


@pytest.mark.parametrize("schemes", [IMAGE_SCHEMES, LINK_SCHEMES])
def test_the_fast_path_gives_what_the_full_check_gives(schemes: frozenset[str]) -> None:
    for url in EDGES:
        for extra in VARIATIONS:
            for value in (url + extra, extra + url, url.replace("//", "//" + extra, 1)):
                assert safe_url(value, "", schemes) == urls._checked(value, "", schemes), value
