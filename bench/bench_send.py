"""Benchmark: ``syndication send`` to a local SMTP sink, next to a bare smtplib loop.

A counting aiosmtpd sink runs in its own process on loopback. For each recipient count, a
fresh SQLite store gets the demo articles, that many active subscribers and the digest of
the week of 2026-11-16 compiled into the outbox; then the real ``syndication send`` runs
in a child process with 1 and then 4 connections. In the same run a bare loop sends the
same message bytes with ``smtplib.sendmail`` over 1 and 4 connections to the same sink:
that is the sink's own limit, and the ratio of the two rates is the figure (the command's
start-up, measured by running it again with nothing queued, is taken off). The child's
peak RSS shows whether memory stays flat as the outbox grows.

    .venv/bin/python bench/bench_send.py [--recipients 1000 10000 100000] [--mta postfix]

``--mta postfix`` puts Debian's Postfix in place of the sink: a private instance (its own
configuration, queue and port in a temporary folder, run as root; the system's Postfix is
not touched) that accepts on loopback, queues each message as it would for the Internet
and hands it to the ``discard`` transport. Both the command and the bare loop talk to it.
Before each timed run the benchmark waits until Postfix's queue is empty, so no run pays
for the previous one's backlog. The bare loop runs before and after the command and its
mean is the reference; the command's start-up is the median of three idle runs. With
Postfix a second reference is printed: a bare loop that sends each message as one
pipelined group (MAIL, RCPT, BDAT LAST), as the command does when the server offers
PIPELINING and CHUNKING, which is the server's own limit for that dialogue.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postfix import Postfix  # noqa: E402
from tests.support.postfix import start_postfix as private_postfix  # noqa: E402

SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return "250 OK"
c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def start_postfix(directory: Path, port: int) -> Postfix:
    """A private Postfix on 127.0.0.1:``port`` that discards what it queued: the tests'
    own (``tests/support/postfix.py``), with no relay and without anvil's limits."""
    return private_postfix(
        directory,
        port=port,
        relay=None,
        transports={},
        hostname="mta.bench.test",
        extra={
            "default_transport": "discard:bench",
            "relay_transport": "discard:bench",
            # Room for 4 connections plus the bare loop's, without anvil's rate limits.
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_message_rate_limit": "0",
        },
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(workdir: Path, recipients: int) -> tuple[str, bytes]:
    """A store with the digest queued for ``recipients``; returns its URL and one message."""
    from sqlalchemy import insert

    from syndication.services import delivery
    from syndication.services.articles import import_articles
    from syndication.services.digests import compiling
    from syndication.settings import DatabaseSettings, Settings
    from syndication.store import articles as store
    from syndication.store import database as db
    from syndication.store.models import Subscriber, Subscription

    url = f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(database=DatabaseSettings(url=url), secret_key="bench-key")
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.write_session(engine) as session:
        store.sync_topics(session, settings.topics)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    with (ROOT / "examples" / "news.jsonl").open("rb") as lines:
        import_articles(
            engine,
            lines,
            source="news",
            known_topics={t.slug for t in settings.topics},
            now=lambda: now,
        )
    with db.write_session(engine) as session:
        for start in range(0, recipients, 5000):
            chunk = range(start, min(recipients, start + 5000))
            session.execute(
                insert(Subscriber),
                [
                    {
                        "id": i + 1,
                        "email": f"reader{i}@example.org",
                        "name": f"Reader {i}",
                        "locale": "en",
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in chunk
                ],
            )
            session.execute(
                insert(Subscription),
                [
                    {"subscriber_id": i + 1, "list_slug": "weekly-city", "created_at": now}
                    for i in chunk
                ],
            )
    report = compiling.compile_digest(settings, engine, "weekly-city", date(2026, 11, 18), now)
    assert report.queued == recipients, report
    messages = delivery.DigestMessages(settings, engine)
    from syndication.store.outbox import Claimed

    _, envelope = messages.envelope(Claimed(1, 1, 1, "reader0@example.org", "Reader 0", 1))
    engine.dispose()
    return url, envelope.message


def run_send(workdir: Path, url: str, port: int, connections: int) -> tuple[float, int]:
    config = workdir / "syndication.toml"
    config.write_text(
        "[mail]\ntransport = 'smtp'\n[mail.smtp]\n"
        f"host = '127.0.0.1'\nport = {port}\nconnections = {connections}\n"
        "rate_per_second = 1000000\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    env.update(
        SYNDICATION_DATABASE_URL=url, SYNDICATION_SECRET_KEY="bench-key-of-at-least-32-bytes-long"
    )
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL);"
        "print(time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            sys.executable,
            "-m",
            "syndication",
            "--config",
            str(config),
            "send",
        ],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, peak = result.stdout.split()
    return float(seconds), int(peak)


def requeue(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE deliveries SET status = 'queued', attempts = 0, sent_at = NULL,"
                " message_id = ''"
            )
        )
    engine.dispose()


def drain(spool: Path | None, timeout: float = 120.0) -> None:
    """Wait until Postfix has handed every queued message to ``discard``."""
    if spool is None:
        return
    deadline = time.monotonic() + timeout
    folders = [spool / name for name in ("maildrop", "incoming", "active", "deferred")]
    while time.monotonic() < deadline:
        if not any(path.is_file() for folder in folders for path in folder.rglob("*")):
            return
        time.sleep(0.05)


def bare_loop(
    port: int, message: bytes, count: int, connections: int, chunked: bool = False
) -> float:
    per = count // connections

    def worker() -> None:
        if chunked:
            chunked_worker()
            return
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for i in range(per):
                smtp.sendmail("news@example.org", [f"reader{i}@example.org"], message)

    def chunked_worker() -> None:
        # The dialogue of SmtpTransport._send_chunked, with nothing else around it.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            replies = sock.makefile("rb")

            def reply() -> bytes:
                while True:
                    line = replies.readline()
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                    if line[3:4] != b"-":
                        return line

            reply()
            sock.sendall(b"EHLO bench.test\r\n")
            reply()
            size = len(message)
            for i in range(per):
                sock.sendall(
                    f"MAIL FROM:<news@example.org> SIZE={size}\r\n"
                    f"RCPT TO:<reader{i}@example.org>\r\nBDAT {size} LAST\r\n".encode()
                    + message
                )
                answers = [reply() for _ in range(3)]
                assert all(a.startswith(b"250") for a in answers), answers
            sock.sendall(b"QUIT\r\n")
            reply()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per * connections / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--mta", choices=["sink", "postfix"], default="sink")
    args = parser.parse_args()
    port = free_port()
    sink = None
    postfix_dir = Path(tempfile.mkdtemp(prefix="bench-postfix-"))
    if args.mta == "postfix":
        postfix = start_postfix(postfix_dir, port)
    else:
        sink = subprocess.Popen(
            [sys.executable, "-c", SINK, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    print(
        f"MTA {args.mta}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
        f"{'recipients':>10} {'conn':>4} {'send msg/s':>10} {'bare msg/s':>10} {'ratio':>6}"
        "  peak RSS"
    )
    spool = postfix_dir / "spool" if args.mta == "postfix" else None
    try:
        for count in args.recipients:
            with tempfile.TemporaryDirectory() as tmp:
                workdir = Path(tmp)
                url, message = prepare(workdir, count)
                bare_count = min(count, 4000)
                for connections in (1, 4):
                    # The reference before and after the command, each on an empty queue.
                    drain(spool)
                    before = bare_loop(port, message, bare_count, connections)
                    requeue(url)
                    drain(spool)
                    seconds, peak_kib = run_send(workdir, url, port, connections)
                    drain(spool)
                    after = bare_loop(port, message, bare_count, connections)
                    bare = (before + after) / 2
                    # The same command with nothing queued: start-up (imports, settings,
                    # engine), which is not sending, is taken off (median of three).
                    idle = statistics.median(
                        run_send(workdir, url, port, connections)[0] for _ in range(3)
                    )
                    rate = count / (seconds - idle)
                    line = (
                        f"{count:>10,} {connections:>4} {rate:>10,.0f} {bare:>10,.0f} "
                        f"{rate / bare:>6.2f}  {peak_kib / 1024:.0f} MiB "
                        f"(message {len(message):,} bytes; bare {before:,.0f} then "
                        f"{after:,.0f}; start-up {idle:.2f} s of {seconds:.2f} s"
                    )
                    if spool is not None:
                        drain(spool)
                        chunked = bare_loop(port, message, bare_count, connections, True)
                        line += f"; bare BDAT {chunked:,.0f}, ratio {rate / chunked:.2f}"
                    print(line + ")", flush=True)
    finally:
        if sink is not None:
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(timeout=30)
        else:
            postfix.stop()
        shutil.rmtree(postfix_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
