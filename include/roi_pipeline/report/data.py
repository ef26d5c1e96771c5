"""Read what one report needs from the warehouse: read-only, scoped, closed promptly.

Every query of a client report carries a parameterised ``where client_id = ?``; no query
of a client report can return another client's rows. The rows used are hashed into the
report's lineage (``mart_snapshot_sha256``) so an auditor can tell whether the marts a
report was built from have changed since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

#: Months of history shown in the charts (ending with the report month).
HISTORY_MONTHS = 12

# One statement per mart; ``?`` parameters only. The client id comes first in every one.
CLIENT_QUERIES: dict[str, str] = {
    "dim_clients": "select * from marts.dim_clients where client_id = ?",
    "fct_client_months": (
        "select * from marts.fct_client_months where client_id = ? and report_month <= cast(? as date) "
        "order by report_month"
    ),
    "fct_workflow_months": (
        "select * from marts.fct_workflow_months where client_id = ? and report_month = cast(? as date) "
        "order by workflow_name, workflow_key"
    ),
    "dim_workflows": "select * from marts.dim_workflows where client_id = ? order by workflow_name, workflow_key",
    "fct_billing_credits": (
        "select * from marts.fct_billing_credits where client_id = ? and missed_month = cast(? as date)"
    ),
    # Runs of unregistered workflows (null workflow_key) count nowhere and are not the client's
    # report's business (docs/method.md): the consultancy sees them on the portfolio page.
    "fct_automation_runs": (
        "select * exclude (error_message) from marts.fct_automation_runs "
        "where client_id = ? and run_month = cast(? as date) and workflow_key is not null "
        "order by started_at, run_key"
    ),
    # Governance (docs/method.md section 8): the register as it stood in the month, the roadmap.
    "fct_inventory_months": (
        "select * from marts.fct_inventory_months where client_id = ? and report_month = cast(? as date) "
        "order by workflow_name, workflow_key"
    ),
    "fct_roadmap_candidate_months": (
        "select * from marts.fct_roadmap_candidate_months where client_id = ? and report_month = cast(? as date) "
        "order by payback_rank nulls last, candidate_key"
    ),
}

#: Lineage of the client's landed files; ``loaded_at`` is the wall clock of the load and is
#: left out so the same inputs always give the same report.
LANDED_FILES_QUERY = (
    "select format, source_file, file_sha256, status, rows_read, rows_loaded, rows_quarantined, extracted_at "
    "from raw._landed_files where client_id = ? order by source_file"
)

PORTFOLIO_QUERIES: dict[str, str] = {
    "dim_clients": "select * from marts.dim_clients order by client_id",
    "rpt_portfolio_months": (
        "select * from marts.rpt_portfolio_months where report_month = cast(? as date) order by client_id"
    ),
    "fct_client_months": (
        "select client_id, report_month, as_of_at, guarantee_verdict, fee_charged, is_fee_credited, "
        "hours_vs_guarantee, first_guarantee_month from marts.fct_client_months "
        "where report_month = cast(? as date) order by client_id"
    ),
    "fct_workflow_months": (
        "select client_id, workflow_key, workflow_name, error_rate, silent_days, failed_runs, production_runs, "
        "recommendation, recommendation_reason from marts.fct_workflow_months "
        "where report_month = cast(? as date) and recommendation in ('fix', 'cut') "
        "order by client_id, workflow_name, workflow_key"
    ),
    "fct_billing_credits": (
        "select * from marts.fct_billing_credits where missed_month = cast(? as date) order by client_id"
    ),
    "rpt_unregistered_workflow_months": (
        "select client_id, platform, platform_workflow_id, runs, production_runs "
        "from marts.rpt_unregistered_workflow_months where report_month = cast(? as date) "
        "order by client_id, platform, platform_workflow_id"
    ),
}


class UnknownClientError(LookupError):
    """The client has no row in marts.dim_clients (not configured, or never built)."""


def month_start(month: str) -> dt.date:
    """'YYYY-MM' -> the first day of that month (ValueError otherwise)."""
    try:
        value = dt.datetime.strptime(month, "%Y-%m").date()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from exc
    if f"{value:%Y-%m}" != month:
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    return value


def add_months(value: dt.date, n: int) -> dt.date:
    index = value.year * 12 + value.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def snapshot_sha256(tables: dict[str, list[dict[str, Any]]]) -> str:
    """SHA-256 of the rows used, canonically serialised (tables and columns sorted)."""
    canonical = {
        name: [{k: _canonical(v) for k, v in sorted(row.items())} for row in rows]
        for name, rows in sorted(tables.items())
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


@dataclass
class ClientMonthData:
    """Everything one client-month report reads, straight from the marts."""

    client_id: str
    month: dt.date
    client: dict[str, Any]
    months: list[dict[str, Any]]  # fct_client_months up to and including the month
    workflow_months: list[dict[str, Any]]
    workflows: list[dict[str, Any]]
    credits: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    landed_files: list[dict[str, Any]]
    inventory: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    snapshot_sha256: str = ""
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def current(self) -> dict[str, Any] | None:
        """The month's fct_client_months row; None when the month has no data."""
        if self.months and self.months[-1]["report_month"] == self.month:
            return self.months[-1]
        return None


def load_client_month(warehouse: Path, client_id: str, month: str) -> ClientMonthData:
    """Query the marts for one client and month on a read-only connection, then close it."""
    start = month_start(month)
    month_param = start.isoformat()
    tables: dict[str, list[dict[str, Any]]] = {}
    with closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        for name, sql in CLIENT_QUERIES.items():
            params = [client_id] if sql.count("?") == 1 else [client_id, month_param]
            tables[name] = _rows(con, sql, params)
        landed = _rows(con, LANDED_FILES_QUERY, [client_id])
    if not tables["dim_clients"]:
        raise UnknownClientError(f"client {client_id!r} is not in marts.dim_clients of {warehouse}")
    data = ClientMonthData(
        client_id=client_id,
        month=start,
        client=tables["dim_clients"][0],
        months=tables["fct_client_months"],
        workflow_months=tables["fct_workflow_months"],
        workflows=tables["dim_workflows"],
        credits=tables["fct_billing_credits"],
        runs=tables["fct_automation_runs"],
        landed_files=landed,
        inventory=tables["fct_inventory_months"],
        candidates=tables["fct_roadmap_candidate_months"],
    )
    data.snapshot_sha256 = snapshot_sha256(tables)
    data.row_counts = {name: len(rows) for name, rows in tables.items()}
    return data


@dataclass
class PortfolioData:
    month: dt.date
    clients: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    client_months: list[dict[str, Any]]
    workflows: list[dict[str, Any]]
    credits: list[dict[str, Any]]
    snapshot_sha256: str
    #: Workflow ids with runs in the month that no register entry lists (and not ignored).
    unregistered: list[dict[str, Any]] = field(default_factory=list)


def load_portfolio(warehouse: Path, month: str) -> PortfolioData:
    """All clients' rows of one month (the consultancy's view), read-only."""
    start = month_start(month)
    tables: dict[str, list[dict[str, Any]]] = {}
    with closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        for name, sql in PORTFOLIO_QUERIES.items():
            tables[name] = _rows(con, sql, [start.isoformat()] if "?" in sql else [])
    return PortfolioData(
        month=start,
        clients=tables["dim_clients"],
        rows=tables["rpt_portfolio_months"],
        client_months=tables["fct_client_months"],
        workflows=tables["fct_workflow_months"],
        credits=tables["fct_billing_credits"],
        snapshot_sha256=snapshot_sha256(tables),
        unregistered=tables["rpt_unregistered_workflow_months"],
    )
