"""Toggl Track time entries: the "Detailed report" CSV export (UTF-8 with BOM), one file per month.

Each person's entries of a day are laid end to end from a morning start time; the client's
timesheet mapping says whether the process is the project or the task, and whether the
consultancy's phase is the task or a tag.
"""

from __future__ import annotations

import csv
import random
from datetime import date

from roi_pipeline.sample.common import CONSULTANCY, HOUR, TOGGL
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.timesheets import Entry, process_label

TOGGL_COLUMNS = [
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "End date",
    "End time",
    "Duration",
    "Tags",
]  # fmt: skip  (+ "Amount (<currency>)")


def write_month(landing: ClientLanding, month: date, spec: dict, entries: list[Entry], r: random.Random) -> None:
    """Write ``toggl_time_entries/YYYY-MM.csv``, drawing from ``r`` (the timesheet stream)."""
    ts = spec["timesheets"]
    cur = spec["currency"]
    name = f"{month:%Y-%m}.csv"
    # lay each person's entries of a day end to end from a morning start time
    rows = []
    clock: dict[tuple[date, int], int] = {}
    for day, person, kind, label, minutes in entries:
        key = (day, person)
        if key not in clock:
            clock[key] = 8 * HOUR + r.randint(0, 90) * 60
        start = clock[key]
        secs = minutes * 60 - (r.randint(0, 600) if kind != "build" else 0)
        clock[key] = start + secs + r.randint(0, 20) * 60
        rows.append((day, person, start, secs, kind, label))
    rows.sort(key=lambda x: (x[0], x[1] < 0, abs(x[1]), x[2]))
    with landing.path(TOGGL, name).open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow([*TOGGL_COLUMNS, f"Amount ({cur})"])
        for day, person, start, secs, kind, label in rows:
            end = start + secs
            h, rest = divmod(secs, HOUR)
            duration = f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
            st = f"{start // HOUR:02d}:{start % HOUR // 60:02d}:{start % 60:02d}"
            et = f"{end // HOUR:02d}:{end % HOUR // 60:02d}:{end % 60:02d}"
            if person >= 0:
                _, first, last = spec["staff"][person]
                client = spec["name"]
                text = process_label(r, label) if kind == "process" else label
                project = text if ts["process_field"] == "project" else "Operations"
                task = text if ts["process_field"] == "task" else ""
                desc, tags = ("" if kind == "process" else "routine"), ""
            else:
                first, last = spec["consultants"][-1 - person]
                client = CONSULTANCY
                project = f"{spec['name']} automation"
                phase = label.lower()
                task = label if ts["phase_field"] == "task" else ""
                tags = phase if ts["phase_field"] == "tags" else ""
                desc = f"{phase} work for {spec['id']}"
            email = f"{first.lower()}.{last.lower()}@{spec['id'] if person >= 0 else 'northbeam'}.example"
            w.writerow([
                f"{first} {last}", email, client, project, task, desc, "No", day.isoformat(), st,
                day.isoformat(), et, duration, tags, "0.00",
            ])  # fmt: skip
    landing.count(TOGGL, len(rows))
