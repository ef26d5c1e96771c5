"""roi_monthly (``dag.test()``): a client broken at any stage leaves the others' reports byte-identical.

The same breakages as tests/integration/test_client_isolation.py (validation, ingest, raw
gate, a client-scoped dbt data test, mart gate), through the monthly DAG: the shared dbt
build task succeeds, the broken clients are held (or fail their own steps), and the healthy
clients' report files equal those of a run without the broken clients, byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pendulum
import pytest

from tests.dags.harness import Sample, run_dag, xcom
from tests.integration.test_client_isolation import (
    HEALTHY,
    MONTH,
    PROBE_SQL,
    clone,
    ghost_workflow,
    long_day,
    report_files,
)

pytestmark = pytest.mark.slow

NOVEMBER = pendulum.datetime(2026, 11, 1, tz="UTC")
#: Its own probe file, so that it may run beside the roi run version of this test.
PROBE = Path(__file__).resolve().parents[2] / "dbt_project" / "tests" / "assert_zz_isolation_probe_dag.sql"


@pytest.fixture
def probe_test():
    PROBE.write_text(PROBE_SQL, encoding="utf-8")
    try:
        yield
    finally:
        PROBE.unlink(missing_ok=True)


def sample_at(base) -> Sample:
    return Sample(base, base / "landing", base / "clients", base / "wh" / "warehouse.duckdb", base / "reports")


def test_a_broken_client_never_changes_the_others_reports_in_the_dag(tmp_path, probe_test):
    from roi_pipeline.quality import gate_status
    from roi_pipeline.sample.generator import generate

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

    run, states, _ = run_dag("roi_monthly", sample_at(alone), logical_date=NOVEMBER)
    assert str(run.state) == "success", states
    run, states, _ = run_dag("roi_monthly", sample_at(together), logical_date=NOVEMBER)
    assert str(run.state) == "failed"  # a client file does not load, one client's ingest failed
    assert states["dbt_build"] == ["success"]  # the shared build did not fail for everyone

    for client_id in HEALTHY:
        assert report_files(together, client_id) == report_files(alone, client_id), client_id
    summary_inputs = xcom(run, "plan")
    assert "broken-validation" not in [r["client_id"] for r in summary_inputs["runs"]]
    warehouse = sample_at(together).warehouse
    reasons = {cid: gate_status(warehouse, cid, MONTH).reasons for cid in ("broken-raw", "broken-dbt", "broken-mart")}
    assert any("timesheet_day_over_24h (blocking, raw gate)" in r for r in reasons["broken-raw"])
    assert any("failed_data_test" in r and "assert_zz_isolation_probe_dag" in r for r in reasons["broken-dbt"])
    assert any("no_runs (blocking, mart gate)" in r and "ghost-intake" in r for r in reasons["broken-mart"])
    portfolio = json.loads((together / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text())
    held = {h["client_id"] for h in portfolio["held_back"]}
    assert {"broken-ingest", "broken-raw", "broken-dbt", "broken-mart"} <= held
    assert not held & set(HEALTHY)
