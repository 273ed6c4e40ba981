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


@contextmanager
def drip_headers(interval: float = 1.0, lines: int = 120) -> Iterator[str]:
    """A loopback server that sends a status line, then one header line every ``interval``
    seconds for ``lines`` lines, and never finishes its headers (a slow-headers upstream);
    yields its URL."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stopping = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for number in range(lines):
                    if stopping.wait(interval):
                        return
                    conn.sendall(f"X-Drip-{number}: {'x' * 20}\r\n".encode())
            except OSError:
                return  # the client gave up and closed the connection

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(5)
        listener.close()
