"""Timesheet exports: Harvest "Detailed time report" CSV and Toggl Track "Detailed report" CSV.

Both are read by header name (accounts differ in which columns they export) and keep every
column in ``_record``. Neither export carries an entry id, so a row's ``entry_key`` is a hash
of its content plus its occurrence in the file (identical rows of one file are distinct
entries); files written by our API extractors add an ``Entry ID`` column (the vendor's id),
and such a row is identified by that id instead.

Which rows count is decided per date, not per row (docs/method.md, "Timesheet rows have no
id"): each file *covers* a date range (:meth:`_TimesheetCsv.coverage`: the range in the
vendor's own file name, else the one its extraction record states, else its first to last
entry date), ingestion records it in ``raw._landed_files``, and int_time_entries_classified
keeps a row only when no later file covers its date.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.formats import plausibility
from roi_pipeline.formats.base import (
    Column,
    Coverage,
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


#: ``HH:MM:SS`` or ``HH:MM`` with two digits each: read by ``time.fromisoformat`` (the same time
#: as ``strptime``, at a tenth of its cost; other spellings take ``strptime``).
_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def clock_time(text: str) -> time:
    """A Toggl start time, ``H:MM:SS`` or ``H:MM`` (``strptime``'s ``%H:%M:%S`` / ``%H:%M``); ValueError if not."""
    if _CLOCK.fullmatch(text):
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass  # strptime says why
    return datetime.strptime(text, "%H:%M:%S" if text.count(":") == 2 else "%H:%M").time()


_DAY = r"(\d{4}-?\d{2}-?\d{2})"


def _name_date(text: str) -> date:
    return datetime.strptime(text.replace("-", ""), "%Y%m%d").date()


class _TimesheetCsv(LandingFormat):
    suffixes = (".csv",)
    # 2: entry_key hashes normalised date / hours, not their export spelling
    # 3: Entry ID (API extracts) identifies a row; the file's covered dates are recorded
    # 4: implausible entries (dated after the export, more than 24 h) are quarantined
    version = 4
    covers_dates = True
    base_required: tuple[str, ...] = ()
    # No figure_fields: the columns the client's mapping reads are required (a file without one fails).

    #: Columns whose values identify an entry (what a re-export of the same entry repeats).
    identity: tuple[str, ...] = ()
    #: The date range in the vendor's own export file name (matched at the end of the stem).
    name_range: ClassVar[re.Pattern[str]]
    #: The parsed column holding an entry's local date.
    date_column: ClassVar[str]

    def __init__(self) -> None:
        self._occurrences: Counter[str] = Counter()
        self._ids: set[str] = set()

    def stated_coverage(self, path: Path, stated: Coverage | None) -> Coverage | None:
        """The range in the vendor's file name, else the extraction record's (``stated``)."""
        match = self.name_range.search(path.stem)
        if match:
            try:
                first, last = (_name_date(g) for g in match.groups())
            except ValueError:
                first = last = None
            if first is not None and last is not None and first <= last:
                return Coverage(first, last, "file name")
        return stated

    def coverage(self, path: Path, stated: Coverage | None, rows: Sequence[dict[str, Any]]) -> Coverage | None:
        """:meth:`stated_coverage`, else the file's first to last entry date (an empty file: nothing)."""
        known = self.stated_coverage(path, stated)
        if known is not None:
            return known
        dates = [row[self.date_column] for row in rows]
        return Coverage(min(dates), max(dates), "entries") if dates else None

    def identify(self, record: dict[str, str], **normalised: str) -> tuple[str | None, str]:
        """``(entry_id, entry_key)``: the vendor's id when the file carries one, else the content key."""
        entry_id = optional_str(record.get("entry_id"))
        if entry_id is None:
            return None, self.entry_key(record, **normalised)
        if entry_id in self._ids:
            raise Rejected(f"duplicate Entry ID {entry_id!r} in this file")
        self._ids.add(entry_id)
        return entry_id, f"id:{entry_id}"

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
    # Harvest names its exports ``<account>_time_report_from20251201_to20251231.csv``.
    name_range = re.compile(rf"_from{_DAY}_to{_DAY}$", re.IGNORECASE)
    date_column = "spent_date"
    columns = (
        Column("entry_key", "varchar", "'id:' + Entry ID when the file has one, else content hash + occurrence"),
        Column("entry_id", "varchar", "Entry ID: the vendor's time entry id (API extracts only)"),
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
        plausibility.entry_hours(hours, "Hours")
        plausibility.not_future(ctx, ("Date", spent))
        first, last = optional_str(record.get("first_name")), optional_str(record.get("last_name"))
        if first is None and last is None:
            raise Rejected("missing person (First Name and Last Name are empty)")
        # Harvest shows hours with two decimals: 1:30 -> 1.50, 0:20 -> 0.33.
        entry_id, entry_key = self.identify(record, date=spent.isoformat(), hours=f"{hours:.2f}")
        return Parsed(
            {
                "entry_key": entry_key,
                "entry_id": entry_id,
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
    # Toggl names its exports ``Toggl_Track_time_entries_2025-12-01_to_2025-12-31.csv``
    # (``..._<start>_<end>``; the ``to_`` is optional).
    name_range = re.compile(rf"_{_DAY}_(?:to_)?{_DAY}$", re.IGNORECASE)
    date_column = "start_date"
    columns = (
        Column("entry_key", "varchar", "'id:' + Entry ID when the file has one, else content hash + occurrence"),
        Column("entry_id", "varchar", "Entry ID: the vendor's time entry id (API extracts only)"),
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
            clock = clock_time(start_time)
        except ValueError as exc:
            raise Rejected(f"bad Start time: {start_time!r}") from exc
        try:
            start_at = localize(datetime.combine(start_date, clock), ctx.tz).replace(tzinfo=None)
        except BadTimestamp as exc:
            raise Rejected(f"bad Start time: {exc}") from exc
        duration = parse_hours(record.get("duration"), "Duration")
        plausibility.entry_hours(duration, "Duration")
        plausibility.not_future(ctx, ("Start date/time", start_at))
        seconds = round(duration * 3600)
        entry_id, entry_key = self.identify(
            record, start_date=start_date.isoformat(), start_time=clock.isoformat(), duration=str(seconds)
        )
        return Parsed(
            {
                "entry_key": entry_key,
                "entry_id": entry_id,
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
