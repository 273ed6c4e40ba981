"""What every transport shares: the envelope, the outcomes, the protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient. ``folder`` and ``name`` place a file transport's copy."""

    sender: str
    recipient: str
    message: bytes
    folder: tuple[str, ...] = ()
    name: str = "message"


class TemporaryFailure(Exception):
    """Retry later. ``slow_down`` is set for 421 (the server asks us to back off)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.slow_down = code == 421


class ServerUnavailable(TemporaryFailure):
    """No connection to the server could be made; no message was attempted."""


class PermanentFailure(Exception):
    """The server refused this recipient or message for good (5xx)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None: ...

    def close(self) -> None: ...
