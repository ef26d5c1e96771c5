"""A run log whose item counts are ten times too high is named in the month's report.

Scenario, as a consultancy meets it: harbour-legal's March n8n export reports ten times the
items on every run of the lead-triage agent (a changed node mapped a list length into the
item count). Every figure downstream moves with it: tasks, hours saved, value, the guarantee
verdict. Nothing is malformed, so every other check passes; the month's report used to publish
as if nothing had happened. Now the mart gate notes the workflow whose tasks per production run
left its usual by more than five times (a note, not a hold: the report says it, and the
consultancy sees it on the portfolio page).

The expected ratio comes from the n8n files (items per triggered run, March's against February's,
the one month before), not from the project's code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

CLIENT, OTHER, MONTH = "harbour-legal", "hudson-roofing", "2026-03"
TRIAGE = "hLt7QaN8nTr1ag3A"  # lead-triage's trigger workflow in n8n


def items_per_trigger_run(path: Path) -> float:
    runs = [e for e in json.loads(path.read_text(encoding="utf-8"))["data"] if e["workflowId"] == TRIAGE]
    triggered = [e for e in runs if e["mode"] == "trigger"]
    return sum(int((e.get("customData") or {}).get("items") or 0) for e in triggered) / len(triggered)


def notes(base: Path, client_id: str) -> list[str]:
    doc = json.loads((base / "reports" / client_id / MONTH / "report.json").read_text(encoding="utf-8"))
    quality = doc["data_quality"]["quality"]
    return [*quality["warnings"], *quality["blocking"]]


@pytest.mark.slow
def test_ten_times_the_items_is_noted_in_the_report(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    n8n = tmp_path / "landing" / CLIENT / "n8n_executions"
    page = json.loads((n8n / f"{MONTH}.json").read_text(encoding="utf-8"))
    for execution in page["data"]:
        if execution["workflowId"] == TRIAGE and (execution.get("customData") or {}).get("items") is not None:
            execution["customData"]["items"] = str(int(execution["customData"]["items"]) * 10)
    (n8n / f"{MONTH}.json").write_text(json.dumps(page), encoding="utf-8")
    # the ratio a person would see in the files: well beyond five times (the workflow went live
    # on 10 February: February is the one month before)
    assert items_per_trigger_run(n8n / f"{MONTH}.json") / items_per_trigger_run(n8n / "2026-02.json") > 5

    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0  # a note: the reports publish
    (note,) = [n for n in notes(tmp_path, CLIENT) if "tasks_per_run_jump" in n]
    assert note.startswith(f"{CLIENT} {MONTH}: tasks_per_run_jump (warning")
    assert "workflow_key=lead-triage" in note
    assert not [n for n in notes(tmp_path, OTHER) if "tasks_per_run_jump" in n]


@pytest.mark.slow
def test_the_same_month_with_its_real_item_counts_has_no_note(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    for client_id in (CLIENT, OTHER):
        assert not [n for n in notes(tmp_path, client_id) if "tasks_per_run_jump" in n]
