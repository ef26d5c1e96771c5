"""Build the report document (what report.json holds) from the marts' rows.

The document is the single source of every figure shown: the HTML, the PDF and the
charts are rendered from it, never from the warehouse directly, so "every figure shown is
in report.json" holds by construction. Figures are copied unrounded from the marts; the
only derived figures are sums over rows already shown (cumulative value and cost for the
payback chart, incidents from the runs listed in tasks.csv), each documented in
report_templates/README.md.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import roi_pipeline
from roi_pipeline.report.data import HISTORY_MONTHS, ClientMonthData, add_months
from roi_pipeline.report.status import Consultancy, QualityStatus

#: 1.1: every rate has its numerator and denominator beside it (the counts it was computed
#: from, read from the marts), so a reader can recompute it; earlier reports are 1.0, and a
#: re-run over one compares only the figures both define (no restatement for the new counts).
#: 1.2: the AI inventory (``inventory``) and the roadmap (``roadmap``) blocks, and
#: inventory.csv in the lineage (docs/method.md section 8).
SCHEMA_VERSION = "1.2"

#: Every rate of report.json -> (numerator, denominator), fields of the same object that hold
#: the counts the mart computed it from (rate = numerator / denominator; null when the
#: denominator is 0). Rendered beside each rate; report.schema.json lists the same pairs.
RATE_COUNTS: dict[str, dict[str, tuple[str, str]]] = {
    "workflows": {
        "error_rate": ("failed_runs", "successful_or_failed_runs"),
        "success_rate": ("successful_runs", "successful_or_failed_runs"),
    },
    "kpis": {
        "meeting_rate": ("leads_with_meeting", "leads_created"),
        "conversion_rate": ("leads_won", "leads_created"),
        "coverage_rate": ("leads_first_response_automated", "leads_answered"),
        "baseline_meeting_rate": ("baseline_leads_with_meeting", "baseline_leads"),
        "baseline_conversion_rate": ("baseline_leads_won", "baseline_leads"),
    },
}

#: Sections whose values are "the figures" of a report: a re-run that changes any of them
#: is a restatement (docs/method.md). Lineage, consultancy and quality status are not.
FIGURE_SECTIONS = ("status", "headline", "workflows", "kpis", "reliability", "delivery")


def iso_month(value: dt.date | None) -> str | None:
    return None if value is None else f"{value:%Y-%m}"


def iso_date(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def iso_utc(value: dt.datetime | None) -> str | None:
    """A naive-UTC timestamp as RFC 3339 with a Z."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat() + "Z"


# The inverses of the three above: report.json's strings back to dates (``None`` stays ``None``).


def parse_month(iso: str | None) -> dt.date | None:
    return None if iso is None else dt.date.fromisoformat(iso + "-01")


def parse_date(iso: str | None) -> dt.date | None:
    return None if iso is None else dt.date.fromisoformat(iso)


def parse_utc(iso: str | None) -> dt.datetime | None:
    """An RFC 3339 timestamp with a Z (``iso_utc``) as a naive-UTC datetime."""
    return None if iso is None else dt.datetime.fromisoformat(iso.rstrip("Z"))


def _num(value: Any) -> float | int | None:
    """Marts' numbers as JSON numbers: ints stay ints, everything else a float, null stays null."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("boolean where a number was expected")
    if isinstance(value, int):
        return value
    return float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def code_version(project_dir: Path | None = None) -> dict[str, Any]:
    """Package version and git commit: ``ROI_GIT_COMMIT``, else a ``REVISION`` file, else .git.

    Never the wall clock; ``git_commit`` is null when none of these says.
    """
    from roi_pipeline.settings import PROJECT_DIR

    root = Path(project_dir or PROJECT_DIR)
    commit = os.environ.get("ROI_GIT_COMMIT", "").strip() or None
    if commit is None and (root / "REVISION").is_file():
        commit = (root / "REVISION").read_text(encoding="utf-8").strip() or None
    if commit is None:
        commit = _git_head(root / ".git")
    return {"package_version": roi_pipeline.__version__, "git_commit": commit}


def _git_head(git_dir: Path) -> str | None:
    """The commit HEAD names in ``git_dir`` (a checkout's ``.git``), read without running git.

    In a linked worktree (``git worktree add``) ``.git`` is a file naming the worktree's own git
    dir (``gitdir: ...``), which holds HEAD; branches and packed refs live in the main repository's
    (its ``commondir``).
    """
    if git_dir.is_file():
        try:
            pointer = git_dir.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not pointer.startswith("gitdir: "):
            return None
        git_dir = git_dir.parent / pointer[len("gitdir: ") :]
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref: "):
        return head or None
    ref = head[5:]
    try:
        common = git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        common = git_dir
    for where in dict.fromkeys((git_dir, common)):
        try:
            return (where / ref).read_text(encoding="utf-8").strip()
        except OSError:
            pass
        try:
            for line in (where / "packed-refs").read_text(encoding="utf-8").splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
        except OSError:
            pass
    return None


def _confidence(wf: dict[str, Any]) -> str:
    if wf.get("is_hours_unknown"):
        return "unknown"
    if wf.get("is_baseline_low_confidence"):
        return "low"
    return "measured" if wf.get("baseline_method") == "measured" else "declared"


def build_document(
    data: ClientMonthData,
    *,
    quality: QualityStatus,
    consultancy: Consultancy,
    code: dict[str, Any],
) -> dict[str, Any]:
    """The report document, without restatement and tasks.csv lineage (added by the renderer)."""
    client = data.client
    current = data.current
    register = {w["workflow_key"]: w for w in data.workflows}
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "client-month-report",
        "client": {
            "id": client["client_id"],
            "name": client["client_name"],
            "currency": client["currency"],
            "locale": client["locale"],
            "timezone": client["timezone"],
        },
        "consultancy": consultancy.as_json(),
        "month": iso_month(data.month),
        "as_of": iso_utc(client["as_of_at"]),
        "status": "ok" if current is not None else "no_data",
        "month_closed": None if current is None else bool(current["is_month_closed"]),
        "headline": None,
        "workflows": [],
        "kpis": None,
        "reliability": None,
        "delivery": None,
    }
    if current is not None:
        doc["headline"] = _headline(current, data)
        doc["workflows"] = [_workflow(w, register.get(w["workflow_key"], {})) for w in data.workflow_months]
        doc["kpis"] = _kpis(current)
        doc["reliability"] = _reliability(current, data)
        doc["delivery"] = _delivery(current)
    doc["inventory"] = _inventory(data)
    doc["roadmap"] = _roadmap(data)
    doc["data_quality"] = _data_quality(current, data, quality)
    doc["methodology"] = _methodology(data)
    doc["history"] = _history(data)
    doc["restatement"] = None
    doc["lineage"] = {
        "mart_snapshot_sha256": data.snapshot_sha256,
        "mart_rows": dict(sorted(data.row_counts.items())),
        "config_sha256": client.get("config_sha256"),
        "input_files": [
            {
                "source_file": f["source_file"],
                "format": f["format"],
                "sha256": f["file_sha256"],
                "status": f["status"],
                "rows_read": _int(f["rows_read"]),
                "rows_loaded": _int(f["rows_loaded"]),
                "rows_quarantined": _int(f["rows_quarantined"]),
                "extracted_at": iso_utc(f["extracted_at"]),
            }
            for f in data.landed_files
        ],
        "quality_status": quality.label,
        "code": code,
        "tasks_csv": None,
        "inventory_csv": None,
    }
    return doc


def _headline(cm: dict[str, Any], data: ClientMonthData) -> dict[str, Any]:
    credit = data.credits[0] if data.credits else None
    verdict = cm["guarantee_verdict"]
    return {
        "guarantee_verdict": verdict,
        "first_go_live_date": iso_date(data.client["first_go_live_date"]),
        "hours_saved": _num(cm["hours_saved"]),
        "gross_hours_saved": _num(cm["gross_hours_saved"]),
        "residual_manual_hours": _num(cm["residual_manual_hours"]),
        "guarantee_hours": _num(cm["guarantee_hours"]),
        "hours_vs_guarantee": _num(cm["hours_vs_guarantee"]),
        "first_guarantee_month": iso_month(cm["first_guarantee_month"]),
        "projected_month_hours": _num(cm["projected_month_hours"]),
        "is_guarantee_at_risk": bool(cm["is_guarantee_at_risk"]),
        "next_invoice": {
            "month": iso_month(add_months(data.month, 1)),
            "fee_credited": credit is not None,
            "credit_amount": _num(credit["credit_amount"]) if credit else None,
            "shortfall_hours": _num(credit["shortfall_hours"]) if credit else None,
        },
        "is_fee_credited": bool(cm["is_fee_credited"]),
        "monthly_fee_in_effect": _num(cm["monthly_fee_in_effect"]),
        "fee_charged": _num(cm["fee_charged"]),
        "workflows_live": _int(cm["workflows_live"]),
        "tasks_automated": _int(cm["tasks_automated"]),
        "production_runs": _int(cm["production_runs"]),
        "hourly_cost": _num(cm["hourly_cost"]),
        "value_created": _num(cm["value_created"]),
        "run_cost": _num(cm["run_cost"]),
        "total_cost": _num(cm["total_cost"]),
        "net_month": _num(cm["net_month"]),
        "roi": _num(cm["roi"]),
        "roi_multiple": _num(cm["roi_multiple"]),
        "payback": {
            "status": cm["payback_status"],
            "month": iso_month(cm["payback_month"]),
            "cumulative_net": _num(cm["cumulative_net"]),
            "build_fee": _num(cm["build_fee"]),
            "projected_months": _num(cm["projected_months_to_payback"]),
        },
    }


def _workflow(w: dict[str, Any], reg: dict[str, Any]) -> dict[str, Any]:
    def delta(now: Any, before: Any) -> float | int | None:
        return None if now is None or before is None else _num(now) - _num(before)

    return {
        "key": w["workflow_key"],
        "name": w["workflow_name"],
        "platform": w["platform"],
        "risk_class": w["risk_class"],
        "process": w["process_name"],
        "owner": reg.get("workflow_owner"),
        "go_live_date": iso_date(w["go_live_date"]),
        "runs_daily": bool(w["is_daily"]),
        "live_days": _int(w["live_days"]),
        "baseline_method": w["baseline_method"],
        "is_baseline_low_confidence": bool(w["is_baseline_low_confidence"]),
        "is_hours_unknown": bool(w["is_hours_unknown"]),
        "minutes_per_task": _num(w["minutes_per_task"]),
        "tasks_automated": _int(w["tasks_automated"]),
        "previous_tasks_automated": _int(w["previous_tasks_automated"]),
        "tasks_change": delta(w["tasks_automated"], w["previous_tasks_automated"]),
        "gross_hours_saved": _num(w["gross_hours_saved"]),
        "residual_manual_hours": _num(w["residual_manual_hours"]),
        "hours_saved": _num(w["hours_saved"]),
        "previous_hours_saved": _num(w["previous_hours_saved"]),
        "hours_change": delta(w["hours_saved"], w["previous_hours_saved"]),
        "hourly_cost": _num(w["hourly_cost"]),
        "value_created": _num(w["value_created"]),
        "llm_cost": _num(w["llm_cost"]),
        "tooling_cost": _num(w["tooling_cost"]),
        "run_cost": _num(w["run_cost"]),
        "net_value": _num(w["net_value"]),
        "previous_net_value": _num(w["previous_net_value"]),
        "production_runs": _int(w["production_runs"]),
        "successful_runs": _int(w["successful_runs"]),
        "failed_runs": _int(w["failed_runs"]),
        "recovered_runs": _int(w["recovered_runs"]),
        "successful_or_failed_runs": _int(w["successful_or_failed_runs"]),
        "error_rate": _num(w["error_rate"]),
        "success_rate": _num(w["success_rate"]),
        "p95_duration_seconds": _num(w["p95_duration_seconds"]),
        "silent_days": _int(w["silent_days"]),
        "recommendation": w["recommendation"],
        "recommendation_reason": w["recommendation_reason"],
    }


_KPI_FIELDS = (
    "leads_created",
    "leads_answered",
    "leads_unanswered",
    "response_minutes_median",
    "response_minutes_p90",
    "response_business_minutes_median",
    "response_business_minutes_p90",
    "leads_with_meeting",
    "meeting_rate",
    "leads_won",
    "conversion_rate",
    "leads_first_response_automated",
    "coverage_rate",
    "adoption_users",
    "baseline_leads",
    "baseline_response_minutes_median",
    "baseline_response_minutes_p90",
    "baseline_response_business_minutes_median",
    "baseline_response_business_minutes_p90",
    "baseline_leads_with_meeting",
    "baseline_meeting_rate",
    "baseline_leads_won",
    "baseline_conversion_rate",
)
_KPI_COUNTS = (
    "leads_created",
    "leads_answered",
    "leads_unanswered",
    "leads_with_meeting",
    "leads_won",
    "leads_first_response_automated",
    "adoption_users",
    "baseline_leads",
    "baseline_leads_with_meeting",
    "baseline_leads_won",
)


def _kpis(cm: dict[str, Any]) -> dict[str, Any]:
    kpis: dict[str, Any] = {name: _num(cm[name]) for name in _KPI_FIELDS}
    for name in _KPI_COUNTS:
        kpis[name] = _int(cm[name])
    kpis["is_response_provisional"] = bool(cm["is_response_provisional"])
    kpis["is_cohort_provisional"] = bool(cm["is_cohort_provisional"])
    return kpis


def incidents(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workflow-days with failed production runs on a live day (from the runs in tasks.csv):
    the failures the report's reliability figures count, not the tests before go-live."""
    days: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        if run["is_production"] and run["status_class"] == "failed" and run["is_on_live_day"]:
            key = (run["workflow_key"], iso_date(run["started_local_date"]))
            days[key][0] += 1
            days[key][1] += 1 if run["is_recovered"] else 0
    return [
        {"workflow_key": wf, "date": day, "failed_runs": n, "recovered_runs": r}
        for (wf, day), (n, r) in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def _reliability(cm: dict[str, Any], data: ClientMonthData) -> dict[str, Any]:
    return {
        "production_runs": _int(cm["production_runs"]),
        "failed_runs": _int(cm["failed_runs"]),
        "recovered_runs": sum(int(w["recovered_runs"] or 0) for w in data.workflow_months),
        "silent_days": _int(cm["silent_days"]),
        "workflows_to_fix": _int(cm["workflows_to_fix"]),
        "incidents": incidents(data.runs),
    }


def _delivery(cm: dict[str, Any]) -> dict[str, Any]:
    phases = {p: _num(cm[f"consultancy_{p}_hours"]) for p in ("build", "operate", "expand", "other")}
    return {f"{p}_hours": v for p, v in phases.items()} | {"total_hours": sum(v or 0 for v in phases.values())}


def _inventory(data: ClientMonthData) -> dict[str, Any]:
    """The register as it stood in the month (fct_inventory_months), with its two flags."""
    rows = [
        {
            "key": r["workflow_key"],
            "name": r["workflow_name"],
            "platform": r["platform"],
            "owner": r["workflow_owner"],
            "risk_class": r["risk_class"],
            "process": r["process_name"],
            "data_touched": r["data_touched"].split("; ") if r["data_touched"] else [],
            "human_approval": None if r["has_human_approval"] is None else bool(r["has_human_approval"]),
            "llm_vendor": r["llm_vendor"],
            "llm_model": r["llm_model"],
            "lifecycle": r["lifecycle_state"],
            "live_in_month": bool(r["is_live_in_month"]),
            "changes": [
                name
                for name, flag in (
                    ("new", r["is_new_in_month"]),
                    ("retired", r["is_retired_in_month"]),
                    ("paused", r["is_paused_in_month"]),
                )
                if flag
            ],
            "go_live_date": iso_date(r["go_live_date"]),
            "retired_on": iso_date(r["retired_on_date"]),
            "paused_on": iso_date(r["paused_on_date"]),
            "run_cost": _num(r["run_cost"]),
            "last_review_date": iso_date(r["last_review_date"]),
            "review_every_months": _int(r["review_every_months"]),
            "review_due_date": iso_date(r["review_due_date"]),
            "is_review_overdue": bool(r["is_review_overdue"]),
            "is_high_risk_without_checkpoint": bool(r["is_high_risk_without_checkpoint"]),
        }
        for r in data.inventory
    ]
    return {
        "workflows": rows,
        "new": [w["key"] for w in rows if "new" in w["changes"]],
        "retired": [w["key"] for w in rows if "retired" in w["changes"]],
        "paused": [w["key"] for w in rows if "paused" in w["changes"]],
        "high_risk_without_checkpoint": [w["key"] for w in rows if w["is_high_risk_without_checkpoint"]],
        "review_overdue": [w["key"] for w in rows if w["is_review_overdue"]],
        "run_cost": sum(w["run_cost"] or 0 for w in rows),
    }


def _roadmap(data: ClientMonthData) -> dict[str, Any]:
    """Candidates ranked by estimated payback; those gone live with estimate against actual."""

    def row(c: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": c["candidate_key"],
            "name": c["candidate_name"],
            "process": c["process_name"],
            "state": c["candidate_state"],
            "workflow_key": c["workflow_key"],
            "go_live_date": iso_date(c["go_live_date"]),
            "payback_rank": _int(c["payback_rank"]),
            "est_tasks_per_month": _num(c["est_tasks_per_month"]),
            "est_minutes_per_task": _num(c["est_minutes_per_task"]),
            "est_build_hours": _num(c["est_build_hours"]),
            "est_tooling_cost": _num(c["est_tooling_cost"]),
            "hourly_cost": _num(c["hourly_cost"]),
            "est_hours_saved": _num(c["est_hours_saved"]),
            "est_net_value": _num(c["est_net_value"]),
            "est_build_cost": _num(c["est_build_cost"]),
            "est_payback_months": _num(c["est_payback_months"]),
            "actual_live_days": _int(c["actual_live_days"]),
            "actual_tasks_automated": _int(c["actual_tasks_automated"]),
            "actual_minutes_per_task": _num(c["actual_minutes_per_task"]),
            "actual_hours_saved": _num(c["actual_hours_saved"]),
            "is_actual_hours_unknown": None
            if c["is_actual_hours_unknown"] is None
            else bool(c["is_actual_hours_unknown"]),
            "actual_run_cost": _num(c["actual_run_cost"]),
            "actual_net_value": _num(c["actual_net_value"]),
            "tasks_vs_estimate": _num(c["tasks_vs_estimate"]),
            "net_value_vs_estimate": _num(c["net_value_vs_estimate"]),
        }

    rows = [row(c) for c in data.candidates]
    return {
        "candidates": [r for r in rows if r["state"] == "candidate"],
        "delivered": [r for r in rows if r["state"] != "candidate"],
    }


def _data_quality(cm: dict[str, Any] | None, data: ClientMonthData, quality: QualityStatus) -> dict[str, Any]:
    notes: list[str] = []
    unknown = [w["workflow_name"] for w in data.workflow_months if w["is_hours_unknown"]]
    low = [
        w["workflow_name"]
        for w in data.workflow_months
        if w["is_baseline_low_confidence"] and not w["is_hours_unknown"]
    ]
    if cm is not None:
        if not cm["is_month_closed"]:
            notes.append("month_in_progress")
        if cm["is_response_provisional"]:
            notes.append("lead_response_provisional")
        if cm["is_cohort_provisional"]:
            notes.append("cohort_provisional")
    if data.client.get("as_of_at") is None:
        notes.append("no_as_of")
    return {
        "quality": quality.as_json(),
        "failed_files": _int(data.client.get("failed_files")) or 0,
        "quarantined_rows": _int(data.client.get("quarantined_rows")) or 0,
        "as_of_from_load_time": None if cm is None else bool(cm["is_as_of_from_load_time"]),
        "unknown_hours_workflows": unknown,
        "low_confidence_workflows": low,
        "notes": notes,
    }


def _methodology(data: ClientMonthData) -> dict[str, Any]:
    live = {w["workflow_key"]: w for w in data.workflow_months}
    rows = []
    for reg in data.workflows:
        wm = live.get(reg["workflow_key"])
        rows.append(
            {
                "key": reg["workflow_key"],
                "name": reg["workflow_name"],
                "live_in_month": wm is not None,
                "status": reg["workflow_status"],
                "go_live_date": iso_date(reg["go_live_date"]),
                "retired_on": iso_date(reg["retired_on_date"]),
                "configured_baseline_method": reg["configured_baseline_method"],
                "baseline_method": wm["baseline_method"] if wm else None,
                "confidence": _confidence(wm) if wm else None,
                "minutes_per_task": _num(wm["minutes_per_task"]) if wm else None,
                "measured_minutes_per_task": _num(reg["measured_minutes_per_task"]),
                "declared_minutes_per_task": _num(wm["declared_minutes_per_task"]) if wm else None,
                "declared_source": reg["declared_source"],
                "baseline_window_start": iso_date(reg["baseline_window_start_date"]),
                "baseline_window_end": iso_date(reg["baseline_window_end_date"]),
                "baseline_window_days": _int(reg["baseline_window_days"]),
                "baseline_volume_events": _int(reg["baseline_volume_events"]),
                "baseline_staff_hours": _num(reg["baseline_staff_hours"]),
            }
        )
    return {"workflows": rows}


def _history(data: ClientMonthData) -> list[dict[str, Any]]:
    """Up to HISTORY_MONTHS months ending with the report month, from the engagement's first
    month at the earliest; cumulative sums since the engagement start (all earlier rows are
    read for them)."""
    by_month = {row["report_month"]: row for row in data.months}
    cumulative: dict[dt.date, tuple[float, float]] = {}
    value = cost = 0.0
    for row in data.months:  # ordered by month, from the engagement start
        value += float(row["value_created"] or 0)
        cost += float(row["total_cost"] or 0)
        cumulative[row["report_month"]] = (value, cost)
    build_fee = float(data.client["build_fee"] or 0)
    out = []
    first = data.months[0]["report_month"] if data.months else data.month
    for i in range(HISTORY_MONTHS - 1, -1, -1):
        month = add_months(data.month, -i)
        if month < first:
            continue  # before the engagement's first month: not shown at all
        row = by_month.get(month)
        if row is None:
            out.append({"month": iso_month(month), "status": "no_data"})
            continue
        cum_value, cum_cost = cumulative[month]
        out.append(
            {
                "month": iso_month(month),
                "status": "ok",
                "guarantee_verdict": row["guarantee_verdict"],
                "hours_saved": _num(row["hours_saved"]),
                "guarantee_hours": _num(row["guarantee_hours"]),
                "value_created": _num(row["value_created"]),
                "total_cost": _num(row["total_cost"]),
                "cumulative_value": cum_value,
                "cumulative_cost_with_build_fee": cum_cost + build_fee,
                "cumulative_net": _num(row["cumulative_net"]),
                "leads_created": _int(row["leads_created"]),
                "response_minutes_median": _num(row["response_minutes_median"]),
                "response_minutes_p90": _num(row["response_minutes_p90"]),
                "is_response_provisional": bool(row["is_response_provisional"]),
            }
        )
    return out


def figures_of(doc: dict[str, Any]) -> dict[str, Any]:
    """Flatten the figure sections to ``path -> value`` (workflows keyed by their key)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                label = None
                if isinstance(item, dict):
                    label = item.get("key") or (
                        f"{item.get('workflow_key')}@{item.get('date')}" if "date" in item else None
                    )
                walk(f"{prefix}[{label if label is not None else i}]", item)
        else:
            flat[prefix] = value

    for section in FIGURE_SECTIONS:
        walk(section, doc.get(section))
    return flat


def figures_record(doc: dict[str, Any]) -> dict[str, Any]:
    """What a restatement is judged on: the document's schema version and its figures
    (:func:`figures_of`). JSON as it is, so a record of what was e-mailed can keep it."""
    return {"schema_version": doc.get("schema_version"), "figures": figures_of(doc)}


def restatement_changes(previous: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure whose value differs between two documents, in a stable order."""
    return figure_changes(figures_record(previous), figures_record(current))


def figure_changes(previous: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure whose value differs between two :func:`figures_record` s, in a stable order.

    The one rule for "the report says something else": the renderer's restatement block and
    the e-mail step's "send it again" both read it.
    """
    before, after = previous["figures"], current["figures"]
    # Same schema: a figure that appears or disappears is a change. Across schema versions
    # only the figures both documents define are compared (a new field is not a restatement).
    same_schema = previous["schema_version"] == current["schema_version"]
    paths = set(before) | set(after) if same_schema else set(before) & set(after)
    changes = []
    for path in sorted(paths):
        old, new = before.get(path), after.get(path)
        if old != new:
            changes.append({"field": path, "previous": old, "current": new})
    return changes
