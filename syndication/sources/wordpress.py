"""WordPress through its REST API, as WordPress really answers it.

``GET /wp-json/wp/v2/posts`` with ``per_page=100`` (its maximum: 101 is a ``400
rest_invalid_param``), ``orderby=modified&order=asc`` and ``modified_after`` (WordPress
5.7, trac #50617) from the cursor minus :data:`OVERLAP`, ``_fields`` naming only what the
mapping reads, and ``page`` up to ``X-WP-TotalPages`` (a page past the end is a ``400
rest_post_invalid_page_number``, trac #39061). Category ids become slugs through
``/wp-json/wp/v2/categories``, fetched only when a post names an id not seen before.

The cursor is the newest ``modified_gmt`` stored. ``modified_after`` is exclusive and
compared with the post's modified time to the second, so a post saved in the same second
as the cursor, or by a clock a little behind, would be skipped: each poll re-reads
:data:`OVERLAP` before the cursor, which the upsert makes harmless (unchanged articles
write nothing).

Paging by number over a list ordered by modification shifts when a post is edited while
we page (it jumps to the end and a neighbour slides onto a page already read). A poll that
sees that happen (a post modified after its first answer, or the total changing) puts the
cursor back where it started, so the next poll reads the range again.

Every listing stops at the source's ``max_pages`` (and at an empty page, which WordPress
never sends before the end): a site claiming ``X-WP-TotalPages: 1000000`` cannot keep a
poll asking. The changed posts are read oldest change first, so a poll cut short stores
what it read and the next one goes on from that cursor; a reconciliation cut short
retracts nothing (its list of live ids would be incomplete) and fails the poll instead.

Only public posts are syndicated: one that is password-protected (``content.protected``)
or whose ``status`` is not ``publish`` (draft, pending, private, future: listed only to
an authenticated request or by a plugin) is skipped, and retracted if it was published
before (:func:`syndication.core.source_items.wordpress_not_public`).

Deletions: a post trashed, unpublished or deleted simply stops being listed. The
reconciliation pass lists every published id (``_fields=id``, cheap) and hands the set to
the service, which retracts the rest (RFC 6721 tombstones in the feeds).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from syndication.core.source_items import (
    WORDPRESS_FIELDS,
    ItemRejection,
    source_id,
    wordpress_gmt,
    wordpress_not_public,
    wordpress_post,
)
from syndication.edges.http_client import FetchError, HttpClient, Response
from syndication.errors import RecordError
from syndication.sources.base import Batch, PollContext, unexpected, with_validators

PER_PAGE = 100  # WordPress's maximum for per_page
OVERLAP = timedelta(minutes=5)
POSTS = "/wp-json/wp/v2/posts"
CATEGORIES = "/wp-json/wp/v2/categories"
FIRST_PAGE = "posts:first-page"


def poll(context: PollContext, client: HttpClient) -> Iterator[Batch]:
    """Yield one batch per page of changed posts, then (if asked) the live ids."""
    yield from _changed_posts(context, client)
    if context.reconcile:
        yield Batch(live_ids=_live_ids(context, client))


def _changed_posts(context: PollContext, client: HttpClient) -> Iterator[Batch]:
    source = context.source
    start_cursor = "" if context.full else context.state.cursor
    memo = dict(context.state.memo)
    categories: dict[int, str] = {int(k): v for k, v in memo.get("categories", {}).items()}
    params: dict[str, str | int] = {
        "per_page": PER_PAGE,
        "orderby": "modified",
        "order": "asc",
        "status": "publish",
        "_fields": ",".join(WORDPRESS_FIELDS),
    }
    if start_cursor:
        after = datetime.fromisoformat(start_cursor) - OVERLAP
        params["modified_after"] = after.astimezone(UTC).isoformat()
    cursor = start_cursor
    first_seen: datetime | None = None
    total: str | None = None
    shifted = False
    capped = False
    page = 1
    while True:
        validators = context.state.validators(FIRST_PAGE) if page == 1 and cursor else None
        answer = client.get(
            source.url + POSTS,
            {**params, "page": page},
            validators,
            accept="application/json",
            allow=(400,),
        )
        if answer.not_modified:
            return
        if answer.status == 400:
            if _error_code(answer) == "rest_post_invalid_page_number" and page > 1:
                shifted = True  # posts left the range while we paged
                break
            raise FetchError(f"GET {answer.url}: 400 {_error_message(answer)}")
        if first_seen is None:
            first_seen = _server_time(answer)
        posts = _json_list(answer)
        pages = _header_int(answer, "x-wp-totalpages")
        if total is not None and answer.headers.get("x-wp-total") != total:
            shifted = True
        total = answer.headers.get("x-wp-total")
        unknown = {c for p in posts for c in _category_ids(p) if c not in categories}
        if unknown:
            categories.update(_categories(source.url, client, source.max_pages))
            memo["categories"] = {str(k): v for k, v in sorted(categories.items())}
        batch = Batch(fetched=len(posts))
        for post in posts:
            modified = _modified(post)
            if modified is not None:
                if not cursor or modified > datetime.fromisoformat(cursor):
                    cursor = modified.isoformat()
                if first_seen is not None and modified >= first_seen - timedelta(seconds=1):
                    shifted = True
            hidden = wordpress_not_public(post)
            if hidden and isinstance(post.get("id"), int):
                batch.withdrawn[source_id(source.name, str(post["id"]))] = hidden
                continue
            try:
                batch.records.append(
                    wordpress_post(
                        post,
                        source=source.name,
                        category_slugs=categories,
                        rules=context.rules,
                        language=context.language,
                    )
                )
            except RecordError as exc:
                item = f"post {post.get('id', '?')}"
                batch.rejections.append(ItemRejection(source.name, item, exc.field, exc.reason))
            except Exception as exc:  # noqa: BLE001 - one post must not cost the page
                item = f"post {post.get('id', '?')}"
                batch.rejections.append(ItemRejection(source.name, item, "", unexpected(exc)))
        # The first page's validators are only trusted when it was the only page: an edit
        # on a later page moves that post to the end without changing page 1's bytes.
        single = pages <= 1 and page == 1
        memo = with_validators(memo, FIRST_PAGE, answer.validators if single else None)
        batch.cursor, batch.memo = cursor, dict(memo)
        yield batch
        if page >= pages or not posts:
            break
        if page >= source.max_pages:
            capped = True  # the next poll goes on from this cursor
            break
        page += 1
    if shifted and not capped and cursor != start_cursor and not context.full:
        # Read the range again next time (see the module docstring).
        yield Batch(cursor=start_cursor, memo=with_validators(memo, FIRST_PAGE, None))


def _live_ids(context: PollContext, client: HttpClient) -> set[str]:
    """Every post id WordPress still publishes, as our source ids."""
    source = context.source
    ids: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        if page > source.max_pages:
            raise FetchError(
                f"{source.url}: more than max_pages ({source.max_pages}) pages of post ids; "
                "nothing retracted (raise max_pages to reconcile this site)"
            )
        answer = client.get(
            source.url + POSTS,
            {"per_page": PER_PAGE, "status": "publish", "_fields": "id", "page": page},
            accept="application/json",
        )
        pages = _header_int(answer, "x-wp-totalpages")
        posts = _json_list(answer)
        for post in posts:
            if isinstance(post.get("id"), int):
                ids.add(source_id(source.name, str(post["id"])))
        if not posts:
            break
        page += 1
    return ids


def _categories(root: str, client: HttpClient, max_pages: int) -> dict[int, str]:
    found: dict[int, str] = {}
    page, pages = 1, 1
    while page <= min(pages, max_pages):
        answer = client.get(
            root + CATEGORIES,
            {"per_page": PER_PAGE, "_fields": "id,slug", "page": page},
            accept="application/json",
        )
        pages = _header_int(answer, "x-wp-totalpages")
        listed = _json_list(answer)
        for category in listed:
            if isinstance(category.get("id"), int) and isinstance(category.get("slug"), str):
                found[category["id"]] = category["slug"]
        page = page + 1 if listed else pages + 1
    return found


def _category_ids(post: dict[str, Any]) -> list[int]:
    ids = post.get("categories")
    return [c for c in ids if isinstance(c, int)] if isinstance(ids, list) else []


def _modified(post: dict[str, Any]) -> datetime | None:
    try:
        return wordpress_gmt(post.get("modified_gmt"), "modified_gmt")
    except Exception:  # noqa: BLE001 - the post's own mapping reports what is wrong
        return None


def _json_list(answer: Response) -> list[dict[str, Any]]:
    try:
        data = json.loads(answer.body)
    except ValueError as exc:
        raise FetchError(
            f"GET {answer.url}: the answer is not JSON ({exc}); is this a WordPress site root?"
        ) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FetchError(f"GET {answer.url}: expected a JSON array of objects")
    return data


def _header_int(answer: Response, name: str) -> int:
    value = answer.headers.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise FetchError(
            f"GET {answer.url}: no {name} header; is this the WordPress REST API?"
        ) from None


def _error_code(answer: Response) -> str:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return ""
    return str(data.get("code", "")) if isinstance(data, dict) else ""


def _error_message(answer: Response) -> str:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return answer.body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        return f"{data.get('code', '')}: {data.get('message', '')}"
    return str(data)[:200]


def _server_time(answer: Response) -> datetime | None:
    try:
        return parsedate_to_datetime(answer.headers.get("date", "")).astimezone(UTC)
    except (TypeError, ValueError):
        return None
