"""Toggl Track Reports API v3 detailed time entries -> ``toggl_time_entries/<YYYY-MM>.csv``.

- Basic auth ``<api_token>:api_token``; ``POST /reports/api/v3/workspace/<id>/search/time_entries``
  with ``start_date`` / ``end_date`` (dates) and ``page_size``; the next page is asked with the
  same body plus ``first_id`` / ``first_row_number`` (and ``first_timestamp``) from the
  ``X-Next-ID`` / ``X-Next-Row-Number`` (/ ``X-Next-Timestamp``) response headers; no header =
  last page. The body is a JSON array of rows, each with its ``time_entries``.
- The report rows carry ids only; names come from the Track API v9 (``/api/v9/workspaces/<id>/
  projects``, ``clients``, ``tags``, ``users`` and ``projects/<id>/tasks``).
- Written as Toggl's "Detailed report" CSV: ``Start date`` / ``Start time`` / ``End ...`` are
  wall-clock times in the **client's** time zone (as docs/landing.md reads them), ``Duration``
  ``HH:MM:SS`` from the entry's seconds, ``Tags`` comma-separated. A month file is a complete
  re-export of the local month (asked with a day of margin each side, then filtered; its
  extraction record says it covers the month), so an edited or deleted entry never survives.
  Each row ends with the entry's id (``Entry ID``), which identifies it from staging on.
  Running entries (no stop yet) are left out until they stop.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from roi_pipeline.extract.base import ExtractConfigError, Extractor, LandedFile, parse_iso
from roi_pipeline.extract.http import ApiClient, ApiError
from roi_pipeline.extract.landing import csv_bytes
from roi_pipeline.extract.settings import TogglSettings
from roi_pipeline.timeutil import add_months, zone

HEADER = ["User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
          "End date", "End time", "Duration", "Tags"]  # fmt: skip


def hms(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


class TogglExtractor(Extractor):
    source = "toggl"
    vendor = "Toggl"
    folders = ("toggl_time_entries",)

    @property
    def settings(self) -> TogglSettings:
        assert isinstance(self.job.settings, TogglSettings)
        return self.job.settings

    def workspace(self) -> int:
        wid = self.settings.workspace_id or self.job.credentials.extra.get("workspace_id")
        if not wid:
            raise ExtractConfigError(
                f"no Toggl workspace id: set workspace_id in the client's extract settings or on connection "
                f"{self.job.credentials.conn_id!r} (extra workspace_id)"
            )
        return int(wid)

    def api(self) -> ApiClient:
        return self.client({"Content-Type": "application/json"}, auth=(self.token(), "api_token"))

    def extract(self) -> list[LandedFile]:
        window, wid = self.job.window, self.workspace()
        months = window.months() if window.since is None else window.months(window.since)
        exports: list[tuple[date, bytes, int]] = []  # written once every month was fetched
        with self.api() as api:
            names = self._lookups(api, wid)
            for month in months:
                entries = self._month(api, wid, month)
                rows, running = [], 0
                for entry in entries:
                    row = self._row(entry, names, api, wid)
                    if row is None:
                        running += 1
                        continue
                    rows.append(row)
                if running:
                    self.job.warnings.append(
                        f"{month:%Y-%m}: {running} running Toggl entr(y/ies) left out until they stop"
                    )
                rows.sort(key=lambda r: (r[1], r[2]))  # start instant, then entry id
                header = [*HEADER, f"Amount ({self.job.client.currency})", "Entry ID"]
                data = csv_bytes(header, [r[0] for r in rows])
                exports.append((month, data, len(rows)))
            self.job.requests += api.requests
        return [self.write_file("toggl_time_entries", m, ".csv", d, n, whole_month=True) for m, d, n in exports]

    # ----------------------------------------------------------------- report

    def _month(self, api: ApiClient, wid: int, month: date) -> list[dict[str, Any]]:
        body = {
            "start_date": (month - timedelta(days=1)).isoformat(),
            "end_date": add_months(month, 1).isoformat(),
            "page_size": self.settings.page_size or 50,
            "order_by": "date",
            "order_dir": "asc",
            "grouped": False,
            "hide_amounts": False,
        }
        path = f"/reports/api/v3/workspace/{wid}/search/time_entries"

        def fetch(cursor: dict[str, Any] | None):
            rows, headers = api.request_json("POST", path, json={**body, **(cursor or {})})
            if not isinstance(rows, list):
                raise ApiError(f"{api.label}: POST {path} did not return a JSON array (unexpected response shape)")
            flat = []
            for row in rows:
                if not isinstance(row, dict):
                    raise ApiError(f"{api.label}: POST {path} returned a row that is not an object")
                for te in row.get("time_entries") or []:
                    flat.append({**{k: v for k, v in row.items() if k != "time_entries"}, "time_entry": te})
            next_id, next_row = headers.get("x-next-id"), headers.get("x-next-row-number")
            if not (next_id and next_row):
                return flat, None
            cursor = {"first_id": int(next_id), "first_row_number": int(next_row)}
            if headers.get("x-next-timestamp"):
                cursor["first_timestamp"] = int(headers["x-next-timestamp"])
            return flat, cursor

        records = self.paginate(f"POST {path}", fetch, {"endpoint": path, **body})
        tz = zone(self.job.window.tz)
        out: dict[str, dict[str, Any]] = {}
        for record in records:
            start = parse_iso((record.get("time_entry") or {}).get("start"))
            if start is not None and start.astimezone(tz).date().replace(day=1) == month:
                out[str(record["time_entry"].get("id"))] = record
        return list(out.values())

    def _row(self, record: dict[str, Any], names: dict[str, dict], api: ApiClient, wid: int):
        te = record["time_entry"]
        start, stop, seconds = parse_iso(te.get("start")), parse_iso(te.get("stop")), te.get("seconds")
        if start is None or stop is None or not isinstance(seconds, int) or seconds < 0:
            return None
        tz = zone(self.job.window.tz)
        local_start, local_stop = start.astimezone(tz), stop.astimezone(tz)
        project = names["projects"].get(str(record.get("project_id"))) or {}
        client = names["clients"].get(str(project.get("client_id") or project.get("cid"))) or {}
        task = self._task_name(api, wid, record.get("project_id"), record.get("task_id"), names)
        user = names["users"].get(str(record.get("user_id"))) or {}
        tags = ", ".join(names["tags"].get(str(t), {}).get("name", str(t)) for t in record.get("tag_ids") or [])
        cents = record.get("billable_amount_in_cents")
        row = [
            str(record.get("username") or user.get("fullname") or user.get("name") or ""),
            str(user.get("email") or ""),
            str(client.get("name") or ""),
            str(project.get("name") or ""),
            task,
            str(record.get("description") or ""),
            "Yes" if record.get("billable") else "No",
            local_start.date().isoformat(),
            local_start.strftime("%H:%M:%S"),
            local_stop.date().isoformat(),
            local_stop.strftime("%H:%M:%S"),
            hms(seconds),
            tags,
            f"{cents / 100:.2f}" if isinstance(cents, int) else "",
            str(te.get("id") or ""),
        ]
        return row, start, int(te.get("id") or 0)

    # ----------------------------------------------------------------- names

    def _lookups(self, api: ApiClient, wid: int) -> dict[str, dict]:
        base = f"/api/v9/workspaces/{wid}"

        def fetch(page: int | None):
            page = page or 1
            batch, _ = api.request_json("GET", f"{base}/projects", params={"page": page, "per_page": 200})
            batch = batch or []
            if not isinstance(batch, list):
                raise ApiError(f"{api.label}: GET {base}/projects did not return a JSON array")
            return batch, (page + 1 if len(batch) == 200 else None)

        projects = self.paginate(f"GET {base}/projects", fetch)
        lookups: dict[str, dict] = {"projects": {str(p["id"]): p for p in projects if isinstance(p, dict)}, "tasks": {}}
        for kind in ("clients", "tags", "users"):
            items, _ = api.request_json("GET", f"{base}/{kind}")
            lookups[kind] = {str(i["id"]): i for i in (items or []) if isinstance(i, dict) and "id" in i}
        return lookups

    def _task_name(self, api: ApiClient, wid: int, project_id: Any, task_id: Any, names: dict[str, dict]) -> str:
        if not task_id or not project_id:
            return ""
        key = str(project_id)
        if key not in names["tasks"]:
            items, _ = api.request_json("GET", f"/api/v9/workspaces/{wid}/projects/{project_id}/tasks")
            names["tasks"][key] = {str(t["id"]): t for t in (items or []) if isinstance(t, dict) and "id" in t}
        return str((names["tasks"][key].get(str(task_id)) or {}).get("name") or "")
