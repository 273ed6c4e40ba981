"""A private Postfix on loopback for tests: its own config and queue in a temp folder.

Debian's Postfix (``.ci/run`` installs it) is configured with ``postconf -c DIR -e`` and
started with ``postfix -c DIR start``: it listens on 127.0.0.1 on a free port, relays
everything to a "remote" server the test runs, and routes mail for given domains through a
transport map (e.g. the bounce domain to ``syndication bounces serve``). Nothing outside
the folder is touched; ``stop()`` shuts it down. Needs root (Postfix's master does).
``bench/bench_send.py`` starts its Postfix here too, with no relay and ``discard``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"

# Only the services a relay needs; no chroot (the queue is not in /var/spool/postfix).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_missing() -> str:
    """Why a private Postfix cannot run here, or ``""``."""
    if not (Path(POSTFIX).exists() and Path(POSTCONF).exists()):
        return "Debian's postfix is not installed (.ci/run installs it)"
    if os.geteuid() != 0:
        return "a private Postfix needs root"
    return ""


@dataclass
class Postfix:
    directory: Path
    host: str
    port: int

    @property
    def config(self) -> Path:
        return self.directory / "etc"

    def log(self) -> str:
        path = self.directory / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def flush(self) -> None:
        """Ask Postfix to retry deferred mail now."""
        subprocess.run([POSTFIX, "-c", str(self.config), "flush"], check=False, capture_output=True)

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.config), "stop"], check=False, capture_output=True)
        pid_file = self.directory / "spool" / "pid" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def start_postfix(
    directory: Path,
    *,
    port: int,
    relay: tuple[str, int] | None,
    transports: Mapping[str, str],
    hostname: str = "mta.test",
    extra: Mapping[str, str] | None = None,
) -> Postfix:
    """Configure and start a private Postfix in ``directory`` (see the module docstring).

    ``relay`` is where mail for other domains goes (None: nowhere, e.g. with a
    ``default_transport`` in ``extra``); ``transports`` maps a domain to a Postfix
    transport, e.g. ``{"news.example.org": "smtp:[127.0.0.1]:2525"}``; ``extra`` are more
    ``main.cf`` settings, over the ones set here.
    """
    # Postfix's daemons run as the postfix user and must reach the folder: pytest's own
    # temp folders are private to root (mode 700), so give ours a way through.
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    config = directory / "etc"
    spool = directory / "spool"
    data = directory / "data"
    for folder in (config, spool, data):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.chown(data, "postfix", "postfix")
    (config / "main.cf").write_text("")
    (config / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{port}"))
    transport_map = config / "transport"
    transport_map.write_text("".join(f"{d} {t}\n" for d, t in transports.items()))
    settings = {
        "compatibility_level": "3.6",
        "queue_directory": str(spool),
        "data_directory": str(data),
        "meta_directory": "/etc/postfix",
        "maillog_file_prefixes": str(directory),
        "maillog_file": str(directory / "maillog"),
        "myhostname": hostname,
        "mydomain": "test",
        "myorigin": hostname,
        "mydestination": "",
        "local_recipient_maps": "",
        "alias_maps": "",
        "alias_database": "",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "relayhost": f"[{relay[0]}]:{relay[1]}" if relay else "",
        "transport_maps": f"texthash:{transport_map}",
        "smtp_tls_security_level": "none",
        "smtp_host_lookup": "native",
        "biff": "no",
        # Tests want verdicts in seconds, not minutes.
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        "delay_warning_time": "0h",
        "smtp_connection_cache_on_demand": "no",
        **(extra or {}),
    }
    subprocess.run(
        [POSTCONF, "-c", str(config), "-e", *(f"{k}={v}" for k, v in settings.items())],
        check=True,
        capture_output=True,
    )
    instance = Postfix(directory, "127.0.0.1", port)
    result = subprocess.run(
        [POSTFIX, "-c", str(config), "start"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"postfix start failed: {result.stderr}\n{instance.log()}")
    _wait_for_port(instance.host, port, instance)
    return instance


def _wait_for_port(host: str, port: int, instance: Postfix, timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if sock.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    instance.stop()
    raise RuntimeError(f"private postfix did not listen on {host}:{port}\n{instance.log()}")
