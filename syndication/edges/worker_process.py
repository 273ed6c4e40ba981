"""A producer of byte messages run in a forked child process, its messages read here.

The article import parses and hashes its lines in such a child while this process writes
to the database (issue 16): under one GIL the two halves ran nearly one after the other;
as two processes they use both cores. The child is a plain ``os.fork`` (not
``multiprocessing``, whose child closes standard input, which an import may be reading)
and starts with what this process holds: the producer's arguments are never pickled.

The child only runs the producer and writes to the pipe, then leaves with ``os._exit``:
no atexit handlers, no flushing of this process's buffers, no finalizers that could touch
a database connection it inherited. Each message is framed as one kind byte, an 8-byte
length and the payload. An exception raised by the producer is pickled and raised again
here, with the child's traceback as its note; a child that dies without saying so (killed,
out of memory) is a :class:`WorkerProcessError`. Leaving the ``with`` block early (an
error here, Ctrl-C) kills the child and reaps it, so no orphan outlives the import.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import traceback
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import IO

from syndication.errors import SyndicationError

_HEADER = struct.Struct("<cQ")
_MESSAGE, _ERROR, _DONE = b"M", b"E", b"D"
# Large enough that a batch of articles is a few system calls, small enough to stay flat.
_BUFFER = 1 << 20


class WorkerProcessError(SyndicationError):
    """The child process stopped without finishing or reporting an error (killed, out of
    memory): the command says so in one line, as for any operator-facing failure."""


def fork_available() -> bool:
    """Whether this platform can fork (POSIX): elsewhere callers produce in-process."""
    return hasattr(os, "fork")


class WorkerProcess:
    """Runs ``produce()`` in a forked child; iterating yields the messages it produced.

    Use as a context manager: leaving it stops the child if it is still running.
    """

    def __init__(self, produce: Callable[[], Iterator[bytes]], *, name: str) -> None:
        self._name = name
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            os._exit(_run_child(produce, write_fd))
        os.close(write_fd)
        self._pid: int | None = pid  # None once reaped
        self._incoming: IO[bytes] = os.fdopen(read_fd, "rb", buffering=_BUFFER)
        self._finished = False
        self.pid = pid

    def __iter__(self) -> Iterator[bytes]:
        while not self._finished:
            kind, payload = self._read_message()
            if kind == _MESSAGE:
                yield payload
            elif kind == _DONE:
                self._finished = True
                self._reap()
            else:
                self._finished = True
                self._reap()
                raise _unpickled_error(payload)

    def _read_message(self) -> tuple[bytes, bytes]:
        header = self._incoming.read(_HEADER.size)
        if len(header) == _HEADER.size:
            kind, length = _HEADER.unpack(header)
            payload = self._incoming.read(length)
            if len(payload) == length:
                return kind, payload
        self._finished = True
        status = self._reap()
        raise WorkerProcessError(
            f"the {self._name} process stopped before it finished ({_describe(status)})"
        )

    def _reap(self) -> int:
        """Wait for the child to exit; its wait status (0 once already reaped)."""
        if self._pid is None:
            return 0
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return status

    def close(self) -> None:
        """Stop the child if it still runs, wait for it, close the pipe. Idempotent."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:  # it had exited already; waitpid reaps it below
                pass
            self._reap()
        self._incoming.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _run_child(produce: Callable[[], Iterator[bytes]], write_fd: int) -> int:
    """The child's whole life; returns its exit status."""
    try:
        with os.fdopen(write_fd, "wb", buffering=_BUFFER) as out:
            try:
                for message in produce():
                    out.write(_HEADER.pack(_MESSAGE, len(message)))
                    out.write(message)
                    out.flush()
                out.write(_HEADER.pack(_DONE, 0))
            except BrokenPipeError:
                return 1  # the reader has gone: nobody left to tell
            except BaseException as exc:  # every failure is reported to the parent
                payload = _pickled_error(exc)
                out.write(_HEADER.pack(_ERROR, len(payload)))
                out.write(payload)
                return 1
    except BaseException:  # the pipe itself failed: the parent sees EOF
        return 1
    return 0


def _pickled_error(exc: BaseException) -> bytes:
    where = "".join(traceback.format_exception(exc)).rstrip()
    try:
        exc.add_note(f"raised in the worker process:\n{where}")
        return pickle.dumps(exc)
    except Exception:  # one that cannot be pickled is described
        return pickle.dumps(WorkerProcessError(f"{type(exc).__name__}: {exc}\n{where}"))


def _unpickled_error(payload: bytes) -> BaseException:
    try:
        error = pickle.loads(payload)
    except Exception as exc:  # e.g. a class this process cannot import
        return WorkerProcessError(f"the worker process failed and its error was unreadable: {exc}")
    if isinstance(error, BaseException):
        return error
    return WorkerProcessError(f"the worker process failed: {error!r}")


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
