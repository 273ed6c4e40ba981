"""What every kind of source hands the sources service: batches, and the state it needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syndication.core.articles import ArticleRecord
from syndication.core.source_items import ItemRejection, TopicRules
from syndication.edges.http_client import HttpClient, Validators
from syndication.settings import SourceSettings


@dataclass(frozen=True)
class PollState:
    """What the last successful poll left: the kind's cursor and its memo (JSON-able)."""

    cursor: str = ""
    memo: dict[str, Any] = field(default_factory=dict)

    def validators(self, key: str) -> Validators:
        etag, last_modified = (self.memo.get("validators", {}).get(key) or ["", ""])[:2]
        return Validators(str(etag), str(last_modified))


def with_validators(
    memo: dict[str, Any], key: str, validators: Validators | None
) -> dict[str, Any]:
    """``memo`` with ``key``'s validators replaced (removed when ``None`` or empty)."""
    stored = dict(memo.get("validators", {}))
    if validators:
        stored[key] = [validators.etag, validators.last_modified]
    else:
        stored.pop(key, None)
    return {**memo, "validators": stored}


@dataclass
class Batch:
    """Items to write in one transaction, with the state that covers them.

    ``cursor``/``memo`` (when not ``None``) are stored in the same transaction as
    ``records``, so the cursor never runs ahead of what was written. ``live_ids``, from a
    reconciliation pass, is every id the upstream still publishes: the service retracts
    this source's published articles that are not in it. ``withdrawn`` are ids the
    upstream lists but must not be published (a protected or unpublished WordPress post):
    skipped, and retracted if they were published before.
    """

    records: list[ArticleRecord] = field(default_factory=list)
    rejections: list[ItemRejection] = field(default_factory=list)
    fetched: int = 0
    cursor: str | None = None
    memo: dict[str, Any] | None = None
    live_ids: set[str] | None = None
    withdrawn: dict[str, str] = field(default_factory=dict)  # source id: why
    warnings: list[str] = field(default_factory=list)  # said in the report, not a failure


@dataclass(frozen=True)
class PollContext:
    """Everything a kind's ``poll`` gets besides the HTTP client."""

    source: SourceSettings
    state: PollState
    rules: TopicRules
    language: str
    full: bool
    reconcile: bool
    now: datetime  # when the poll started (an undated feed entry is "first seen" then)


def unexpected(exc: BaseException) -> str:
    """The one-line reason an item is rejected for an exception nobody foresaw: reading one
    item must never cost the rest of the page (issue 27 item 1)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected {type(exc).__name__}: {first}".rstrip(": ")


PollFunction = Callable[[PollContext, HttpClient], Iterator[Batch]]
