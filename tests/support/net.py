"""Loopback helpers: free ports, waiting for a server to answer."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_banner(host: str, port: int, prefix: bytes, timeout: float = 20) -> None:
    """Wait until ``host:port`` accepts a connection and greets with ``prefix``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if sock.recv(200).startswith(prefix):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered {prefix!r} on {host}:{port} within {timeout} s")
