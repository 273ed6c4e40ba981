"""The bounce mailbox over IMAP (imaplib): read every message, move each one once stored.

IMAPS (implicit TLS, port 993) or STARTTLS (RFC 2595); ``none`` only for a server on
this host. The password comes from the environment variable the settings name. A
processed message is moved to the processed folder (RFC 6851 ``MOVE``, else ``COPY`` and
an expunge of the original), never deleted, so an operator can always look at what came
in. Messages are read with ``BODY.PEEK[]`` so a failure leaves them unread and in place.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from types import TracebackType

from syndication.errors import SyndicationError
from syndication.settings import ImapSettings


class ImapError(SyndicationError):
    """The bounce mailbox cannot be read (connection, login, folder)."""


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapMailbox:
    """A logged-in connection to the bounce folder; use it as a context manager."""

    def __init__(self, settings: ImapSettings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.context = ssl_context or ssl.create_default_context(cafile=settings.ca_file or None)
        self._imap: imaplib.IMAP4 | None = None
        self._can_move = False

    def __enter__(self) -> ImapMailbox:
        cfg = self.settings
        where = f"IMAP {cfg.host}:{cfg.port}"
        try:
            if cfg.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    cfg.host, cfg.port, ssl_context=self.context, timeout=cfg.timeout_seconds
                )
            else:
                imap = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
                if cfg.security == "starttls":
                    imap.starttls(ssl_context=self.context)
            self._imap = imap
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"{where}: cannot connect: {exc}") from exc
        if not cfg.password:
            raise ImapError(f"{where}: no password: set ${cfg.password_env}")
        try:
            imap.login(cfg.username, cfg.password)
        except imaplib.IMAP4.error as exc:
            self._close()
            raise ImapError(f"{where}: login as {cfg.username!r} refused: {exc}") from exc
        self._can_move = "MOVE" in imap.capabilities
        status, _data = imap.select(_quote(cfg.folder))
        if status != "OK":
            self._close()
            raise ImapError(f"{where}: no folder {cfg.folder!r} (bounces.imap.folder)")
        # Make sure the processed folder exists; "already exists" is fine.
        imap.create(_quote(cfg.processed_folder))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            if imap.state == "SELECTED":
                imap.close()
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass

    @property
    def imap(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise ImapError("IMAP connection is closed")
        return self._imap

    def messages(self) -> Iterator[tuple[str, bytes]]:
        """``(uid, raw bytes)`` for every message in the folder, oldest first."""
        status, data = self.imap.uid("SEARCH", "ALL")
        if status != "OK":
            raise ImapError(f"IMAP {self.settings.host}: SEARCH failed: {data!r}")
        for raw_uid in (data[0] or b"").split():
            uid = raw_uid.decode("ascii")
            status, parts = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
            if status != "OK":
                raise ImapError(f"IMAP {self.settings.host}: FETCH {uid!r} failed: {parts!r}")
            for part in parts:
                if isinstance(part, tuple) and re.search(rb"BODY\[\]", part[0]):
                    yield uid, part[1]
                    break

    def move_processed(self, uid: str) -> None:
        """Move one message to the processed folder (never deleted)."""
        target = _quote(self.settings.processed_folder)
        if self._can_move:
            status, data = self.imap.uid("MOVE", uid, target)
        else:
            status, data = self.imap.uid("COPY", uid, target)
            if status == "OK":
                self.imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
                self.imap.expunge()
        if status != "OK":
            raise ImapError(f"IMAP {self.settings.host}: cannot move {uid!r} to {target}: {data!r}")
