"""The consultancy's portfolio page for one month: every client, grouped by currency.

``$ROI_REPORTS_DIR/_portfolio/<YYYY-MM>/portfolio.html`` and ``portfolio.json``. Money is
never converted: clients are grouped by currency and money is only summed within a group.
A client whose quality status is not publishable is listed as held back with the reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roi_pipeline.report.data import load_portfolio, month_start
from roi_pipeline.report.document import code_version, iso_month, iso_utc, parse_month, parse_utc
from roi_pipeline.report.fmt import Formatter
from roi_pipeline.report.publish import locked, publish_dir, recover
from roi_pipeline.report.schema import dump_json, validate
from roi_pipeline.report.status import Consultancy, QualityStatus, load_consultancy
from roi_pipeline.report.templates import environment

PORTFOLIO_DIR = "_portfolio"
#: portfolio.json's own schema version (report.json has its own, document.SCHEMA_VERSION).
#: 1.1: the ``economics`` block (the consultancy's hours against its fees, docs/method.md section 8).
SCHEMA_VERSION = "1.1"

#: What needs attention, most urgent first (docs/method.md section 8): clients are ordered by
#: these flags in turn, then by name.
ATTENTION = ("guarantee missed", "guarantee at risk", "report held back", "workflows failing", "hourly rate falling")


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _i(value: Any) -> int | None:
    return None if value is None else int(value)


def build_portfolio(
    warehouse: Path,
    month: str,
    reports_dir: Path,
    statuses: dict[str, QualityStatus],
    consultancy: Consultancy,
) -> dict[str, Any]:
    data = load_portfolio(Path(warehouse), month)
    rows = {r["client_id"]: r for r in data.rows}
    extra = {r["client_id"]: r for r in data.client_months}
    credits = {r["client_id"]: r for r in data.credits}
    groups: dict[str, list[dict[str, Any]]] = {}
    held_back = []
    for client in data.clients:
        cid = client["client_id"]
        status = statuses.get(cid, QualityStatus())
        row, more = rows.get(cid), extra.get(cid, {})
        earlier = (Path(reports_dir) / cid / month / "report.json").is_file()
        if not status.publishable:
            report_status = "held_back"
            held_back.append(
                {
                    "client_id": cid,
                    "client_name": client["client_name"],
                    "reasons": list(status.blocking),
                    "earlier_report_published": earlier,
                }
            )
        elif row is None:
            report_status = "no_data"
        else:
            report_status = "published" if earlier else "not_rendered"
        entry: dict[str, Any] = {
            "client_id": cid,
            "client_name": client["client_name"],
            "report_status": report_status,
            "quality": status.as_json(),
            "as_of": iso_utc(client["as_of_at"]),
            "has_data": row is not None,
        }
        if row is not None:
            credit = credits.get(cid)
            entry |= {
                "month_closed": bool(row["is_month_closed"]),
                "guarantee_verdict": row["guarantee_verdict"],
                "guarantee_hours": _f(row["guarantee_hours"]),
                "hours_saved": _f(row["hours_saved"]),
                "hours_vs_guarantee": _f(more.get("hours_vs_guarantee")),
                "projected_month_hours": _f(row["projected_month_hours"]),
                "is_guarantee_at_risk": bool(row["is_guarantee_at_risk"]),
                "next_month_fee_credited": _f(credit["credit_amount"]) if credit else None,
                "tasks_automated": _i(row["tasks_automated"]),
                "value_created": _f(row["value_created"]),
                "total_cost": _f(row["total_cost"]),
                "roi": _f(row["roi"]),
                "payback_status": row["payback_status"],
                "failed_runs": _i(row["failed_runs"]),
                "silent_days": _i(row["silent_days"]),
                "workflows_to_fix": _i(row["workflows_to_fix"]),
            }
        groups.setdefault(client["currency"], []).append(entry)
    currencies = []
    for currency in sorted(groups):
        clients = sorted(groups[currency], key=lambda e: (e["client_name"].casefold(), e["client_id"]))
        with_data = [c for c in clients if c["has_data"]]
        currencies.append(
            {
                "currency": currency,
                "clients": clients,
                "totals": {
                    "clients": len(clients),
                    "hours_saved": sum(c["hours_saved"] for c in with_data),
                    "tasks_automated": sum(c["tasks_automated"] for c in with_data),
                    "value_created": sum(c["value_created"] for c in with_data),
                    "total_cost": sum(c["total_cost"] for c in with_data),
                },
            }
        )
    names = {c["client_id"]: c["client_name"] for c in data.clients}
    to_fix = [
        {
            "client_id": w["client_id"],
            "client_name": names.get(w["client_id"], w["client_id"]),
            "workflow_key": w["workflow_key"],
            "workflow_name": w["workflow_name"],
            "recommendation": w["recommendation"],
            "reason": w["recommendation_reason"],
            "error_rate": _f(w["error_rate"]),
            "silent_days": _i(w["silent_days"]),
            "failed_runs": _i(w["failed_runs"]),
            "production_runs": _i(w["production_runs"]),
        }
        for w in data.workflows
    ]
    unregistered = [
        {
            "client_id": u["client_id"],
            "client_name": names.get(u["client_id"], u["client_id"]),
            "platform": u["platform"],
            "platform_workflow_id": u["platform_workflow_id"],
            "workflow_name": None,  # the platforms' run exports do not carry it
            "runs": int(u["runs"]),
            "production_runs": int(u["production_runs"]),
        }
        for u in data.unregistered
    ]
    every = [c for g in currencies for c in g["clients"]]
    economics = _economics(data.clients, rows, {c["client_id"]: c for c in every})
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "portfolio",
        "month": iso_month(data.month),
        "consultancy": consultancy.as_json(),
        "summary": {
            "clients": len(every),
            "published": sum(c["report_status"] == "published" for c in every),
            "not_rendered": sum(c["report_status"] == "not_rendered" for c in every),
            "held_back": sum(c["report_status"] == "held_back" for c in every),
            "no_data": sum(not c["has_data"] for c in every),
            "quality_not_run": sum(not c["quality"]["checked"] for c in every),
            "guarantee_met": sum(c.get("guarantee_verdict") == "met" for c in every),
            "guarantee_missed": sum(c.get("guarantee_verdict") == "missed" for c in every),
            "guarantee_at_risk": sum(bool(c.get("is_guarantee_at_risk")) for c in every),
            "workflows_to_fix": sum(w["recommendation"] == "fix" for w in to_fix),
            "workflows_to_cut": sum(w["recommendation"] == "cut" for w in to_fix),
            "unregistered_workflows": len(unregistered),
        },
        "currencies": currencies,
        "held_back": held_back,
        "workflows_to_fix": to_fix,
        "unregistered_workflows": unregistered,
        "economics": economics,
        "lineage": {"mart_snapshot_sha256": data.snapshot_sha256, "code": code_version()},
    }


def attention_reasons(entry: dict[str, Any], row: dict[str, Any] | None) -> list[str]:
    """The client's reasons for attention this month, in :data:`ATTENTION` order."""
    flags = {
        "guarantee missed": entry.get("guarantee_verdict") == "missed",
        "guarantee at risk": bool(entry.get("is_guarantee_at_risk")),
        "report held back": entry["report_status"] == "held_back",
        "workflows failing": bool(entry.get("workflows_to_fix")),
        "hourly rate falling": bool(row and row["is_hourly_rate_falling"]),
    }
    return [reason for reason in ATTENTION if flags[reason]]


def _economics(
    clients: list[dict[str, Any]], rows: dict[str, dict[str, Any]], entries: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The consultancy's hours against its fee per client, most in need of attention first."""
    out = []
    for client in clients:
        cid = client["client_id"]
        row, entry = rows.get(cid), entries[cid]
        rate, previous = (
            (_f(row["effective_hourly_rate"]), _f(row["previous_effective_hourly_rate"])) if row else (None, None)
        )
        out.append(
            {
                "client_id": cid,
                "client_name": client["client_name"],
                "currency": client["currency"],
                "attention": attention_reasons(entry, row),
                "build_hours": _f(row["consultancy_build_hours"]) if row else None,
                "operate_hours": _f(row["consultancy_operate_hours"]) if row else None,
                "expand_hours": _f(row["consultancy_expand_hours"]) if row else None,
                "other_hours": _f(row["consultancy_other_hours"]) if row else None,
                "consultancy_hours": _f(row["consultancy_hours"]) if row else None,
                "fee_charged": _f(row["fee_charged"]) if row else None,
                "effective_hourly_rate": rate,
                "previous_effective_hourly_rate": previous,
                "rate_change": None if rate is None or previous is None else rate - previous,
                "is_hourly_rate_falling": bool(row and row["is_hourly_rate_falling"]),
            }
        )
    return sorted(
        out,
        key=lambda e: (
            tuple(reason not in e["attention"] for reason in ATTENTION),
            e["client_name"].casefold(),
            e["client_id"],
        ),
    )


def render_portfolio_html(doc: dict[str, Any]) -> str:
    first = doc["currencies"][0]["currency"] if doc["currencies"] else "EUR"
    f = Formatter("en_GB", first)
    month = parse_month(doc["month"])

    def money(value: float | None, currency: str) -> str:
        return Formatter("en_GB", currency).money(value)

    return (
        environment()
        .get_template("portfolio.html.j2")
        .render(
            doc=doc,
            f=f,
            money=money,
            month_label=f.month(month),
            as_of=lambda iso: f.as_of(parse_utc(iso)),
        )
    )


def standing_statuses(
    warehouse: Path, month: str, reports_dir: Path, client_ids: list[str]
) -> dict[str, QualityStatus]:
    """The quality status the portfolio page shows for clients a run did not render (a run of
    some clients, by ``roi report CLIENT`` or the monthly DAG, refreshes the page for all):

    - the status their gates recorded for the month (none: "quality checks not run");
    - held when the renderer would hold their month now (an earlier published month changed:
      render.render_hold_reasons);
    - held when the month's published report no longer says what the marts say (a build since
      changed their data and the month was not run again for them: render.out_of_date_reason),
      so the page never lists as published figures their report does not have.
    """
    from roi_pipeline.quality import gate_statuses
    from roi_pipeline.report.render import standing_hold_reasons

    statuses: dict[str, QualityStatus] = {}
    recorded = gate_statuses(Path(warehouse), list(client_ids), month)
    gated = [
        cid for cid, gate in recorded.items() if gate.raw_publishable is not None or gate.mart_publishable is not None
    ]
    holds = standing_hold_reasons(
        Path(warehouse), [cid for cid in gated if recorded[cid].publishable], month, Path(reports_dir)
    )
    for client_id, gate in recorded.items():
        if client_id not in gated:
            statuses[client_id] = QualityStatus.not_run()
        else:
            statuses[client_id] = QualityStatus.from_gate(gate).held_at_render(holds.get(client_id))
    return statuses


def render_portfolio(
    warehouse: Path,
    month: str,
    reports_dir: Path,
    statuses: dict[str, QualityStatus],
    *,
    consultancy: Consultancy | None = None,
) -> Path:
    """Write the month's portfolio page (+ portfolio.json) atomically; returns the HTML path.

    ``statuses`` maps client ids to their quality status; a client without one is listed
    as "quality checks not run". Call it after the clients' reports, so "published" is true.
    """
    month_start(month)
    if consultancy is None:
        from roi_pipeline.settings import Locations

        consultancy = load_consultancy(Locations.from_env().clients_dir)
    doc = build_portfolio(Path(warehouse), month, Path(reports_dir), statuses, consultancy)
    validate(doc, "portfolio.schema.json")
    html = render_portfolio_html(doc)
    final = Path(reports_dir) / PORTFOLIO_DIR / month
    with locked(final):
        recover(final)
        publish_dir(final, {"portfolio.html": html.encode("utf-8"), "portfolio.json": dump_json(doc)})
    return final / "portfolio.html"
