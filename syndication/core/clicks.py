"""Click counting through our own redirect: tokens, link rewriting, the scanner rules (pure).

A list with ``count_clicks = true`` mails each article link as ``<base_url>/r/<link>.<copy>``
(issue 31):

* ``<link>`` names the digest, the article (its store id) and the link's position in the
  digest, signed with the service key (:func:`link_token`). It names no reader. The
  redirect's target is read from the store by these ids, never from the token, so the
  redirect cannot send anyone off-site (no open redirect).
* ``<copy>`` is a per-copy value: 6 random bytes and the second the copy was built for
  sending, signed with the digest's id (:func:`copy_token`). It is random, not derived
  from the subscriber, and never written anywhere: the serving process keeps it in memory
  for :data:`BURST_SECONDS` to see whether one copy clicks many links at once, then drops
  it. Nothing can map it back to a person (the send loop does not record it either).

:class:`ClickTally` classifies each request as a reader's click or a scanner's request and
adds them up per (digest, article); the rules and why are in the README ("Click
counting"). Only the sums leave it.
"""

from __future__ import annotations

import html
import re
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syndication.core.placeholders import RenderedDigest, placeholder
from syndication.core.signing import b64, sign, signature_matches, unb64

LINK_MAC = 8
COPY_MAC = 6
NONCE = 6
_LINK = struct.Struct(">IIH")  # digest id, article id, position
_COPY_TIME = struct.Struct(">I")
COPY_PLACEHOLDER = placeholder("COPY")

# Requests this soon after the copy was sent are a gateway's scan, not a reader: Safe
# Links, Mimecast and Proofpoint fetch the links while the message passes through them,
# before it is in the inbox; a reader must be notified, open it and choose a story first.
EARLY = timedelta(seconds=15)
# BURST_LINKS different links of one copy within BURST_SECONDS: a program walking the
# message (a sandbox "detonation" clicks every link within seconds); a reader opens one
# story, reads, comes back. A digest with fewer links than this is judged by the other rules.
BURST_LINKS = 3
BURST_SECONDS = 3.0
# User agents that only link scanners send (substrings, case-insensitive): Microsoft's
# Safe Links time-of-click check ("Microsoft Office", "ms-office", "SafeLinks",
# "Microsoft-URLAnalyzer"), the Mimecast, Proofpoint and Barracuda gateways, and Gmail's
# image proxy (which fetches on the reader's behalf, never at a reader's click).
SCANNER_AGENTS = (
    "microsoft office",
    "ms-office",
    "safelinks",
    "microsoft-urlanalyzer",
    "mimecast",
    "proofpoint",
    "barracuda",
    "googleimageproxy",
)

READER = "reader"
SCANNER = "scanner"
KINDS = (READER, SCANNER)


class ClickTokenError(ValueError):
    """The token is malformed or its signature does not match."""


@dataclass(frozen=True)
class LinkClaims:
    digest_id: int
    article_id: int
    position: int


@dataclass(frozen=True)
class CopyClaims:
    nonce: bytes
    sent_at: int  # seconds since the epoch


def link_token(secret: str, digest_id: int, article_id: int, position: int) -> str:
    """The signed, compact name of one link of one digest (24 characters)."""
    payload = _LINK.pack(digest_id, article_id, position)
    return b64(payload + sign(secret, "click:" + payload.hex(), LINK_MAC))


def read_link(token: str) -> tuple[LinkClaims | None, bool]:
    """What ``token`` names, and whether that was readable at all: ``(claims, readable)``;
    the signature is checked by :func:`check_link`. Claims are ``None`` when unreadable."""
    data = _link_bytes(token)
    if data is None:
        return None, False
    return LinkClaims(*_LINK.unpack(data[: _LINK.size])), True


def _link_bytes(token: str) -> bytes | None:
    try:
        data = unb64(token)
    except ValueError:
        return None
    return data if len(data) == _LINK.size + LINK_MAC else None


def check_link(secret: str, token: str) -> LinkClaims:
    """The claims of a token we signed; :class:`ClickTokenError` for anything else."""
    data = _link_bytes(token)
    if data is None:
        raise ClickTokenError("not a click token")
    payload, mac = data[: _LINK.size], data[_LINK.size :]
    if not signature_matches(secret, "click:" + payload.hex(), mac):
        raise ClickTokenError("bad signature")
    return LinkClaims(*_LINK.unpack(payload))


def copy_token(secret: str, digest_id: int, sent_at: datetime, nonce: bytes | None = None) -> str:
    """A fresh per-copy value for one message of ``digest_id`` built at ``sent_at``."""
    nonce = nonce if nonce is not None else secrets.token_bytes(NONCE)
    body = nonce + _COPY_TIME.pack(int(sent_at.timestamp()))
    return b64(body + sign(secret, f"copy:{digest_id}:{body.hex()}", COPY_MAC))


def check_copy(secret: str, digest_id: int, token: str) -> CopyClaims | None:
    """The copy value's claims, or ``None`` when absent, malformed or not ours."""
    try:
        data = unb64(token)
    except ValueError:
        return None
    if len(data) != NONCE + _COPY_TIME.size + COPY_MAC:
        return None
    body, mac = data[:-COPY_MAC], data[-COPY_MAC:]
    if not signature_matches(secret, f"copy:{digest_id}:{body.hex()}", mac):
        return None
    return CopyClaims(body[:NONCE], _COPY_TIME.unpack(body[NONCE:])[0])


@dataclass(frozen=True)
class DigestLink:
    """One article link of a digest as it was mailed: its position, the article's store
    id and the URL the rendered digest carries (what :func:`rewrite` looks for)."""

    position: int
    article_id: int
    url: str


_HREF_RE = re.compile(r'href="([^"]*)"')


def rewrite(
    rendered: RenderedDigest, links: Sequence[DigestLink], base_url: str, tokens: Sequence[str]
) -> RenderedDigest:
    """``rendered`` with each article link pointing at ``<base_url>/r/<token>.<copy>``.

    ``tokens[i]`` is :func:`link_token` of ``links[i]``; the copy part is the ``COPY``
    placeholder, filled per recipient. In the HTML every ``href`` whose value is a link's
    URL is replaced; in the text part every line that is exactly a link's URL (the
    template puts each article URL on a line of its own). Other links (the web view,
    unsubscribe, preferences) stay as they are. Where two articles share a URL, the
    first position wins.
    """
    targets: dict[str, str] = {}
    for link, token in zip(links, tokens, strict=True):
        targets.setdefault(link.url, f"{base_url}/r/{token}.{COPY_PLACEHOLDER}")

    def href(match: re.Match[str]) -> str:
        target = targets.get(html.unescape(match.group(1)))
        return match.group(0) if target is None else f'href="{target}"'

    new_html = _HREF_RE.sub(href, rendered.html)
    lines = [targets.get(line, line) for line in rendered.text.split("\n")]
    return RenderedDigest(rendered.subject, rendered.preheader, new_html, "\n".join(lines))


def scanner_agent(user_agent: str) -> bool:
    """Whether ``user_agent`` is one only a link scanner sends (:data:`SCANNER_AGENTS`)."""
    agent = user_agent.lower()
    return any(name in agent for name in SCANNER_AGENTS)


@dataclass
class _Pending:
    key: tuple[int, int]
    at: float


@dataclass
class _Copy:
    """What the tally remembers of one copy, for :data:`BURST_SECONDS` at most: when each
    of its links was last requested, its clicks still pending, whether it burst."""

    seen: dict[int, float] = field(default_factory=dict)  # position -> time
    pending: list[_Pending] = field(default_factory=list)
    burst: bool = False
    last: float = 0.0


Key = tuple[int, int]  # (digest id, article id)


class ClickTally:
    """Counts requests per (digest, article) as readers' clicks or scanners' requests.

    Not thread-safe (the caller holds a lock). ``at`` is seconds on any monotonic scale;
    ``now_epoch`` the wall clock's seconds (compared with the copy's send time). A GET
    that no rule marks at once waits :data:`BURST_SECONDS` (pending, with its copy) so
    that a burst of the same copy that follows can still turn it into a scanner's;
    :meth:`settled` hands over what is decided and forgets it. Work per request is
    bounded by the digest's link count, never by the traffic.
    """

    def __init__(self) -> None:
        self.counts: dict[Key, list[int]] = {}
        self._copies: dict[bytes, _Copy] = {}

    def record(
        self,
        digest_id: int,
        article_id: int,
        position: int,
        *,
        head: bool,
        user_agent: str,
        copy: CopyClaims | None,
        at: float,
        now_epoch: float,
    ) -> str:
        """Count one request; returns the kind decided now (a pending GET says reader)."""
        key = (digest_id, article_id)
        scanner = head or scanner_agent(user_agent)
        if copy is None:
            self._add(key, SCANNER if scanner else READER)
            return SCANNER if scanner else READER
        if now_epoch - copy.sent_at < EARLY.total_seconds():
            scanner = True
        state = self._copies.setdefault(copy.nonce, _Copy())
        state.last = at
        state.seen[position] = at
        if len(state.seen) >= BURST_LINKS:
            state.seen = {p: t for p, t in state.seen.items() if at - t <= BURST_SECONDS}
            state.burst = state.burst or len(state.seen) >= BURST_LINKS
        if state.burst:
            scanner = True
            for pending in state.pending:
                self._add(pending.key, SCANNER)
            state.pending = []
        if scanner:
            self._add(key, SCANNER)
            return SCANNER
        state.pending.append(_Pending(key, at))
        return READER

    def _add(self, key: Key, kind: str) -> None:
        row = self.counts.get(key)
        if row is None:
            row = self.counts[key] = [0, 0]
        row[0 if kind == READER else 1] += 1

    def settled(self, at: float, everything: bool = False) -> dict[Key, tuple[int, int]]:
        """The counts decided by ``at`` as ``{(digest, article): (readers, scanners)}``,
        taken out of the tally. Pending clicks older than :data:`BURST_SECONDS` (with
        ``everything``, at shutdown: all) become readers' clicks; copies not seen for that
        long are forgotten."""
        for nonce, state in list(self._copies.items()):
            keep: list[_Pending] = []
            for pending in state.pending:
                if everything or at - pending.at >= BURST_SECONDS:
                    self._add(pending.key, READER)
                else:
                    keep.append(pending)
            state.pending = keep
            if not keep and at - state.last >= BURST_SECONDS:
                del self._copies[nonce]  # the copy value is forgotten
        out = {key: (row[0], row[1]) for key, row in self.counts.items() if row[0] or row[1]}
        self.counts = {}
        return out

    def restore(self, counts: dict[Key, tuple[int, int]]) -> None:
        """Put back counts a failed flush could not write (they go with the next one)."""
        for key, (readers, scanners) in counts.items():
            row = self.counts.setdefault(key, [0, 0])
            row[0] += readers
            row[1] += scanners
