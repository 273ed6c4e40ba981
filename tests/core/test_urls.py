"""The URL policy: what may appear as a link or an image in our output (pure)."""

from __future__ import annotations

import pytest

from syndication.core.urls import IMAGE_SCHEMES, safe_url, trim

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
