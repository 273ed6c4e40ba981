"""Mail on disk: an ``.eml`` file, an mbox file or a Maildir folder, as raw messages.

Used by ``bounces import``. Each file (each message of an mbox) is judged alone: one that
is not mail is named in :attr:`MailFiles.rejected` and the rest are read; a path that
cannot be read at all is an :class:`InputError`.
"""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass, field
from pathlib import Path

from syndication.errors import InputError, SyndicationError


class NotMailError(SyndicationError):
    """A file given as mail is not mail: rejected input (exit 1), nothing stored."""


# A message starts with a header field (RFC 5322 §2.2: printable ASCII name, colon).
_HEADER_RE = re.compile(rb"^[!-9;-~]+:")
# The separator line an mbox puts before each message (RFC 4155): some tools leave it at
# the top of a message they save into a Maildir, or of an .eml file.
_FROM_LINE_RE = re.compile(rb"^From [^\r\n]*\r?\n")


@dataclass
class MailFiles:
    """The messages read, and ``path: why`` for each file that is not mail."""

    messages: list[bytes] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def take(self, data: bytes, where: str) -> None:
        """Keep ``data`` if it is a message (an mbox ``From `` line dropped), else name it."""
        data = _FROM_LINE_RE.sub(b"", data.lstrip(b"\r\n"), count=1)
        if not data.strip() or not _HEADER_RE.match(data):
            self.rejected.append(f"{where}: not an e-mail message (no header field at the top)")
        else:
            self.messages.append(data)


def read_mail(path: Path) -> MailFiles:
    """Every message in ``path`` (a Maildir folder, an mbox file or one message)."""
    found = MailFiles()
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise NotMailError(f"{path}: a folder that is not a Maildir (no cur/, new/, tmp/)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(box.keys()):
            found.take(box.get_bytes(key), f"{path}/{key}")
        return found
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if head == b"From ":
        box_file = mailbox.mbox(str(path), factory=None, create=False)
        try:
            messages = [box_file.get_bytes(key) for key in box_file.keys()]
        finally:
            box_file.close()
        for index, data in enumerate(messages, 1):
            found.take(data, f"{path}: message {index}")
        return found
    found.take(path.read_bytes(), str(path))
    return found
