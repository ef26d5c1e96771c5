"""Fake Make API v2: /api/v2/scenarios/{id}/logs (Authorization: Token ...), offset paging."""

from __future__ import annotations

from typing import Any

from tests.fakes.server import FakeApi, Request, Response, json_response


class FakeMake(FakeApi):
    """``logs``: scenario id -> its logs (without ``scenarioId``, as Make lists them)."""

    def __init__(self, logs: dict[str, list[dict[str, Any]]], token: str):
        super().__init__()
        self.logs = logs
        self.token = token

    def authorized(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Token {self.token}"

    def route(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")  # api v2 scenarios <id> logs
        if len(parts) != 5 or parts[:3] != ["api", "v2", "scenarios"] or parts[4] != "logs":
            return json_response({"message": "not found"}, 404)
        if parts[3] not in self.logs:
            return json_response({"message": "Scenario not found", "code": "IM005"}, 404)
        frm, to = int(req.query.get("from", "0")), int(req.query.get("to", str(2**62)))
        rows = [r for r in self.logs[parts[3]] if frm <= r["_ms"] <= to]
        rows.sort(key=lambda r: r["imtId"], reverse=True)
        offset = 0 if self.repeat_cursor else int(req.query.get("pg[offset]", "0"))
        limit = int(req.query.get("pg[limit]", "10"))
        page = [{k: v for k, v in r.items() if k != "_ms"} for r in rows[offset : offset + limit]]
        return json_response({"scenarioLogs": page, "pg": {"sortBy": "imtId", "sortDir": "desc", "limit": limit}})
