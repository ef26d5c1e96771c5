"""The timesheet simulation: the client's staff and the consultancy's hours, month by month.

:class:`TimesheetSimulation` draws from the client's ``timesheets`` random stream. Per
workflow, the staff's hours on its process: the baseline before go-live (from the measured
volume or the declared monthly hours), the residual hours while live (or a spike month's
figure), none once retired; the staff's other work; and the consultancy's build, operate
and expand hours. Entries are quarter-hour multiples; the Harvest and Toggl writers
(:mod:`roi_pipeline.sample.writers`) lay them out, drawing from the same stream, and add
the label noise of :func:`process_label`.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from roi_pipeline.sample.common import live_on, months_since_go_live

#: (day, person index, kind, label, minutes); person < 0 = consultant ``-1 - person``.
Entry = tuple[date, int, str, str, int]


def process_label(r: random.Random, process: str) -> str:
    """A process name as a person types it: mostly exact, sometimes in other case or spacing."""
    roll = r.random()
    if roll < 0.75:
        return process
    return r.choice([process.lower() + " ", process.upper(), " " + process, process.lower()])


class TimesheetSimulation:
    """One client's timesheet entries; :meth:`month` generates a month's."""

    def __init__(self, spec: dict, r: random.Random):
        self.spec = spec
        self.wfs = spec["workflows"]
        self.r_ts = r

    def month(self, month: date, days: list[date], volumes: dict[str, int]) -> list[Entry]:
        """The entries of ``month``; ``volumes``: the measured workflows' volume events."""
        spec, r = self.spec, self.r_ts
        season = spec["season"][month.month] * spec["scale"]
        workdays = [d for d in days if d.weekday() < 5]
        staff = spec["staff"]
        entries: list[Entry] = []
        # Per-workflow daily hours: baseline (before go-live), residual (live), none (retired).
        for wf in self.wfs:
            month_no = months_since_go_live(wf, month)
            for day in workdays:
                if day < wf["go_live"]:
                    if wf["baseline"]["method"] == "measured":
                        hours = volumes.get(wf["key"], 0) * wf["minutes"] / 60 / len(workdays)
                    else:
                        hours = wf["pre_hours"] * season / len(workdays)
                elif live_on(wf, day):
                    hours = wf.get("spikes", {}).get(str(month_no), wf.get("spikes", {}).get(month_no))
                    hours = (hours if hours is not None else wf["residual"] * (0.7 + 0.6 * r.random())) / len(workdays)
                else:
                    continue
                self._split(entries, day, "process", wf["process"], hours * r.uniform(0.6, 1.4), len(staff))
            # other work of the client's staff
        for day in workdays:
            for p in range(len(staff)):
                for _ in range(r.randint(1, 2)):
                    entries.append((day, p, "other", r.choice(spec["other_tasks"]), r.choice([30, 45, 60, 90, 120])))
        # the consultancy's own time: build before each go-live, operate after, some expand
        go_lives = sorted(wf["go_live"] for wf in self.wfs)
        expand_month = (month.month + len(spec["id"])) % 4 == 0
        for day in workdays:
            building = any(timedelta(0) <= g - day <= timedelta(days=75) for g in go_lives) or day < go_lives[0]
            live = day >= go_lives[0]
            if building:
                self._split(entries, day, "build", "Build", r.uniform(2.5, 5.5), -1)
            if live and r.random() < 0.7:
                self._split(entries, day, "operate", "Operate", r.uniform(0.5, 1.5), -1)
            if live and expand_month and r.random() < 0.3:
                self._split(entries, day, "expand", "Expand", r.uniform(1.0, 3.0), -1)
        return entries

    def _split(self, entries: list[Entry], day: date, kind: str, label: str, hours: float, n_people: int) -> None:
        """Quarter-hour entries summing (in expectation) to ``hours``; people < 0 = consultants."""
        r = self.r_ts
        quarters = hours * 4
        q = int(quarters) + (1 if r.random() < quarters - int(quarters) else 0)
        people = len(self.spec["consultants"]) if n_people < 0 else n_people
        while q > 0:
            chunk = min(q, r.randint(1, 8))
            q -= chunk
            person = r.randrange(people)
            minutes = chunk * 15
            entries.append((day, person if n_people >= 0 else -1 - person, kind, label, minutes))
