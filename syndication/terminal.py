"""Terminal output: rich progress bars on a terminal, quiet structured logs elsewhere.

Long work reports progress through :func:`progress`. On an interactive terminal that is a
rich progress bar; under cron, systemd or CI it is a JSON log line now and then, so logs
stay greppable and small.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("syndication")


def is_terminal() -> bool:
    return sys.stderr.isatty()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard:
                payload[key] = value
        if record.exc_info:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# Libraries that log every request or SMTP command at INFO (httpx2 one line per WordPress
# request; aiosmtpd's mail.log many lines per bounce report): their warnings and errors
# are kept, their chatter only at --log-level debug.
THIRD_PARTY_LOGGERS = (
    "alembic",
    "apscheduler",
    "cssutils",
    "CSSUTILS",
    "httpx2",
    "httpcore",
    "mail.log",
    "mail.debug",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "asyncio",
)


def parse_log_level(text: str, where: str) -> int:
    """A level name in any case (``info``, ``WARNING``) as a :mod:`logging` level.

    ``where`` names the option or variable it came from, for the error.
    """
    from syndication.errors import ConfigError

    level = LEVELS.get(text.strip().lower())
    if level is None:
        raise ConfigError(f"{where}: {text!r} is not a log level (one of {', '.join(LEVELS)})")
    return level


def configure_logging(level: int = logging.INFO) -> None:
    """Human-readable lines on a terminal, JSON lines otherwise; both on standard error."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if is_terminal():
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    third_party = logging.DEBUG if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(third_party)


class ProgressReporter(Protocol):
    def advance_to(self, completed: float, **fields: Any) -> None: ...


class _RichReporter:
    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance_to(self, completed: float, **fields: Any) -> None:
        self._progress.update(self._task, completed=completed, **fields)


class _LogReporter:
    """Logs at most every ``interval`` seconds, and once at the end."""

    def __init__(self, description: str, total: float | None, interval: float) -> None:
        self.description, self.total, self.interval = description, total, interval
        self.started = self.last = time.monotonic()
        self.completed: float = 0
        self.fields: dict[str, Any] = {}

    def advance_to(self, completed: float, **fields: Any) -> None:
        self.completed = completed
        self.fields.update(fields)
        if time.monotonic() - self.last >= self.interval:
            self.emit("progress")

    def emit(self, event: str) -> None:
        self.last = time.monotonic()
        log.info(
            "%s: %s",
            self.description,
            event,
            extra={
                "event": event,
                "completed": self.completed,
                "total": self.total,
                "elapsed_s": round(self.last - self.started, 3),
                **self.fields,
            },
        )


@contextmanager
def progress(
    description: str, total: float | None = None, *, unit: str = "", interval: float = 10.0
) -> Iterator[ProgressReporter]:
    """A progress reporter for one long piece of work (see the module docstring)."""
    if not is_terminal():
        reporter = _LogReporter(description, total, interval)
        yield reporter
        reporter.emit("done")
        return
    # rich only here: a command that shows no bar does not pay for importing it.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns.append(
        MofNCompleteColumn() if unit != "bytes" else TextColumn("{task.percentage:>3.0f}%")
    )
    columns += [TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total, status="")
        yield _RichReporter(bar, task)
