"""``.eml`` files: the default transport (the demo, a pickup directory), written atomically."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from syndication.edges.files import atomic_file
from syndication.edges.transport.base import Envelope, TemporaryFailure

_KEPT = re.compile(r"[A-Za-z0-9.@-]")
_NAME_LIMIT = 150


def safe_file_name(text: str) -> str:
    """A file name for ``text`` that no other text maps to (an injective encoding).

    Letters, digits, ``.``, ``@`` and ``-`` stay; every other character becomes ``_``
    and two hex digits per UTF-8 byte (``a+b@x`` is ``a_2Bb@x``, ``a_b@x`` is ``a_5Fb@x``),
    and so does a leading dot (no hidden files, no ``..``). Folding them all into ``_``
    made ``a+b@``, ``a_b@`` and ``a=b@`` one file, so one message overwrote the others
    (issue 15 item 14). A name too long for file systems keeps its start and ends with a
    SHA-256 of the text after ``~``, which no short name contains.
    """
    encoded = "".join(
        ch
        if _KEPT.fullmatch(ch) and not (index == 0 and ch == ".")
        else "".join(f"_{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
        for index, ch in enumerate(text)
    )
    if len(encoded) > _NAME_LIMIT:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        encoded = f"{encoded[: _NAME_LIMIT - 65]}~{digest}"
    return encoded or "_"


class FileTransport:
    """Writes each message as ``<outbox_dir>/<folder…>/<name>.eml``, atomically.

    A message for the same name overwrites the earlier copy, so a retried send leaves one
    file, never two.
    """

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def path_for(self, envelope: Envelope) -> Path:
        folder = self.outbox_dir.joinpath(*(safe_file_name(p) for p in envelope.folder))
        return folder / f"{safe_file_name(envelope.name)}.eml"

    def send(self, envelope: Envelope) -> None:
        path = self.path_for(envelope)
        try:
            with atomic_file(path, mode=0o600) as out:
                out.write(envelope.message)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {path}: {exc.strerror}") from exc

    def close(self) -> None:
        return None
