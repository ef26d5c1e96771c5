"""The two CSV files of a client report: tasks.csv (the month's runs) and inventory.csv.

Both are UTF-8 with CRLF line ends and a header row; text a spreadsheet would run as a
formula is quoted. Each function returns the file's bytes and its number of data rows (the
report's lineage records the rows and the bytes' sha256).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from roi_pipeline.report.data import ClientMonthData

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """CSV cell text; user-controlled text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- tasks.csv -------------------------------------------------------------------------------

TASKS_COLUMNS = (
    "run_id",
    "workflow_key",
    "workflow_name",
    "platform",
    "platform_workflow_id",
    "started_at_local",
    "started_local_date",
    "trigger",
    "is_production",
    "status",
    "status_class",
    "items_processed",
    "tasks_counted",
    "is_recovered",
    "retry_of_run_id",
    "duration_seconds",
    "llm_tokens",
    "llm_cost",
    "counted_in_run_cost",
    "source_file",
    "source_row_number",
)


def tasks_csv(data: ClientMonthData) -> tuple[bytes, int]:
    """Every run of the client started in the month, with the flags that say how it counts.

    ``sum(tasks_counted)`` = tasks automated; ``llm_cost`` where ``counted_in_run_cost`` adds
    up to the LLM part of run cost. No customer data: free-text error messages are left out.
    """
    zone = ZoneInfo(data.client["timezone"])
    names = {w["workflow_key"]: w["workflow_name"] for w in data.workflows}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TASKS_COLUMNS)
    for run in data.runs:
        started = run["started_at"]
        local = started.replace(tzinfo=dt.UTC).astimezone(zone).isoformat(timespec="milliseconds") if started else None
        local_date = run["started_local_date"]
        if isinstance(local_date, dt.datetime):
            local_date = local_date.date()
        writer.writerow(
            [
                _cell(v)
                for v in (
                    run["run_id"],
                    run["workflow_key"],
                    names.get(run["workflow_key"]),
                    run["platform"],
                    run["platform_workflow_id"],
                    local,
                    local_date,
                    run["run_trigger"],
                    run["is_production"],
                    run["run_status"],
                    run["status_class"],
                    run["items_processed"],
                    run["tasks_counted"],
                    run["is_recovered"],
                    run["retry_of_run_id"],
                    run["duration_seconds"],
                    run["llm_tokens"],
                    run["llm_cost"],
                    run["is_on_live_day"],
                    run["source_file"],
                    run["source_row_number"],
                )
            ]
        )
    return out.getvalue().encode("utf-8"), len(data.runs)


# -- inventory.csv ---------------------------------------------------------------------------

INVENTORY_COLUMNS = (
    "month",
    "workflow_key",
    "workflow_name",
    "platform",
    "owner",
    "risk_class",
    "process_replaced",
    "data_touched",
    "human_approval",
    "llm_vendor",
    "llm_model",
    "state_at_month_end",
    "live_in_month",
    "changed_this_month",
    "go_live_date",
    "retired_on",
    "paused_on",
    "run_cost_this_month",
    "currency",
    "last_review_date",
    "review_due_date",
    "review_overdue",
    "high_risk_without_human_checkpoint",
)


def inventory_csv(doc: dict[str, Any]) -> tuple[bytes, int]:
    """The AI inventory of the month (report.json ``inventory``) as a CSV for an auditor.

    One row per workflow in the register; values as in report.json (money unrounded, in the
    client's currency); ``human_approval`` is ``yes`` / ``no`` / ``not stated``; lists are
    joined with ``; ``. Text a spreadsheet would run as a formula is quoted, as in tasks.csv.
    """
    approval = {True: "yes", False: "no", None: "not stated"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INVENTORY_COLUMNS)
    rows = doc["inventory"]["workflows"]
    for w in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    doc["month"],
                    w["key"],
                    w["name"],
                    w["platform"],
                    w["owner"],
                    w["risk_class"],
                    w["process"],
                    "; ".join(w["data_touched"]),
                    approval[w["human_approval"]],
                    w["llm_vendor"],
                    w["llm_model"],
                    w["lifecycle"],
                    w["live_in_month"],
                    "; ".join(w["changes"]),
                    w["go_live_date"],
                    w["retired_on"],
                    w["paused_on"],
                    w["run_cost"],
                    doc["client"]["currency"],
                    w["last_review_date"],
                    w["review_due_date"],
                    w["is_review_overdue"],
                    w["is_high_risk_without_checkpoint"],
                )
            ]
        )
    return out.getvalue().encode("utf-8"), len(rows)
