"""Automation run logs: n8n executions (public API) and the generic run log.

The generic run log has one rule for a run row, :func:`generic_row`. Three kinds of file end
in it (``raw.generic_runs``): our generic format (:class:`GenericRuns`), read through the
client's ``run_log`` mapping when it has one, and the platforms' own formats that
:mod:`roi_pipeline.formats.platforms` translates (Make scenario logs, Zapier Zap runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from roi_pipeline.config import GENERIC_PLATFORMS, RUN_STATUSES, RUN_TRIGGERS, RunLogMapping
from roi_pipeline.formats import columnar, plausibility
from roi_pipeline.formats.base import (
    Column,
    LandingFormat,
    ParseContext,
    Parsed,
    Rejected,
    instant,
    iter_csv_rows,
    iter_json_objects,
    iter_text_lines,
    load_json,
    number,
    optional_str,
    record_json,
    reject_malformed,
    require,
    snake,
)

N8N_STATUSES = {"success", "error", "crashed", "canceled", "waiting", "running", "new", "unknown"}
# "chat" and "agent" exist in recent n8n versions; they are valid but not production runs,
# because docs/method.md lists exactly which modes count (trigger, webhook, retry).
N8N_MODES = {
    "trigger",
    "webhook",
    "retry",
    "manual",
    "error",
    "integrated",
    "internal",
    "cli",
    "evaluation",
    "chat",
    "agent",
}
_N8N_STATUSES = pa.array(sorted(N8N_STATUSES))
_N8N_MODES = pa.array(sorted(N8N_MODES))
# n8n runs have their own folder (n8n_executions): one landed in the generic log as well
# would be counted twice, so the generic log takes only the platforms the contract lists.
# The vocabularies are config.py's: a client's run-log mapping is validated against them.
GENERIC_STATUSES = RUN_STATUSES
GENERIC_TRIGGERS = RUN_TRIGGERS


def _duration_check(started, stopped) -> None:
    if started is not None and stopped is not None and stopped < started:
        raise Rejected("negative duration: stopped before it started")


class N8nExecutions(LandingFormat):
    folder = "n8n_executions"
    table = "n8n_executions"
    suffixes = (".json", ".jsonl")
    description = "n8n public API executions (GET /api/v1/executions), one row per execution"
    version = 2  # 2: implausible records (future, too long, beyond caps, foreign currency) quarantined
    record_time_columns = ("started_at", "stopped_at")
    nested_fields = ("customData",)
    field_scope = "workflowId"
    # tasks automated (items), run cost, success (status: absent reads "unknown") and retries
    figure_fields = ("status", "retryOf", "customData.items", "customData.llm_cost")
    reported_fields: ClassVar[dict[str, str]] = {"items": "customData.items", "llm_cost": "customData.llm_cost"}
    columns = (
        Column("id", "varchar", "n8n execution id"),
        Column("workflow_id", "varchar", "n8n workflowId"),
        Column("status", "varchar", "n8n execution status"),
        Column("mode", "varchar", "n8n execution mode (what triggered it)"),
        Column("finished", "boolean"),
        Column("started_at", "timestamp", "startedAt, UTC"),
        Column("stopped_at", "timestamp", "stoppedAt, UTC (null while running)"),
        Column("started_tz_assumed", "boolean", "startedAt had no offset and was read in the client's zone"),
        Column("retry_of", "varchar", "retryOf: the execution this one retries"),
        Column("retry_success_id", "varchar", "retrySuccessId: the successful retry of this one"),
        Column("items", "bigint", "customData.items: items processed, when the workflow reports it"),
        Column("llm_tokens", "bigint", "customData.llm_tokens"),
        Column("llm_cost", "double", "customData.llm_cost, client currency"),
    )

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        return iter_json_objects(path, "data")

    def parse_columns(self, records: Sequence[Any], ctx: ParseContext) -> dict[str, pa.Array]:
        """:meth:`parse` a column at a time, for executions as n8n's API writes them."""
        records = columnar.objects(records)
        custom = columnar.nested(records, "customData")
        started = columnar.utc_instants(columnar.values(records, "startedAt"), required=True)
        stopped = columnar.utc_instants(columnar.values(records, "stoppedAt"), required=False)
        columnar.ordered_within(started, stopped, plausibility.MAX_RUN_DURATION)
        columnar.not_after(plausibility.latest_past(ctx), started, stopped)
        currency = ctx.client.currency
        # a cost stated in another currency is quarantined (plausibility.cost_currency): only the client's passes
        columnar.one_of(columnar.values(custom, "cost_currency"), pa.array([currency]), default=currency)
        return {
            "id": columnar.text(columnar.values(records, "id"), required=True),
            "workflow_id": columnar.text(columnar.values(records, "workflowId"), required=True),
            "status": columnar.one_of(columnar.values(records, "status"), _N8N_STATUSES, default="unknown"),
            "mode": columnar.one_of(columnar.values(records, "mode"), _N8N_MODES),
            "finished": columnar.booleans(columnar.values(records, "finished")),
            "started_at": started,
            "stopped_at": stopped,
            "started_tz_assumed": columnar.constant(False, len(records), pa.bool_()),
            "retry_of": columnar.text(columnar.values(records, "retryOf"), required=False),
            "retry_success_id": columnar.text(columnar.values(records, "retrySuccessId"), required=False),
            "items": columnar.numbers(
                columnar.values(custom, "items"), integer=True, low=0, high=plausibility.MAX_ITEMS_PER_RUN
            ),
            "llm_tokens": columnar.numbers(columnar.values(custom, "llm_tokens"), integer=True, low=0, high=2**53),
            "llm_cost": columnar.numbers(
                columnar.values(custom, "llm_cost"), integer=False, low=0, high=plausibility.MAX_RUN_COST
            ),
            "_record": pa.array([record_json(record) for record in records], pa.string()),
        }

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        execution_id = require(record, "id", "execution id")
        workflow_id = require(record, "workflowId", "workflowId")
        status = (optional_str(record.get("status")) or "unknown").lower()
        if status not in N8N_STATUSES:
            raise Rejected(f"unknown n8n status {status!r}")
        mode = optional_str(record.get("mode"))
        if mode is None or mode.lower() not in N8N_MODES:
            raise Rejected(f"unknown n8n mode {mode!r}")
        started, tz_assumed = instant(record.get("startedAt"), ctx, "startedAt")
        stopped, _ = instant(record.get("stoppedAt"), ctx, "stoppedAt", required=False)
        _duration_check(started, stopped)
        plausibility.not_future(ctx, ("startedAt", started), ("stoppedAt", stopped))
        plausibility.run_duration(started, stopped, "startedAt to stoppedAt")
        custom = record.get("customData") or {}
        if not isinstance(custom, dict):
            raise Rejected("customData is not an object")
        items = number(custom.get("items"), "customData.items", integer=True, minimum=None)
        plausibility.items(items, "customData.items")
        llm_cost = number(custom.get("llm_cost"), "customData.llm_cost", minimum=None)
        plausibility.run_cost(llm_cost, "customData.llm_cost", ctx.client.currency)
        plausibility.cost_currency(custom.get("cost_currency"), llm_cost, "customData.cost_currency", ctx)
        return Parsed(
            {
                "id": execution_id,
                "workflow_id": workflow_id,
                "status": status,
                "mode": mode.lower(),
                "finished": record.get("finished") if isinstance(record.get("finished"), bool) else None,
                "started_at": started,
                "stopped_at": stopped,
                "started_tz_assumed": tz_assumed,
                "retry_of": optional_str(record.get("retryOf")),
                "retry_success_id": optional_str(record.get("retrySuccessId")),
                "items": items,
                "llm_tokens": number(custom.get("llm_tokens"), "customData.llm_tokens", integer=True),
                "llm_cost": llm_cost,
                "_record": record_json(record),
            }
        )


#: The raw table every generic run-log row lands in, whichever file it came from.
GENERIC_TABLE = "generic_runs"
GENERIC_COLUMNS = (
    Column("run_id", "varchar"),
    Column("platform", "varchar"),
    Column("workflow_id", "varchar"),
    Column("started_at", "timestamp", "UTC"),
    Column("finished_at", "timestamp", "UTC (null while running)"),
    Column("started_tz_assumed", "boolean"),
    Column("finished_tz_assumed", "boolean"),
    Column("status", "varchar"),
    Column("triggered_by", "varchar"),
    Column("items", "bigint"),
    Column("llm_tokens_in", "bigint"),
    Column("llm_tokens_out", "bigint"),
    Column("llm_cost", "double"),
    Column("retry_of", "varchar"),
    Column("error_message", "varchar"),
)


def generic_row(record: dict[str, Any], ctx: ParseContext, *, mapping: RunLogMapping | None = None) -> dict[str, Any]:
    """One generic run-log record (generic keys) as a typed ``raw.generic_runs`` row, or :class:`Rejected`.

    ``mapping``: the client's run-log mapping; its status / trigger values and default
    platform apply. The row has no ``_record``: the caller keeps the record as landed.
    """
    run_id = require(record, "run_id")
    platform = optional_str(record.get("platform"))
    if platform is None and mapping is not None and mapping.platform is not None:
        platform = mapping.platform
    if platform is None:
        raise Rejected("missing platform")
    platform = platform.lower()
    if platform not in GENERIC_PLATFORMS:
        raise Rejected(
            f"unknown platform {platform!r} for the generic run log "
            f"(expected one of {', '.join(sorted(GENERIC_PLATFORMS))})"
        )
    workflow_id = require(record, "workflow_id")
    status = require(record, "status")
    status = (mapping.status(status) if mapping else status).lower()
    if status not in GENERIC_STATUSES:
        raise Rejected(f"unknown status {status!r}" + (" (not in the client's run_log.statuses)" if mapping else ""))
    trigger = require(record, "triggered_by")
    trigger = (mapping.trigger(trigger) if mapping else trigger).lower()
    if trigger not in GENERIC_TRIGGERS:
        raise Rejected(
            f"unknown triggered_by {trigger!r}" + (" (not in the client's run_log.triggers)" if mapping else "")
        )
    started, started_assumed = instant(record.get("started_at"), ctx, "started_at")
    finished, finished_assumed = instant(record.get("finished_at"), ctx, "finished_at", required=False)
    _duration_check(started, finished)
    plausibility.not_future(ctx, ("started_at", started), ("finished_at", finished))
    plausibility.run_duration(started, finished, "started_at to finished_at")
    items = number(record.get("items"), "items", integer=True, minimum=None)
    plausibility.items(items, "items")
    llm_cost = number(record.get("llm_cost"), "llm_cost", minimum=None)
    plausibility.run_cost(llm_cost, "llm_cost", ctx.client.currency)
    plausibility.cost_currency(record.get("cost_currency"), llm_cost, "cost_currency", ctx)
    return {
        "run_id": run_id,
        "platform": platform,
        "workflow_id": workflow_id,
        "started_at": started,
        "finished_at": finished,
        "started_tz_assumed": started_assumed,
        "finished_tz_assumed": finished_assumed if finished is not None else None,
        "status": status,
        "triggered_by": trigger,
        "items": items,
        "llm_tokens_in": number(record.get("llm_tokens_in"), "llm_tokens_in", integer=True),
        "llm_tokens_out": number(record.get("llm_tokens_out"), "llm_tokens_out", integer=True),
        "llm_cost": llm_cost,
        "retry_of": optional_str(record.get("retry_of")),
        "error_message": optional_str(record.get("error_message")),
    }


class GenericRuns(LandingFormat):
    """Our generic run log, or a client's own run log read through its ``run_log`` mapping.

    With a mapping, each record's own column names are renamed to the generic ones as it is
    read (so the field tally and drift checks speak the generic names); values are mapped in
    :func:`generic_row`. A required column missing from a CSV header fails the file, naming
    the file's column the mapping expects.
    """

    folder = "generic_runs"
    table = GENERIC_TABLE
    suffixes = (".csv", ".jsonl")
    description = "our run-log format for Zapier, Make and custom AI agents, or a client's own through a mapping"
    version = 2  # 2: implausible records (future, too long, beyond caps, foreign currency) quarantined
    record_time_columns = ("started_at", "finished_at")
    required = ("run_id", "platform", "workflow_id", "started_at", "status", "triggered_by")
    field_scope = "workflow_id"
    figure_fields = ("items", "llm_cost", "retry_of")  # tasks automated, run cost, retries counted once
    reported_fields: ClassVar[dict[str, str]] = {"items": "items", "llm_cost": "llm_cost"}
    columns = GENERIC_COLUMNS

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        mapping = ctx.client.run_log
        # Ingestion picks files by suffix case-insensitively: RUNS.CSV is a CSV too.
        if path.suffix.lower() == ".csv":
            if mapping is None:
                return iter_csv_rows(path, self.required)
            required = [c for c in self.required if not (c == "platform" and mapping.platform)]
            rename = {snake(mapping.source_column(c)): c for c in mapping.columns}
            return self._renamed(iter_csv_rows(path, [snake(mapping.source_column(c)) for c in required]), rename)
        rows = self._jsonl(path)
        if mapping is None:
            return rows
        return self._renamed(rows, {mapping.source_column(c): c for c in mapping.columns})

    @staticmethod
    def _renamed(rows: Iterator[tuple[int, Any]], rename: dict[str, str]) -> Iterator[tuple[int, Any]]:
        targets = set(rename.values())
        for number_, record in rows:
            if isinstance(record, dict) and not any(str(k).startswith("__") for k in record):
                # a column of the file named like a generic column it does not feed keeps its value aside
                record = {rename.get(k, f"{k}_unmapped" if k in targets else k): v for k, v in record.items()}
            yield number_, record

    @staticmethod
    def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
        for number_, line in iter_text_lines(path):
            if not isinstance(line, str):  # bytes that are not UTF-8: rejected by reject_malformed
                yield number_, line
                continue
            if not line.strip():
                continue
            try:
                yield number_, load_json(line)
            except json.JSONDecodeError as exc:
                yield number_, {"__bad_json__": f"line {number_} is not JSON: {exc.msg}", "__line__": line}

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        if isinstance(record, dict) and "__bad_json__" in record:
            raise Rejected(record["__bad_json__"])
        reject_malformed(record)
        return Parsed({**generic_row(record, ctx, mapping=ctx.client.run_log), "_record": record_json(record)})
