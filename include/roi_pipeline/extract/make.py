"""Make API v2: ``GET /api/v2/scenarios/{scenarioId}/logs`` -> ``make_scenario_logs/<YYYY-MM>.json``.

- ``Authorization: Token <api token>``; the base URL is the organization's zone
  (``https://eu1.make.com``, ``https://us1.make.com`` ...): set it in the client's extract
  settings or as the connection's host (``/api/v2`` is added);
- one query per register scenario (platform ``make``): the logs endpoint is per scenario,
  and its records do not name the scenario, so ``scenarioId`` is added to each record as it
  lands; every other field is kept as returned;
- ``from`` / ``to`` (epoch ms) bound the window (from the watermark minus the overlap);
  offset paging (``pg[offset]``, ``pg[limit]``, ``pg[sortDir]=desc``): a page shorter than the
  limit is the last one;
- 429 and 5xx are retried by :mod:`roi_pipeline.extract.http` (``Retry-After`` honoured);
- records are merged into month files by ``imtId`` (the execution id).
"""

from __future__ import annotations

from typing import Any

from roi_pipeline.extract.base import Extractor, LandedFile, parse_iso
from roi_pipeline.extract.http import ApiClient, ApiError
from roi_pipeline.formats.platforms import make_instant


class MakeExtractor(Extractor):
    source = "make"
    vendor = "Make"
    folders = ("make_scenario_logs",)

    def api(self) -> ApiClient:
        base = self.base_url()
        if not base.endswith("/api/v2"):
            base += "/api/v2"
        return self.client({"Authorization": f"Token {self.token()}"}, base_url=base)

    def extract(self) -> list[LandedFile]:
        job, window = self.job, self.job.window
        limit = self.job.settings.page_size or 100
        scenarios = sorted(job.client.known_workflow_ids().get("make", set()))
        lower = window.lower()
        frm, to = int(lower.timestamp() * 1000), int(window.end.timestamp() * 1000)
        records: list[dict[str, Any]] = []
        with self.api() as api:
            for scenario in scenarios:
                query = {"endpoint": "logs", "scenarioId": scenario, "from": frm, "to": to, "limit": limit}
                fetch = lambda offset, s=scenario: self._page(api, s, offset or 0, limit, frm, to)  # noqa: E731
                records.extend(self.paginate(f"GET /scenarios/{scenario}/logs", fetch, query))
            job.requests += api.requests
        kept = {}
        for record in records:
            started = _started(record)
            if started is None or not (lower <= started < window.end):
                continue
            kept[str(record["imtId"])] = record
        by_month = self.by_month(kept.values(), _started)
        if window.since is None:  # a full extract writes every month of the window, even empty ones
            for month in window.months():
                by_month.setdefault(month, [])
        return self.write_merged_months("make_scenario_logs", "scenarioLogs", by_month, key="imtId")

    def _page(self, api: ApiClient, scenario: str, offset: int, limit: int, frm: int, to: int):
        params = {"from": frm, "to": to, "pg[offset]": offset, "pg[limit]": limit, "pg[sortDir]": "desc"}
        body, _headers = api.request_json("GET", f"/scenarios/{scenario}/logs", params=params)
        if not isinstance(body, dict) or not isinstance(body.get("scenarioLogs"), list):
            raise ApiError(f"{api.label}: GET /scenarios/{scenario}/logs returned no 'scenarioLogs' list")
        page = []
        for log in body["scenarioLogs"]:
            if not isinstance(log, dict) or log.get("imtId") is None:
                raise ApiError(f"{api.label}: GET /scenarios/{scenario}/logs returned a log without an imtId")
            page.append({**log, "scenarioId": log.get("scenarioId", _as_id(scenario))})
        return page, (offset + limit if len(page) == limit else None)


def _as_id(scenario: str) -> int | str:
    return int(scenario) if scenario.isdigit() else scenario


def _started(record: dict[str, Any]):
    try:
        return parse_iso(make_instant(record.get("timestamp"), "timestamp"))
    except ValueError:
        return None
