"""The frames the gates validate: pandas DataFrames queried out of DuckDB for one client-month.

GX's SQL data source on DuckDB returns empty metric results, so the gates validate pandas
frames instead. Each frame is shaped so that a defect is a *value* a plain GX expectation
can see (a reason text, a ratio, a per-person-day total, a pair of timestamps); the
cross-row logic (which rows belong to the month, what the previous month was) is here, in
SQL and pandas, and every decision about the data is left to the expectations.

Times: raw timestamps are naive UTC; months are calendar months in the client's zone, so
every query runs with the DuckDB session zone set to UTC and converts with
``timezone(<client zone>, ts::timestamptz)``. Nothing here reads the wall clock: "now" is
the latest instant the landed data can vouch for (latest ``extracted_at`` of the client's
landed files, else the latest load time): an upper bound for impossible-future checks. It is
not the report's "as of" (``int_client_as_of``: the earliest of the sources', which decides
whether a month is closed).

One definition per rule: what a *production* run is (and how retries count) lives in the
dbt model ``fct_automation_runs.is_production``; nothing here re-derives it. The checks
that need it (a registered workflow without runs, silent workflows, runs of unregistered
workflows) are therefore mart-gate checks reading the marts, and the raw gate's volume
check counts every landed run (a truncated extract shows in all of them). Likewise a
workflow-month's live days to as-of and the month's elapsed days are the models'
(``int_workflow_months_spined.live_days_elapsed``, ``fct_client_months.elapsed_days``).

The raw gate runs after ingestion and before any build (the monthly DAG): no model exists
yet, or only last build's, so its frames read ``raw.*`` and the register only; a rule it
shares with the models (a workflow's live days: ``Workflow.live_days``) is the register's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from roi_pipeline.config import ClientConfig
from roi_pipeline.quality.suites import (
    COLLAPSE_MIN_PREVIOUS,
    FIELD_SHARE_MIN_PREVIOUS,
    QUARANTINE_PATTERNS,
    SILENT_MIN_LIVE_DAYS,
    SILENT_MIN_PREVIOUS_RUNS,
    TASKS_PER_RUN_MIN_RUNS,
    TASKS_PER_RUN_MONTHS,
    suites_for,
)
from roi_pipeline.timeutil import BadTimestamp, add_months, month_end, parse_epoch_millis, parse_instant, to_local

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
IN_PROGRESS = ("running", "waiting", "new")
#: Far-future stand-in for "no as-of known" (a client with no landed file): no upper bound.
NO_AS_OF = datetime(9999, 12, 31)


def parse_month(month: str) -> date:
    match = MONTH.match(str(month))
    if not match:
        raise ValueError(f"month must look like 2026-10, got {month!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass
class ClientMonth:
    """Frames and runtime expectation parameters of one client-month at one gate."""

    client_id: str
    month: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0] for r in rows}


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named parameters a statement uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None):
    return con.execute(sql, _used(sql, params or {}))


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    return _run(con, sql, params).df()


def _local_expr(column: str) -> str:
    return f"timezone($tz, {column}::timestamptz)"


def as_of(con: duckdb.DuckDBPyConnection, client_id: str) -> datetime | None:
    """Latest ``extracted_at`` of the client's landed files, else the latest load (naive UTC)."""
    if "_landed_files" not in _tables(con, "raw"):
        return None
    extracted, loaded = con.execute(
        "select max(extracted_at), max(loaded_at) from raw._landed_files where client_id = ?", [client_id]
    ).fetchall()[0]
    return extracted or loaded


def _workflow_refs(client: ClientConfig) -> dict[str, str]:
    """``platform:workflow id`` -> workflow key."""
    return {f"{wf.platform}:{pid}": wf.key for wf in client.workflows for pid in wf.platform_workflow_ids}


def _elapsed_last_day(month_start: date, as_of_local: datetime | None) -> date:
    """Last day of the month that has elapsed as of the data (the month's last day when closed)."""
    last = month_end(month_start)
    if as_of_local is None:
        return last
    return min(last, as_of_local.date())


# --------------------------------------------------------------------------- raw frames

_RUN_COPIES = """
    with copies as (
        select 'n8n' as platform, id as run_id, workflow_id, started_at, stopped_at, status, mode as run_trigger,
               items, llm_cost, _source_file as source_file, _row_number as row_number,
               'n8n_executions' as format
        from raw.n8n_executions where _client_id = $client
        union all
        select platform, run_id, workflow_id, started_at, finished_at, status, triggered_by,
               items, llm_cost, _source_file, _row_number, split_part(_source_file, '/', 2)
        from raw.generic_runs where _client_id = $client
    )
    select copies.*, landed.extracted_at
    from copies
    left join (select source_file, extracted_at from raw._landed_files where client_id = $client) landed
        on copies.source_file = landed.source_file
"""


def _run_copies(con, client: ClientConfig, first: date, until: date) -> pd.DataFrame:
    """Every landed run record started in [first, until) local time, with its local start."""
    sql = f"""
        with copies as ({_RUN_COPIES})
        select *, {_local_expr("started_at")} as started_local
        from copies
        where {_local_expr("started_at")} >= $first and {_local_expr("started_at")} < $until
        order by platform, run_id, source_file, row_number
    """
    frame = _df(con, sql, {"client": client.client_id, "tz": client.timezone, "first": first, "until": until})
    frame["run_key"] = frame["platform"] + ":" + frame["run_id"].astype(str)
    frame["workflow_ref"] = frame["platform"] + ":" + frame["workflow_id"].astype(str)
    return frame


def _runs_frame(copies: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct content of a run id, and whether the copy counted is known.

    Overlapping extracts land the same run twice: identical copies are one row. Copies that
    differ are ordered as the runs mart orders them (dbt macro ``run_copy_order``): the copy
    from the later extraction counts; where the extraction does not tell (the same time, or
    none recorded), a finished state is later than one in progress. A run whose first copy in
    that order is not later than every other copy has no copy to count (docs/method.md,
    "Two copies of one run"): ``undecided_key`` names it on each of its copies, and the month is
    held. ``conflicting_key`` names a run landed with two finished states that differ, one of
    them counted (a note): a running copy followed by its finished state is progress.
    """
    content_cols = ["workflow_ref", "started_at", "stopped_at", "status", "run_trigger", "items", "llm_cost"]
    frame = copies.copy()
    frame["content"] = [
        "|".join("" if pd.isna(v) else str(v) for v in row)
        for row in frame[content_cols].itertuples(index=False, name=None)
    ]
    frame["in_progress"] = frame["status"].isin(IN_PROGRESS).astype(bool)
    frame = frame.sort_values(
        ["run_key", "extracted_at", "in_progress", "source_file", "row_number"],
        ascending=[True, False, True, True, True],
        na_position="last",
        kind="stable",
    )
    frame = frame.drop_duplicates(["run_key", "content"], keep="first")
    first = frame.groupby("run_key").head(1).set_index("run_key")
    top_at = frame["run_key"].map(first["extracted_at"])
    top_running = frame["run_key"].map(first["in_progress"]).astype(bool)
    at = frame["extracted_at"]
    by_extraction = top_at.notna() & at.notna() & (top_at > at)
    untold = top_at.isna() | at.isna() | (top_at == at)
    by_progress = untold & ~top_running & frame["in_progress"]
    is_first = ~frame.duplicated("run_key", keep="first")
    undecided = set(frame.loc[~(is_first | by_extraction | by_progress), "run_key"])
    finished = frame[~frame["in_progress"]]
    conflicting = set(finished.loc[finished.duplicated("run_key", keep=False), "run_key"]) - undecided
    frame["undecided_key"] = frame["run_key"].where(frame["run_key"].isin(undecided))
    frame["conflicting_key"] = frame["run_key"].where(frame["run_key"].isin(conflicting))
    frame["counted"] = is_first & ~frame["run_key"].isin(undecided)
    cols = [
        "run_key", "workflow_ref", "started_at", "stopped_at", "status", "source_file", "row_number",
        "extracted_at", "counted", "undecided_key", "conflicting_key",
    ]  # fmt: skip
    out = frame[cols].sort_values(["run_key", "source_file", "row_number"]).reset_index(drop=True)
    return out.astype({"undecided_key": object, "conflicting_key": object})


def _landed_files_frame(con, client: ClientConfig) -> pd.DataFrame:
    """Every landed file of the client. A failed file holds every month: what it covers is unknown."""
    frame = _df(
        con,
        """
        select format, source_file, status, error,
               case when status = 'failed' then coalesce(error, 'failed') end as failure
        from raw._landed_files where client_id = $client order by source_file
        """,
        {"client": client.client_id},
    )
    frame["other_failure"] = [
        f if isinstance(f, str) and not f.startswith("schema drift") else None for f in frame["failure"]
    ]
    return frame[["format", "source_file", "status", "failure", "other_failure"]]


#: Per raw table: the timestamp that places a record in a month, and whether it may lie in the future.
_RECORD_TIMES: dict[str, tuple[str, bool]] = {
    # format/table: (expression giving a local timestamp, may be in the future)
    "n8n_executions": (_local_expr("started_at"), False),
    "generic_runs": (_local_expr("started_at"), False),
    "hubspot_contacts": (_local_expr("createdate"), False),
    "hubspot_calls": (_local_expr("hs_timestamp"), False),
    "hubspot_emails": (_local_expr("hs_timestamp"), False),
    "hubspot_meetings": (_local_expr("hs_timestamp"), True),  # booked meetings lie ahead
    "hubspot_deals": (_local_expr("createdate"), False),
    "harvest_time_entries": ("cast(spent_date as timestamp)", False),
    "toggl_time_entries": ("cast(start_date as timestamp)", False),
}


_FORMAT_OF = {"generic_runs": "split_part(_source_file, '/', 2)"}


def _records_sql(tables: set[str]) -> str:
    parts = []
    for table, (expr, may_be_future) in _RECORD_TIMES.items():
        if table in tables:
            parts.append(
                # raw.generic_runs holds several formats: the landing folder (client/folder/file) names it
                f"select {_FORMAT_OF.get(table, repr(table))} as format, _source_file as source_file, "
                "_row_number as row_number, "
                f"{expr} as local_at, {str(may_be_future).lower()} as may_be_future "
                f"from raw.{table} where _client_id = $client"
            )
    return (
        " union all ".join(parts)
        if parts
        else (
            "select null::varchar as format, null::varchar as source_file, null::bigint as row_number, "
            "null::timestamp as local_at, false as may_be_future where false"
        )
    )


def _month_files_frame(con, client: ClientConfig, first: date, until: date, tables: set[str]) -> pd.DataFrame:
    """Every record of the files that hold at least one record of the month."""
    sql = f"""
        with records as ({_records_sql(tables)}),
        month_files as (
            select distinct source_file from records where local_at >= $first and local_at < $until
        )
        select records.* from records inner join month_files using (source_file)
        order by source_file, row_number
    """
    frame = _df(con, sql, {"client": client.client_id, "tz": client.timezone, "first": first, "until": until})
    first_ts, until_ts = pd.Timestamp(first), pd.Timestamp(until)
    before = (first_ts - frame["local_at"]).dt.total_seconds() / 86400
    after = (frame["local_at"] - until_ts).dt.total_seconds() / 86400
    frame["days_outside_month"] = before.clip(lower=0).fillna(0) + after.where(after >= 0, 0).fillna(0)
    frame["days_outside_month"] = frame["days_outside_month"].apply(lambda d: float(-(-d // 1)))  # whole days, up
    frame["past_local_at"] = frame["local_at"].where(~frame["may_be_future"].astype(bool))
    frame["days_to_next_entry"] = _coverage_gaps(con, client, frame)
    return frame[
        ["format", "source_file", "row_number", "local_at", "past_local_at", "days_outside_month", "days_to_next_entry"]
    ]


def _coverage_gaps(con, client: ClientConfig, frame: pd.DataFrame) -> pd.Series:
    """For each entry of a timesheet file whose covered dates come from its own entries (no
    range in its name or extraction record): the days from its date to the file's next later
    entry date (null for the last date, for other files and other formats).

    Such a file replaces every earlier file's rows from its first to its last entry date
    (docs/landing.md), so one entry with a mistyped year stretches it over a year it has no
    entries for and erases that year's timesheets: a long gap names it (suites:
    ``timesheet_coverage_gap``)."""
    gaps = pd.Series(float("nan"), index=frame.index, dtype="float64")
    sheets = frame["format"].isin(["harvest_time_entries", "toggl_time_entries"])
    if not sheets.any():
        return gaps
    by_entries = {
        row[0]
        for row in con.execute(
            "select source_file from raw._landed_files where client_id = ? and covers_basis = 'entries'",
            [client.client_id],
        ).fetchall()
    }
    rows = frame[sheets & frame["source_file"].isin(by_entries) & frame["local_at"].notna()]
    for _file, entries in rows.groupby("source_file"):
        days = entries["local_at"].dt.normalize()
        dates = sorted(days.unique())
        following = {dates[i]: (dates[i + 1] - dates[i]).days for i in range(len(dates) - 1)}
        gaps.loc[entries.index] = days.map(following).astype("float64")
    return gaps


_QUARANTINE_TIME_KEYS = (
    "startedAt",
    "started_at",
    "createdate",
    "hs_timestamp",
    "createdAt",
    "stoppedAt",
    "finished_at",
)
_QUARANTINE_DATE_KEYS = ("date", "start_date")


def _record_local_month(record: Any, tz: str) -> date | None:
    """Best effort: the local month of a quarantined record, from the first timestamp that reads."""
    if not isinstance(record, dict):
        return None
    props = record.get("properties") if isinstance(record.get("properties"), dict) else {}
    for key in _QUARANTINE_TIME_KEYS:
        value = record.get(key, props.get(key))
        if value in (None, ""):
            continue
        text = str(value).strip()
        try:
            utc = parse_epoch_millis(text) if text.isdigit() else parse_instant(text, tz)[0]
            return to_local(utc, tz).date().replace(day=1)
        except (BadTimestamp, OverflowError, ValueError):
            continue
    for key in _QUARANTINE_DATE_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
                try:
                    return datetime.strptime(value.strip(), fmt).date().replace(day=1)
                except ValueError:
                    continue
    return None


def _quarantine_frame(con, client: ClientConfig, month_start: date, tables: set[str]) -> pd.DataFrame:
    """Quarantined records of the month.

    A record's month is read from its own timestamp when one parses (not when that timestamp
    is why it was refused: a record from the future belongs to its file's months); else it is
    the month of the records loaded from the same file; else a ``YYYY-MM`` in the file name; a
    record whose month cannot be told at all belongs to every month (it cannot be ruled out).
    """
    future = re.compile(QUARANTINE_PATTERNS["future_record"])
    rows = _df(
        con,
        "select format, source_file, row_number, reason, record from raw._quarantine "
        "where client_id = $client order by source_file, row_number",
        {"client": client.client_id},
    )
    file_months: dict[str, set[date]] = {}
    unresolved_files = set()
    keep = []
    for format_, source_file, _row, reason, record_text in rows.itertuples(index=False):
        try:
            record = json.loads(record_text) if record_text else None
        except ValueError:
            record = None
        month = None if future.match(f"{format_}: {reason}") else _record_local_month(record, client.timezone)
        if month is None:
            unresolved_files.add((format_, source_file))
        keep.append(month)
    for format_, source_file in sorted(unresolved_files):
        months: set[date] = set()
        expr = _RECORD_TIMES.get(format_, (None, False))[0]
        if expr is not None and format_ in tables:
            found = _run(
                con,
                f"select distinct cast(date_trunc('month', {expr}) as date) from raw.{format_} "
                "where _client_id = $client and _source_file = $file",
                {"client": client.client_id, "tz": client.timezone, "file": source_file},
            ).fetchall()
            months = {r[0] for r in found if r[0] is not None}
        if not months:
            named = re.findall(r"(\d{4})-(0[1-9]|1[0-2])", source_file)
            months = {date(int(y), int(m), 1) for y, m in named}
        file_months[source_file] = months
    mask = [
        m == month_start if m is not None else (not file_months.get(sf) or month_start in file_months[sf])
        for m, sf in zip(keep, rows["source_file"], strict=True)
    ]
    frame = rows[pd.Series(mask, index=rows.index, dtype=bool)].copy()
    frame["reason_tagged"] = frame["format"] + ": " + frame["reason"]
    return frame[["format", "source_file", "row_number", "reason", "reason_tagged"]].reset_index(drop=True)


def _volume_frame(
    con, client: ClientConfig, month_start: date, last_day: date, tables: set[str], copies_two_months: pd.DataFrame
) -> pd.DataFrame:
    """This month's volume per source against the previous month's (pro rata while M is in progress).

    Runs count every landed run (any trigger: a truncated extract cuts all of them, and what
    counts as production is the models' rule) of workflows live on every day of both months
    and not paused (a go-live, a retirement or a pause is a change of scope, not a collapse).
    """
    previous = add_months(month_start, -1)
    elapsed_share = ((last_day - month_start).days + 1) / ((month_end(month_start) - month_start).days + 1)
    refs = _workflow_refs(client)
    both_months = (month_end(month_start) - previous).days + 1
    steady = {
        wf.key
        for wf in client.workflows
        if wf.status != "paused" and wf.live_days(previous, month_end(month_start)) == both_months
    }
    runs = copies_two_months.drop_duplicates("run_key")
    runs = runs[runs["workflow_ref"].map(refs).isin(steady)]
    run_month = runs["started_local"].dt.to_period("M").dt.start_time.dt.date
    counts = {
        "runs": (int((run_month == previous).sum()), int((run_month == month_start).sum())),
    }
    params = {
        "client": client.client_id,
        "tz": client.timezone,
        "prev": previous,
        "first": month_start,
        "until": add_months(month_start, 1),
    }

    def by_month(sql: str) -> tuple[int, int]:
        found = dict(_run(con, sql, params).fetchall())
        return int(found.get(previous, 0)), int(found.get(month_start, 0))

    if "hubspot_contacts" in tables:
        counts["leads_created"] = by_month(
            f"select cast(date_trunc('month', {_local_expr('createdate')}) as date) m, count(distinct id) "
            f"from raw.hubspot_contacts where _client_id = $client and {_local_expr('createdate')} >= $prev "
            f"and {_local_expr('createdate')} < $until group by 1"
        )
    entries = _time_entries_sql(tables)
    if entries:
        counts["timesheet_entries"] = by_month(
            f"select cast(date_trunc('month', work_date) as date) m, count(distinct entry_key) "
            f"from ({entries}) where work_date >= $prev and work_date < $until group by 1"
        )
    rows = []
    for source, (before, now) in counts.items():
        expected = before * elapsed_share
        rows.append(
            {
                "source": source,
                "previous_month": before,
                "this_month": now,
                "elapsed_share": elapsed_share,
                "ratio_to_previous": (now / expected) if before >= COLLAPSE_MIN_PREVIOUS and expected > 0 else None,
            }
        )
    frame = pd.DataFrame(rows)
    frame["ratio_to_previous"] = frame["ratio_to_previous"].astype("Float64")
    return frame


#: New fields named in a dropped-field message at most (the rest are counted).
_NEW_FIELDS_NAMED = 5


def _fields_frame(con, client: ClientConfig, first: date, until: date, tables: set[str]) -> pd.DataFrame:
    """Per source with files for the month: every field its earlier files carried, and whether it is gone.

    The month's files hold at least one loaded record of the month; the earlier files hold
    loaded records before it only. A field (``fields_present`` of ``raw._landed_files``) that
    any earlier file carried and no record of the month's files does is *dropped*: in
    ``figure_field_missing`` when it is one of the format's ``figure_fields``, else in
    ``field_missing``, as a message naming the file it is missing since, the last file that
    had it, and the fields that are new in the month's files (a rename shows as both).
    A file loaded before fields were recorded knows none: it is no history, and a month file
    without them makes its source unknown (no row).
    """
    from roi_pipeline.formats import FORMATS

    columns = [
        "format",
        "field",
        "feeds_figure",
        "last_seen_in",
        "missing_since",
        "figure_field_missing",
        "field_missing",
    ]
    landed_cols = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = '_landed_files'"
        ).fetchall()
    }
    if "fields_present" not in landed_cols:  # a warehouse from before the column: nothing to compare
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    sql = f"""
        with records as ({_records_sql(tables)}),
        spans as (
            select format, source_file, min(local_at) as first_at, max(local_at) as last_at,
                   count(*) filter (where local_at >= $first and local_at < $until) as in_month
            from records group by format, source_file
        )
        select spans.format, spans.source_file, spans.first_at, spans.last_at, spans.in_month,
               files.fields_present, files.fields_by_workflow
        from spans inner join raw._landed_files files
          on files.client_id = $client and files.source_file = spans.source_file
        order by spans.format, spans.first_at, spans.source_file
    """
    files = _df(con, sql, {"client": client.client_id, "tz": client.timezone, "first": first, "until": until})
    rows = []
    for format_, group in files.groupby("format", sort=True):
        known = group["fields_present"].map(lambda v: v is not None and not (isinstance(v, float) and v != v))
        month = group[group["in_month"] > 0]
        earlier = group[(group["last_at"] < pd.Timestamp(first)) & known]
        if month.empty or earlier.empty or not known[month.index].all():
            continue
        now = set().union(*map(set, month["fields_present"]))
        history = set().union(*map(set, earlier["fields_present"]))
        figures = set(FORMATS[format_].figure_fields) if format_ in FORMATS else set()
        since = month.iloc[0]["source_file"]
        new = sorted(now - history)
        word = "column" if str(since).lower().endswith(".csv") else "field"
        subject = "the file has" if len(month) == 1 else "the month's files have"
        named = ", ".join(new[:_NEW_FIELDS_NAMED]) + (
            f" and {len(new) - _NEW_FIELDS_NAMED} more" if len(new) > _NEW_FIELDS_NAMED else ""
        )
        hint = f"; {subject} {f'new {word}s' if len(new) > 1 else f'a new {word}'} {named}" if new else ""
        ran = _workflows(month["fields_by_workflow"])
        for field_name in sorted(history):
            last = next(
                sf
                for sf, fp in zip(earlier["source_file"][::-1], earlier["fields_present"][::-1], strict=True)
                if field_name in fp
            )
            message = None
            carriers = _workflows(earlier["fields_by_workflow"], field_name)
            # a field only some workflows report is not missed when none of them ran (on demand, retired)
            if field_name not in now and (ran is None or carriers is None or carriers & ran):
                message = f"{field_name} is missing since {since} (last in {last}){hint}"
            feeds = field_name in figures
            rows.append(
                {
                    "format": format_,
                    "field": field_name,
                    "feeds_figure": feeds,
                    "last_seen_in": last,
                    "missing_since": since if message else None,
                    "figure_field_missing": message if feeds else None,
                    "field_missing": None if feeds else message,
                }
            )
    return pd.DataFrame(rows, columns=columns).astype(
        {c: object for c in columns if c != "feeds_figure"} | {"feeds_figure": bool}
    )


def _workflows(by_workflow: pd.Series, field_name: str | None = None) -> set[str] | None:
    """The workflow ids of ``fields_by_workflow`` values (those carrying ``field_name``); None: not known."""
    out: set[str] = set()
    for text in by_workflow:
        if not isinstance(text, str):
            return None
        out.update(wf for wf, names in json.loads(text).items() if field_name is None or field_name in names)
    return out


def _field_shares_frame(copies_two_months: pd.DataFrame, month_start: date) -> pd.DataFrame:
    """Per workflow and reported field: the share of its runs that report it, this month against the month before.

    Per workflow: a new workflow that reports no items is not a collapse of the others. A
    run reports the field when any landed copy of it has a value. ``share_ratio`` (this
    month's share over the previous one) is set only when the workflow had
    ``COLLAPSE_MIN_PREVIOUS`` runs the month before and ``FIELD_SHARE_MIN_PREVIOUS`` of them
    reported the field, and has ``COLLAPSE_MIN_PREVIOUS`` runs this month: a share of a few
    runs means nothing.
    """
    from roi_pipeline.formats import FORMATS

    previous = add_months(month_start, -1)
    copies = copies_two_months.assign(month=copies_two_months["started_local"].dt.to_period("M").dt.start_time.dt.date)
    rows = []
    for (format_, workflow_ref), mine in copies.groupby(["format", "workflow_ref"], sort=True):
        for column, landed in FORMATS[format_].reported_fields.items():
            runs = mine.assign(reported=mine[column].notna()).groupby(["run_key", "month"])["reported"].any()
            runs = runs.reset_index()
            counts = {}
            for which in (previous, month_start):
                in_month = runs[runs["month"] == which]
                counts[which] = (len(in_month), int(in_month["reported"].sum()))
            (n_before, r_before), (n_now, r_now) = counts[previous], counts[month_start]
            share_before = r_before / n_before if n_before else None
            share_now = r_now / n_now if n_now else None
            eligible = (
                n_before >= COLLAPSE_MIN_PREVIOUS
                and n_now >= COLLAPSE_MIN_PREVIOUS
                and share_before is not None
                and share_before >= FIELD_SHARE_MIN_PREVIOUS
            )
            rows.append(
                {
                    "format": format_,
                    "workflow_ref": workflow_ref,
                    "field": landed,
                    "runs_previous_month": n_before,
                    "share_previous_month": None if share_before is None else round(share_before, 4),
                    "runs_this_month": n_now,
                    "share_this_month": None if share_now is None else round(share_now, 4),
                    "share_ratio": (share_now / share_before) if eligible else None,
                }
            )
    columns = [
        "format", "workflow_ref", "field", "runs_previous_month", "share_previous_month", "runs_this_month",
        "share_this_month", "share_ratio",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns).astype({"format": object, "workflow_ref": object, "field": object})
    for col in ("share_previous_month", "share_this_month", "share_ratio"):
        frame[col] = frame[col].astype("Float64")
    return frame


#: Per timesheet export: its distinct raw entries as (entry_key, person, work_date, hours).
_TIME_ENTRIES = {
    "harvest_time_entries": "select distinct entry_key, person, spent_date as work_date, hours "
    "from raw.harvest_time_entries where _client_id = $client",
    "toggl_time_entries": "select distinct entry_key, user_name as person, start_date as work_date, duration_seconds / 3600.0 as hours "
    "from raw.toggl_time_entries where _client_id = $client",
}


def _time_entries_sql(tables: set[str]) -> str | None:
    parts = [sql for table, sql in _TIME_ENTRIES.items() if table in tables]
    return " union all ".join(parts) if parts else None


def _timesheets_frame(con, client: ClientConfig, first: date, until: date, tables: set[str]) -> pd.DataFrame:
    entries = _time_entries_sql(tables)
    if not entries:
        return pd.DataFrame({"person": [], "work_date": [], "hours": [], "min_entry_hours": [], "entries": []})
    sql = f"""
        with entries as ({entries})
        select person, work_date, sum(hours) as hours, min(hours) as min_entry_hours, count(*) as entries
        from entries where work_date >= $first and work_date < $until
        group by person, work_date order by person, work_date
    """
    return _df(con, sql, {"client": client.client_id, "first": first, "until": until})


def _crm_frame(con, client: ClientConfig, first: date, until: date, tables: set[str]) -> pd.DataFrame:
    needed = {"hubspot_contacts", "hubspot_associations"}
    activities = [t for t in ("hubspot_calls", "hubspot_emails", "hubspot_meetings") if t in tables]
    empty = pd.DataFrame(
        {
            "activity": pd.Series([], dtype=object),
            "contact_id": pd.Series([], dtype=object),
            "activity_at": pd.Series([], dtype="datetime64[us]"),
            "lead_created_at": pd.Series([], dtype="datetime64[us]"),
        }
    )
    if not needed <= tables or not activities:
        return empty
    union = " union all ".join(
        f"select '{t.removeprefix('hubspot_')}' as object_type, id, hs_timestamp from raw.{t} where _client_id = $client"
        for t in activities
    )
    sql = f"""
        with acts as (select distinct * from ({union})),
        leads as (select id, min(createdate) as createdate from raw.hubspot_contacts
                  where _client_id = $client group by id),
        links as (select distinct object_type, object_id, to_object_id from raw.hubspot_associations
                  where _client_id = $client and to_object_type = 'contacts')
        select acts.object_type || ':' || acts.id as activity, links.to_object_id as contact_id,
               acts.hs_timestamp as activity_at, leads.createdate as lead_created_at
        from acts
        inner join links on links.object_type = acts.object_type and links.object_id = acts.id
        inner join leads on leads.id = links.to_object_id
        where {_local_expr("acts.hs_timestamp")} >= $first and {_local_expr("acts.hs_timestamp")} < $until
        order by activity, contact_id
    """
    frame = _df(con, sql, {"client": client.client_id, "tz": client.timezone, "first": first, "until": until})
    return frame if len(frame) else empty


def raw_frames(con: duckdb.DuckDBPyConnection, client: ClientConfig, month: str) -> ClientMonth:
    """Frames and parameters of the raw gate for one client-month (connection: read-only is enough)."""
    con.execute("set TimeZone = 'UTC'")
    month_start = parse_month(month)
    until = add_months(month_start, 1)
    tables = _tables(con, "raw")
    asof = as_of(con, client.client_id)
    as_of_local = to_local(asof, client.timezone) if asof else None
    last_day = _elapsed_last_day(month_start, as_of_local)
    copies = (
        _run_copies(con, client, add_months(month_start, -1), until)
        if {"n8n_executions", "generic_runs"} <= tables
        else None
    )
    if copies is None:
        raise RuntimeError("the raw layer has no run tables (run `roi ingest` first)")
    this_month = copies[copies["started_local"] >= pd.Timestamp(month_start)]
    out = ClientMonth(client.client_id, month)
    out.frames = {
        "raw_landed_files": _landed_files_frame(con, client),
        "raw_quarantine": _quarantine_frame(con, client, month_start, tables),
        "raw_runs": _runs_frame(this_month),
        "raw_month_files": _month_files_frame(con, client, month_start, until, tables),
        "raw_volume": _volume_frame(con, client, month_start, last_day, tables, copies),
        "raw_fields": _fields_frame(con, client, month_start, until, tables),
        "raw_field_shares": _field_shares_frame(copies, month_start),
        "raw_timesheets": _timesheets_frame(con, client, month_start, until, tables),
        "raw_crm": _crm_frame(con, client, month_start, until, tables),
    }
    out.parameters = {"as_of": asof or NO_AS_OF, "as_of_local": as_of_local or NO_AS_OF}
    _check_complete(out, "raw")
    return out


# --------------------------------------------------------------------------- mart frames

_TOTALS = (
    # measure in fct_client_months, expression over fct_workflow_months (its parts)
    ("workflows_live", "count(*)"),
    ("tasks_automated", "sum(tasks_automated)"),
    ("production_runs", "sum(production_runs)"),
    ("failed_runs", "sum(failed_runs)"),
    ("silent_days", "sum(coalesce(silent_days, 0))"),
    ("gross_hours_saved", "sum(gross_hours_saved)"),
    ("hours_saved", "sum(hours_saved)"),
    ("value_created", "sum(value_created)"),
    ("run_cost", "sum(run_cost)"),
)


#: The models the mart gate reads, by schema.
MODEL_TABLES = {
    "marts": ("fct_workflow_months", "fct_client_months", "fct_automation_runs", "rpt_unregistered_workflow_months"),
    "intermediate": ("int_workflow_months_spined", "int_timesheet_files"),
}


def _workflow_activity_frame(con, client: ClientConfig, month_start: date) -> pd.DataFrame:
    """Per workflow live in the month (per the register): live days to as-of, its runs and production runs.

    docs/method.md: a registered live workflow with no run at all in M holds the report
    (a wrong id, a broken export), unless the register marks it paused or on demand, or it
    was live for fewer than ``SILENT_MIN_LIVE_DAYS`` days of M: then it is a note.

    Silence (runs, but no production run) only means something for a workflow that normally
    runs: daily per the register, or ``SILENT_MIN_PREVIOUS_RUNS`` production runs the month
    before, and live on every elapsed day of M.

    Every count and day is the models': live days to the data's as-of
    (``int_workflow_months_spined.live_days_elapsed``, the base of the marts' silent days),
    the month's elapsed days (``fct_client_months.elapsed_days``), production runs
    (``fct_workflow_months.production_runs``: ``fct_automation_runs.is_production`` on live
    days) and every run of the workflow (``fct_automation_runs``). The rows are the
    register's live workflows (a missing row is the ``mart_workflow_months`` suite's defect).
    """
    sql = """
        with runs as (
            select workflow_key, count(*) as runs from marts.fct_automation_runs
            where client_id = $client and run_month = $month and workflow_key is not null
            group by workflow_key
        )
        select live.workflow_key, live.live_days_elapsed, coalesce(this.production_runs, 0),
               coalesce(previous.production_runs, 0), coalesce(runs.runs, 0), client_months.elapsed_days
        from intermediate.int_workflow_months_spined live
        left join marts.fct_workflow_months this
          on this.client_id = live.client_id and this.workflow_key = live.workflow_key
          and this.report_month = live.report_month
        left join marts.fct_workflow_months previous
          on previous.client_id = live.client_id and previous.workflow_key = live.workflow_key
          and previous.report_month = $previous
        left join runs on runs.workflow_key = live.workflow_key
        left join marts.fct_client_months client_months
          on client_months.client_id = live.client_id and client_months.report_month = live.report_month
        where live.client_id = $client and live.report_month = $month
    """
    params = {"client": client.client_id, "month": month_start, "previous": add_months(month_start, -1)}
    models = {key: tuple(values) for key, *values in _run(con, sql, params).fetchall()}
    rows = []
    for key in live_workflow_keys(client, month_start):
        wf = client.workflow(key)
        live_days, this_month, previous, count, elapsed_days = models.get(key, (0, 0, 0, 0, None))
        expected = runs_expected(client, key, live_days)
        normally_runs = wf.runs_daily or previous >= SILENT_MIN_PREVIOUS_RUNS
        silent_eligible = (
            count > 0 and normally_runs and live_days >= SILENT_MIN_LIVE_DAYS and live_days == elapsed_days
        )
        rows.append(
            {
                "workflow_key": key,
                "status": wf.status,
                "on_demand": wf.on_demand,
                "runs_daily": wf.runs_daily,
                "live_days_elapsed": live_days,
                "runs": count,
                "production_runs": this_month,
                "previous_month_production_runs": previous,
                "runs_expected": count if expected else None,
                "runs_not_expected": count if not expected and live_days > 0 else None,
                "production_runs_active": this_month if silent_eligible and wf.status != "paused" else None,
                "production_runs_paused": this_month if silent_eligible and wf.status == "paused" else None,
            }
        )
    columns = [
        "workflow_key", "status", "on_demand", "runs_daily", "live_days_elapsed", "runs", "production_runs",
        "previous_month_production_runs", "runs_expected", "runs_not_expected",
        "production_runs_active", "production_runs_paused",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("runs_expected", "runs_not_expected", "production_runs_active", "production_runs_paused"):
        frame[col] = frame[col].astype("Float64")
    return frame


def _data_tests_frame(con, client: ClientConfig) -> pd.DataFrame:
    """The client's failing rows per client-scoped dbt data test of the last build.

    A production build lets such a test warn and stores its failing rows in schema
    ``test_failures`` (dbt_project/macros/client_scoped_test.sql), so one client's data never
    fails the build for the others; here they hold exactly the clients they name. Rows of any
    month hold the client (a contradiction in its history is not bounded to one month).
    """
    from roi_pipeline.transform import TEST_FAILURES_SCHEMA

    rows = []
    columns = con.execute(
        "select table_name, list(column_name) from information_schema.columns where table_schema = ? "
        "group by table_name order by table_name",
        [TEST_FAILURES_SCHEMA],
    ).fetchall()
    for table, cols in columns:
        if "client_id" not in cols:
            continue  # not attributable: such a test fails the build instead
        (count,) = con.execute(
            f'select count(*) from "{TEST_FAILURES_SCHEMA}"."{table}" where client_id = ?', [client.client_id]
        ).fetchall()[0]
        rows.append({"test_name": table, "failing_rows": int(count)})
    return pd.DataFrame(rows, columns=["test_name", "failing_rows"]).astype({"failing_rows": "int64"})


def _unregistered_frame(con, client: ClientConfig, month_start: date) -> pd.DataFrame:
    """Runs of workflow ids in no register entry (and not ignored): listed, counted nowhere, never a hold."""
    frame = _df(
        con,
        "select platform, platform_workflow_id, runs, production_runs, "
        "platform || ':' || platform_workflow_id as unregistered_id "
        "from marts.rpt_unregistered_workflow_months where client_id = $client and report_month = $month "
        "order by platform, platform_workflow_id",
        {"client": client.client_id, "month": month_start},
    )
    return frame.astype({"unregistered_id": object})


def runs_expected(client: ClientConfig, key: str, live_days: int) -> bool:
    """Must the registered workflow have run at all, live ``live_days`` days of the month so far?

    Not when the register marks it paused or on demand, nor when it was live fewer than
    ``SILENT_MIN_LIVE_DAYS`` days (docs/method.md, "registered workflows without runs").
    """
    wf = client.workflow(key)
    return wf.status != "paused" and not wf.on_demand and live_days >= SILENT_MIN_LIVE_DAYS


def workflows_without_landed_runs(con: duckdb.DuckDBPyConnection, client: ClientConfig, month: str) -> list[str]:
    """Before any build: the registered workflows that must have run in ``month`` (see
    :func:`runs_expected`) but have no landed run record at all (a missing run log).

    The mart gate holds such a month (``no_runs``); onboarding asks this of the raw layer, so
    a data engineer learns it before the backfill, not from held reports after it.
    """
    con.execute("set TimeZone = 'UTC'")
    month_start = parse_month(month)
    asof = as_of(con, client.client_id)
    last_day = _elapsed_last_day(month_start, to_local(asof, client.timezone) if asof else None)
    copies = _run_copies(con, client, month_start, add_months(month_start, 1))
    landed = set(copies["workflow_ref"])
    missing = []
    for key in live_workflow_keys(client, month_start):
        wf = client.workflow(key)
        refs = {f"{wf.platform}:{pid}" for pid in wf.platform_workflow_ids}
        if runs_expected(client, key, wf.live_days(month_start, last_day)) and not refs & landed:
            missing.append(
                f"no run log for workflow {key} in {month}: none of its runs ({', '.join(sorted(refs))}) "
                "is in the landed files"
            )
    return missing


def live_workflow_keys(client: ClientConfig, month_start: date) -> list[str]:
    return sorted(wf.key for wf in client.workflows if wf.is_live_in(month_start))


def mart_frames(con: duckdb.DuckDBPyConnection, client: ClientConfig, month: str) -> ClientMonth:
    """Frames and parameters of the mart gate for one client-month."""
    month_start = parse_month(month)
    if any(not set(tables) <= _tables(con, schema) for schema, tables in MODEL_TABLES.items()):
        raise RuntimeError("the marts are not built (run `roi build` first)")
    params = {"client": client.client_id, "month": month_start}
    # tasks per successful production run (only those count tasks) against the workflow's usual
    # (suites.TASKS_PER_RUN_*): null where either month has too few such runs to say, or it had
    # no task before
    workflow_months = _df(
        con,
        """
        with earlier as (
            select workflow_key, tasks_automated / successful_runs as tasks_per_run,
                   row_number() over (partition by workflow_key order by report_month desc) as months_back
            from marts.fct_workflow_months
            where client_id = $client and report_month < $month and successful_runs >= $min_runs
        ),
        usual as (
            select workflow_key, median(tasks_per_run) as usual_tasks_per_run
            from earlier where months_back <= $months group by workflow_key
        )
        select this.workflow_key, this.live_days, this.hours_saved, abs(this.hours_saved) as abs_hours_saved,
               this.live_days * 24.0 as max_plausible_hours,
               case when this.successful_runs >= $min_runs and usual.usual_tasks_per_run > 0
                   then round(this.tasks_automated / this.successful_runs / usual.usual_tasks_per_run, 2)
               end as tasks_per_run_vs_usual
        from marts.fct_workflow_months this
        left join usual on usual.workflow_key = this.workflow_key
        where this.client_id = $client and this.report_month = $month
        order by this.workflow_key
        """,
        params | {"min_runs": TASKS_PER_RUN_MIN_RUNS, "months": TASKS_PER_RUN_MONTHS},
    )
    parts = _df(
        con,
        "select "
        + ", ".join(f"{expr} as {name}" for name, expr in _TOTALS)
        + " from marts.fct_workflow_months where client_id = $client and report_month = $month",
        params,
    )
    client_rows = _df(
        con,
        "select "
        + ", ".join(name for name, _ in _TOTALS)
        + ", fee_charged, total_cost from marts.fct_client_months where client_id = $client and report_month = $month",
        params,
    )
    rows = []
    measures = [*(name for name, _ in _TOTALS), "total_cost"]
    for name in measures:
        total = client_rows[name].iloc[0] if len(client_rows) else None
        if name == "total_cost":
            part = (
                None
                if not len(client_rows)
                else _num(client_rows["fee_charged"].iloc[0]) + _num(client_rows["run_cost"].iloc[0])
            )
        else:
            part = parts[name].iloc[0] if len(parts) else None
        # A sum over no workflow-months is empty (NULL) in SQL: it is 0 on both sides.
        total, part = _num(total), _num(part)
        difference = abs(total - part)
        scale = max(1.0, abs(total), abs(part))
        rows.append(
            {
                "measure": name,
                "client_total": total,
                "sum_of_parts": part,
                "abs_difference": difference,
                "tolerance": 1e-9 * scale,
                "client_month_rows": len(client_rows),
            }
        )
    out = ClientMonth(client.client_id, month)
    out.frames = {
        "mart_workflow_months": workflow_months,
        "mart_client_totals": pd.DataFrame(rows),
        "mart_workflow_activity": _workflow_activity_frame(con, client, month_start),
        "mart_unregistered_workflows": _unregistered_frame(con, client, month_start),
        "mart_data_tests": _data_tests_frame(con, client),
        "mart_timesheet_files": _timesheet_files_frame(con, client, month_start),
    }
    out.parameters = {"live_workflow_keys": live_workflow_keys(client, month_start)}
    _check_complete(out, "mart")
    return out


def _timesheet_files_frame(con, client: ClientConfig, month_start: date) -> pd.DataFrame:
    """Each timesheet file of the client's export without an extraction time that a later file
    with one replaces on some dates of the month, with those files and dates (``replaced``); the
    order is the models' (``int_timesheet_files.file_order``: such a file sorts before every file
    with an extraction time). A correction dropped by hand loses that way until its export time
    is stated. Files that cover no date (an empty or failed file) replace and lose nothing, as in
    int_time_entries_classified; files without an extraction time follow each other by name, as
    intended for exports landed by hand (docs/landing.md), and are not named."""
    rows = _run(
        con,
        """
        select own.source_file, later.source_file, later.extracted_at,
               greatest(own.covers_from, later.covers_from, $first) as replaced_from,
               least(own.covers_to, later.covers_to, $last) as replaced_to
        from intermediate.int_timesheet_files own
        inner join intermediate.int_timesheet_files later
          on later.client_id = own.client_id and later.landing_format = own.landing_format
          and later.file_order > own.file_order
          and later.extracted_at is not null
        where own.client_id = $client and own.landing_format = $format and own.extracted_at is null
          and own.covers_from is not null and own.covers_to is not null
          and later.covers_from is not null and later.covers_to is not null
          and greatest(own.covers_from, later.covers_from, $first) <= least(own.covers_to, later.covers_to, $last)
        order by own.source_file, later.file_order
        """,
        {"client": client.client_id, "format": client.timesheets.folder, "first": month_start,
         "last": month_end(month_start)},
    ).fetchall()  # fmt: skip
    replaced: dict[str, list[str]] = {}
    for own, later, extracted_at, first, last in rows:
        replaced.setdefault(own, []).append(
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d} by {later} (exported {extracted_at:%Y-%m-%d %H:%M} UTC)"
        )
    return pd.DataFrame(
        {"source_file": list(replaced), "replaced": ["; ".join(v) for v in replaced.values()]},
        columns=["source_file", "replaced"],
    )


def _num(value: Any) -> float:
    """A total or a sum of parts as a float: NULL (a sum over no row) and NaN are 0."""
    return 0.0 if value is None or pd.isna(value) else float(value)


def _check_complete(out: ClientMonth, gate: str) -> None:
    missing = [s.name for s in suites_for(gate) if s.name not in out.frames]
    if missing:  # a programming error: a suite without its frame would silently not run
        raise RuntimeError(f"no frame for suite(s) {', '.join(missing)}")
