"""The file edge of the feeds job: write a file atomically, and only when it changed.

A feed reader's ``If-Modified-Since`` and a mirror's ``rsync`` both look at the file's
mtime, so an unchanged feed must keep it: :func:`publish` compares bytes first and leaves
an identical file alone. A changed file is written to a temporary name in the same folder
and renamed over the old one (``os.replace`` is atomic on POSIX and Windows), so a web
server never serves half a feed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from syndication.errors import SyndicationError


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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise PublishError(f"{path.parent}: cannot write feeds here: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; a feed is public.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
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
