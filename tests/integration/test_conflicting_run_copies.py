"""Conflicting copies of a run (docs/method.md, "Conflicting copies"), as a consultancy meets them.

A month is landed and reported. Then:

1. An older export of the same runs is dropped by hand and stated as exported on the 20th
   (``_extracts.json``, as ``roi landed`` writes it): the runs it holds were still running then.
   It is loaded after the month's own export, but the copy from the later extraction counts:
   the report's tasks must not change. (Counting the copy loaded last, as before, lost the
   tasks of every run the old export holds.)
2. A second file with the same export time as the month's own export says that one of its
   successful runs failed. Nothing tells which copy is later, so the month is held, the hold
   naming both files, and the other client is published as before.

The expected tasks are computed here from the landed n8n records and the client file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import gate, roi

MONTH = "2026-03"
CLIENT = "harbour-legal"
OTHER = "hudson-roofing"
STALE_AT = "2026-03-20T12:00:00Z"


def run_month(base: Path, monkeypatch) -> int:
    return roi(base, monkeypatch, "run", "--month", MONTH)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected_tasks(records: list[dict], client_file: Path) -> dict[str, int]:
    """Tasks automated per workflow key in MONTH: successful production runs (trigger / webhook
    here) of a live workflow started in the client's local month, items (or 1) each."""
    config = yaml.safe_load(client_file.read_text(encoding="utf-8"))
    zone = ZoneInfo(config["timezone"])
    workflows = {}
    for wf in config["workflows"]:
        if wf["platform"] == "n8n":
            for pid in wf["platform_workflow_ids"]:
                workflows[str(pid)] = wf
    by_id = {str(r["id"]): r for r in records}

    def production(r: dict) -> bool:  # a retry counts when its chain started with a production run
        while r["mode"] == "retry" and str(r.get("retryOf")) in by_id:
            r = by_id[str(r["retryOf"])]
        return r["mode"] in ("trigger", "webhook", "retry")  # a chain out of reach counts

    tasks = {wf["key"]: 0 for wf in workflows.values()}
    for r in records:
        wf = workflows.get(str(r["workflowId"]))
        started = instant(r["startedAt"]).astimezone(zone)
        if wf is None or started.strftime("%Y-%m") != MONTH or r["status"] != "success":
            continue
        if not production(r) or started.date() < wf["go_live"]:
            continue
        if wf.get("retired_on") and started.date() >= wf["retired_on"]:
            continue
        items = (r.get("customData") or {}).get("items")
        tasks[wf["key"]] += 1 if items is None else int(items)
    return tasks


def reported_tasks(base: Path, client_id: str, keys) -> dict[str, int]:
    """Tasks automated of the workflows ``keys`` in the published report (0 when not live)."""
    report = json.loads((base / "reports" / client_id / MONTH / "report.json").read_text(encoding="utf-8"))
    tasks = {w["key"]: w["tasks_automated"] for w in report["workflows"]}
    return {key: tasks.get(key, 0) for key in keys}


@pytest.mark.slow
def test_the_later_export_counts_and_copies_nothing_orders_hold_the_month(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    folder = tmp_path / "landing" / CLIENT / "n8n_executions"
    client_file = tmp_path / "clients" / f"{CLIENT}.yaml"
    records = json.loads((folder / f"{MONTH}.json").read_text(encoding="utf-8"))["data"]
    expected = expected_tasks(records, client_file)
    assert run_month(tmp_path, monkeypatch) == 0
    assert reported_tasks(tmp_path, CLIENT, expected) == expected
    other_before = (tmp_path / "reports" / OTHER / MONTH / "report.json").read_bytes()

    # 1. an older export, stated as exported on the 20th, landed after the month's own
    cutoff = instant(STALE_AT)
    finished_since = [r for r in records if r["status"] == "success" and instant(r["startedAt"]) < cutoff][:40]
    assert sum(expected_tasks(finished_since, client_file).values()) > 0  # their copies, counted, lose tasks
    stale = [{**r, "status": "running", "finished": False, "stoppedAt": None} for r in finished_since]
    (folder / "2026-03-stale.json").write_text(json.dumps({"data": stale}), encoding="utf-8")
    stamps = json.loads((folder / "_extracts.json").read_text(encoding="utf-8"))
    stamps["2026-03-stale.json"] = {"extracted_at": STALE_AT}
    (folder / "_extracts.json").write_text(json.dumps(stamps, indent=2), encoding="utf-8")
    assert run_month(tmp_path, monkeypatch) == 0
    assert reported_tasks(tmp_path, CLIENT, expected) == expected
    assert gate(tmp_path, CLIENT, MONTH)[0]

    # 2. the same export time, another state of a successful run: nothing tells which is later
    flipped = next(r for r in records if r["status"] == "success" and (r.get("customData") or {}).get("items"))
    (folder / "2026-03-resent.json").write_text(json.dumps({"data": [{**flipped, "status": "error"}]}), "utf-8")
    stamps["2026-03-resent.json"] = stamps[f"{MONTH}.json"]
    (folder / "_extracts.json").write_text(json.dumps(stamps, indent=2), encoding="utf-8")
    assert run_month(tmp_path, monkeypatch) == 1
    publishable, reasons = gate(tmp_path, CLIENT, MONTH)
    assert not publishable
    held = [r for r in reasons if "copies_undecided" in r]
    assert held, reasons
    assert f"{CLIENT}/n8n_executions/{MONTH}.json" in held[0] and "2026-03-resent.json" in held[0]
    assert gate(tmp_path, OTHER, MONTH) == (True, [])
    assert (tmp_path / "reports" / OTHER / MONTH / "report.json").read_bytes() == other_before
