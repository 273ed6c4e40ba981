"""The bounce intake's SMTP/LMTP server (aiosmtpd): the MTA hands bounces to it.

It is not an open door: ``RCPT TO`` is accepted only for the bounce address and its VERP
forms (anything else gets 550), and a message over the size limit gets 552 (RFC 5321
§4.5.3.1.7). The report is stored durably *before* the 250 (a report acknowledged and
then lost to a crash is a lost unsubscribe): the MTA keeps and retries anything we did
not acknowledge. If the store fails, the answer is 451 and the MTA tries again later.

LMTP (RFC 2033) answers DATA once per accepted recipient; the report is stored once.

The store may decline a report (it returns None): a report about nobody of ours from a
peer over its allowance (``core/intake_limits.py``). It is answered 250 all the same,
saying it was not kept: refusing it would only make the peer retry or bounce it back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from syndication.core.verp import is_bounce_address

log = logging.getLogger("syndication.bounces.intake")

# (data, envelope sender, envelope recipients, peer address) -> intake id, or None if
# the store declined to keep it.
Store = Callable[[bytes, str, list[str], str], int | None]


class IntakeHandler:
    """aiosmtpd handler: checks recipients, stores the message, then says 250."""

    def __init__(
        self, base_address: str, store: Store, on_stored: Callable[[int], None], *, lmtp: bool
    ) -> None:
        self.base_address = base_address
        self.store = store
        self.on_stored = on_stored
        self.lmtp = lmtp

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if not is_bounce_address(self.base_address, address):
            return (
                f"550 5.1.1 <{address}>: this server accepts bounces for {self.base_address} only"
            )
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        recipients = list(envelope.rcpt_tos)
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        loop = asyncio.get_running_loop()
        try:
            intake_id = await loop.run_in_executor(
                None, self.store, bytes(data), str(envelope.mail_from or ""), recipients, peer
            )
        except Exception:  # noqa: BLE001 - the MTA must retry, not lose the report
            log.exception("cannot store a bounce report; answering 451 so the MTA retries")
            return "451 4.3.0 cannot store the report now, try again later"
        if intake_id is None:
            reply = "250 2.0.0 received, not kept: it names nothing of ours"
        else:
            self.on_stored(intake_id)
            reply = f"250 2.0.0 stored as report {intake_id}"
        if self.lmtp:
            # RFC 2033 §4.2: one reply per recipient that RCPT accepted.
            return "\r\n".join([reply] * max(1, len(recipients)))
        return reply


class IntakeServer:
    """Runs the handler on ``host:port`` in an asyncio loop until ``stop`` is set."""

    def __init__(
        self,
        base_address: str,
        store: Store,
        on_stored: Callable[[int], None],
        *,
        lmtp: bool,
        max_bytes: int,
        hostname: str,
    ) -> None:
        self.handler = IntakeHandler(base_address, store, on_stored, lmtp=lmtp)
        self.lmtp = lmtp
        self.max_bytes = max_bytes
        self.hostname = hostname

    def run(
        self,
        host: str,
        port: int,
        stop: threading.Event,
        on_ready: Callable[[str, int], None] = lambda _h, _p: None,
    ) -> None:
        asyncio.run(self._serve(host, port, stop, on_ready))

    async def _serve(
        self, host: str, port: int, stop: threading.Event, on_ready: Callable[[str, int], None]
    ) -> None:
        loop = asyncio.get_running_loop()
        protocol = LMTP if self.lmtp else SMTP

        def factory() -> SMTP:
            return protocol(
                self.handler,
                data_size_limit=self.max_bytes,
                hostname=self.hostname,
                ident="syndication bounce intake",
                enable_SMTPUTF8=True,
            )

        server = await loop.create_server(factory, host=host, port=port)
        bound = server.sockets[0].getsockname()
        done = asyncio.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        watcher = threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(done.set)), daemon=True
        )
        watcher.start()
        on_ready(str(bound[0]), int(bound[1]))
        try:
            await done.wait()
        finally:
            server.close()
            await server.wait_closed()
