"""A run log re-delivered with fewer runs keeps the runs already landed.

Scenario, as a consultancy meets it: February is published. In March someone re-exports
February's n8n executions from the n8n UI and drops the file over the old one, but n8n has
pruned part of February by then (or the UI's window was narrower): the new file has only
the latest 60 % of the executions. The raw layer is the system of record (vendors prune their
history): a run landed once must not vanish with a re-delivery. Before, the new version
replaced every row of the old one: February's tasks fell, its report was restated and
March's fee credit followed from figures that had lost their runs.

Now the runs the new version lacks stay in the raw layer as their own landed file, named
after the earlier version; February's report is published again with the same figures (its
lineage lists the kept file), not restated;
the ingest says what it kept; ``roi retract`` takes the kept runs back.

Expected figures are counted from the n8n files themselves (the union of both versions by
execution id), not by the project's code.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from roi_pipeline.report.document import FIGURE_SECTIONS
from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

CLIENT, MONTH = "harbour-legal", "2026-02"


def n8n_tasks(document: bytes) -> int:
    """Tasks automated of the client's n8n workflows in a report.json."""
    return sum(w["tasks_automated"] for w in json.loads(document)["workflows"] if w["platform"] == "n8n")


def successful_production_items(executions: list[dict], clients: Path) -> int:
    """Tasks automated in MONTH from these executions: items (or 1) of successful production runs
    of registered workflows on their live days."""
    config = yaml.safe_load((clients / f"{CLIENT}.yaml").read_text(encoding="utf-8"))
    tz = ZoneInfo(config["timezone"])
    live = {wid: w["go_live"] for w in config["workflows"] for wid in w.get("platform_workflow_ids") or []}
    total = 0
    for ex in {e["id"]: e for e in executions}.values():
        local = datetime.fromisoformat(ex["startedAt"].replace("Z", "+00:00")).astimezone(tz).date()
        production = ex["mode"] in ("trigger", "webhook") or (ex["mode"] == "retry")
        if ex["workflowId"] in live and local >= live[ex["workflowId"]] and f"{local:%Y-%m}" == MONTH:
            if ex["status"] == "success" and production:
                items = (ex.get("customData") or {}).get("items")
                total += int(items) if items is not None else 1
    return total


@pytest.mark.slow
def test_a_pruned_re_export_keeps_the_runs_already_landed(tmp_path, monkeypatch, capsys):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    path = tmp_path / "landing" / CLIENT / "n8n_executions" / f"{MONTH}.json"
    first = json.loads(path.read_text(encoding="utf-8"))
    earlier_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    report = tmp_path / "reports" / CLIENT / MONTH / "report.json"
    published = report.read_bytes()
    assert n8n_tasks(published) == successful_production_items(first["data"], tmp_path / "clients")

    pruned = dict(first, data=first["data"][: len(first["data"]) * 6 // 10])  # newest first: the oldest are gone
    path.write_text(json.dumps(pruned), encoding="utf-8")
    withdrawn = len(first["data"]) - len(pruned["data"])
    assert successful_production_items(pruned["data"], tmp_path / "clients") < successful_production_items(
        first["data"], tmp_path / "clients"
    )  # the scenario's premise: the re-export alone would count fewer tasks

    capsys.readouterr()
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    said = capsys.readouterr().out
    source_file = f"{CLIENT}/n8n_executions/{MONTH}.json"
    kept_file = f"{source_file}#earlier-{earlier_sha[:12]}"
    assert f"KEPT {withdrawn:,} run(s) of the earlier {source_file} " in said, said
    again = json.loads(report.read_bytes())
    assert {k: again[k] for k in FIGURE_SECTIONS} == {k: json.loads(published)[k] for k in FIGURE_SECTIONS}
    assert again["restatement"] is None and not (report.parent / "report.previous.json").exists()
    assert kept_file in {f["source_file"] for f in again["lineage"]["input_files"]}  # where its runs come from

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        by_file = dict(
            con.execute(
                "select _source_file, count(*) from raw.n8n_executions where _client_id = ? "
                "and _source_file like ? group by all",
                [CLIENT, f"{source_file}%"],
            ).fetchall()
        )
        landed = con.execute(
            "select rows_read, rows_loaded, rows_quarantined, status, file_sha256 from raw._landed_files "
            "where client_id = ? and source_file = ?",
            [CLIENT, kept_file],
        ).fetchone()
    finally:
        con.close()
    assert by_file == {source_file: len(pruned["data"]), kept_file: withdrawn}
    assert landed == (withdrawn, withdrawn, 0, "loaded", earlier_sha)

    # the same files again: nothing changes, nothing more is kept
    capsys.readouterr()
    assert roi(tmp_path, monkeypatch, "ingest", CLIENT) == 0
    assert "KEPT" not in capsys.readouterr().out

    # the kept runs are taken back like any landed file; then the month counts the re-export only
    assert (
        roi(tmp_path, monkeypatch, "retract", CLIENT, "n8n_executions", kept_file.rsplit("/", 1)[1], "--reason", "test")
        == 0
    )
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    assert n8n_tasks(report.read_bytes()) == successful_production_items(pruned["data"], tmp_path / "clients")
