"""Harvest time entries: the "Detailed time report" CSV export, one file per month.

The client's staff book their process and other work, the consultancy its build, operate
and expand phases; some of the staff's hours are exact timer values below the rounded ones.
"""

from __future__ import annotations

import csv
import random
from datetime import date

from roi_pipeline.sample.common import CONSULTANCY, HARVEST
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.timesheets import Entry, process_label

HARVEST_COLUMNS = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded",
    "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?",
    "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency",
    "External Reference URL",
]  # fmt: skip


def write_month(landing: ClientLanding, month: date, spec: dict, entries: list[Entry], r: random.Random) -> None:
    """Write ``harvest_time_entries/YYYY-MM.csv``, drawing from ``r`` (the timesheet stream)."""
    cost_rate = spec["hourly"][0][1]
    name = f"{month:%Y-%m}.csv"
    with landing.path(HARVEST, name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HARVEST_COLUMNS)
        for day, person, kind, label, minutes in sorted(entries, key=lambda e: (e[0], e[1] < 0, abs(e[1]))):
            rounded = minutes / 60
            hours = rounded
            if kind in ("process", "other") and r.random() < 0.15:
                hours = max(1, minutes - r.randint(1, 14)) / 60  # a timer: exact, below the rounded value
            if person >= 0:
                _, first, last = spec["staff"][person]
                row = [
                    day.isoformat(), spec["name"], "Operations", "OPS",
                    process_label(r, label) if kind == "process" else label,
                    "", f"{hours:.2f}", f"{rounded:.2f}", "No", "No", "Yes", first, last, "Operations",
                    "Yes", "", "0.00", f"{cost_rate:.2f}", f"{hours * cost_rate:.2f}", spec["currency_long"], "",
                ]  # fmt: skip
            else:
                first, last = spec["consultants"][-1 - person]
                row = [
                    day.isoformat(), CONSULTANCY, f"{spec['name']} automation programme", "NB-AIOPS", label,
                    f"{label.lower()} work for {spec['id']}", f"{hours:.2f}", f"{rounded:.2f}", "No", "No",
                    "Yes", first, last, "Consultant", "No", "", "0.00", "", "", spec["currency_long"], "",
                ]  # fmt: skip
            w.writerow(row)
    landing.count(HARVEST, len(entries))
