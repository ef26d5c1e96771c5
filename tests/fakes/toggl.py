"""Fake Toggl Track: Reports API v3 detailed search (X-Next-ID / X-Next-Row-Number) + v9 lookups."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.server import FakeApi, Request, Response, json_response


class FakeToggl(FakeApi):
    def __init__(self, workspace_id: int, entries: list[dict[str, Any]], lookups: dict[str, list[dict[str, Any]]],
                 tasks: dict[int, list[dict[str, Any]]], token: str):  # fmt: skip
        super().__init__()
        self.wid = workspace_id
        self.entries = entries  # report rows, one time entry each
        self.lookups = lookups
        self.tasks = tasks
        self.token = token

    def authorized(self, req: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.token}:api_token".encode()).decode()
        return req.headers.get("authorization") == expected

    def route(self, req: Request) -> Response:
        base = f"/api/v9/workspaces/{self.wid}"
        if req.method == "POST" and req.path == f"/reports/api/v3/workspace/{self.wid}/search/time_entries":
            return self.search(req.body or {})
        if req.path == f"{base}/projects":
            page, per = int(req.query.get("page", "1")), int(req.query.get("per_page", "151"))
            return json_response(self.lookups["projects"][(page - 1) * per : page * per])
        for kind in ("clients", "tags", "users"):
            if req.path == f"{base}/{kind}":
                return json_response(self.lookups[kind])
        if req.path.startswith(f"{base}/projects/") and req.path.endswith("/tasks"):
            return json_response(self.tasks.get(int(req.path.split("/")[-2]), []))
        return json_response("not found", 404)

    def search(self, body: dict[str, Any]) -> Response:
        start, end = body["start_date"], body["end_date"]
        rows = [r for r in self.entries if start <= r["time_entries"][0]["start"][:10] <= end]
        rows.sort(key=lambda r: (r["time_entries"][0]["start"], r["time_entries"][0]["id"]))
        first = 1 if self.repeat_cursor else int(body.get("first_row_number") or 1)
        size = int(body.get("page_size") or 50)
        page = [{**r, "row_number": first + i} for i, r in enumerate(rows[first - 1 : first - 1 + size])]
        headers = {}
        if first - 1 + size < len(rows):
            nxt = rows[first - 1 + size]
            headers = {"X-Next-ID": str(nxt["time_entries"][0]["id"]), "X-Next-Row-Number": str(first + size)}
        return json_response(page, headers=headers)
