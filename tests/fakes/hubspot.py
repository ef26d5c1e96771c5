"""Fake HubSpot CRM: v3 object search (10,000-result cap) and v4 association batch read."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from tests.fakes.server import FakeApi, Request, Response, json_response

SEARCH_CAP = 10_000


def _ms(value: Any) -> int | None:
    return None if value is None else _parse_ms(str(value))


@lru_cache(maxsize=100_000)
def _parse_ms(text: str) -> int:
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class FakeHubSpot(FakeApi):
    def __init__(self, objects: dict[str, list[dict[str, Any]]], associations: dict[tuple[str, str], dict[str, list[str]]],
                 token: str, cap: int = SEARCH_CAP):  # fmt: skip
        super().__init__()
        self.objects = objects
        self.associations = associations
        self.token = token
        self.cap = cap

    def authorized(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.token}"

    def route(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if req.method == "POST" and parts[:3] == ["crm", "v3", "objects"] and parts[4:] == ["search"]:
            return self.search(parts[3], req.body or {})
        if req.method == "POST" and parts[:3] == ["crm", "v4", "associations"] and parts[5:] == ["batch", "read"]:
            return self.batch_read(parts[3], parts[4], req.body or {})
        return json_response({"status": "error", "message": "not found"}, 404)

    def search(self, obj: str, body: dict[str, Any]) -> Response:
        limit = int(body.get("limit", 10))
        if limit > 200:
            return json_response({"status": "error", "message": "limit must be <= 200"}, 400)
        after = 0 if self.repeat_cursor else int(body.get("after") or 0)
        if after + limit > self.cap:
            return json_response(
                {"status": "error", "category": "VALIDATION_ERROR",
                 "message": f"Cannot page beyond the first {self.cap} results"}, 400)  # fmt: skip
        rows = list(self.objects.get(obj, []))
        for group in body.get("filterGroups") or []:
            for flt in group["filters"]:
                prop, op, value = flt["propertyName"], flt["operator"], int(flt["value"])

                def get(r, p=prop):
                    return _ms(r["properties"].get(p))

                if op == "GTE":
                    rows = [r for r in rows if get(r) is not None and get(r) >= value]
                elif op == "LT":
                    rows = [r for r in rows if get(r) is not None and get(r) < value]
                else:
                    return json_response({"status": "error", "message": f"operator {op} not faked"}, 400)
        rows.sort(key=lambda r: int(r["id"]))
        wanted = body.get("properties") or []
        page = []
        for r in rows[after : after + limit]:
            page.append({**{k: v for k, v in r.items() if k != "properties"},
                         "properties": {p: r["properties"].get(p) for p in wanted}})  # fmt: skip
        out: dict[str, Any] = {"total": len(rows), "results": page}
        if after + limit < len(rows):
            out["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return json_response(out)

    def batch_read(self, from_type: str, to_type: str, body: dict[str, Any]) -> Response:
        links = self.associations.get((from_type, to_type), {})
        results = []
        for item in body.get("inputs") or []:
            targets = links.get(str(item["id"]))
            if not targets:
                continue
            results.append({
                "from": {"id": str(item["id"])},
                "to": [{"toObjectId": int(t), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 194, "label": None}]} for t in targets],
            })  # fmt: skip
        return json_response({"status": "COMPLETE", "results": results, "startedAt": "2026-01-01T00:00:00Z",
                              "completedAt": "2026-01-01T00:00:01Z"})  # fmt: skip
