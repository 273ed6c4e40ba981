"""The one atomic file write, and the feeds job's use of it: write only what changed.

A feed reader's ``If-Modified-Since`` and a mirror's ``rsync`` both look at the file's
mtime, so an unchanged feed must keep it: :func:`publish` compares bytes first and leaves
an identical file alone. A changed file is written to a temporary name in the same folder
and renamed over the old one (``os.replace`` is atomic on POSIX and Windows), so a web
server never serves half a feed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from syndication.errors import SyndicationError


@contextmanager
def atomic_file(path: Path, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace ``path`` only if the block ends without error.

    The bytes go to a temporary file in the same folder (created if missing), are flushed
    to disk, and the file is renamed over ``path``: a reader sees the old file or the new
    one, never half of one, and a crash leaves no partial file behind. Raises ``OSError``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)  # mkstemp creates the file 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class PublishError(SyndicationError):
    """A feed file could not be written (permissions, full disk, a file where a folder is)."""


def publish(path: Path, data: bytes) -> bool:
    """Make ``path`` hold ``data``; True if it was written, False if it already did.

    Missing folders are created. Raises :class:`PublishError` naming the path when the
    file cannot be written.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PublishError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        with atomic_file(path, mode=0o644) as handle:
            handle.write(data)
    except OSError as exc:
        raise PublishError(f"{path}: cannot write: {exc.strerror}") from exc
    return True


def unpublish(path: Path) -> bool:
    """Remove ``path`` if it exists (an archive month left empty); True if it did."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise PublishError(f"{path}: cannot remove: {exc.strerror}") from exc
    return True
