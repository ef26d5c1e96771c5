"""Make, Zapier and a client's own run log, from landing files to the published reports.

`roi demo --without-airflow` generates three sample clients: harbour-legal's Zap lands as
Zapier Zap runs, rheinwerk-logistik's customs scenario as Make scenario logs. The reports
must show those workflows with the runs counted by hand from the landed files. Then
hudson-roofing's generic run log is re-landed in "its own" column names and values, with a
``run_log`` mapping in its client file: `roi run` must publish the same figures.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from roi_pipeline.cli import main

pytestmark = pytest.mark.slow

MONTH = "2026-10"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("platforms")
    env = {
        "ROI_LANDING_DIR": str(base / "landing"),
        "ROI_CLIENTS_DIR": str(base / "clients"),
        "ROI_WAREHOUSE": str(base / "wh" / "warehouse.duckdb"),
        "ROI_REPORTS_DIR": str(base / "reports"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        assert main(["demo", "--without-airflow", "--clients", "3", "--months", "3"]) == 0
        yield base


def _report(base: Path, client: str) -> dict:
    return json.loads((base / "reports" / client / MONTH / "report.json").read_text(encoding="utf-8"))


def _workflow(report: dict, key: str) -> dict:
    return next(w for w in report["workflows"] if w["key"] == key)


def _in_month(text: str, zone: str) -> bool:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m}" == MONTH


def test_the_zapier_workflow_is_reported_from_its_zap_runs(demo):
    runs = {}
    for path in sorted((demo / "landing" / "harbour-legal" / "zapier_zap_runs").glob("2*.json")):
        for run in json.loads(path.read_text())["data"]:
            if str(run["zap_id"]) == "88231" and _in_month(run["start_time"], "Europe/London"):
                runs[run["id"]] = run
    success = sum(1 for r in runs.values() if r["status"] == "success")
    assert len(runs) > 50 and success > 50
    wf = _workflow(_report(demo, "harbour-legal"), "intake-docs")
    assert wf["platform"] == "zapier"
    # every Zap run is a production run of its trigger; no item counts: one task per success
    assert (wf["production_runs"], wf["successful_runs"], wf["tasks_automated"]) == (len(runs), success, success)


def test_the_make_workflow_is_reported_from_its_scenario_logs(demo):
    logs = {}
    for path in sorted((demo / "landing" / "rheinwerk-logistik" / "make_scenario_logs").glob("2*.json")):
        for log in json.loads(path.read_text())["scenarioLogs"]:
            if str(log["scenarioId"]) == "3301882" and _in_month(log["timestamp"], "Europe/Berlin"):
                logs[log["imtId"]] = log
    production = [x for x in logs.values() if x["type"] != "manual"]
    success = sum(1 for x in production if x["status"] == 1)
    assert len(production) > 50 and len(production) < len(logs)  # manual runs are in the logs, not counted
    wf = _workflow(_report(demo, "rheinwerk-logistik"), "customs-paperwork")
    assert wf["platform"] == "make"
    assert (wf["production_runs"], wf["successful_runs"], wf["tasks_automated"]) == (len(production), success, success)
    assert wf["failed_runs"] == len(production) - success


OWN_NAMES = {"run_id": "Execution ID", "status": "Outcome", "triggered_by": "Cause", "items": "item_count"}
OWN_STATUS = {"success": "OK", "error": "Failed"}
OWN_TRIGGER = {"schedule": "Cron", "webhook": "Hook"}


def test_a_run_log_in_its_own_names_read_through_a_mapping_gives_the_same_report(demo, monkeypatch):
    before = _report(demo, "hudson-roofing")
    folder = demo / "landing" / "hudson-roofing" / "generic_runs"
    for path in sorted(folder.glob("2*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        header = [OWN_NAMES.get(c, c) for c in rows[0]]
        with path.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for row in rows:
                row["status"] = OWN_STATUS.get(row["status"], row["status"])
                row["triggered_by"] = OWN_TRIGGER.get(row["triggered_by"], row["triggered_by"])
                out.writerow(row.values())
    client_file = demo / "clients" / "hudson-roofing.yaml"
    config = yaml.safe_load(client_file.read_text(encoding="utf-8"))
    config["run_log"] = {
        "columns": OWN_NAMES,
        "statuses": {v: k for k, v in OWN_STATUS.items()},
        "triggers": {v: k for k, v in OWN_TRIGGER.items()},
    }
    client_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for key, value in {
        "ROI_LANDING_DIR": demo / "landing",
        "ROI_CLIENTS_DIR": demo / "clients",
        "ROI_WAREHOUSE": demo / "wh" / "warehouse.duckdb",
        "ROI_REPORTS_DIR": demo / "reports",
    }.items():
        monkeypatch.setenv(key, str(value))
    assert main(["run", "hudson-roofing", "--month", MONTH]) == 0
    # the re-landed files were read (a file that failed would leave its earlier rows in place)
    con = duckdb.connect(str(demo / "wh" / "warehouse.duckdb"), read_only=True)
    try:
        loaded = dict(
            con.execute(
                "select source_file, file_sha256 from raw._landed_files where client_id = 'hudson-roofing' "
                "and format = 'generic_runs' and status = 'loaded'"
            ).fetchall()
        )
    finally:
        con.close()
    relanded = {f"hudson-roofing/generic_runs/{p.name}": p for p in folder.glob("2*.csv")}
    assert set(loaded) == set(relanded)
    assert all(loaded[name] == hashlib.sha256(p.read_bytes()).hexdigest() for name, p in relanded.items())
    after = _report(demo, "hudson-roofing")
    assert after["workflows"] == before["workflows"]
    assert after["headline"] == before["headline"]
    assert after["data_quality"] == before["data_quality"]
