"""The workflow-run simulation: each workflow's runs, month by month, before they are written.

:class:`RunSimulation` draws from the client's ``runs`` random stream (``runs_scale``
scales production volumes). Per workflow: manual and test runs in the three weeks before
go-live (and an early activation of a schedule), then production runs by schedule or by
a Poisson arrival rate with seasonal and weekend factors, with retries, error-handler and
sub-workflow runs after them, occasional manual runs, outages, high-error months and
retirement. A :class:`Run` carries what any platform's log may say about a run; each
landing folder's writer (:mod:`roi_pipeline.sample.writers`) gives runs their ids and
keeps what its vendor reports.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, timedelta

from roi_pipeline.sample.common import DAY, GENERIC, HOUR, N8N, Clock, add_months, months_since_go_live, poisson

GENERIC_ERRORS = [
    "HTTP 429: rate limited by upstream API",
    'Invalid value for field "email": expected a string, got null',
    "Step 3 (Formatter) failed:\nUpstream returned 502 Bad Gateway",
    "Authentication expired, reconnect the account",
    "Timeout after 300s waiting for response, retrying later",
]


class Run:
    """One run of a workflow (times in UTC epoch ms); ``id`` is set by the landing folder's writer."""

    __slots__ = (
        "cost",
        "error",
        "id",
        "items",
        "mode",
        "platform",
        "retry",
        "retry_of",
        "start",
        "status",
        "stop",
        "tin",
        "tout",
        "waiting",
        "wid",
        "zulu",
    )  # fmt: skip

    def __init__(self, start: int, stop: int | None, wid: str, mode: str, status: str):
        self.start, self.stop, self.wid, self.mode, self.status = start, stop, wid, mode, status
        self.items: int | None = None
        self.tin: int | None = None
        self.tout: int | None = None
        self.cost: float | None = None
        self.error = ""
        self.retry: Run | None = None
        self.retry_of: Run | None = None
        self.id = ""
        self.platform = "n8n"
        self.waiting = False
        self.zulu = True


def run_order(run: Run) -> tuple[int, str, str]:
    return (run.start, run.wid, run.mode)


def landing_folder(wf: dict) -> str:
    """The landing folder a workflow's runs are written to: its platform's own or the generic log."""
    return N8N if wf["platform"] == "n8n" else wf.get("landing", GENERIC)


class RunSimulation:
    """One client's workflow runs; :meth:`month` generates a month's runs per landing folder."""

    def __init__(self, spec: dict, r: random.Random, clock: Clock, runs_scale: float):
        self.spec = spec
        self.wfs = spec["workflows"]
        self.r_runs = r
        self.clock = clock
        self.runs_scale = runs_scale
        self.last_poll: dict[str, int] = {}

    def month(self, month: date, days: list[date], leads_ms: list[int]) -> dict[str, list[Run]]:
        """The runs that start in ``month`` (and their retries and side runs), per landing folder."""
        out: dict[str, list[Run]] = {landing_folder(wf): [] for wf in self.wfs}
        for wf in self.wfs:
            self._wf_month(wf, month, days, leads_ms, out[landing_folder(wf)])
        return out

    def _status(self, wf: dict, month: date, generic: bool) -> str:
        err = wf["err"]
        if wf.get("bad_after") is not None and months_since_go_live(wf, month) == wf["bad_after"]:
            err = 0.18
        roll = self.r_runs.random()
        if roll < err:
            roll /= err
            if generic:
                return "error" if roll < 0.7 else "timeout" if roll < 0.9 else "crashed"
            return "error" if roll < 0.85 else "crashed"
        if roll < err + 0.004:
            return "canceled"
        if roll < err + 0.006:
            return "waiting"
        return "success"

    def _fill(self, run: Run, wf: dict, items: int | None) -> None:
        r = self.r_runs
        spec_items = wf.get("items")
        if spec_items == "leads":
            run.items = items or 0
        elif spec_items:
            run.items = r.randint(*spec_items)
        llm = wf.get("llm")
        if llm and (not llm.get("per_item") or (run.items or 0) > 0):
            units = max(1, run.items or 1) if llm.get("per_item") else 1
            run.tin = r.randint(*llm["tok"]) * units
            run.tout = r.randint(*llm["out"]) if llm.get("out") else None
            run.cost = (run.tin + (run.tout or 0)) / 1000 * llm["rate"]

    def _make_run(self, wf: dict, start: int, mode: str, status: str, items: int | None = None) -> Run:
        r = self.r_runs
        lo, hi = wf["dur"]
        dur = int(r.uniform(lo, hi) * 1000) + r.randint(0, 999)
        if status == "timeout":
            dur = 300_000
        stop: int | None = start + dur
        run = Run(start, stop, self._wid(wf, start), mode, status)
        run.platform = wf["platform"]
        if status == "waiting":
            run.waiting = True
            if wf["platform"] != "n8n":
                run.stop = None
        if status in ("error", "crashed", "timeout") and wf["platform"] != "n8n":
            run.error = r.choice(GENERIC_ERRORS) if status != "timeout" else "Run exceeded 300s"
        run.zulu = wf["platform"] == "zapier" or (wf["platform"] == "custom_agent" and r.random() < 0.5)
        self._fill(run, wf, items)
        return run

    def _wid(self, wf: dict, start: int) -> str:
        ids = wf["ids"]
        if len(ids) > 1 and wf.get("id_switch") is not None:
            switch = wf.get("_switch_ms")
            if switch is None:
                switch = wf["_switch_ms"] = self.clock.midnight(add_months(wf["go_live"], wf["id_switch"]))
            return ids[1] if start >= switch else ids[0]
        return ids[0]

    def _wf_month(self, wf: dict, month: date, days: list[date], leads_ms: list[int], out: list[Run]) -> None:
        r = self.r_runs
        generic = wf["platform"] != "n8n"
        season = self.spec["season"][month.month] * self.spec["scale"]
        go = wf["go_live"]
        retired = wf.get("retired_on")
        month_no = months_since_go_live(wf, month)
        outage: set[date] = set()
        if wf.get("outage_after") is not None and month_no == wf["outage_after"]:
            first = month.replace(day=10)
            outage = {first + timedelta(days=i) for i in range(4)}
        manual_mode = "manual"
        for day in days:
            if retired and day >= retired:
                break
            if day < go:
                # build and testing: manual/test runs in the three weeks before go-live, and
                # for n8n schedules an early activation in the last days (counts neither).
                if (go - day).days <= 21 and day.weekday() < 5:
                    for _ in range(r.randint(0, 3)):
                        t = self.clock.at(day, r.uniform(9 * HOUR, 18 * HOUR))
                        mode = manual_mode if not generic else r.choice(["manual", "test"])
                        out.append(self._make_run(wf, t, mode, self._status(wf, month, generic), 1))
                if (go - day).days <= 2 and wf["trigger"] == "schedule":
                    t = self.clock.at(day, r.uniform(14 * HOUR, 17 * HOUR))
                    out.append(self._make_run(wf, t, "trigger" if not generic else "schedule", "success", 1))
                continue
            if day in outage:
                continue
            starts: list[int] = []
            if wf["trigger"] == "schedule":
                d0 = self.clock.midnight(day)
                d1 = self.clock.midnight(day + timedelta(days=1))
                n = max(1, round(wf["per_day"] * self.runs_scale))
                step = (d1 - d0) / n
                starts = [d0 + int(i * step) + r.randint(0, 20_000) for i in range(n)]
                if wf.get("nightly"):
                    h, m = wf["nightly"]
                    t = (d0 // (DAY * 1000)) * DAY * 1000 + (h * HOUR + m * 60) * 1000
                    if t < d0:
                        t += DAY * 1000
                    if t < d1:
                        starts.append(t + r.randint(0, 3_000))
            else:
                weekend = day.weekday() >= 5
                lam = wf["per_weekday"] * season * self.runs_scale * (wf.get("weekend", 0.0) if weekend else 1.0)
                starts = [self.clock.at(day, r.uniform(7.5 * HOUR, 19 * HOUR)) for _ in range(poisson(r, lam))]
            starts.sort()
            prod_mode = ("schedule" if wf["trigger"] == "schedule" else wf["trigger"]) if generic else (
                "trigger" if wf["trigger"] == "schedule" else "webhook")  # fmt: skip
            for t in starts:
                items = None
                if wf.get("items") == "leads":
                    prev = self.last_poll.get(wf["key"], t - 1_800_000)
                    items = bisect_right(leads_ms, t) - bisect_right(leads_ms, prev)
                    self.last_poll[wf["key"]] = t
                status = self._status(wf, month, generic)
                run = self._make_run(wf, t, prod_mode, status, items)
                out.append(run)
                self._side_runs(wf, run, out)
            # occasional manual runs after go-live (they cost LLM money, they are no tasks)
            if day.weekday() < 5 and r.random() < 0.06:
                t = self.clock.at(day, r.uniform(9 * HOUR, 17 * HOUR))
                out.append(self._make_run(wf, t, "manual", "success", 1))

    def _side_runs(self, wf: dict, run: Run, out: list[Run]) -> None:
        """Retries, error-handler and sub-workflow executions that follow a production run."""
        r = self.r_runs
        generic = wf["platform"] != "n8n"
        failed = run.status in ("error", "crashed", "timeout")
        if failed and run.stop is not None:
            if wf.get("error_id") and not generic:
                handler = Run(run.stop + 400, run.stop + 400 + r.randint(300, 2500), wf["error_id"], "error", "success")
                out.append(handler)
            elif generic and r.random() < 0.3:
                handler = self._make_run(wf, run.stop + 1000, "error_handler", "success", 1)
                out.append(handler)
            if r.random() < (0.6 if not generic else 0.3):
                status = "success" if r.random() < 0.8 else "error"
                retry = self._make_run(wf, run.stop + r.randint(120, 900) * 1000, "retry", status, run.items)
                retry.wid = run.wid
                if run.items is not None:
                    retry.items = run.items
                retry.retry_of = run
                if status == "success":
                    run.retry = retry
                out.append(retry)
        elif run.status == "success" and (run.items is None or run.items > 0):
            if wf.get("sub_id") and r.random() < 0.4:
                start = run.start + r.randint(200, 1500)
                sub = Run(start, start + r.randint(300, 4000), wf["sub_id"], "integrated", "success")
                out.append(sub)
            elif generic and wf["platform"] == "custom_agent" and r.random() < 0.08:
                sub = self._make_run(wf, run.start + 500, "subworkflow", "success", 1)
                out.append(sub)
