"""A backfill of 3 months equals the same 3 months run one by one, byte for byte.

One side runs roi_monthly with ``dag.test()`` month after month (as the schedule would);
the other is a real ``airflow backfill create`` executed by a scheduler (LocalExecutor)
whose tasks talk to an api-server, on a SQLite metadata DB. Both start from the same
landing data and an empty warehouse; every report file (PDF included) must be identical.
"""

from __future__ import annotations

import json

import pendulum
import pytest

from tests.dags.harness import (
    BACKFILL_CONF,
    BACKFILL_DATES,
    SERVICE_MONTHS,
    Processes,
    deployment_env,
    free_port,
    make_sample,
    run_dag,
    tree_digest,
    wait_for_runs,
    with_data,
)
from tests.dags.harness import ROOT as PROJECT

# Starts an api-server and a scheduler: opt in with `pytest -m airflow_services`.
pytestmark = [pytest.mark.slow, pytest.mark.airflow_services]

MONTHS = SERVICE_MONTHS  # pinned: see tests/dags/test_service_clock.py


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("backfill-sample"), clients=2)


def test_backfilling_three_months_equals_three_single_month_runs(sample, tmp_path):
    one_by_one = with_data(sample, tmp_path / "one_by_one")
    for month in MONTHS:  # a manual run on the 1st of the next month processes the month
        year, mon = map(int, month.split("-"))
        nxt = pendulum.datetime(year + (mon == 12), mon % 12 + 1, 1, tz="UTC")
        run, states, _ = run_dag("roi_monthly", one_by_one, logical_date=nxt, conf=BACKFILL_CONF)
        assert str(run.state) == "success", (month, states)

    backfilled = with_data(sample, tmp_path / "backfilled")
    port = free_port()
    env = deployment_env(tmp_path / "airflow_home", backfilled, port=port, executor="LocalExecutor",
                         extra={"AIRFLOW__CORE__PARALLELISM": "4"})  # fmt: skip
    procs = Processes(env, tmp_path / "logs")
    try:
        procs.airflow("db", "migrate")
        procs.airflow("pools", "import", str(PROJECT / "airflow" / "pools.json"))
        procs.airflow("dags", "reserialize")
        procs.airflow("dags", "pause", "roi_guarantee_watch")  # only the backfill writes this warehouse
        # created before the scheduler starts: SQLite takes one writer at a time
        procs.airflow("backfill", "create", "--dag-id", "roi_monthly", "--from-date", BACKFILL_DATES[0],
                      "--to-date", BACKFILL_DATES[1], "--max-active-runs", "1",
                      "--dag-run-conf", json.dumps(BACKFILL_CONF))  # fmt: skip
        procs.start("api-server", "api-server", "--port", str(port))
        procs.wait_for_http(f"http://127.0.0.1:{port}/api/v2/monitor/health")
        procs.start("scheduler", "scheduler")
        runs = wait_for_runs(procs, "roi_monthly", len(MONTHS), timeout=1800)  # a loaded machine
    finally:
        procs.stop()
    # exactly the backfill's runs: the scheduler creates none of its own (job scheduling is off)
    assert sorted(r["state"] for r in runs) == ["success"] * len(MONTHS), runs
    assert all(r["run_id"].startswith("backfill__") for r in runs), runs
    assert sorted(r["logical_date"][:7] for r in runs) == MONTHS, runs  # a backfill run's logical date starts its month

    expected, actual = tree_digest(one_by_one.reports), tree_digest(backfilled.reports)
    for month in MONTHS:
        assert any(f"/{month}/report.pdf" in path for path in expected), month
    assert actual == expected
