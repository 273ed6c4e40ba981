"""The one atomic file write, and the feeds job's use of it: write only what changed.

A feed reader's ``If-Modified-Since`` and a mirror's ``rsync`` both look at the file's
mtime, so an unchanged feed must keep it: :func:`publish` compares bytes first and leaves
an identical file alone. A changed file is written to a temporary name in the same folder
and renamed over the old one (``os.replace`` is atomic on POSIX and Windows), so a web
server never serves half a feed.

Next to each file, a hidden sidecar ``.<name>.modified`` records when its bytes last
changed, with the SHA-256 of those bytes: that moment is the file's ``Last-Modified``
(RFC 9110 §8.8.2). It moves whenever the bytes move, including a retraction that leaves
the newest entry's date alone (issue 14: a date taken from the feed's content made
``If-Modified-Since`` clients miss such changes), and stays put across byte-identical
rebuilds or a copy of the folder. The hash ties the record to the bytes, so a sidecar
left stale by a crash between the two renames (or by someone editing the file) is
ignored and the file's mtime used instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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


def sidecar(path: Path) -> Path:
    """Where the moment ``path``'s bytes last changed is recorded (hidden: never served)."""
    return path.with_name(f".{path.name}.modified")


def recorded_modified(path: Path, data: bytes) -> datetime | None:
    """When ``data`` (the bytes of ``path``) was published, or None if nothing says so."""
    try:
        digest, _, stamp = sidecar(path).read_text(encoding="ascii").strip().partition(" ")
        moment = datetime.fromisoformat(stamp)
    except (OSError, ValueError):
        return None
    if digest != hashlib.sha256(data).hexdigest() or moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def publish(path: Path, data: bytes, now: datetime) -> bool:
    """Make ``path`` hold ``data``; True if it was written, False if it already did.

    A write records ``now`` (to the second, and always later than the moment recorded
    before, so that a second change within one second still moves ``Last-Modified``) in
    the file's sidecar. Missing folders are created. Raises :class:`PublishError` naming
    the path when the file cannot be written.
    """
    old = _read(path)
    if old == data:
        _keep(path, data)
        return False
    moment = now.astimezone(UTC).replace(microsecond=0)
    previous = recorded_modified(path, old) if old is not None else None
    if previous is not None and moment <= previous:
        moment = previous + timedelta(seconds=1)
    _write(path, data)
    _write(sidecar(path), _stamp(data, moment))
    return True


def _read(path: Path) -> bytes | None:
    """The bytes published at ``path``, or None if there is no such file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PublishError(f"{path}: cannot read: {exc.strerror}") from exc


def _keep(path: Path, data: bytes) -> None:
    """``path`` already holds ``data``: make sure its sidecar says since when."""
    if recorded_modified(path, data) is None:
        # A file from before sidecars, or a stale sidecar: its mtime is when the
        # bytes last changed, so record that rather than "now".
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        _write(sidecar(path), _stamp(data, mtime))


class Staging:
    """The files of one build, published together by :meth:`commit` at its end.

    A build that streams (issue 16) produces its documents one by one but must publish
    none of them when it is interrupted (issue 15 item 11), and must not hold them all in
    memory: :meth:`add` compares a document with the published file at once, keeps an
    identical one as it is, and writes a changed one to a hidden folder under ``root``;
    :meth:`commit` then publishes those with :func:`publish`, in the order added.
    :meth:`discard` (always call it, e.g. in ``finally``) removes what was not published.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder: Path | None = None
        self.items: list[tuple[str, Path | None]] = []  # None: remove the file

    def add(self, relative: str, data: bytes | None) -> None:
        """Stage ``data`` for ``root/relative``, or (None) the removal of that file."""
        if data is None:
            self.items.append((relative, None))
            return
        path = self.root / relative
        if _read(path) == data:
            _keep(path, data)
            return
        try:
            if self.folder is None:
                self.root.mkdir(parents=True, exist_ok=True)
                self.folder = Path(tempfile.mkdtemp(dir=self.root, prefix=".build-"))
            staged = self.folder / str(len(self.items))
            staged.write_bytes(data)
        except OSError as exc:
            raise PublishError(f"{self.root}: cannot stage {relative}: {exc.strerror}") from exc
        self.items.append((relative, staged))

    def commit(self, now: datetime) -> tuple[list[str], list[str]]:
        """Publish what was staged; returns the paths written and the paths removed."""
        changed: list[str] = []
        removed: list[str] = []
        for relative, staged in self.items:
            path = self.root / relative
            if staged is None:
                if unpublish(path):
                    removed.append(relative)
            elif publish(path, staged.read_bytes(), now):
                changed.append(relative)
        self.discard()
        return changed, removed

    def discard(self) -> None:
        """Forget what is staged and remove the staging folder."""
        self.items = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _stamp(data: bytes, moment: datetime) -> bytes:
    return f"{hashlib.sha256(data).hexdigest()} {moment.isoformat()}\n".encode("ascii")


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` and rename it over ``path``."""
    try:
        with atomic_file(path, mode=0o644) as handle:
            handle.write(data)
    except OSError as exc:
        raise PublishError(f"{path}: cannot write: {exc.strerror}") from exc


def unpublish(path: Path) -> bool:
    """Remove ``path`` (an archive month left empty) and its sidecar; True if it existed."""
    try:
        sidecar(path).unlink(missing_ok=True)
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise PublishError(f"{path}: cannot remove: {exc.strerror}") from exc
    return True


def missing_files(root: Path, relative_paths: Iterable[str]) -> list[str]:
    """Those of ``relative_paths`` that are not files under ``root``."""
    return [path for path in relative_paths if not (root / path).is_file()]
