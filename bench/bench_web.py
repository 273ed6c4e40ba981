"""Feeds over HTTP: requests per second for a 304 and for a full 50-entry Atom feed.

Runs the real ``syndication serve`` (one uvicorn worker) on loopback against a fresh
database and a feeds folder holding one synthetic 50-entry Atom feed, then loads it with
``wrk`` when it is installed (``apt-get install wrk``) or else with a bounded Python
client (processes with one keep-alive connection each, for a fixed time).

    .venv/bin/python bench/bench_web.py [--seconds 10] [--connections 32] [--client wrk]
        [--nginx] [--tcp-nopush off]

With ``--nginx`` (Debian's ``nginx`` package) the same cases also run, in the same run,
through a private nginx (its own prefix, port and cache folder; nothing of the system's
nginx is used) with ``proxy_cache`` in front of ``serve``, configured as the README's
"Production shape" says (:func:`nginx_site` is that configuration).

Prints one line per case; the figures are written down in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SYNDICATION = Path(sys.executable).parent / "syndication"
FEED_PATH = "/feeds/all/atom.xml"


def atom_feed(entries: int = 50) -> str:
    """A feed shaped like ours: 50 entries with full HTML content of a few kilobytes."""
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    paragraph = (
        "<p>The Seoul Metropolitan Government announced on Thursday that it will extend "
        "bus-only lanes on Jong-ro and add late-night routes, following a survey of "
        "12,000 residents. 서울시는 목요일 버스전용차로 확대를 발표했다.</p>"
    )
    items = []
    for n in range(entries):
        when = (start - timedelta(hours=7 * n)).isoformat()
        items.append(
            f"<entry><id>tag:news.example.org,2026:article-{n}</id>"
            f"<title>City news item {n}: more bus lanes and a new park</title>"
            f"<updated>{when}</updated><published>{when}</published>"
            f'<link href="https://news.example.org/articles/{n}" rel="alternate"/>'
            f"<author><name>Transport Policy Division</name></author>"
            f'<content type="html">{escape(paragraph * 6)}</content></entry>'
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:news.example.org,2026:all</id>'
        f"<title>Seoul Metropolitan Government News</title><updated>{start.isoformat()}"
        f"</updated>{''.join(items)}</feed>\n"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(work: Path, port: int) -> subprocess.Popen[bytes]:
    (work / "feeds" / "all").mkdir(parents=True)
    (work / "feeds" / "all" / "atom.xml").write_text(atom_feed(), encoding="utf-8")
    config = work / "syndication.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{work / "bench.db"}"\n[feeds]\ndir = "{work / "feeds"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "SYNDICATION_SECRET_KEY": "bench-only-secret-of-at-least-32-bytes"}
    subprocess.run([SYNDICATION, "--config", config, "init"], check=True, env=env, cwd=work)
    server = subprocess.Popen(
        [SYNDICATION, "--config", config, "serve", "--port", str(port)], env=env, cwd=work
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("syndication serve did not start") from None
            time.sleep(0.05)


def nginx_site(listen: int, upstream: int, cache: Path, tcp_nopush: str = "off") -> str:
    """The ``http {}`` content of the README's production shape, for this benchmark: the
    ``/feeds/`` location of ``deploy/nginx/syndication.conf`` on plain HTTP (no TLS)."""
    return f"""
proxy_cache_path {cache} levels=1:2 keys_zone=syndication_feeds:10m max_size=1g inactive=1h
                 use_temp_path=off;

# One cache entry per coding, not one per Accept-Encoding string a client invents.
map $http_accept_encoding $feed_coding {{
    default "";
    "~*gzip\\s*;\\s*q\\s*=\\s*0(\\.0*)?\\s*(,|$)" "";
    "~*gzip" "gzip";
}}

upstream syndication {{
    server 127.0.0.1:{upstream};
    keepalive 16;
}}

server {{
    listen 127.0.0.1:{listen};

    location /feeds/ {{
        proxy_pass http://syndication;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Accept-Encoding $feed_coding;

        proxy_cache syndication_feeds;
        proxy_cache_key $scheme$host$uri$is_args$args$feed_coding;
        proxy_ignore_headers Vary;
        proxy_cache_revalidate on;
        proxy_cache_lock on;
        proxy_cache_use_stale error timeout updating http_502 http_503 http_504;
        proxy_cache_background_update on;

        gzip off;
        tcp_nopush {tcp_nopush};
    }}
}}
"""


def start_nginx(work: Path, listen: int, upstream: int, tcp_nopush: str) -> subprocess.Popen[bytes]:
    prefix = work / "nginx"
    (prefix / "logs").mkdir(parents=True)
    conf = prefix / "nginx.conf"
    # Workers as the benchmark's own user when it runs as root: the temporary folder is
    # private to it. Debian's defaults otherwise: sendfile on, one worker per core.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""{user}
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    sendfile on;
    keepalive_requests 100000;
    access_log off;
    client_body_temp_path {prefix}/client;
    proxy_temp_path {prefix}/proxy;
    {nginx_site(listen, upstream, prefix / "cache", tcp_nopush)}
}}
""",
        encoding="utf-8",
    )
    nginx = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", listen), timeout=0.2):
                return nginx
        except OSError:
            if time.monotonic() > deadline or nginx.poll() is not None:
                nginx.kill()
                raise SystemExit(f"nginx did not start; see {prefix}/logs/error.log") from None
            time.sleep(0.05)


def probe(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], int]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", FEED_PATH, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, len(body)


def _python_worker(port: int, headers: dict[str, str], seconds: float, out: Any) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.request("GET", FEED_PATH, headers=headers)
        response = connection.getresponse()
        response.read()
        done += 1
    connection.close()
    out.put(done)


def python_load(port: int, headers: dict[str, str], seconds: float, connections: int) -> float:
    queue: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_python_worker, args=(port, headers, seconds, queue))
        for _ in range(connections)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    total: int = sum(int(queue.get()) for _ in workers)
    for worker in workers:
        worker.join()
    return float(total) / (time.monotonic() - started)


def wrk_load(port: int, headers: dict[str, str], seconds: float, connections: int) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{FEED_PATH}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx or 3xx" in output:
        raise SystemExit(f"wrk saw error responses:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python"
    )
    parser.add_argument("--nginx", action="store_true", help="also through nginx proxy_cache")
    parser.add_argument("--tcp-nopush", choices=["on", "off"], default="off")
    args = parser.parse_args()
    load = wrk_load if args.client == "wrk" else python_load
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        server = start_server(Path(folder), port)
        nginx = None
        try:
            status, headers, size = probe(port, {"accept-encoding": "identity"})
            assert status == 200, status
            _, gz_headers, gz_size = probe(port, {"accept-encoding": "gzip"})
            etag = headers["etag"]
            status_304, _, _ = probe(port, {"if-none-match": etag, "accept-encoding": "identity"})
            assert status_304 == 304, status_304
            cases = [
                ("304 Not Modified (If-None-Match)", {"if-none-match": etag}),
                (f"200 Atom, 50 entries, {size:,} bytes", {"accept-encoding": "identity"}),
                (f"200 Atom, 50 entries, gzip {gz_size:,} bytes", {"accept-encoding": "gzip"}),
            ]
            targets = [("serve", port)]
            if args.nginx:
                proxy = free_port()
                nginx = start_nginx(Path(folder), proxy, port, args.tcp_nopush)
                for _, request_headers in cases:  # warm the cache; check nginx's answers
                    for _ in range(2):
                        probe(proxy, request_headers)
                assert probe(proxy, {"if-none-match": etag})[0] == 304
                targets.append((f"nginx proxy_cache, tcp_nopush {args.tcp_nopush}", proxy))
            print(
                f"client {args.client}, {args.connections} connections, {args.seconds:g} s "
                f"per case, one uvicorn worker, {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            for target, target_port in targets:
                for label, request_headers in cases:
                    rate = load(target_port, request_headers, args.seconds, args.connections)
                    print(f"{target:<34} {label:<45} {rate:>10,.0f} requests/s", flush=True)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(timeout=10)
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
