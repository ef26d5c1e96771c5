"""The client configuration files the sample writes: ``<client_id>.yaml`` and ``_consultancy.yaml``.

Each client file validates with :func:`roi_pipeline.config.load_client_file`; its
workflows, fees, hourly costs and timesheet mapping come from the client's specification
(:mod:`roi_pipeline.sample.clients`).
"""

from __future__ import annotations

from datetime import date

import yaml

from roi_pipeline.sample.common import CONSULTANCY, add_months

CONSULTANCY_YAML = (
    f"# Generated sample data: the consultancy whose name the reports carry.\nname: {CONSULTANCY}\n"
    "email: hello@northbeam-ai-ops.example\n"
)


def client_yaml(spec: dict, start: date, seed: int) -> str:
    """The text of ``<client_id>.yaml``: the client's configuration, header first."""

    def eff(entries: list, anchor: date) -> list[dict]:
        out = []
        for off, value in entries:
            day = anchor if off == 0 else add_months(anchor, off)
            out.append({"effective_from": day, "value": value})
        return out

    crm: dict = {"platform": "hubspot"}
    autos = sorted({v for v in [spec["crm"].get("auto_owner")] if v})
    crm["automation_user_ids"] = autos
    if spec.get("lead_filter"):
        crm["lead_filter"] = spec["lead_filter"]
    ts = spec["timesheets"]
    workflows = []
    for wf in spec["workflows"]:
        ids = list(wf["ids"]) + [x for x in (wf.get("error_id"), wf.get("sub_id")) if x]
        entry: dict = {
            "key": wf["key"],
            "name": wf["name"],
            "platform": wf["platform"],
            "platform_workflow_ids": ids,
            "owner": wf["owner"],
            "risk_class": wf["risk"],
            "process": wf["process"],
            "go_live": wf["go_live"],
        }
        if wf.get("retired_on"):
            entry["status"] = "retired"
            entry["retired_on"] = wf["retired_on"]
        if wf.get("runs_daily"):
            entry["runs_daily"] = True
        if wf.get("on_demand"):
            entry["on_demand"] = True
        # Workflow values take effect on the 1st of the go-live month: "the value in effect on
        # the first day of M applies to the whole of M", so a mid-month go-live needs one then.
        anchor = wf["go_live"].replace(day=1)
        entry["tooling_cost"] = eff(wf["tooling"], anchor)
        if wf.get("override"):
            entry["hourly_cost_override"] = eff(wf["override"], anchor)
        gov = wf.get("gov") or {}
        for name in ("data_touched", "human_approval", "llm_vendor", "llm_model"):
            if name in gov:
                entry[name] = gov[name]
        if "review_after" in gov:
            entry["last_review"] = add_months(wf["go_live"].replace(day=1), gov["review_after"]).replace(day=10)
        if "review_every" in gov:
            entry["review_every_months"] = gov["review_every"]
        b = wf["baseline"]
        baseline: dict = {"method": b["method"]}
        if b.get("volume"):
            baseline["volume"] = b["volume"]
        baseline["declared_minutes"] = [{"effective_from": anchor, "value": b["declared"]}]
        baseline["declared_source"] = b["source"]
        entry["baseline"] = baseline
        workflows.append(entry)
    data: dict = {
        "client_id": spec["id"],
        "name": spec["name"],
        "currency": spec["currency"],
        "timezone": spec["tz"],
        "locale": spec["locale"],
        "engagement_start": start,
        "build_fee": spec["build_fee"],
        "guarantee_hours": spec["guarantee"],
        "baseline_days": 90,
        "settle_days": spec["settle"],
        "monthly_fee": eff(spec["fee"], start),
        "hourly_cost": eff(spec["hourly"], start),
    }
    if spec.get("working_hours"):
        data["working_hours"] = spec["working_hours"]
    data["crm"] = crm
    data["timesheets"] = {
        "format": ts["format"],
        "consultancy_rows": {"field": "client", "values": [CONSULTANCY]},
        "process_field": ts["process_field"],
        "phase_field": ts["phase_field"],
    }
    data["report_contacts"] = [f"ops@{spec['id']}.example"]
    data["workflows"] = workflows
    if spec.get("candidates"):
        data["candidates"] = spec["candidates"]
    header = (
        f"# GENERATED SAMPLE DATA (roi_pipeline.sample.generator, seed={seed}): a fictional client.\n"
        "# Re-running the generator overwrites this file; edit the generator, not this file.\n"
    )
    return header + yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)


class _NoAliasDumper(yaml.SafeDumper):
    """Repeated dates are written out, not as ``&id001`` anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True
