"""What the public digest archive shows: a copy with no reader's placeholders left."""

from __future__ import annotations

from syndication.store import digests


def test_public_copy_leaves_no_placeholder() -> None:
    html = "Hi %%SYNDICATION:NAME%% <a href='%%SYNDICATION:PREFERENCES_URL%%'>p</a> "
    html += "%%SYNDICATION:NEW%%"
    assert digests.public_copy(html, "https://n.example.org") == (
        "Hi there <a href='https://n.example.org/'>p</a> "
    )
