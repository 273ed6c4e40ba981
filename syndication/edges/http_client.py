"""The HTTP edge the sources job fetches through: conditional GET, limits, clear errors.

One :class:`HttpClient` per source poll. It names us in ``User-Agent`` (RFC 9110 §10.1.5),
sends ``If-None-Match``/``If-Modified-Since`` when it has validators (RFC 9110 §13.1), so
an unchanged upstream answers ``304`` and costs nothing, and gives up on a request after
``timeout_seconds`` *in total*, not per read, headers included: httpx's timeouts bound
each read, so a server sending one header line a second would hold a poll for as long
as it likes; a watchdog thread shuts the request's sockets down at the deadline instead
(``shutdown(2)`` wakes a blocked ``recv``; ``close`` would not). The poll as a whole has
a deadline too (``deadline``, from the source's ``max_poll_seconds``). ``429`` and
``503`` become :class:`RetryLater` carrying the ``Retry-After`` delay (RFC 9110
§10.2.3, RFC 6585 §4), at most a day; every other failure is a :class:`FetchError` whose
message names the URL and what to do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2 as httpx

from syndication import __version__
from syndication.errors import SyndicationError

USER_AGENT = f"syndication/{__version__}"
MAX_BODY = 64 * 1024 * 1024  # an upstream answer larger than this is refused, not read
# The longest Retry-After honoured: RFC 9110 §10.2.3 sets no bound, and a value such as
# 99999999999999999999 would otherwise overflow every date computed from it.
MAX_RETRY_AFTER = 24 * 60 * 60.0


class FetchError(SyndicationError):
    """A request to an upstream failed (network, TLS, timeout, an error status)."""


class RetryLater(FetchError):
    """The upstream asked us to come back later (429 or 503); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Validators:
    """What a previous ``200`` said about its bytes, to ask "changed since?" next time."""

    etag: str = ""
    last_modified: str = ""

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class Response:
    """An answer: ``status`` 200 (or another 2xx) with ``body``, or 304 with no body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP-date (RFC 9110
    §10.2.3), at most :data:`MAX_RETRY_AFTER`; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Compared as digits first: float() of 400 nines is inf, int() of 5,000 refuses.
        return float(value) if len(value) < 9 else MAX_RETRY_AFTER
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


class HttpClient:
    """GETs for one source: ``timeout`` seconds per request in total, optional basic auth.

    ``user_agent`` should name us and where to reach us (the sources service passes
    ``syndication/<version> (+<site base URL>)``), so an upstream's operator can tell who
    is polling.

    ``transport`` lets tests and benchmarks put an ``httpx`` transport underneath;
    ``requests`` counts the requests sent (the benchmark reports it).
    """

    def __init__(
        self,
        *,
        timeout: float,
        auth: tuple[str, str] | None = None,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY,
        total_seconds: float | None = None,
        follow_redirects: str = "same-host",
    ) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self.requests = 0
        # The poll's own deadline (monotonic): no request runs past it.
        self.deadline = time.monotonic() + total_seconds if total_seconds else None
        self._streams: list[object] = []  # every connection this client opened
        self._lock = threading.Lock()
        self.redirects = follow_redirects
        self._origin: tuple[str, int | None] = ("", None)  # host, port the get() asked
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout),
            auth=httpx.BasicAuth(*auth) if auth else None,
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._check_redirect]},
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        validators: Validators | None = None,
        *,
        accept: str = "*/*",
        allow: tuple[int, ...] = (),
    ) -> Response:
        """GET ``url``; a ``304`` comes back as a :class:`Response` with ``not_modified``.

        Statuses in ``allow`` are returned instead of raised (WordPress's ``400`` for a
        page past the end is an answer, not a failure). Raises :class:`RetryLater` for
        429/503, :class:`FetchError` for anything else that is not 2xx or 304.
        """
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        started = time.monotonic()
        deadline = started + self.timeout
        whole_poll = self.deadline is not None and self.deadline < deadline
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        if deadline <= started:
            raise FetchError(self._late(url, whole_poll))
        self.requests += 1
        shown = url
        asked = httpx.URL(url)
        self._origin = (asked.host, asked.port)
        expired = threading.Event()
        watchdog = threading.Timer(deadline - started, self._expire, (expired,))
        watchdog.daemon = True
        watchdog.start()
        try:
            with self._client.stream(
                "GET",
                url,
                params=params,
                headers=headers,
                timeout=httpx.Timeout(deadline - started),
                extensions={"trace": self._trace},
            ) as answer:
                shown = str(answer.url)
                chunks: list[bytes] = []
                size = 0
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > self.max_body:
                        raise FetchError(
                            f"GET {shown}: the answer is larger than {self.max_body:,} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("total time exceeded")
                    chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("total time exceeded")
                if expired.is_set():  # the watchdog fired as the last bytes came
                    raise httpx.ReadTimeout("total time exceeded")
        except httpx.TimeoutException as exc:
            raise FetchError(self._late(shown, whole_poll)) from exc
        except httpx.HTTPError as exc:
            if expired.is_set():  # the watchdog shut the connection: a timeout, not an error
                raise FetchError(self._late(shown, whole_poll)) from exc
            raise FetchError(f"GET {shown}: {_describe(exc)}") from exc
        finally:
            watchdog.cancel()
        status = answer.status_code
        body = b"".join(chunks)
        if status in (429, 503):
            delay = retry_after_seconds(answer.headers.get("retry-after"), datetime.now(UTC))
            when = f"; it asks us to retry after {delay:g} s" if delay is not None else ""
            raise RetryLater(f"GET {shown}: {status} {answer.reason_phrase}{when}", delay)
        if status != 304 and not 200 <= status < 300 and status not in allow:
            raise FetchError(f"GET {shown}: {status} {answer.reason_phrase}{_snippet(body)}")
        return Response(
            url=shown,
            status=status,
            headers=dict(answer.headers),
            body=b"" if status == 304 else body,
            validators=Validators(
                answer.headers.get("etag", ""), answer.headers.get("last-modified", "")
            ),
        )

    def _check_redirect(self, request: httpx.Request) -> None:
        """httpx's request hook, called for every request a get() sends, redirects
        included: with ``same-host``, a redirect to another host or port is refused (an
        upstream must not point the poller at whatever else it can reach); ``http`` to
        ``https`` on the same host and default ports is followed (httpx gives a default
        port as ``None``). httpx itself drops ``Authorization`` on a redirect to another
        origin."""
        if self.redirects == "any" or (request.url.host, request.url.port) == self._origin:
            return
        host, port = self._origin
        asked = f"{host}:{port}" if port else host
        raise FetchError(
            f"GET {request.url}: redirected away from {asked} to another host; "
            'set follow_redirects = "any" on this source to follow it'
        )

    def _late(self, shown: str, whole_poll: bool) -> str:
        if whole_poll:
            return (
                f"GET {shown}: the poll ran out of time (max_poll_seconds); the next poll "
                "goes on from what was stored"
            )
        return (
            f"GET {shown}: no complete answer within {self.timeout:g} s; "
            "the upstream is slow or down (timeout_seconds sets the limit)"
        )

    def _trace(self, event: str, info: dict[str, object]) -> None:
        """httpcore's trace hook: keeps every stream a connection opens (TCP, then TLS),
        so the watchdog can reach their sockets."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            if stream is not None:
                with self._lock:
                    self._streams.append(stream)

    def _expire(self, expired: threading.Event) -> None:
        """The watchdog: the deadline has come; shut every socket of this client down, so
        a read blocked on a dripping server returns at once."""
        expired.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            sock = getattr(stream, "get_extra_info", lambda _n: None)("socket")
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed: nothing left to wake


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc}); check the source's url and that the site is up"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return f"{type(exc).__name__}: {exc}"


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return f": {text}" if text else ""
