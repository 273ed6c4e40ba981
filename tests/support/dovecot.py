"""A private Dovecot IMAP server on loopback for tests (Debian's ``dovecot-imapd``).

``dovecot -c FILE`` with a configuration of its own in a temp folder: a ``passwd-file``
passdb, a static userdb whose uid is the ``dovecot`` user (its mail processes refuse to run
as root), Maildir storage, a self-signed certificate made with ``openssl`` for 127.0.0.1,
IMAP with STARTTLS and IMAPS on free loopback ports. Nothing outside the folder is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.debian import self_signed_certificate
from tests.support.net import free_port, wait_for_banner

DOVECOT = "/usr/sbin/dovecot"


def dovecot_missing() -> str:
    """Why a private Dovecot cannot run here, or ``""``."""
    if not Path(DOVECOT).exists() or not Path("/usr/lib/dovecot/imap").exists():
        return "Debian's dovecot-imapd is not installed (.ci/run installs it)"
    if not shutil.which("openssl"):
        return "openssl is needed for the test certificate"
    if os.geteuid() != 0:
        return "a private Dovecot needs root"
    return ""


@dataclass
class Dovecot:
    directory: Path
    host: str
    imap_port: int
    imaps_port: int
    user: str
    password: str
    ca_file: Path

    @property
    def config(self) -> Path:
        return self.directory / "dovecot.conf"

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"], capture_output=True, check=False)
        pid_file = self.directory / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
# the dovecot user is a system account (uid below 500): allow it for this instance only
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def start_dovecot(directory: Path, user: str = "bounces", password: str = "s3cret") -> Dovecot:
    """Configure and start a private Dovecot in ``directory`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for sub in ("run", "state", "home"):
        (directory / sub).mkdir(exist_ok=True)
    home = directory / "home" / user
    home.mkdir()
    shutil.chown(home, "dovecot", "dovecot")
    self_signed_certificate(directory, "127.0.0.1")  # cert.pem and key.pem, as CONFIG says
    (directory / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    imap_port, imaps_port = free_port(), free_port()
    instance = Dovecot(
        directory, "127.0.0.1", imap_port, imaps_port, user, password, directory / "cert.pem"
    )
    instance.config.write_text(
        CONFIG.format(dir=directory, imap_port=imap_port, imaps_port=imaps_port)
    )
    # The daemon keeps the standard streams it was given: a file, never a pipe we wait on.
    with (directory / "start.log").open("wb") as output:
        code = subprocess.call([DOVECOT, "-c", str(instance.config)], stdout=output, stderr=output)
    if code != 0:
        started = (directory / "start.log").read_text(errors="replace")
        raise RuntimeError(f"dovecot did not start: {started}\n{instance.log()}")
    try:
        wait_for_banner("127.0.0.1", imap_port, b"* OK")
    except TimeoutError as exc:
        instance.stop()
        raise RuntimeError(f"dovecot did not listen:\n{instance.log()}") from exc
    return instance


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A private Dovecot for one test, stopped and its folder removed afterwards.

    Its folder is under /tmp, not pytest's private tmp: Dovecot's processes run as the
    ``dovecot`` user and must reach it.
    """
    directory = Path(tempfile.mkdtemp(prefix="syndication-dovecot-", dir="/tmp"))
    server = start_dovecot(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
