"""n8n public API v1: ``GET /api/v1/executions`` -> ``n8n_executions/<YYYY-MM>.json``.

- ``X-N8N-API-KEY`` header; cursor paging (``nextCursor``), ``limit`` <= 250;
- ``includeData=true``, because ``customData`` (items, LLM tokens / cost) only comes with it.
  The heavy ``data`` (every node's input/output: personal data) and ``workflowData`` keys are
  dropped before landing; every field docs/landing.md reads is kept as returned;
- the list is sorted by id, newest first, and has no "updated since": paging stops once a
  whole page started before the window's lower bound (minus an hour of slack for queued
  runs); the overlap window re-reads recent executions so late changes (``retrySuccessId``
  set when a retry succeeds, ``waiting`` runs finishing) are picked up. ``running``
  executions are not listed by n8n and are picked up once finished;
- ``registered`` mode (default) asks per register workflow (``workflowId=``), so other
  workflows' heavy execution data is never downloaded; ``GET /api/v1/workflows`` gives the
  names used in warnings (register ids the instance does not have, unregistered workflows).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roi_pipeline.extract.base import Extractor, LandedFile, iso_ms, parse_iso
from roi_pipeline.extract.http import ApiClient, ApiError
from roi_pipeline.extract.settings import N8nSettings

DROPPED_KEYS = ("data", "workflowData")
SLACK = timedelta(hours=1)


class N8nExtractor(Extractor):
    source = "n8n"
    vendor = "n8n"
    folders = ("n8n_executions",)

    def api(self) -> ApiClient:
        base = self.base_url()
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        return self.client({"X-N8N-API-KEY": self.token()}, base_url=base)

    @property
    def settings(self) -> N8nSettings:
        assert isinstance(self.job.settings, N8nSettings)
        return self.job.settings

    def extract(self) -> list[LandedFile]:
        job, window = self.job, self.job.window
        limit = self.settings.page_size or 100
        registered = sorted(job.client.known_workflow_ids().get("n8n", set()))
        with self.api() as api:
            names = self._workflow_names(api, limit)
            for wf in registered:
                if names and wf not in names:
                    job.warnings.append(f"register lists n8n workflow id {wf!r}, which this n8n instance does not have")
            targets: list[str | None] = list(registered) if self.settings.workflows == "registered" else [None]
            lower = window.lower()
            records: list[dict[str, Any]] = []
            for workflow_id in targets:
                query = {
                    "endpoint": "executions",
                    "workflowId": workflow_id,
                    "lower": iso_ms(lower),
                    "end": iso_ms(window.end),
                    "limit": limit,
                }
                fetch = lambda cursor, wf=workflow_id: self._page(api, wf, cursor, limit, lower)  # noqa: E731
                what = "GET /executions" + (f" of workflow {workflow_id}" if workflow_id else "")
                records.extend(self.paginate(what, fetch, query))
            job.requests += api.requests
        kept = {}
        for record in records:
            started = parse_iso(record.get("startedAt"))
            if started is None or not (lower <= started < window.end):
                continue
            kept[str(record["id"])] = record
        if self.settings.workflows == "all":
            self._warn_unregistered(kept.values(), set(registered), names)
        by_month = self.by_month(kept.values(), lambda r: parse_iso(r.get("startedAt")))
        if window.since is None:  # a full extract writes every month of the window, even empty ones
            for month in window.months():
                by_month.setdefault(month, [])
        return self.write_merged_months("n8n_executions", "data", by_month, trailer={"nextCursor": None})

    def _page(self, api: ApiClient, workflow_id: str | None, cursor: str | None, limit: int, lower):
        params: dict[str, Any] = {"limit": limit, "includeData": "true"}
        if workflow_id is not None:
            params["workflowId"] = workflow_id
        if cursor:
            params["cursor"] = cursor
        body, _headers = api.request_json("GET", "/executions", params=params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ApiError(f"{api.label}: GET /executions returned no 'data' list (unexpected response shape)")
        page = []
        for execution in body["data"]:
            if not isinstance(execution, dict) or execution.get("id") is None:
                raise ApiError(f"{api.label}: GET /executions returned an execution without an id")
            page.append({k: v for k, v in execution.items() if k not in DROPPED_KEYS})
        starts = [s for s in (parse_iso(e.get("startedAt")) for e in page) if s is not None]
        next_cursor = body.get("nextCursor") or None
        if starts and max(starts) < lower - SLACK:
            next_cursor = None  # the whole page is older than the window: nothing older can matter
        return page, next_cursor

    def _workflow_names(self, api: ApiClient, limit: int) -> dict[str, str]:
        def fetch(cursor: str | None):
            params: dict[str, Any] = {"limit": min(limit, 250)}
            if cursor:
                params["cursor"] = cursor
            body, _ = api.request_json("GET", "/workflows", params=params)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise ApiError(f"{api.label}: GET /workflows returned no 'data' list (unexpected response shape)")
            return body["data"], body.get("nextCursor") or None

        names: dict[str, str] = {}
        for wf in self.paginate("GET /workflows", fetch):
            if isinstance(wf, dict) and wf.get("id") is not None:
                names[str(wf["id"])] = str(wf.get("name") or "")
        return names

    def _warn_unregistered(self, executions, registered: set[str], names: dict[str, str]) -> None:
        counts: dict[str, int] = {}
        for execution in executions:
            wf = str(execution.get("workflowId"))
            if wf not in registered:
                counts[wf] = counts.get(wf, 0) + 1
        for wf, n in sorted(counts.items()):
            self.job.warnings.append(
                f"n8n workflow {wf!r} ({names.get(wf, 'unknown name')!r}) has {n} execution(s) but is not in the "
                "register: they count nowhere and the portfolio page lists the id (register it, or add it to "
                "ignored_workflow_ids)"
            )
