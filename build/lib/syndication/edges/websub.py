"""The WebSub edge: tell the hub which feeds changed (``hub.mode=publish``).

WebSub (W3C Recommendation, 2018) leaves the publisher-to-hub call to the hub; the de
facto form every public hub accepts is a form-encoded POST of ``hub.mode=publish`` and
``hub.url=<feed URL>``, answered with a 2xx. One POST per URL, because not every hub
accepts several ``hub.url`` values in one request.

A hub that is down must never fail a feed build: :func:`announce` reports the failure as
data and the feeds job retries at its next build (its watermark only moves on success).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

USER_AGENT = "syndication-websub/0.1"


@dataclass(frozen=True)
class Announcement:
    """What the hub said: the URLs it accepted, and the first error (empty when none)."""

    accepted: tuple[str, ...]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def announce(hub: str, urls: Sequence[str], *, timeout: float = 10.0) -> Announcement:
    """POST ``hub.mode=publish`` for each of ``urls``; stops at the first failure."""
    accepted: list[str] = []
    for url in urls:
        body = urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        request = urllib.request.Request(
            hub,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            return Announcement(tuple(accepted), f"{hub}: hub answered {exc.code} for {url}")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Announcement(tuple(accepted), f"{hub}: hub unreachable: {reason}")
        if not 200 <= status < 300:
            return Announcement(tuple(accepted), f"{hub}: hub answered {status} for {url}")
        accepted.append(url)
    return Announcement(tuple(accepted))
