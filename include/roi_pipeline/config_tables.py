"""Client configuration as warehouse tables (``raw.config_*``), the dbt models' view of it.

dbt cannot read YAML, and the marts must be reproducible with SQL alone, so every ingest
writes the validated configuration of the clients it loaded into six narrow tables. A
client's rows are replaced whole; clients not loaded this time keep their last snapshot.
Effective-dated values keep their full history (they live in the file), so restating an
old month uses the values in effect then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import duckdb

from roi_pipeline.config import ClientConfig, Effective, source_needs
from roi_pipeline.formats import Column
from roi_pipeline.raw_batches import arrow_table, insert

CONFIG_TABLES: dict[str, tuple[Column, ...]] = {
    "config_clients": (
        Column("client_id", "varchar"),
        Column("client_name", "varchar"),
        Column("currency", "varchar"),
        Column("timezone", "varchar"),
        Column("locale", "varchar"),
        Column("engagement_start", "date"),
        Column("build_fee", "double"),
        Column("guarantee_hours", "double"),
        Column("baseline_days", "integer"),
        Column("kpi_baseline_days", "integer", "KPI baseline: leads created in these days before the first go-live"),
        Column("settle_days", "integer"),
        Column("cohort_window_days", "integer"),
        Column("working_hours_start", "varchar"),
        Column("working_hours_end", "varchar"),
        Column("lead_filter_property", "varchar"),
        Column("timesheet_format", "varchar"),
        Column("consultancy_field", "varchar"),
        Column("process_field", "varchar"),
        Column("phase_field", "varchar"),
        Column("config_sha256", "varchar", "hash of the validated configuration (lineage)"),
    ),
    "config_workflows": (
        Column("client_id", "varchar"),
        Column("workflow_key", "varchar"),
        Column("workflow_name", "varchar"),
        Column("platform", "varchar"),
        Column("owner", "varchar"),
        Column("risk_class", "varchar"),
        Column("process", "varchar"),
        Column("process_key", "varchar", "process trimmed, spaces folded, lower-cased"),
        Column("go_live", "date"),
        Column("status", "varchar"),
        Column("retired_on", "date"),
        Column("runs_daily", "boolean"),
        Column("baseline_method", "varchar"),
        Column("volume_object", "varchar"),
        Column("volume_direction", "varchar"),
        Column("volume_timestamp_property", "varchar", "property placing a volume event (null: the object's own time)"),
        Column("baseline_days", "integer", "baseline window length: the workflow's window_days, else the client's"),
        Column("declared_source", "varchar"),
        Column("human_approval", "boolean", "a person approves the output; null = not stated"),
        Column("llm_vendor", "varchar"),
        Column("llm_model", "varchar"),
        Column("last_review", "date"),
        Column("review_every_months", "integer"),
        Column("paused_on", "date"),
    ),
    "config_workflow_ids": (
        Column("client_id", "varchar"),
        Column("workflow_key", "varchar"),
        Column("platform", "varchar"),
        Column("platform_workflow_id", "varchar"),
    ),
    "config_effective_values": (
        Column("client_id", "varchar"),
        Column("workflow_key", "varchar", "null for client-level values"),
        Column("item", "varchar", "monthly_fee / hourly_cost / tooling_cost / hourly_cost_override / declared_minutes"),
        Column("effective_from", "date"),
        Column("value", "double"),
    ),
    "config_candidates": (
        Column("client_id", "varchar"),
        Column("candidate_key", "varchar"),
        Column("candidate_name", "varchar"),
        Column("process", "varchar"),
        Column("est_tasks_per_month", "double"),
        Column("est_minutes_per_task", "double"),
        Column("est_build_hours", "double"),
        Column("est_tooling_cost", "double"),
        Column("workflow_key", "varchar", "the register workflow it became, once live"),
    ),
    "config_lists": (
        Column("client_id", "varchar"),
        Column(
            "list_name",
            "varchar",
            "automation_user_ids / lead_filter_values / consultancy_values / volume_owner_ids:<workflow> / "
            "volume_filter:<workflow>:<property> / data_touched:<workflow> / working_weekdays / holidays (ISO dates) / report_contacts / ignored_workflow_ids / "
            "as_of_sources (landing folders that bound the client's as-of: config.source_needs)",
        ),
        Column("value", "varchar"),
    ),
}


def _effective(client_id: str, workflow_key: str | None, item: str, entries: Iterable[Effective] | None):
    return [
        {
            "client_id": client_id,
            "workflow_key": workflow_key,
            "item": item,
            "effective_from": e.effective_from,
            "value": e.value,
        }
        for e in entries or []
    ]


def config_rows(client: ClientConfig) -> dict[str, list[dict[str, Any]]]:
    """The rows of every config table for one client."""
    cid = client.client_id
    # ``alerts`` (routes, quiet hours) is operations, not terms: changing who is alerted must
    # not change a report's lineage hash (and so restate an e-mailed report).
    terms = client.model_dump(mode="json", exclude={"alerts"})
    digest = hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()
    sheets = client.timesheets
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIG_TABLES}
    rows["config_clients"].append(
        {
            "client_id": cid,
            "client_name": client.name,
            "currency": client.currency,
            "timezone": client.timezone,
            "locale": client.locale,
            "engagement_start": client.engagement_start,
            "build_fee": client.build_fee,
            "guarantee_hours": client.guarantee_hours,
            "baseline_days": client.baseline_days,
            "kpi_baseline_days": client.kpi_baseline_days,
            "settle_days": client.settle_days,
            "cohort_window_days": client.cohort_window_days,
            "working_hours_start": client.working_hours.start if client.working_hours else None,
            "working_hours_end": client.working_hours.end if client.working_hours else None,
            "lead_filter_property": client.crm.lead_filter.property if client.crm.lead_filter else None,
            "timesheet_format": sheets.format,
            "consultancy_field": sheets.consultancy_rows.field,
            "process_field": sheets.process_field,
            "phase_field": sheets.phase_field,
            "config_sha256": digest,
        }
    )
    rows["config_effective_values"] += _effective(cid, None, "monthly_fee", client.monthly_fee)
    rows["config_effective_values"] += _effective(cid, None, "hourly_cost", client.hourly_cost)

    def listed(name: str, values: Iterable[str]) -> None:
        rows["config_lists"].extend({"client_id": cid, "list_name": name, "value": v} for v in values)

    listed("automation_user_ids", client.crm.automation_user_ids)
    listed("lead_filter_values", client.crm.lead_filter.values if client.crm.lead_filter else [])
    listed("consultancy_values", sheets.consultancy_rows.values)
    listed("working_weekdays", client.working_hours.weekdays if client.working_hours else [])
    # public holidays (not working days): from the year before the engagement (KPI baselines)
    # to ten years after it, so the rows depend on the file alone, never on today's date
    start = client.engagement_start.year
    listed(
        "holidays",
        [d.isoformat() for d in client.working_hours.holiday_dates(range(start - 1, start + 11))]
        if client.working_hours
        else [],
    )
    listed("report_contacts", client.report_contacts)
    listed("ignored_workflow_ids", client.ignored_workflow_ids)
    # the sources whose "as of" bounds the client's even before any file of theirs landed
    listed("as_of_sources", [n.folders[0] for n in source_needs(client) if n.dates_the_month])

    for wf in client.workflows:
        volume = wf.baseline.volume
        rows["config_workflows"].append(
            {
                "client_id": cid,
                "workflow_key": wf.key,
                "workflow_name": wf.name,
                "platform": wf.platform,
                "owner": wf.owner,
                "risk_class": wf.risk_class,
                "process": wf.process,
                "process_key": wf.process_key,
                "go_live": wf.go_live,
                "status": wf.status,
                "retired_on": wf.retired_on,
                "runs_daily": wf.runs_daily,
                "baseline_method": wf.baseline.method,
                "volume_object": volume.object if volume else None,
                "volume_direction": volume.direction.upper() if volume and volume.direction else None,
                "volume_timestamp_property": volume.timestamp_property if volume else None,
                "baseline_days": client.baseline_days_for(wf),
                "declared_source": wf.baseline.declared_source,
                "human_approval": wf.human_approval,
                "llm_vendor": wf.llm_vendor,
                "llm_model": wf.llm_model,
                "last_review": wf.last_review,
                "review_every_months": wf.review_every_months,
                "paused_on": wf.paused_on,
            }
        )
        listed(f"data_touched:{wf.key}", wf.data_touched)
        rows["config_workflow_ids"].extend(
            {"client_id": cid, "workflow_key": wf.key, "platform": wf.platform, "platform_workflow_id": pid}
            for pid in wf.platform_workflow_ids
        )
        rows["config_effective_values"] += _effective(cid, wf.key, "tooling_cost", wf.tooling_cost)
        rows["config_effective_values"] += _effective(cid, wf.key, "hourly_cost_override", wf.hourly_cost_override)
        rows["config_effective_values"] += _effective(cid, wf.key, "declared_minutes", wf.baseline.declared_minutes)
        if volume and volume.owner_ids:
            listed(f"volume_owner_ids:{wf.key}", volume.owner_ids)
        for prop_filter in (volume.filters if volume else None) or []:
            listed(f"volume_filter:{wf.key}:{prop_filter.property}", prop_filter.values)
    rows["config_candidates"].extend(
        {
            "client_id": cid,
            "candidate_key": cand.key,
            "candidate_name": cand.name,
            "process": cand.process,
            "est_tasks_per_month": cand.est_tasks_per_month,
            "est_minutes_per_task": cand.est_minutes_per_task,
            "est_build_hours": cand.est_build_hours,
            "est_tooling_cost": cand.est_tooling_cost,
            "workflow_key": cand.workflow_key,
        }
        for cand in client.candidates
    )
    return rows


def write_config_tables(con: duckdb.DuckDBPyConnection, clients: Iterable[ClientConfig], schema: str = "raw") -> None:
    """Replace the configuration rows of ``clients`` in one transaction."""
    clients = list(clients)
    con.execute(f"create schema if not exists {schema}")
    for table, columns in CONFIG_TABLES.items():
        cols = ", ".join(f"{c.name} {c.type}" for c in columns)
        con.execute(f"create table if not exists {schema}.{table} ({cols})")
        existing = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
        }
        for col in columns:  # a warehouse built before a column was added gains it
            if col.name not in existing:
                con.execute(f"alter table {schema}.{table} add column {col.name} {col.type}")
    con.execute("begin transaction")
    try:
        ids = [c.client_id for c in clients]
        for table, columns in CONFIG_TABLES.items():
            if ids:
                placeholders = ", ".join("?" for _ in ids)
                con.execute(f"delete from {schema}.{table} where client_id in ({placeholders})", ids)
            rows = [r for c in clients for r in config_rows(c)[table]]
            if not rows:
                continue
            insert(con, f"{schema}.{table}", columns, [arrow_table(columns, rows)])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
