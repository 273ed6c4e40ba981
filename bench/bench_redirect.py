"""Counted digest links (issue 31): ``/r/<token>`` redirects per second and their 99th
percentile, next to the same Starlette app shape answering a static 302, in one run.

A fresh SQLite store gets the demo newsroom's articles, one list with
``count_clicks = true``, one reader and that week's digest, sent through the file
transport; the ``/r/`` links are read back from the message. Then, each in a child
process served exactly as ``syndication serve`` serves (``web.server.run``: uvicorn,
one worker, our guarded httptools protocol):

* ``redirect``: the real app (``create_app``), ``wrk`` cycling over the digest's links;
* ``static 302``: the same app with one more route, ``/s/{token}``, answering a fixed
  302 (same middleware, same router, same server), wrk cycling over the same tokens under
  ``/s/``: what a redirect costs through Starlette's stack with no token, store or tally.
  (``/r/`` itself is answered ahead of that stack when its link is cached:
  ``web.clicks.Redirects``.)

``wrk --latency`` loads each for ``--seconds`` with ``--connections``; the server
process's CPU time (user + system, from ``/proc``) over the run, divided by the requests
wrk completed, is printed too: on a machine other work also loads, it moves far less than
requests per second do. After the real
app stops (SIGTERM: its lifespan flushes the tally), the sums in ``digest_clicks`` are
compared with the requests wrk completed: every request counted, none lost.

    apt-get install wrk
    .venv/bin/python bench/bench_redirect.py [--seconds 10] [--connections 16]

``--in-process N`` measures instead the CPU time per request of both apps called directly
(``await app(scope, receive, send)`` N times, no server, no socket, no wrk): what the
app itself costs, steady on a machine other work loads.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message, Scope

from syndication.services import delivery
from syndication.services.articles import import_articles
from syndication.services.database import init_store
from syndication.services.digests import compiling
from syndication.settings import DatabaseSettings, MailSettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import DigestClicks
from syndication.web import server
from syndication.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SENT = datetime(2026, 11, 24, tzinfo=UTC)
LINK_RE = re.compile(r"http://127\.0\.0\.1:\d+(/r/[A-Za-z0-9_\-.]+)")
STATIC_TARGET = "https://news.example.org/static-target"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(work: Path, port: int) -> tuple[Settings, list[str]]:
    """The store, the sent digest, and its ``/r/`` paths."""
    base = Settings()
    lists = tuple(
        replace(ml, count_clicks=True) if ml.slug == "weekly-city" else ml for ml in base.lists
    )
    settings = replace(
        base,
        database=DatabaseSettings(url=f"sqlite:///{work / 'bench.db'}"),
        mail=MailSettings(outbox_dir=work / "outbox"),
        secret_key="bench-only-secret-of-at-least-32-bytes",
        lists=lists,
        site=replace(base.site, base_url=f"http://127.0.0.1:{port}"),
    )
    engine = db.make_engine(settings.database.url)
    init_store(settings, engine)
    with (ROOT / "examples" / "news.jsonl").open("rb") as lines:
        import_articles(
            engine, lines, source="news.jsonl",
            known_topics={t.slug for t in settings.topics}, now=lambda: SENT,
        )  # fmt: skip
    with db.write_session(engine) as session:
        subscribers.add_subscriber(
            session, "reader@example.org", "", ["weekly-city"], confirmed=True, now=SENT
        )
    compiling.compile_digest(settings, engine, "weekly-city", date(2026, 11, 18), SENT)
    delivery.send_digests(settings, engine, workers=1, now=lambda: SENT)
    [path] = (work / "outbox" / "weekly-city").rglob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",))
    assert text is not None
    links = LINK_RE.findall(str(text.get_content()))
    assert links, "the digest carries no /r/ links"
    engine.dispose()
    return settings, links


def serve_real(settings: Settings, port: int) -> None:
    engine = db.make_engine(settings.database.url)
    server.run(create_app(settings, engine), "127.0.0.1", port, settings.web)


def static_app(settings: Settings) -> Starlette:
    """The same app (``create_app``: its middleware, its router) with one more route that
    answers a fixed 302: what a routed redirect costs with no token, store or tally."""

    async def redirect(request: Request) -> Response:
        return RedirectResponse(STATIC_TARGET, status_code=302)

    app = create_app(settings, db.make_engine(settings.database.url))
    app.router.routes.insert(0, Route("/s/{token}", redirect, methods=["GET"]))
    return app


def serve_static(settings: Settings, port: int) -> None:
    server.run(static_app(settings), "127.0.0.1", port, settings.web)


async def cpu_per_request(app: Starlette, paths: list[str], count: int) -> float:
    """CPU µs per request of ``app`` called in this process, without server or socket:
    ``count`` GETs cycling over ``paths`` (each path answered once before timing)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    def scope(path: str) -> Scope:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "state": {},
            "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"Mozilla/5.0 bench")],
        }  # fmt: skip

    for path in paths:
        await app(scope(path), receive, send)
    if sent[0]["status"] != 302:
        raise SystemExit(f"{paths[0]} answered {sent[0]['status']}, not 302")
    started = time.process_time()
    for n in range(count):
        await app(scope(paths[n % len(paths)]), receive, send)
        if len(sent) > 1000:
            sent.clear()
    return (time.process_time() - started) / count * 1e6


def in_process(settings: Settings, paths: list[str], count: int) -> None:
    """Print both cases' CPU per request in this process, three rounds each."""
    real = create_app(settings, db.make_engine(settings.database.url))
    static = static_app(settings)
    fixed = [path.replace("/r/", "/s/", 1) for path in paths]
    for round_ in range(1, 4):
        ours = asyncio.run(cpu_per_request(real, paths, count))
        floor = asyncio.run(cpu_per_request(static, fixed, count))
        print(
            f"round {round_}: /r/ (real app) {ours:5.1f} µs CPU/request   "
            f"static 302 (same app) {floor:5.1f} µs CPU/request"
        )


def started(process: multiprocessing.Process, port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline or not process.is_alive():
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    port: int, paths: list[str], seconds: float, connections: int, work: Path
) -> dict[str, float]:
    script = work / "paths.lua"
    quoted = ", ".join(f'"{p}"' for p in paths)
    script.write_text(
        f"paths = {{{quoted}}}\ni = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i], {["User-Agent"] = "Mozilla/5.0 bench"})\nend\n',
        encoding="utf-8",
    )
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    if "Non-2xx or 3xx" in output:
        raise SystemExit(f"wrk saw error responses:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    total = re.search(r"(\d+) requests in", output)
    if not (rate and p99 and total):
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {
        "rate": float(rate.group(1)),
        "p99_ms": float(p99.group(1)) * scale,
        "requests": float(total.group(1)),
    }


def run_case(
    target: Callable[[Settings, int], None],
    settings: Settings,
    paths: list[str],
    args: argparse.Namespace,
    work: Path,
) -> dict[str, float]:
    port = int(settings.site.base_url.rsplit(":", 1)[1]) if target is serve_real else free_port()
    if target is serve_static:
        paths = [path.replace("/r/", "/s/", 1) for path in paths]
    process = multiprocessing.Process(target=target, args=(settings, port))
    process.start()
    try:
        started(process, port)
        assert process.pid is not None
        before = cpu_seconds(process.pid)
        figures = wrk(port, paths, args.seconds, args.connections, work)
        used = cpu_seconds(process.pid) - before
        figures["cpu_us"] = used / figures["requests"] * 1e6
        return figures
    finally:
        process.terminate()  # SIGTERM: uvicorn shuts down, the lifespan flushes
        process.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--in-process", type=int, metavar="N", help="no server: N ASGI calls per case, CPU time"
    )
    args = parser.parse_args()
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench-redirect-") as folder:
            settings, paths = prepare(Path(folder), free_port())
            in_process(settings, paths, args.in_process)
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-redirect-") as folder:
        work = Path(folder)
        port = free_port()
        settings, paths = prepare(work, port)
        real = run_case(serve_real, settings, paths, args, work)
        static = run_case(serve_static, settings, paths, args, work)
        engine = db.make_engine(settings.database.url)
        with db.read_session(engine) as session:
            counted = session.execute(
                select(
                    func.sum(DigestClicks.reader_clicks), func.sum(DigestClicks.scanner_requests)
                )
            ).one()
        readers, scanners = int(counted[0] or 0), int(counted[1] or 0)
    each = f"{args.connections} connections, {args.seconds:g} s each"
    print(f"links in the digest: {len(paths)}; {each}")
    for name, figures in (("redirect (/r/, real app)", real), ("static 302 (same app)", static)):
        print(
            f"{name:26} {figures['rate']:>9,.0f} req/s   p99 {figures['p99_ms']:6.2f} ms"
            f"   server CPU {figures['cpu_us']:5.0f} µs/request"
            f"   ({figures['requests']:,.0f} requests)"
        )
    print(
        f"counted after shutdown: {readers + scanners:,} of {real['requests']:,.0f} requests "
        f"({readers:,} readers' clicks, {scanners:,} scanner requests: one copy walking "
        "every link is a burst)"
    )


if __name__ == "__main__":
    main()
