"""A fake WordPress site answering ``/wp-json/wp/v2/posts`` and ``/categories`` as
WordPress 6 does for an anonymous client.

What it copies from WordPress (class-wp-rest-posts-controller.php and its tests):
``per_page`` 1..100, else ``400 rest_invalid_param``; ``X-WP-Total`` and
``X-WP-TotalPages`` on every list; a page past the end (when there are posts) is ``400
rest_post_invalid_page_number`` (trac #39061), an empty list is ``200 []`` with totals 0;
``modified_after`` (5.7, trac #50617) is exclusive; ``orderby``/``order``; ``_fields``
keeps the named top-level fields; only ``status=publish`` is visible; rendered titles are
HTML with entities (``&#8217;``); ``date_gmt``/``modified_gmt`` have no offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.http import Answer, Request

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@dataclass
class FakeWordPress:
    root: str = "https://english.seoul.go.kr"
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    categories: dict[int, str] = field(
        default_factory=lambda: {
            7: "international-relations-news",
            8: "environment-news",
            9: "uncategorized",
        }
    )

    def add_post(
        self,
        post_id: int,
        *,
        title: str = "",
        categories: tuple[int, ...] = (7,),
        date: datetime | None = None,
        modified: datetime | None = None,
        content: str = "",
        status: str = "publish",
        **extra: Any,
    ) -> dict[str, Any]:
        """A published post; ``extra`` are further fields of the answer (a plugin's:
        Polylang's ``lang`` and ``translations``, WPML's ``wpml_current_locale``...)."""
        date = date or T0 + timedelta(minutes=post_id)
        post = {
            "id": post_id,
            "date": _gmt(date + timedelta(hours=9)),
            "date_gmt": _gmt(date),
            "modified": _gmt((modified or date) + timedelta(hours=9)),
            "modified_gmt": _gmt(modified or date),
            "slug": f"post-{post_id}",
            "status": status,
            "type": "post",
            "link": f"{self.root}/post-{post_id}/",
            "title": {"rendered": title or f"Seoul&#8217;s news number {post_id}"},
            "content": {
                "rendered": content or f'<p>Body {post_id} <a href="/rel/{post_id}">more</a></p>\n',
                "protected": False,
            },
            "excerpt": {"rendered": f"<p>Summary {post_id} &hellip; [&hellip;]</p>\n"},
            "author": 1,
            "categories": list(categories),
            "tags": [],
            **extra,
        }
        self.posts[post_id] = post
        return post

    def edit(self, post_id: int, modified: datetime, **changes: Any) -> None:
        post = self.posts[post_id]
        post["modified_gmt"] = _gmt(modified)
        if "title" in changes:
            post["title"] = {"rendered": changes["title"]}
        if "status" in changes:
            post["status"] = changes["status"]

    def __call__(self, request: Request) -> Answer:
        if request.path == "/wp-json/wp/v2/posts":
            return self._posts(request.query)
        if request.path == "/wp-json/wp/v2/categories":
            items = [{"id": i, "slug": s, "name": s} for i, s in sorted(self.categories.items())]
            return self._page(request.query, items)
        return _error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def _posts(self, query: dict[str, str]) -> Answer:
        status = query.get("status", "publish")
        if status != "publish":
            return _error(400, "rest_invalid_param", "Invalid parameter(s): status")
        items = [p for p in self.posts.values() if p["status"] == "publish"]
        if "modified_after" in query:
            try:
                after = datetime.fromisoformat(query["modified_after"].replace("Z", "+00:00"))
            except ValueError:
                return _error(400, "rest_invalid_param", "Invalid parameter(s): modified_after")
            if after.tzinfo is None:
                after = after.replace(tzinfo=UTC)
            items = [
                p
                for p in items
                if datetime.fromisoformat(p["modified_gmt"]).replace(tzinfo=UTC) > after
            ]
        orderby = query.get("orderby", "date")
        key = {"modified": "modified_gmt", "date": "date_gmt", "id": "id"}.get(orderby)
        if key is None:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        items.sort(key=lambda p: (p[key], p["id"]), reverse=query.get("order", "desc") == "desc")
        return self._page(query, items)

    def _page(self, query: dict[str, str], items: list[dict[str, Any]]) -> Answer:
        try:
            per_page = int(query.get("per_page", "10"))
            page = int(query.get("page", "1"))
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        if not 1 <= per_page <= 100:
            return _error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        total = len(items)
        pages = -(-total // per_page)
        if page > pages and total > 0:
            return _error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        chosen = items[(page - 1) * per_page : page * per_page]
        if "_fields" in query:
            wanted = set(query["_fields"].split(","))
            chosen = [{k: v for k, v in item.items() if k in wanted} for item in chosen]
        return Answer(
            200,
            {
                "Content-Type": "application/json; charset=UTF-8",
                "X-WP-Total": str(total),
                "X-WP-TotalPages": str(pages),
            },
            json.dumps(chosen).encode(),
        )


def _error(status: int, code: str, message: str, params: dict[str, str] | None = None) -> Answer:
    data: dict[str, Any] = {"status": status}
    if params:
        data["params"] = params
    body = {"code": code, "message": message, "data": data}
    return Answer(
        status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()
    )
