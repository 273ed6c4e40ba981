"""Keeps what it is given: the transport for tests of code that only needs *a* transport."""

from __future__ import annotations

from dataclasses import dataclass, field

from syndication.edges.transport.base import Envelope


@dataclass
class MemoryTransport:
    """Keeps what it is given; for tests of code that only needs *a* transport."""

    sent: list[Envelope] = field(default_factory=list)

    def send(self, envelope: Envelope) -> None:
        self.sent.append(envelope)

    def close(self) -> None:
        return None
