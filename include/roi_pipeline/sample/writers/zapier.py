"""Zap runs (Zapier Partner API ``GET /v2/zap-runs``): production runs only, as its history shows.

Zapier says nothing of a run's trigger, items, cost or replays: the generated manual,
test, retry and error-handler runs are not in it.
"""

from __future__ import annotations

from datetime import date

from roi_pipeline.sample.common import ZAPIER, dumps, iso_time
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.runs import Run, run_order


class ZapierWriter:
    """Writes ``zapier_zap_runs/YYYY-MM.json``; run ids (UUID-shaped) count up across months."""

    def __init__(self, landing: ClientLanding, workflows: list[dict]):
        self.landing = landing
        self.workflows = workflows  # for the Zaps' titles
        self.last_id = 0

    def write_month(self, month: date, runs: list[Run]) -> None:
        status = {
            "success": "success", "error": "errored", "crashed": "errored", "timeout": "errored",
            "canceled": "halted", "running": "playing", "waiting": "waiting",
        }  # fmt: skip
        kept = sorted((r for r in runs if r.mode in ("webhook", "schedule", "event")), key=run_order)
        data = []
        for run in kept:
            self.last_id += 1
            run.id = f"00000000-0000-4000-8000-{self.last_id:012x}"
            data.append(
                {
                    "id": run.id,
                    "zap_id": int(run.wid),
                    "start_time": iso_time(run.start),
                    "end_time": iso_time(run.stop) if run.stop is not None else None,
                    "status": "waiting" if run.waiting else status.get(run.status, run.status),
                    "zap_title": next(w["name"] for w in self.workflows if run.wid in w["ids"]),
                    "steps": [{"status": "success", "start_time": iso_time(run.start)}],
                }
            )
        data.reverse()
        with self.landing.path(ZAPIER, f"{month:%Y-%m}.json").open("w", encoding="utf-8", newline="\n") as fh:
            page = {"links": {"next": None, "prev": None}, "meta": {"count": len(data), "offset": 0}, "data": data}
            fh.write(dumps(page) + "\n")
        self.landing.count(ZAPIER, len(data))
