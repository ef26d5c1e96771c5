"""`roi demo` / `make demo`: the monthly DAG run with `airflow dags test` on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from roi_pipeline.orchestration.standalone import EMBEDDED_DEFAULTS, EmbeddedAirflow, logical_date, task_progress
from roi_pipeline.report.render import FILES
from tests.dags.harness import AIRFLOW_HOME, Sample, migrate_metadata_db, tree_digest


@pytest.mark.parametrize("month", ["2026-01", "2026-03", "2026-10", "2026-11", "2026-12", "2027-02"])
def test_the_dags_test_date_makes_airflow_process_the_month(month):
    """Checked against Airflow's own timetable: the manual run `dags test` creates for the date
    has the report month as its data interval (so the DAG's plan derives that month)."""
    from airflow.timetables.interval import CronDataIntervalTimetable

    timetable = CronDataIntervalTimetable("0 0 1 * *", timezone="UTC")  # the DAG's timetable
    interval = timetable.infer_manual_data_interval(run_after=pendulum.parse(logical_date(month)))
    assert interval.start.strftime("%Y-%m-%d") == f"{month}-01"
    assert (interval.end - interval.start).days in range(28, 32)


def test_embedded_defaults_fill_only_what_the_caller_left_unset(tmp_path):
    project = tmp_path / "project"
    bare = EmbeddedAirflow.from_env({}, project_dir=project)
    assert bare.home == (project / "data" / "airflow").resolve()
    assert bare.env["AIRFLOW_HOME"] == str(bare.home)
    assert bare.env["AIRFLOW__CORE__DAGS_FOLDER"] == str((project / "dags").resolve())
    for key, value in EMBEDDED_DEFAULTS.items():
        assert bare.env[key] == value
    assert bare.env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"  # examples raise on Airflow 3.3

    mine = EmbeddedAirflow.from_env(
        {"AIRFLOW_HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1", "ROI_WAREHOUSE": "wh.duckdb"},
        project_dir=project,
    )
    assert mine.home == (tmp_path / "home").resolve()
    assert mine.env["DO_NOT_TRACK"] == "1"
    # the tasks run in a subprocess: relative data locations are resolved here, once
    assert mine.env["ROI_WAREHOUSE"] == str(Path("wh.duckdb").resolve())
    assert Path(mine.env["ROI_REPORTS_DIR"]).is_absolute()


# Lines as Airflow 3.3's `dags test` prints them (copied from a run, shortened in the middle).
RUN = "manual__2026-11-23T17:46:08.198096+00:00"
LINES = [
    f"2026-11-23T17:46:12.116587Z [info     ] [DAG TEST] running task <TaskInstance: roi_monthly.plan {RUN} "
    "[TaskInstanceState.SCHEDULED] ti_id=01a20983-e44f-7367-aac6-66d540813bca> [airflow.sdk.definitions.dag]",
    "2026-11-23T17:46:12.127082Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api."
    "routes.task_instances] loc=task_instances.py:254 rows_affected=1 ti_id=01a20983-e44f-7367-aac6-66d540813bca",
    "2026-11-23T17:46:12.250769Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api."
    "routes.task_instances] loc=task_instances.py:485 new_state=success rows_affected=1 "
    "ti_id=01a20983-e44f-7367-aac6-66d540813bca",
    f"2026-11-23T17:46:18.753384Z [info     ] [DAG TEST] running task <TaskInstance: roi_monthly.prepare.ingest {RUN} "
    "map_index=2 [TaskInstanceState.SCHEDULED] ti_id=01a20983-f417-7993-95ea-6c5a4a3df8f0> [airflow.sdk]",
    "2026-11-23T17:46:19.000000Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api."
    "routes.task_instances] new_state=failed rows_affected=1 ti_id=01a20983-f417-7993-95ea-6c5a4a3df8f0",
    # a state change of a task this handler never saw start is not guessed at
    "... new_state=success rows_affected=1 ti_id=01a20983-ffff-7993-95ea-6c5a4a3df8f0",
    "2026-11-23T17:46:56.124691Z [info     ] Pushing xcom                   [task] loc=task_runner.py:2280",
]


def test_progress_prints_each_tasks_end_state_with_its_map_index():
    printed: list[str] = []
    handle = task_progress(printed.append)
    for line in LINES:
        handle(line + "\n")
    assert printed == ["    success         plan", "    failed          prepare.ingest[2]"]


# -- end to end: `roi demo` (what `make demo` runs) --------------------------------------------

ROI = Path(sys.executable).parent / "roi"


def _demo_env(base: Path, airflow_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ROI_"))}
    data = Sample(base, base / "landing", base / "clients", base / "warehouse.duckdb", base / "reports")
    # Cosmos' cache inside the test's Airflow home (its default is $TMPDIR/cosmos, left behind)
    return (
        env
        | data.env()
        | {"AIRFLOW_HOME": str(airflow_home), "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos")}
    )


def _demo(base: Path, *extra: str, airflow_home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROI), "demo", "--clients", "2", "--months", "6", *extra],
        env=_demo_env(base, airflow_home or base / "airflow"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_roi_demo_through_airflow_gives_the_reports_of_roi_run_byte_for_byte(tmp_path):
    """From nothing (no metadata DB, no warehouse) to reports with `airflow dags test`, and
    the same files, byte for byte, as the plain pipeline (`roi run`) on the same data: the
    DAG adds orchestration, not different numbers."""
    via_airflow = _demo(tmp_path / "airflow_run")
    assert via_airflow.returncode == 0, via_airflow.stdout[-4000:] + via_airflow.stderr[-4000:]
    out = via_airflow.stdout
    assert "dags test roi_monthly 2026-11-01 (report month 2026-10)" in out
    assert "success         dbt_build" in out and "success         portfolio" in out
    for client in ("harbour-legal", "hudson-roofing"):
        assert f"{client:<28} publishable" in out
        folder = tmp_path / "airflow_run" / "reports" / client / "2026-10"
        assert f"{folder}/  ({', '.join(sorted(FILES))})" in out  # every published file of the report

    plain = _demo(tmp_path / "plain_run", "--without-airflow")
    assert plain.returncode == 0, plain.stdout[-4000:]
    assert not (tmp_path / "plain_run" / "airflow").exists()

    expected = tree_digest(tmp_path / "plain_run" / "reports")
    assert any(path.endswith("2026-10/report.pdf") for path in expected)
    assert tree_digest(tmp_path / "airflow_run" / "reports") == expected

    # the same command again: a no-op for the metadata DB, the same report bytes
    again = _demo(tmp_path / "airflow_run")
    assert again.returncode == 0, again.stdout[-4000:]
    assert tree_digest(tmp_path / "airflow_run" / "reports") == expected


def _migrated_home(home: Path) -> Path:
    """An Airflow home holding a copy of the session's migrated metadata DB (harness), so the
    demo's `db migrate` there is a no-op instead of a second migration from nothing (the test
    above proves that one)."""
    import sqlite3
    from contextlib import closing

    migrate_metadata_db()
    home.mkdir(parents=True)
    with (
        closing(sqlite3.connect(AIRFLOW_HOME / "airflow.db")) as src,
        closing(sqlite3.connect(home / "airflow.db")) as dst,
    ):
        src.backup(dst)
    return home


def test_roi_demo_says_which_airflow_step_failed_and_where_its_output_is(tmp_path):
    _migrated_home(tmp_path / "airflow")
    env_base = tmp_path / "data"
    empty_dags = tmp_path / "no_dags"
    empty_dags.mkdir()
    env = _demo_env(env_base, tmp_path / "airflow") | {"AIRFLOW__CORE__DAGS_FOLDER": str(empty_dags)}
    done = subprocess.run(
        [str(ROI), "demo", "--clients", "1", "--months", "2"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    log = tmp_path / "airflow" / "demo-logs" / "roi_monthly-2026-10.log"
    step = "dags test roi_monthly 2026-11-01 (report month 2026-10)"
    assert f"FAILED: {step} failed (exit 1); its output is in {log}" in done.stdout
    assert "could not be found" in log.read_text()
