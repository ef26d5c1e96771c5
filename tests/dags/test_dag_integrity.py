"""The DAG files: import, graph, policy, pools, Cosmos wiring and parse time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.dags.harness import DAGS, ROOT

DAG_IDS = {"roi_monthly", "roi_guarantee_watch", "roi_onboard_client", "roi_alerts"}
WRITERS = {
    "roi_monthly": {
        "prepare.ingest",
        "prepare.raw_gate",
        "publish.mart_gate",
        "dbt_build",
        "marts_snapshot",
        "docs_site",
    },
    "roi_guarantee_watch": {"ingest", "dbt_build", "marts_snapshot"},
    "roi_onboard_client": {"check"},
    "roi_alerts": set(),  # reads the marts snapshot, never the warehouse
}
READERS = {"roi_monthly": {"publish.render", "portfolio"}, "roi_guarantee_watch": {"watch"}, "roi_alerts": {"check"}}


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors_and_every_dag_is_there(bag):
    assert bag.import_errors == {}
    assert set(bag.dags) == DAG_IDS


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_policy(bag, dag_id):
    dag = bag.dags[dag_id]
    assert dag.default_args["owner"] not in (None, "", "airflow")
    assert dag.default_args["retries"] >= 1
    assert all(t.retries >= 0 and t.owner == dag.default_args["owner"] for t in dag.tasks)
    assert "roi" in dag.tags and len(dag.tags) >= 2
    assert dag.catchup is False
    assert dag.start_date.tzinfo is not None and dag.start_date.utcoffset().total_seconds() == 0
    assert dag.doc_md and len(dag.doc_md) > 200
    dag.validate()
    # no cycles: a topological sort of every task exists
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_catchup_is_written_in_every_file():
    for path in DAGS.glob("*.py"):
        assert "catchup=False" in path.read_text(), path.name


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_every_warehouse_writer_is_in_the_one_slot_pool_and_readers_are_not(bag, dag_id):
    dag = bag.dags[dag_id]
    in_pool = {t.task_id for t in dag.tasks if t.pool == "duckdb_writer"}
    assert WRITERS[dag_id] <= in_pool
    assert not (READERS.get(dag_id, set()) & in_pool)
    assert {t.pool for t in dag.tasks} <= {"duckdb_writer", "default_pool"}


def test_the_pool_file_declares_one_slot():
    pools = json.loads((ROOT / "airflow" / "pools.json").read_text())
    assert pools["duckdb_writer"]["slots"] == 1


@pytest.mark.parametrize("dag_id", ["roi_monthly", "roi_guarantee_watch"])
def test_dbt_runs_through_cosmos_with_the_report_month_in_its_environment(bag, dag_id):
    """The month reaches dbt as roi build passes it (ROI_REPORT_MONTH, not --vars, which would
    make dbt re-parse the project every month), with the production selection."""
    from cosmos.operators.local import DbtBuildLocalOperator

    from roi_pipeline.transform import PRODUCTION_BUILD_FLAGS

    build = bag.dags[dag_id].get_task("dbt_build")
    assert isinstance(build, DbtBuildLocalOperator)
    assert "xcom_pull(task_ids='plan')" in build.env["ROI_REPORT_MONTH"]
    assert build.env["ROI_THROUGH_MONTH"] == ""
    assert "report_month" not in build.vars and build.vars["hold_clients_on_failed_tests"] is True
    assert "ROI_WAREHOUSE" in build.env
    assert build.dbt_cmd_flags == PRODUCTION_BUILD_FLAGS


def test_monthly_schedule_is_the_calendar_month_in_utc(bag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = bag.dags["roi_monthly"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.max_active_runs == 1
    assert dag.get_task("wait_for_settle").deferrable is True


def test_the_manifest_knows_every_model_on_disk():
    """A stale manifest would render an old graph: every models/**.sql is in it."""
    from roi_pipeline.orchestration.dbt import DBT_DIR, manifest_path

    if not manifest_path().is_file():
        pytest.skip("no manifest: run `python -m roi_pipeline.orchestration.dbt` (make setup does)")
    manifest = json.loads(manifest_path().read_text())
    in_manifest = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    on_disk = {p.stem for p in (DBT_DIR / "models").rglob("*.sql")}
    assert on_disk == in_manifest, "regenerate: python -m roi_pipeline.orchestration.dbt"


def test_the_parse_benchmark_covers_every_dag_file():
    """The benchmark prints the figures (no wall-clock assertion here: timings belong to
    benchmarks; tests/policy proves nothing slow, such as dbt, runs at parse time)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_dag_parse.py"), "--repeat", "3", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    print(timings)
    assert set(timings["files"]) == {f"{d}.py" for d in DAG_IDS}
    assert all(seconds > 0 for seconds in timings["files"].values()), timings
    assert timings["import_errors"] == {}


@pytest.mark.parametrize("dag_id", ["roi_monthly", "roi_guarantee_watch"])
def test_the_dbt_task_builds_on_one_thread_when_it_retries(bag, dag_id):
    """Two dbt threads can collide in DuckDB's catalog (a write-write conflict): the dbt task's
    retry builds on one thread. Rendered as Airflow renders the task's environment; dbt reads
    the variable in profiles.yml (tests/unit/test_dbt_thread_conflict.py)."""
    from types import SimpleNamespace

    from roi_pipeline.settings import DBT_THREADS

    task = bag.dags[dag_id].get_task("dbt_build")
    assert task.retries >= 1
    template = task.env[DBT_THREADS[0]]  # the rest of the environment needs the run's XComs
    threads = {n: task.render_template(template, {"ti": SimpleNamespace(try_number=n)}) for n in (1, 2, 3)}
    assert threads == {1: DBT_THREADS[1], 2: "1", 3: "1"}
