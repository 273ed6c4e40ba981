"""Mail on disk: an ``.eml`` file, an mbox file or a Maildir folder, as raw messages.

Used by ``bounces import``. Everything is read before anything is stored, and a file
that is not mail is an :class:`InputError` naming it, so a wrong path changes nothing.
"""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

from syndication.errors import InputError, SyndicationError


class NotMailError(SyndicationError):
    """A file given as mail is not mail: rejected input (exit 1), nothing stored."""


# A message starts with a header field (RFC 5322 §2.2: printable ASCII name, colon).
_HEADER_RE = re.compile(rb"^[!-9;-~]+:")


def _check(data: bytes, where: str) -> bytes:
    if not data.strip() or not _HEADER_RE.match(data.lstrip(b"\r\n")):
        raise NotMailError(f"{where}: not an e-mail message (no header field at the top)")
    return data


def read_messages(path: Path) -> list[bytes]:
    """Every message in ``path`` (a Maildir folder, an mbox file or one message)."""
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise NotMailError(f"{path}: a folder that is not a Maildir (no cur/, new/, tmp/)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        return [_check(box.get_bytes(key), f"{path}/{key}") for key in sorted(box.keys())]
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
            _check(data, f"{path}: message {index}")
        return messages
    return [_check(path.read_bytes(), str(path))]
