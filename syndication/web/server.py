"""Running the web app under uvicorn with limits on what one client can hold.

uvicorn times out idle keep-alive connections, but not a request whose headers never
finish: 800 half-sent requests sat open for as long as their senders liked (issue 15
item 6, "slowloris"). :class:`GuardedH11Protocol` gives every request
``header_timeout`` seconds from its connection (or from the end of the previous
response) to deliver its headers, and refuses connections past ``max_connections`` at
once; :class:`~syndication.websecurity.BodyDeadline` bounds the body in the app.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from syndication.settings import WebSettings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a connection cap."""

    header_timeout = 10.0
    max_connections = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._answered: object = None

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
        super().data_received(data)
        if self.cycle is not None and self.cycle is not self._answered:
            # The headers are in (uvicorn made the request cycle): the app takes over.
            self._answered = self.cycle
            self._disarm()

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._idle() and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(web: WebSettings) -> type[GuardedH11Protocol]:
    """The protocol class with ``web``'s limits (uvicorn takes a class, not an instance)."""
    return type(
        "ConfiguredH11Protocol",
        (GuardedH11Protocol,),
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
