"""A producer run in a real forked child: messages, errors, deaths and early stops."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from syndication.edges.worker_process import WorkerProcess, WorkerProcessError


def gone(pid: int) -> bool:
    """True once the child has been reaped (waitpid no longer knows it)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_messages_arrive_whole_and_in_order_and_the_child_is_reaped() -> None:
    # Larger than a pipe's buffer, so the child blocks mid-message until this side reads.
    big = bytes(range(256)) * 20_000

    def produce() -> Iterator[bytes]:
        yield b""
        yield b"one"
        yield big
        yield str(os.getpid()).encode()

    with WorkerProcess(produce, name="test") as worker:
        messages = list(worker)
    assert messages[:3] == [b"", b"one", big]
    assert int(messages[3]) == worker.pid != os.getpid()
    assert gone(worker.pid)


def test_the_producers_exception_is_raised_here_with_its_traceback() -> None:
    def produce() -> Iterator[bytes]:
        yield b"before"
        raise FileNotFoundError(2, "No such file or directory", "missing.jsonl")

    with WorkerProcess(produce, name="test") as worker:
        received = []
        with pytest.raises(FileNotFoundError) as caught:
            for message in worker:
                received.append(message)
    assert received == [b"before"]
    assert caught.value.filename == "missing.jsonl"
    assert "raised in the worker process" in caught.value.__notes__[0]
    assert "produce" in caught.value.__notes__[0]
    assert gone(worker.pid)


def test_an_exception_that_cannot_be_pickled_is_described() -> None:
    class Local(Exception):  # a local class: pickle cannot name it
        pass

    def produce() -> Iterator[bytes]:
        raise Local("cannot travel")
        yield b""

    with WorkerProcess(produce, name="test") as worker, pytest.raises(WorkerProcessError) as caught:
        list(worker)
    assert "Local: cannot travel" in str(caught.value)


@pytest.mark.parametrize(
    ("end", "described"),
    [
        (lambda: os._exit(3), "exit status 3"),
        (lambda: os.kill(os.getpid(), signal.SIGKILL), "killed by signal SIGKILL"),
    ],
    ids=["exit", "killed"],
)
def test_a_child_that_dies_without_a_word_is_an_error_naming_how(
    end: object, described: str
) -> None:
    def produce() -> Iterator[bytes]:
        yield b"first"
        end()  # type: ignore[operator]
        yield b"never"

    with WorkerProcess(produce, name="article parsing") as worker:
        iterator = iter(worker)
        assert next(iterator) == b"first"
        with pytest.raises(WorkerProcessError) as caught:
            next(iterator)
    assert str(caught.value) == (
        f"the article parsing process stopped before it finished ({described})"
    )
    assert gone(worker.pid)


def test_leaving_early_stops_and_reaps_the_child() -> None:
    def produce() -> Iterator[bytes]:
        while True:  # would run for ever
            yield b"x" * 1000

    with WorkerProcess(produce, name="test") as worker:
        assert next(iter(worker)) == b"x" * 1000
        pid = worker.pid
        assert not gone(pid)
    assert gone(pid)
    worker.close()  # a second close is harmless
