"""A JSON Lines export at an http(s) URL or a local path, in the import format.

Lines follow ``syndication articles import``'s rules exactly (ids as given). A URL is
fetched with a conditional GET; a path is re-read only when its size or modification
time changed. Lines are written in batches of :data:`BATCH_LINES`. An export is the
newsroom's whole list or its recent part, never a statement of what was deleted, so
nothing is retracted by inference.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from syndication.core.articles import ArticleRecord, parse_article_bytes
from syndication.core.source_items import ItemRejection
from syndication.edges.http_client import FetchError, HttpClient
from syndication.errors import RecordError
from syndication.sources.base import Batch, PollContext, unexpected, with_validators

BATCH_LINES = 2000
EXPORT = "export"


def poll(context: PollContext, client: HttpClient) -> Iterator[Batch]:
    source = context.source
    memo = dict(context.state.memo)
    if "://" in source.url:
        validators = None if context.full else context.state.validators(EXPORT)
        answer = client.get(source.url, validators=validators, accept="application/x-ndjson, */*")
        if answer.not_modified:
            return
        lines = answer.body.splitlines()
        memo = with_validators(memo, EXPORT, answer.validators)
    else:
        path = Path(source.url)
        try:
            stat = path.stat()
            signature = f"{stat.st_size}:{stat.st_mtime_ns}"
            if not context.full and memo.get("file") == signature:
                return
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            raise FetchError(f"{path}: cannot read: {exc.strerror}") from exc
        memo["file"] = signature
    known = context.rules.known_topics
    batch = Batch()
    pending: dict[str, ArticleRecord] = {}
    for number, line in enumerate(lines, start=1):
        batch.fetched += 1 if line.strip() else 0
        try:
            record = parse_article_bytes(line, known, context.rules.limits)
        except RecordError as exc:
            batch.rejections.append(
                ItemRejection(source.name, f"line {number}", exc.field, exc.reason)
            )
            continue
        except Exception as exc:  # noqa: BLE001 - one line must not cost the export
            batch.rejections.append(
                ItemRejection(source.name, f"line {number}", "", unexpected(exc))
            )
            continue
        if record is None:
            continue
        if record.source_id in pending:
            # A later line is a newer version of the same article: write the earlier first.
            batch.records = list(pending.values())
            yield batch
            batch, pending = Batch(), {}
        pending[record.source_id] = record
        if len(pending) >= BATCH_LINES:
            batch.records = list(pending.values())
            yield batch
            batch, pending = Batch(), {}
    batch.records = list(pending.values())
    batch.memo = memo  # stored with the last batch: the whole export is then written
    yield batch
