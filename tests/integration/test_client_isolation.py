"""One client never stops the others, inside the shared dbt build too (issue: everyday operations).

Two ``roi run``s of October 2026 on a generated sample: one with the healthy clients only, one
with, beside them, a client broken at each stage (copies of hudson-roofing under new ids):

- validation: a time zone Python accepts but the warehouse does not (``localtime``);
- ingest: no landing folder at all;
- raw gate: a person with more than 24 timesheet hours on one day (timesheet_day_over_24h);
- dbt build: a client-scoped data test fails on this client's rows only (a probe test added
  to the project for this test and removed afterwards);
- mart gate: a registered live workflow without any run in the month (no_runs).

The healthy clients' report files are byte-identical between the two runs; each broken
client is held (or skipped) with its own reason, and the dbt build does not fail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate
from roi_pipeline.settings import PROJECT_DIR

MONTH = "2026-10"
HEALTHY = ("harbour-legal", "hudson-roofing")
TEMPLATE = "hudson-roofing"
PROBE = PROJECT_DIR / "dbt_project" / "tests" / "assert_zz_isolation_probe.sql"
PROBE_SQL = """{{ client_scoped_test() }}
-- Test fixture (tests/integration/test_client_isolation.py): fails on one client's rows only.
select client_id from {{ ref('dim_clients') }} where client_name = 'Broken In dbt'
"""


def roi_run(base: Path, monkeypatch) -> int:
    for var, sub in (
        ("ROI_LANDING_DIR", "landing"),
        ("ROI_CLIENTS_DIR", "clients"),
        ("ROI_WAREHOUSE", "warehouse.duckdb"),
        ("ROI_REPORTS_DIR", "reports"),
    ):
        monkeypatch.setenv(var, str(base / sub))
    return main(["run", "--month", MONTH])


def clone(base: Path, new_id: str, *, name: str | None = None, landing: bool = True, **changes) -> None:
    """A copy of the template client under another id (its own landing folder unless told)."""
    data = yaml.safe_load((base / "clients" / f"{TEMPLATE}.yaml").read_text(encoding="utf-8"))
    data.update(client_id=new_id, name=name or new_id.replace("-", " ").title(), **changes)
    (base / "clients" / f"{new_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if landing:
        shutil.copytree(base / "landing" / TEMPLATE, base / "landing" / new_id)


def long_day(base: Path, client_id: str) -> None:
    """Two more Toggl entries of 12.5 h on a day the person already worked: each entry is
    possible (ingestion loads it), the day of over 25 h is not (a run dated after the export
    would only be quarantined, a note)."""
    path = base / "landing" / client_id / "toggl_time_entries" / f"{MONTH}.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    extra = lines[1].split(",")  # the sample's first rows hold no quoted commas
    extra[header.index("Duration")] = "12:30:00"
    path.write_text("\n".join([*lines, ",".join(extra), ",".join(extra)]) + "\n", encoding="utf-8")


def ghost_workflow(base: Path, client_id: str) -> None:
    path = base / "clients" / f"{client_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["workflows"].append(
        {
            "key": "ghost-intake",
            "name": "Ghost intake",
            "platform": "zapier",
            "platform_workflow_ids": ["zap-never-ran"],
            "owner": "Ops",
            "risk_class": "low",
            "process": "ghost process",
            "go_live": "2026-09-01",
            "tooling_cost": [{"effective_from": "2026-09-01", "value": 0}],
            "baseline": {"method": "declared", "declared_minutes": [{"effective_from": "2026-09-01", "value": 5}]},
        }
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def report_files(base: Path, client_id: str) -> dict[str, bytes]:
    folder = base / "reports" / client_id / MONTH
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def gate_status(base: Path) -> dict[str, tuple[bool, list[str]]]:
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select client_id, publishable, reasons from quality.gate_status where month = ?", [MONTH])
        return {c: (bool(p), list(r)) for c, p, r in rows.fetchall()}


@pytest.fixture
def probe_test():
    PROBE.write_text(PROBE_SQL, encoding="utf-8")
    try:
        yield
    finally:
        PROBE.unlink(missing_ok=True)


def test_a_client_broken_at_any_stage_leaves_the_others_byte_identical(tmp_path, probe_test):
    source = tmp_path / "source"
    generate(source / "landing", source / "clients", clients=2, months=3, end_month=MONTH)
    alone, together = tmp_path / "alone", tmp_path / "together"
    for base in (alone, together):
        shutil.copytree(source, base)

    clone(together, "broken-validation", timezone="localtime")
    clone(together, "broken-ingest", landing=False)
    clone(together, "broken-raw")
    long_day(together, "broken-raw")
    clone(together, "broken-dbt", name="Broken In dbt")
    clone(together, "broken-mart")
    ghost_workflow(together, "broken-mart")

    with pytest.MonkeyPatch.context() as mp:
        assert roi_run(alone, mp) == 0
    with pytest.MonkeyPatch.context() as mp:
        assert roi_run(together, mp) == 1  # some clients are held or failed; the run goes on

    for client_id in HEALTHY:
        assert report_files(together, client_id) == report_files(alone, client_id), client_id

    status = gate_status(together)
    assert "broken-validation" not in status  # rejected at validation: never reached the warehouse
    assert not (together / "reports" / "broken-validation").exists()
    for client_id in HEALTHY:
        assert status[client_id] == (True, [])
    held = {c: reasons for c, (ok, reasons) in status.items() if not ok}
    assert sorted(held) == ["broken-dbt", "broken-ingest", "broken-mart", "broken-raw"]
    assert any("timesheet_day_over_24h (blocking, raw gate)" in r for r in held["broken-raw"])
    assert any(
        "failed_data_test (blocking, mart gate)" in r and "assert_zz_isolation_probe" in r for r in held["broken-dbt"]
    )
    assert any("no_runs (blocking, mart gate)" in r and "ghost-intake" in r for r in held["broken-mart"])
    for client_id in held:
        assert not (together / "reports" / client_id / MONTH / "report.json").exists()
    portfolio = json.loads((together / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text())
    assert sorted(h["client_id"] for h in portfolio["held_back"]) == sorted(held)
