"""Make scenario logs (``GET /api/v2/scenarios/{id}/logs``), newest first as Make lists them.

Make has no retry, error-handler or test run of its own and reports no items or cost:
those runs and figures of the generated stream are not in its logs.
"""

from __future__ import annotations

from datetime import date

from roi_pipeline.sample.common import MAKE, dumps, iso_time
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.runs import Run, run_order


class MakeWriter:
    """Writes ``make_scenario_logs/YYYY-MM.json``; log ids (32 hex digits) count up across months."""

    def __init__(self, landing: ClientLanding):
        self.landing = landing
        self.last_id = 0

    def write_month(self, month: date, runs: list[Run]) -> None:
        kept = sorted((r for r in runs if r.mode in ("webhook", "schedule", "manual", "test")), key=run_order)
        logs = []
        for run in kept:
            self.last_id += 1
            run.id = f"{self.last_id:032x}"
            log = {
                "imtId": run.id,
                "scenarioId": int(run.wid),
                "type": "manual" if run.mode in ("manual", "test") else "auto",
                "instant": run.mode == "webhook",
                "timestamp": iso_time(run.start),
                "status": 1 if run.status == "success" else 3,
                "operations": 1 + 2 * (run.items or 1),
                "transfer": 512 * (run.items or 1),
            }
            if run.stop is not None:
                log["duration"] = run.stop - run.start
            logs.append(log)
        logs.reverse()
        with self.landing.path(MAKE, f"{month:%Y-%m}.json").open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(dumps({"scenarioLogs": logs, "pg": {"sortBy": "imtId", "sortDir": "desc"}}) + "\n")
        self.landing.count(MAKE, len(logs))
