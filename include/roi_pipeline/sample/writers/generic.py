"""The generic run log (``generic_runs``, the project's own CSV format): one file per month.

It holds the runs of every platform without a native landing here: custom agents, and
Zapier or Make workflows whose runs are not written in their platform's own format. Every
run of the stream is in it, with its trigger, items, LLM tokens and cost, retry link and
error text; times are UTC (``Z``) or local wall time with the offset, as the platform
writes them.
"""

from __future__ import annotations

import csv
from datetime import date

from roi_pipeline.sample.common import GENERIC, Clock, iso_time
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.runs import Run, run_order

GENERIC_COLUMNS = [
    "run_id", "platform", "workflow_id", "started_at", "finished_at", "status", "triggered_by",
    "items", "llm_tokens_in", "llm_tokens_out", "llm_cost", "retry_of", "error_message",
]  # fmt: skip


class GenericWriter:
    """Writes ``generic_runs/YYYY-MM.csv``; run ids count up per platform across months."""

    def __init__(self, landing: ClientLanding, clock: Clock):
        self.landing = landing
        self.clock = clock
        self.last_id: dict[str, int] = {}

    def write_month(self, month: date, runs: list[Run]) -> None:
        runs.sort(key=run_order)
        prefix = {"zapier": "zr", "make": "mk", "custom_agent": "run", "other": "ot"}
        for run in runs:
            n = self.last_id.get(run.platform, 0) + 1
            self.last_id[run.platform] = n
            run.id = f"{prefix[run.platform]}_{n:08d}" if run.platform != "make" else f"{4_000_000 + n}"
        name = f"{month:%Y-%m}.csv"
        with self.landing.path(GENERIC, name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(GENERIC_COLUMNS)
            for run in runs:
                if run.zulu:
                    started = iso_time(run.start, millis=run.platform != "zapier")
                    finished = iso_time(run.stop, millis=run.platform != "zapier") if run.stop is not None else ""
                else:
                    started = iso_time(run.start, millis=False, offset_s=self.clock.offset(run.start))
                    finished = (
                        iso_time(run.stop, millis=False, offset_s=self.clock.offset(run.stop))
                        if run.stop is not None
                        else ""
                    )
                w.writerow([
                    run.id, run.platform, run.wid, started, finished, run.status, run.mode,
                    "" if run.items is None else run.items,
                    "" if run.tin is None else run.tin,
                    "" if run.tout is None else run.tout,
                    "" if run.cost is None else f"{run.cost:.4f}",
                    run.retry_of.id if run.retry_of else "",
                    run.error,
                ])  # fmt: skip
        self.landing.count(GENERIC, len(runs))
