"""A real HTTP server on loopback whose answers a test decides, with a log of requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before the answer (a slow or hanging server)


Handler = Callable[[Request], Answer]


@dataclass
class Server:
    url: str
    requests: list[Request]
    handler: list[Handler]

    def answer_with(self, handler: Handler) -> None:
        self.handler[0] = handler


@contextmanager
def serve(handler: Handler) -> Iterator[Server]:
    """Serve ``handler`` on 127.0.0.1 and a free port until the block ends."""
    requests: list[Request] = []
    current = [handler]
    stopping = threading.Event()

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
            parts = urlsplit(self.path)
            request = Request(
                "GET",
                parts.path,
                dict(parse_qsl(parts.query, keep_blank_values=True)),
                {k.lower(): v for k, v in self.headers.items()},
            )
            requests.append(request)
            answer = current[0](request)
            if answer.delay:
                stopping.wait(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.status != 304:
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", requests, current)
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
