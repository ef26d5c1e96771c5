"""Fake Harvest API v2: /v2/time_entries (from/to/updated_since, page paging) and /v2/users."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import FakeApi, Request, Response, json_response


class FakeHarvest(FakeApi):
    def __init__(self, entries: list[dict[str, Any]], users: list[dict[str, Any]], token: str, account_id: str):
        super().__init__()
        self.entries = entries
        self.users = users
        self.token = token
        self.account_id = account_id

    def authorized(self, req: Request) -> bool:
        return (req.headers.get("authorization") == f"Bearer {self.token}"
                and req.headers.get("harvest-account-id") == self.account_id)  # fmt: skip

    def route(self, req: Request) -> Response:
        if not req.headers.get("user-agent"):
            return json_response({"error": "User-Agent required"}, 400)
        per_page = min(int(req.query.get("per_page", "2000")), 2000)
        page = 1 if self.repeat_cursor else int(req.query.get("page", "1"))
        if req.path == "/v2/users":
            rows, key = self.users, "users"
        elif req.path == "/v2/time_entries":
            rows, key = self.entries, "time_entries"
            if "from" in req.query:
                rows = [e for e in rows if e["spent_date"] >= req.query["from"]]
            if "to" in req.query:
                rows = [e for e in rows if e["spent_date"] <= req.query["to"]]
            if "updated_since" in req.query:
                rows = [e for e in rows if e["updated_at"] >= req.query["updated_since"]]
            rows = sorted(rows, key=lambda e: (e["spent_date"], e["id"]), reverse=True)
        else:
            return json_response({"error": "not found"}, 404)
        total_pages = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        nxt = page + 1 if page < total_pages else None
        base = {k: v for k, v in req.query.items() if k != "page"}
        link = lambda p: f"https://api.harvestapp.com{req.path}?{urlencode({**base, 'page': p})}"  # noqa: E731
        return json_response({
            key: chunk, "per_page": per_page, "total_pages": total_pages, "total_entries": len(rows),
            "next_page": nxt, "previous_page": page - 1 if page > 1 else None, "page": page,
            "links": {"first": link(1), "next": link(nxt) if nxt else None,
                      "previous": link(page - 1) if page > 1 else None, "last": link(total_pages)},
        })  # fmt: skip
