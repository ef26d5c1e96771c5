"""Make and Zapier run histories in their own shapes, landed as generic run-log rows.

Each record is translated to the generic run log's keys and then typed by the one rule
for a run row (:func:`roi_pipeline.formats.runs.generic_row`): the same plausibility
checks, quarantine reasons and raw table (``raw.generic_runs``) as the generic format, so
staging reads them without per-platform SQL. The raw row keeps the record as landed.
What each vendor exposes, and what could not be checked against the vendor, is in
docs/landing.md ("Make scenario logs", "Zapier Zap runs").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.formats.base import (
    LandingFormat,
    ParseContext,
    Parsed,
    Rejected,
    iter_json_objects,
    number,
    optional_str,
    record_json,
    reject_malformed,
    require,
)
from roi_pipeline.formats.runs import GENERIC_COLUMNS, GENERIC_TABLE, generic_row

#: Make's execution status codes (``status`` of a scenario log; its ``status`` filter says
#: 1 success, 2 warning, 3 error). A warning run met an error that an error handler dealt
#: with or stored as an incomplete execution: it did not finish its work, so it is not a success.
MAKE_STATUSES = {1: "success", 2: "error", 3: "error"}
#: The longest run Make can report (``duration``, ms) before it is not a number of a run at all.
_MS_PER_DAY = 86_400_000


def make_instant(value: Any, what: str) -> str | None:
    """A Make ``timestamp``: ISO-8601 text, or epoch milliseconds as its query filters take."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC).isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise Rejected(f"bad {what}: {value!r} is not a time") from exc
    return str(value)


class MakeScenarioLogs(LandingFormat):
    """``GET /api/v2/scenarios/{scenarioId}/logs`` (Make API v2) pages, one row per execution."""

    folder = "make_scenario_logs"
    table = GENERIC_TABLE
    suffixes = (".json", ".jsonl")
    description = "Make API scenario logs (GET /api/v2/scenarios/{id}/logs), one row per scenario execution"
    version = 1
    record_time_columns = ("started_at", "finished_at")
    field_scope = "scenarioId"
    figure_fields = ("status",)  # success; Make reports no items processed and no cost per run
    reported_fields: ClassVar[dict[str, str]] = {}
    columns = GENERIC_COLUMNS

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        return iter_json_objects(path, "scenarioLogs")

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        run_id = optional_str(record.get("imtId")) or optional_str(record.get("id"))
        if run_id is None:
            raise Rejected("missing imtId (execution id)")
        scenario = require(record, "scenarioId", "scenarioId")
        code = number(record.get("status"), "status", integer=True)
        if code is None:
            raise Rejected("missing status")
        if code not in MAKE_STATUSES:
            raise Rejected(f"unknown Make status {code!r} (expected 1 success, 2 warning or 3 error)")
        started = make_instant(record.get("timestamp"), "timestamp")
        duration = number(record.get("duration"), "duration")
        finished = None
        if started is not None and duration is not None:
            if duration > 366 * _MS_PER_DAY:
                raise Rejected(f"implausible duration: {duration:,.0f} ms")
            try:
                moment = datetime.fromisoformat(started.strip().replace("Z", "+00:00"))
            except ValueError:
                moment = None  # generic_row rejects the start with the reader's reason
            if moment is not None:
                finished = (moment + timedelta(milliseconds=duration)).isoformat()
        kind = (optional_str(record.get("type")) or "").lower()
        if kind == "manual":
            trigger = "manual"
        else:
            trigger = "webhook" if record.get("instant") is True else "schedule"
        row = generic_row(
            {
                "run_id": run_id,
                "platform": "make",
                "workflow_id": scenario,
                "started_at": started,
                "finished_at": finished,
                "status": MAKE_STATUSES[int(code)],
                "triggered_by": trigger,
            },
            ctx,
        )
        return Parsed({**row, "_record": record_json(record)})


#: Zap run statuses (Zap history and the Partner API's ``GET /v2/zap-runs``) -> generic status.
#: Filtered and halted runs stopped on purpose before finishing their actions: not a success.
ZAPIER_STATUSES = {
    "success": "success",
    "successful": "success",
    "error": "error",
    "errored": "error",
    "stopped": "error",
    "halted": "canceled",
    "filtered": "canceled",
    "waiting": "waiting",
    "delayed": "waiting",
    "scheduled": "waiting",
    "holding": "waiting",
    "held": "waiting",
    "playing": "running",
    "running": "running",
}


class ZapierZapRuns(LandingFormat):
    """Zap runs as Zapier's Partner API returns them (``GET /v2/zap-runs``), one row per run.

    Zapier does not say what started a run: every run is a production run of its trigger
    (``event``); nor items processed, cost, or which run a replay replays (docs/landing.md).
    """

    folder = "zapier_zap_runs"
    table = GENERIC_TABLE
    suffixes = (".json", ".jsonl")
    description = "Zapier Zap runs (Partner API GET /v2/zap-runs), one row per Zap run"
    version = 1
    record_time_columns = ("started_at", "finished_at")
    field_scope = "zap_id"
    figure_fields = ("status",)
    reported_fields: ClassVar[dict[str, str]] = {}
    columns = GENERIC_COLUMNS

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        return iter_json_objects(path, "data")

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        run_id = require(record, "id", "id (Zap run id)")
        zap = require(record, "zap_id", "zap_id")
        raw_status = require(record, "status", "status").lower()
        if raw_status not in ZAPIER_STATUSES:
            raise Rejected(f"unknown Zapier status {raw_status!r}")
        row = generic_row(
            {
                "run_id": run_id,
                "platform": "zapier",
                "workflow_id": zap,
                "started_at": record.get("start_time"),
                "finished_at": record.get("end_time"),
                "status": ZAPIER_STATUSES[raw_status],
                "triggered_by": "event",
            },
            ctx,
        )
        return Parsed({**row, "_record": record_json(record)})
