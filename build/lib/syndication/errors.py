"""Exceptions whose message is meant for a newsroom operator.

Every error the service raises on purpose says what went wrong, where (file and line, key,
field or address) and, where it helps, what to do. The CLI prints these messages without a
traceback and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SyndicationError(Exception):
    """Base class of the errors an operator can act on."""

    exit_code = 1


class ConfigError(SyndicationError):
    """The configuration file or an environment variable holds a value we cannot use."""

    exit_code = 2


class InputError(SyndicationError):
    """A file or argument given to a command is not usable as a whole."""

    exit_code = 2


class NotFoundError(SyndicationError):
    """A thing named on the command line (an article, a list, a subscriber) does not exist."""


class RecordError(SyndicationError):
    """One record (a JSON line, a CSV row) is invalid; the records beside it are still kept.

    ``field`` names the offending field, or is empty when the record as a whole is broken
    (malformed JSON, wrong number of columns).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class EmptyDigestError(SyndicationError):
    """A list has no articles in the asked-for period, so there is no digest to make."""
