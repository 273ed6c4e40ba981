"""Running the web app under uvicorn with limits on what one client can hold.

uvicorn times out idle keep-alive connections, but not a request whose headers never
finish: 800 half-sent requests sat open for as long as their senders liked (issue 15
item 6, "slowloris"). :class:`GuardedProtocol` gives every request
``header_timeout`` seconds from its connection (or from the end of the previous
response) to deliver its headers, and refuses connections past ``max_connections`` at
once; :class:`~syndication.web.security.BodyDeadline` bounds the body in the app.

It is uvicorn's httptools protocol (llhttp, in C), not its pure-Python h11 one: on the
counted links' benchmark the server spent about half the CPU per request with it (75-85
against 150-180 µs, ``bench/README.md``, "Counted digest links").
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from syndication.settings import WebSettings


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a connection cap."""

    header_timeout = 10.0
    max_connections = 500
    # A request's headers may take this many bytes, as uvicorn's h11 protocol allowed
    # (h11_max_incomplete_event_size); httptools alone would keep reading them.
    max_header_bytes = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._answered: object = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Closed before a byte is read: the cheapest answer to a flood.
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._idle():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        waiting = self._deadline is not None
        super().data_received(data)
        if self.cycle is not None and self.cycle is not self._answered:
            # The headers are in (uvicorn made the request cycle): the app takes over.
            self._answered = self.cycle
            self._disarm()
        elif waiting and self._deadline is not None:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
                self.send_400_response("Request headers too large.")

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._idle() and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(web: WebSettings) -> type[GuardedProtocol]:
    """The protocol class with ``web``'s limits (uvicorn takes a class, not an instance)."""
    return type(
        "ConfiguredProtocol",
        (GuardedProtocol,),
        {"header_timeout": web.header_timeout_seconds, "max_connections": web.max_connections},
    )


def run(app: Any, host: str, port: int, web: WebSettings) -> None:
    """Serve ``app`` on ``host:port`` with ``web``'s limits until interrupted.

    uvicorn's own ``X-Forwarded-For``/``-Proto`` handling is off: it trusts 127.0.0.1 by
    default; :class:`~syndication.web.security.ForwardedClient` trusts only ``[web]
    trusted_proxies``.
    """
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=guarded_protocol(web),
        proxy_headers=False,
        timeout_keep_alive=5,
        # Requests in flight beyond this get a 503 rather than a queue without end.
        limit_concurrency=web.max_connections,
        log_level="warning",
    )
