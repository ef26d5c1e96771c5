"""Fake n8n public API v1: /api/v1/executions and /api/v1/workflows (X-N8N-API-KEY)."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.fakes.server import FakeApi, Request, Response, json_response


class FakeN8n(FakeApi):
    def __init__(self, executions: list[dict[str, Any]], workflows: dict[str, str], api_key: str):
        super().__init__()
        self.executions = executions
        self.workflows = workflows
        self.api_key = api_key

    def authorized(self, req: Request) -> bool:
        return req.headers.get("x-n8n-api-key") == self.api_key

    def route(self, req: Request) -> Response:
        limit = int(req.query.get("limit", "100"))
        if limit > 250:
            return json_response({"message": "request/query/limit must be <= 250"}, 400)
        last_id = None
        if req.query.get("cursor") and not self.repeat_cursor:
            last_id = json.loads(base64.b64decode(req.query["cursor"]))["lastId"]
        if req.path == "/api/v1/workflows":
            items = [{"id": k, "name": v, "active": True} for k, v in sorted(self.workflows.items())]
            return json_response({"data": items, "nextCursor": None})
        if req.path != "/api/v1/executions":
            return json_response({"message": "not found"}, 404)
        rows = sorted(self.executions, key=lambda e: int(e["id"]), reverse=True)
        if req.query.get("workflowId"):
            rows = [e for e in rows if e["workflowId"] == req.query["workflowId"]]
        if last_id is not None:
            rows = [e for e in rows if int(e["id"]) < int(last_id)]
        page = rows[:limit]
        include = req.query.get("includeData") == "true"
        out = []
        for execution in page:
            item = dict(execution)
            if include:
                item["data"] = {"resultData": {"runData": {"Webhook": [{"json": {"email": "person@example.com"}}]}}}
                item["workflowData"] = {"id": execution["workflowId"], "nodes": []}
            else:
                item.pop("customData", None)
            out.append(item)
        cursor = None
        if len(rows) > limit:
            cursor = base64.b64encode(json.dumps({"lastId": page[-1]["id"], "limit": limit}).encode()).decode()
        return json_response({"data": out, "nextCursor": cursor})
