"""The shipped ``deploy/nginx/syndication.conf``, run by a private nginx for tests.

A temp copy of the site file has its ports and paths rewritten (loopback high ports, the
test's certificate, cache and ACME folders under the test's own directory); every
rewrite must find its text, so a site file that drifts from what the tests expect fails
here rather than being tested half. The copy is included in an ``http {}`` like Debian's
``nginx.conf`` (sendfile, tcp_nopush, gzip on), under its own prefix, pid and temp paths;
nothing of the system's nginx is used. nginx runs in the foreground (``daemon off``) and
is stopped by its process id.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.debian import require, self_signed_certificate

NGINX = "/usr/sbin/nginx"
SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "syndication.conf"
SERVER_NAME = "news.example.org"


@dataclass
class Nginx:
    prefix: Path
    conf: Path
    http_port: int
    https_port: int
    certificate: Path
    process: subprocess.Popen[bytes] | None = None

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            self.process.wait(timeout=10)


def site_copy(
    directory: Path, *, http_port: int, https_port: int, upstream_port: int
) -> tuple[Path, Path]:
    """The shipped site file rewritten for this test: ``(site file, certificate)``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(directory, SERVER_NAME)
    text = SITE.read_text(encoding="utf-8")
    rewrites = {
        "/var/cache/nginx/syndication": str(directory / "cache"),
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",  # loopback IPv6 may be missing in a container
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        f"/etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem": str(cert),
        f"/etc/letsencrypt/live/{SERVER_NAME}/privkey.pem": str(key),
        "/var/www/letsencrypt": str(directory / "acme"),
    }
    for old, new in rewrites.items():
        assert old in text, f"{SITE}: expected {old!r} in the shipped site file"
        text = text.replace(old, new)
    (directory / "acme").mkdir(exist_ok=True)
    site = directory / "syndication.conf"
    site.write_text(text, encoding="utf-8")
    return site, cert


def configure(directory: Path, *, upstream_port: int) -> Nginx:
    """A private nginx configuration in ``directory`` around a copy of the shipped site."""
    require(NGINX, "nginx")
    http_port, https_port = _free_ports(2)
    site, cert = site_copy(
        directory / "site", http_port=http_port, https_port=https_port, upstream_port=upstream_port
    )
    prefix = directory / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    # Workers as root when the tests run as root: pytest's temp folders are private to it.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {prefix}/access.log;
    gzip on;
    {" ".join(f"{name}_temp_path {path};" for name, path in temp.items())}
    include {site};
}}
""",
        encoding="utf-8",
    )
    return Nginx(prefix, conf, http_port, https_port, cert)


def check(nginx: Nginx) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on the configuration."""
    return subprocess.run(
        [NGINX, "-t", "-p", str(nginx.prefix), "-e", str(nginx.prefix / "error.log"),
         "-c", str(nginx.conf)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def start(nginx: Nginx) -> Nginx:
    """Run nginx in the foreground until :meth:`Nginx.stop`; returns once both ports answer."""
    with (nginx.prefix / "stderr.log").open("wb") as output:
        nginx.process = subprocess.Popen(
            [NGINX, "-p", str(nginx.prefix), "-e", str(nginx.prefix / "error.log"),
             "-c", str(nginx.conf), "-g", "daemon off;"],
            stdout=output,
            stderr=output,
        )  # fmt: skip
    deadline = time.monotonic() + 15
    for port in (nginx.http_port, nginx.https_port):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if nginx.process.poll() is not None or time.monotonic() > deadline:
                    nginx.stop()
                    raise RuntimeError(f"nginx did not start:\n{nginx.error_log()}") from None
                time.sleep(0.05)
    return nginx


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
