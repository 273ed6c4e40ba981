"""A real SMTP server on loopback (aiosmtpd) that answers per recipient as told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SmtpHandler:
    """aiosmtpd handler that records messages and answers per recipient as told.

    ``rcpt_replies[address]`` is the reply to RCPT TO for that address (e.g. ``"550 5.1.1
    no such user"`` or ``"451 4.3.0 try later"``); ``drop`` is a set of addresses whose DATA
    makes the server drop the connection without answering; ``delay`` seconds pass before
    each DATA is answered (a slow server).
    """

    def __init__(self) -> None:
        import threading

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.drop: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        if self.drop.intersection(envelope.rcpt_tos):
            server.transport.close()
            return "421 gone"
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for _, rcpts, _ in self.messages for rcpt in rcpts]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler
