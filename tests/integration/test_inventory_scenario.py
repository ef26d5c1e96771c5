"""The AI inventory from the client file to the published inventory.csv, through ``roi run``.

A small generated sample (2 clients, 3 months to 2026-10) whose hudson-roofing register is
edited the way a consultant would: the quote follow-up is paused on 12 October, the callback
agent (high risk, nobody approves its calls) was last reviewed on 20 September with a monthly
review cycle, so its review fell due on 20 October. Crew scheduling retires on 15 October in
the generated sample. docs/method.md section 8 decides each expected value below.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate

MONTH = "2026-10"
HUDSON = "hudson-roofing"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("inventory-scenario")
    generate(base / "landing", base / "clients", clients=2, months=3, end_month=MONTH)
    path = base / "clients" / f"{HUDSON}.yaml"
    client = yaml.safe_load(path.read_text(encoding="utf-8"))
    for wf in client["workflows"]:
        if wf["key"] == "quote-followup":
            wf.update(status="paused", paused_on=date(2026, 10, 12))
        if wf["key"] == "callback-agent":
            wf.update(last_review=date(2026, 9, 20), review_every_months=1)
    path.write_text(yaml.safe_dump(client, sort_keys=False), encoding="utf-8")
    env = {
        "ROI_LANDING_DIR": base / "landing",
        "ROI_CLIENTS_DIR": base / "clients",
        "ROI_WAREHOUSE": base / "warehouse.duckdb",
        "ROI_REPORTS_DIR": base / "reports",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, str(value))
        assert main(["run", "--month", MONTH]) == 0
    return base / "reports" / HUDSON / MONTH


def test_the_published_inventory_says_what_changed_and_what_needs_attention(published):
    rows = {r["workflow_key"]: r for r in csv.DictReader(io.StringIO((published / "inventory.csv").read_text("utf-8")))}
    assert set(rows) == {"callback-agent", "quote-followup", "crew-scheduling"}
    paused, agent, crew = rows["quote-followup"], rows["callback-agent"], rows["crew-scheduling"]
    # paused on the 12th: paused at month end and "paused" this month; still live for the figures
    assert (paused["state_at_month_end"], paused["changed_this_month"], paused["paused_on"]) == (
        "paused",
        "paused",
        "2026-10-12",
    )
    assert paused["live_in_month"] == "true" and paused["review_overdue"] == "false"  # due 2027 (12 months)
    # 20 Sep + 1 month = 20 Oct, on or before 31 Oct: overdue; high risk with approval "no": flagged
    assert (agent["review_due_date"], agent["review_overdue"]) == ("2026-10-20", "true")
    assert (agent["human_approval"], agent["high_risk_without_human_checkpoint"]) == ("no", "true")
    # retired on the 15th: retired at month end, "retired" this month, live (and costing) in it
    assert (crew["state_at_month_end"], crew["changed_this_month"], crew["live_in_month"]) == (
        "retired",
        "retired",
        "true",
    )
    assert float(crew["run_cost_this_month"]) > 0
    doc = json.loads((published / "report.json").read_text(encoding="utf-8"))
    inventory = doc["inventory"]
    assert (inventory["new"], inventory["retired"], inventory["paused"]) == (
        [],
        ["crew-scheduling"],
        ["quote-followup"],
    )
    assert inventory["run_cost"] == pytest.approx(sum(float(r["run_cost_this_month"]) for r in rows.values()))
    html = (published / "report.html").read_text(encoding="utf-8")
    assert "retired 1, paused 1" in html
