"""An edit to the workflow register reaches every month already built (README: a month's build
gives what a full build gives).

Scenario, as a consultancy meets it: February is reported; then the register is corrected, a
workflow's go-live moved ten days later (the first days were still testing); then the routine
run of March (held until February, published with the old register, is run again). February's runs, tasks and hours must follow the corrected register at once, as
a full build would, not only once someone rebuilds everything: before, the incremental runs
models kept February's old live days while the timesheet models used the new ones, so the
month mixed both and its verdict (and March's fee) depended on which build ran last.

Checked against the client file (no run before the new go-live is on a live day or counts a
task) and against a full ``roi build`` of a copy of the same warehouse.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate

FIGURES = "tasks_automated, production_runs, hours_saved, residual_manual_hours, run_cost"


def env(base: Path, monkeypatch, warehouse: Path) -> None:
    for name, sub in (("LANDING", "landing"), ("CLIENTS", "clients"), ("REPORTS", "reports")):
        monkeypatch.setenv(f"ROI_{name}_DIR", str(base / sub))
    monkeypatch.setenv("ROI_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("ROI_MARTS_SNAPSHOT", str(warehouse.with_name(warehouse.stem + "-snapshot.duckdb")))


def query(warehouse: Path, sql: str, params: list) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_go_live_moved_later_reaches_the_months_already_built(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    warehouse = tmp_path / "warehouse.duckdb"
    env(tmp_path, monkeypatch, warehouse)
    assert main(["run", "--month", "2026-02"]) == 0

    path = next(p for p in sorted((tmp_path / "clients").glob("*.yaml")) if not p.name.startswith("_"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    client_id = data["client_id"]
    wf = next(w for w in data["workflows"] if "2026-02-01" <= str(w["go_live"]) <= "2026-02-15")
    old_go_live = wf["go_live"]
    wf["go_live"] = new_go_live = old_go_live + timedelta(days=10)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    moved = query(
        warehouse,
        "select count(*) from marts.fct_automation_runs where client_id = ? and workflow_key = ? "
        "and started_local_date >= ? and started_local_date < ? and tasks_counted > 0",
        [client_id, wf["key"], old_go_live, new_go_live],
    )[0][0]
    assert moved > 0  # the runs of those ten days counted before the edit

    # March is held until February, published with the old register, is restated
    assert main(["run", "--month", "2026-03"]) == 1
    assert not (tmp_path / "reports" / client_id / "2026-03").exists()
    before_go_live = query(
        warehouse,
        "select count(*), sum(tasks_counted) from marts.fct_automation_runs where client_id = ? "
        "and workflow_key = ? and started_local_date < ? and (is_on_live_day or tasks_counted > 0)",
        [client_id, wf["key"], new_go_live],
    )[0]
    assert before_go_live == (0, None)

    assert main(["run", "--month", "2026-02", client_id]) == 0
    assert main(["run", "--month", "2026-03"]) == 0

    full = tmp_path / "full" / "warehouse.duckdb"
    full.parent.mkdir()
    shutil.copy(warehouse, full)
    env(tmp_path, monkeypatch, full)
    assert main(["build"]) == 0
    sql = (
        f"select client_id, workflow_key, report_month, {FIGURES} from marts.fct_workflow_months "
        "where report_month = ? order by all"
    )
    incremental = query(warehouse, sql, ["2026-02-01"])
    assert [r for r in incremental if r[:2] == (client_id, wf["key"])]
    assert incremental == query(full, sql, ["2026-02-01"])
