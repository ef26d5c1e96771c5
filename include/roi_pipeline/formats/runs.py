"""Automation run logs: n8n executions (public API) and our generic run-log format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.formats import plausibility
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
    number,
    optional_str,
    record_json,
    reject_malformed,
    require,
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
# n8n runs have their own folder (n8n_executions): one landed in the generic log as well
# would be counted twice, so the generic log takes only the platforms the contract lists.
GENERIC_PLATFORMS = {"zapier", "make", "custom_agent", "other"}
GENERIC_STATUSES = {"success", "error", "crashed", "timeout", "canceled", "waiting", "running", "new", "unknown"}
GENERIC_TRIGGERS = {"schedule", "webhook", "event", "manual", "test", "retry", "subworkflow", "error_handler"}


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


class GenericRuns(LandingFormat):
    folder = "generic_runs"
    table = "generic_runs"
    suffixes = (".csv", ".jsonl")
    description = "our run-log format for Zapier, Make and custom AI agents"
    version = 2  # 2: implausible records (future, too long, beyond caps, foreign currency) quarantined
    record_time_columns = ("started_at", "finished_at")
    required = ("run_id", "platform", "workflow_id", "started_at", "status", "triggered_by")
    field_scope = "workflow_id"
    figure_fields = ("items", "llm_cost", "retry_of")  # tasks automated, run cost, retries counted once
    reported_fields: ClassVar[dict[str, str]] = {"items": "items", "llm_cost": "llm_cost"}
    columns = (
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

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        # Ingestion picks files by suffix case-insensitively: RUNS.CSV is a CSV too.
        if path.suffix.lower() == ".csv":
            return iter_csv_rows(path, self.required)
        return self._jsonl(path)

    @staticmethod
    def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
        for number_, line in iter_text_lines(path):
            if not isinstance(line, str):  # bytes that are not UTF-8: rejected by reject_malformed
                yield number_, line
                continue
            if not line.strip():
                continue
            try:
                yield number_, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number_, {"__bad_json__": f"line {number_} is not JSON: {exc.msg}", "__line__": line}

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        if isinstance(record, dict) and "__bad_json__" in record:
            raise Rejected(record["__bad_json__"])
        reject_malformed(record)
        run_id = require(record, "run_id")
        platform = require(record, "platform").lower()
        if platform not in GENERIC_PLATFORMS:
            raise Rejected(
                f"unknown platform {platform!r} for the generic run log "
                f"(expected one of {', '.join(sorted(GENERIC_PLATFORMS))})"
            )
        workflow_id = require(record, "workflow_id")
        status = require(record, "status").lower()
        if status not in GENERIC_STATUSES:
            raise Rejected(f"unknown status {status!r}")
        trigger = require(record, "triggered_by").lower()
        if trigger not in GENERIC_TRIGGERS:
            raise Rejected(f"unknown triggered_by {trigger!r}")
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
        return Parsed(
            {
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
                "_record": record_json(record),
            }
        )
