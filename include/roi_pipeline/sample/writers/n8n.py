"""n8n executions (public API ``GET /api/v1/executions``): one page per month, newest first.

Every run of the stream is in it: production, manual, retry, error-workflow and
sub-workflow executions, with items and LLM figures in ``customData``.
"""

from __future__ import annotations

from datetime import date

from roi_pipeline.sample.common import HOUR, N8N, dumps, iso_time
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.runs import Run, run_order


class N8nWriter:
    """Writes ``n8n_executions/YYYY-MM.json``; execution ids count up from 1001 across months."""

    def __init__(self, landing: ClientLanding):
        self.landing = landing
        self.last_id = 1000

    def write_month(self, month: date, runs: list[Run]) -> None:
        runs.sort(key=run_order)
        for run in runs:
            self.last_id += 1
            run.id = str(self.last_id)
        name = f"{month:%Y-%m}.json"
        with self.landing.path(N8N, name).open("w", encoding="utf-8", newline="\n") as fh:
            fh.write('{"data":[')
            first = True
            for run in reversed(runs):  # the API lists executions newest first (id DESC)
                done = run.status in ("success", "error", "crashed", "canceled")
                ex: dict = {
                    "id": run.id,
                    "finished": run.status == "success",
                    "mode": run.mode,
                    "retryOf": run.retry_of.id if run.retry_of else None,
                    "retrySuccessId": run.retry.id if run.retry else None,
                    "status": run.status,
                    "startedAt": iso_time(run.start),
                    "stoppedAt": iso_time(run.stop) if run.stop is not None and (done or run.waiting) else None,
                    "workflowId": run.wid,
                    "waitTill": iso_time(run.start + HOUR * 1000) if run.waiting else None,
                }
                if run.items is not None or run.cost is not None:
                    custom = {}
                    if run.items is not None:
                        custom["items"] = str(run.items)
                    if run.cost is not None:
                        custom["llm_tokens"] = str(run.tin)
                        custom["llm_cost"] = f"{run.cost:.4f}"
                    ex["customData"] = custom
                fh.write(("\n" if first else ",\n") + dumps(ex))
                first = False
            fh.write('\n],"nextCursor":null}\n')
        self.landing.count(N8N, len(runs))
