"""What the bounce intake keeps of reports that are about nobody of ours (pure).

A report that names no VERP token and no Message-ID of ours changes nobody when processed,
but the intake would still store it, compressed, until ``bounces.retention_days`` prunes
it: anyone who can reach the intake could fill the disk at ``max_message_bytes`` a
message. So such "strangers' reports" are kept only within two bounds:

* per sending peer (the connecting IP address): at most ``per_peer`` in any sliding
  ``window`` (a misconfigured or hostile host cannot take the whole allowance);
* in total: at most ``max_stored`` strangers' reports held at once (queued or kept after
  processing, until pruned), whoever sent them.

Reports of ours (a valid VERP token, a Message-ID we sent) are never limited: they are
what the intake is for. What is over a bound is counted and dropped (the caller logs it);
nothing about a reader of ours is lost, since such a report would have been ignored.

:class:`StrangerLimits` holds the per-peer arrival times in memory, pruned as the window
slides and bounded in the number of peers it remembers; ``now`` is passed in.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_PEERS = 10_000  # peers remembered at once; the least recently seen is forgotten first


@dataclass
class StrangerLimits:
    """Admission of strangers' reports: ``per_peer`` per ``window``, ``max_stored`` held.

    ``dropped`` counts the reports refused since start, by bound (``per-peer``, ``total``).
    """

    per_peer: int
    window: timedelta
    max_stored: int
    dropped: dict[str, int] = field(default_factory=lambda: {"per-peer": 0, "total": 0})
    _seen: OrderedDict[str, deque[datetime]] = field(default_factory=OrderedDict)

    def admit(self, peer: str, stored: int, now: datetime) -> str | None:
        """Whether one more stranger's report from ``peer`` may be stored, ``stored`` being
        how many strangers' reports are held now: None if it may (and it is counted
        against ``peer``), else the bound it is over, in words for the log line."""
        if stored >= self.max_stored:
            self.dropped["total"] += 1
            return f"{stored} unmatched reports already stored (limit {self.max_stored})"
        times = self._seen.pop(peer, None) or deque()
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()
        self._seen[peer] = times  # now the most recently seen
        if len(times) >= self.per_peer:
            self.dropped["per-peer"] += 1
            minutes = int(self.window.total_seconds() // 60)
            return (
                f"{len(times)} unmatched reports from {peer} in the last {minutes} minutes"
                f" (limit {self.per_peer})"
            )
        times.append(now)
        while len(self._seen) > MAX_PEERS:
            self._seen.popitem(last=False)
        return None
