"""Timesheet exports: Harvest "Detailed time report" CSV and Toggl Track "Detailed report" CSV.

Both are read by header name (accounts differ in which columns they export), keep every
column in ``_record``, and get a content-based ``entry_key`` because neither carries an id.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from roi_pipeline.formats.base import (
    Column,
    LandingFormat,
    ParseContext,
    Parsed,
    Rejected,
    boolean,
    content_key,
    iter_csv_rows,
    local_date,
    number,
    optional_str,
    record_json,
    reject_malformed,
    require,
)
from roi_pipeline.timeutil import BadTimestamp, localize

_HMM = re.compile(r"^(-?)(\d+):([0-5]\d)(?::([0-5]\d))?$")


def parse_hours(value: Any, what: str) -> float:
    """Hours as decimal (``1.5``) or clock (``1:30``, ``01:30:00``); negatives reject the row."""
    text = optional_str(value)
    if text is None:
        raise Rejected(f"missing {what}")
    match = _HMM.match(text)
    if match:
        sign, hours, minutes, seconds = match.groups()
        total = int(hours) + int(minutes) / 60 + int(seconds or 0) / 3600
        if sign:
            raise Rejected(f"negative {what}: {text!r}")
        return total
    parsed = number(text, what)
    assert parsed is not None
    return float(parsed)


class _TimesheetCsv(LandingFormat):
    suffixes = (".csv",)
    version = 2  # 2: entry_key hashes normalised date / hours, not their export spelling
    base_required: tuple[str, ...] = ()

    #: Columns whose values identify an entry (what a re-export of the same entry repeats).
    identity: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._occurrences: Counter[str] = Counter()

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        # The columns the client's configuration reads (process, phase, consultancy rule)
        # are as required as the vendor's own: without them every row would mis-classify.
        sheets = ctx.client.timesheets
        configured = (sheets.process_field, sheets.phase_field, sheets.consultancy_rows.field)
        required = tuple(dict.fromkeys((*self.base_required, *configured)))
        return iter_csv_rows(path, required)

    def entry_key(self, record: dict[str, str], **normalised: str) -> str:
        """Hash of the identity columns + occurrence of that hash in this file.

        ``normalised`` overrides the text of identity columns whose rendering is a display
        preference rather than content (Harvest ``Hours`` as ``1.5``, ``1.50`` or ``1:30``;
        Toggl ``Duration`` as ``1:32:15`` or ``01:32:15``), so that the same entry exported
        again under another setting gets the same key.
        """
        parts = [normalised[k] if k in normalised else (record.get(k) or "").strip() for k in self.identity]
        base = content_key(parts)
        self._occurrences[base] += 1
        return f"{base}-{self._occurrences[base]}"


class HarvestTimeEntries(_TimesheetCsv):
    folder = table = "harvest_time_entries"
    description = "Harvest detailed time report CSV export"
    record_time_columns = ("spent_date",)
    base_required = ("date", "hours", "first_name", "last_name")
    identity = ("date", "first_name", "last_name", "client", "project", "task", "notes", "hours")
    columns = (
        Column("entry_key", "varchar", "content hash + occurrence in file (the export has no id)"),
        Column("spent_date", "date", "Date: the local day the time belongs to"),
        Column("client", "varchar"),
        Column("project", "varchar"),
        Column("project_code", "varchar"),
        Column("task", "varchar"),
        Column("notes", "varchar"),
        Column("hours", "double", "Hours (never Hours Rounded)"),
        Column("billable", "boolean"),
        Column("first_name", "varchar"),
        Column("last_name", "varchar"),
        Column("person", "varchar", "First Name + Last Name"),
        Column("roles", "varchar"),
        Column("is_employee", "boolean"),
    )

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        spent = local_date(record.get("date"), "Date")
        hours = parse_hours(record.get("hours"), "Hours")
        first, last = optional_str(record.get("first_name")), optional_str(record.get("last_name"))
        if first is None and last is None:
            raise Rejected("missing person (First Name and Last Name are empty)")
        return Parsed(
            {
                # Harvest shows hours with two decimals: 1:30 -> 1.50, 0:20 -> 0.33.
                "entry_key": self.entry_key(record, date=spent.isoformat(), hours=f"{hours:.2f}"),
                "spent_date": spent,
                "client": optional_str(record.get("client")),
                "project": optional_str(record.get("project")),
                "project_code": optional_str(record.get("project_code")),
                "task": optional_str(record.get("task")),
                "notes": optional_str(record.get("notes")),
                "hours": hours,
                "billable": boolean(record.get("billable")),
                "first_name": first,
                "last_name": last,
                "person": " ".join(p for p in (first, last) if p),
                "roles": optional_str(record.get("roles")),
                "is_employee": boolean(record.get("employee")),
                "_record": record_json(record),
            }
        )


class TogglTimeEntries(_TimesheetCsv):
    folder = table = "toggl_time_entries"
    description = "Toggl Track detailed report CSV export"
    record_time_columns = ("start_at",)
    base_required = ("user", "start_date", "start_time", "duration")
    identity = ("user", "email", "client", "project", "task", "description", "start_date", "start_time", "duration")
    columns = (
        Column("entry_key", "varchar", "content hash + occurrence in file (the export has no id)"),
        Column("user_name", "varchar", "User"),
        Column("client", "varchar"),
        Column("project", "varchar"),
        Column("task", "varchar"),
        Column("description", "varchar"),
        Column("billable", "boolean"),
        Column("start_date", "date", "Start date: the local day the entry belongs to"),
        Column("start_at", "timestamp", "Start date + Start time read in the client's zone, as UTC"),
        Column("duration_seconds", "bigint", "Duration (never End - Start)"),
        Column("tags", "varchar", "Tags as exported (comma-separated)"),
    )

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        user = require(record, "user", "User")
        start_date = local_date(record.get("start_date"), "Start date")
        start_time = optional_str(record.get("start_time"))
        if start_time is None:
            raise Rejected("missing Start time")
        try:
            clock = datetime.strptime(start_time, "%H:%M:%S" if start_time.count(":") == 2 else "%H:%M").time()
        except ValueError as exc:
            raise Rejected(f"bad Start time: {start_time!r}") from exc
        try:
            start_at = localize(datetime.combine(start_date, clock), ctx.tz).replace(tzinfo=None)
        except BadTimestamp as exc:
            raise Rejected(f"bad Start time: {exc}") from exc
        seconds = round(parse_hours(record.get("duration"), "Duration") * 3600)
        return Parsed(
            {
                "entry_key": self.entry_key(
                    record,
                    start_date=start_date.isoformat(),
                    start_time=clock.isoformat(),
                    duration=str(seconds),
                ),
                "user_name": user,
                "client": optional_str(record.get("client")),
                "project": optional_str(record.get("project")),
                "task": optional_str(record.get("task")),
                "description": optional_str(record.get("description")),
                "billable": boolean(record.get("billable")),
                "start_date": start_date,
                "start_at": start_at,
                "duration_seconds": seconds,
                "tags": optional_str(record.get("tags")),
                "_record": record_json(record),
            }
        )
