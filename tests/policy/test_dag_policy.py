"""DAG policy: every DAG file parses cleanly, cheaply and without touching anything.

The parse runs in a fresh process with an empty AIRFLOW_HOME, no connections, no
warehouse file, and Variable / Connection look-ups, duckdb.connect, subprocesses and dbt
replaced by traps: a DAG file that reads any of them at parse time (or runs `dbt ls`) fails
with an import error naming it. Policy on every DAG: an owner, tags from the approved list,
retries, catchup written explicitly, a timezone-aware start date. Parse time per file is
printed (and measured by benchmarks/bench_dag_parse.py; no test asserts a wall-clock time).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
APPROVED_TAGS = {"roi", "monthly", "daily", "guarantee-watch", "onboarding", "backfill", "reports", "quality", "alerts"}

PARSE = textwrap.dedent(
    """
    import json, sys, time

    class ParseTimeRead(RuntimeError):
        pass

    def trap(what):
        def _raise(*args, **kwargs):
            raise ParseTimeRead(f"{what} called at DAG parse time")
        return _raise

    import duckdb
    duckdb.connect = trap("duckdb.connect")
    # dbt at parse time (Cosmos' `dbt ls`, or any shell-out) costs tens of seconds per parse
    import subprocess
    subprocess.Popen.__init__ = trap("a subprocess")
    from dbt.cli.main import dbtRunner
    dbtRunner.invoke = trap("dbtRunner.invoke")
    import airflow.sdk as sdk
    sdk.Variable.get = staticmethod(trap("Variable.get"))
    sdk.Connection.get = staticmethod(trap("Connection.get"))
    from airflow.models import connection as models_connection, variable as models_variable
    models_variable.Variable.get = staticmethod(trap("Variable.get"))
    models_connection.Connection.get_connection_from_secrets = staticmethod(trap("Connection.get"))
    from airflow.dag_processing.dagbag import DagBag

    folder = sys.argv[1]
    started = time.perf_counter()
    bag = DagBag(dag_folder=folder)
    total = time.perf_counter() - started
    dags = {}
    for dag_id, dag in bag.dags.items():
        args = dag.default_args or {}
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "owner": args.get("owner") or getattr(dag, "owner", None),
            "retries": args.get("retries"),
            "tags": sorted(dag.tags or []),
            "start_tz": str(dag.start_date.tzinfo) if dag.start_date and dag.start_date.tzinfo else None,
            "catchup": dag.catchup,
            "tasks": len(dag.tasks),
        }
    stats = [{"file": s.file, "duration": s.duration.total_seconds() if hasattr(s.duration, "total_seconds") else s.duration,
              "dags": s.dag_num} for s in bag.dagbag_stats]
    print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags,
                      "stats": stats, "total": total}))
    """
)


def parse(folder: Path, tmp_path: Path, **extra_env: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "ROI_"))}
    env.update(extra_env)
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow_home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(folder),
        ROI_WAREHOUSE=str(tmp_path / "no-such-dir" / "warehouse.duckdb"),  # no warehouse present
        ROI_CLIENTS_DIR=str(tmp_path / "no-clients"),
        ROI_LANDING_DIR=str(tmp_path / "no-landing"),
    )
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    result = parse(DAGS, tmp_path_factory.mktemp("policy"))
    for stat in result["stats"]:
        print(f"parse {Path(stat['file']).name}: {stat['duration']:.3f} s, {stat['dags']} DAG(s)")
    return result


def dag_files() -> list[Path]:
    return sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


def test_there_are_dags_and_none_fails_to_import(parsed):
    assert dag_files(), "dags/ holds DAG files"
    assert parsed["errors"] == {}
    assert parsed["dags"], "every DAG file defines at least one DAG"


def test_every_dag_follows_the_policy(parsed):
    problems = []
    for dag_id, dag in sorted(parsed["dags"].items()):
        if not dag["owner"] or dag["owner"] == "airflow":
            problems.append(f"{dag_id}: no owner")
        if not dag["retries"] or dag["retries"] < 1:
            problems.append(f"{dag_id}: retries not set")
        if not dag["tags"] or not set(dag["tags"]) <= APPROVED_TAGS:
            problems.append(f"{dag_id}: tags {dag['tags']} not all in {sorted(APPROVED_TAGS)}")
        if not dag["start_tz"]:
            problems.append(f"{dag_id}: start_date is not timezone-aware")
        if dag["tasks"] == 0:
            problems.append(f"{dag_id}: no tasks")
    assert problems == []


@pytest.mark.parametrize("path", dag_files(), ids=lambda p: p.name)
def test_catchup_is_written_explicitly(path):
    tree = ast.parse(path.read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in {"dag", "DAG"}
    ]
    assert calls, f"{path.name} declares a DAG"
    for call in calls:
        assert "catchup" in {kw.arg for kw in call.keywords}, f"{path.name}: catchup is not set explicitly"


# --- the policy bites on deliberately bad DAG files ------------------------------------

BAD_DAG = """
import pendulum
from airflow.sdk import Variable, dag, task

THRESHOLD = Variable.get("roi_threshold")  # a parse-time read: forbidden


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False, tags=["roi"],
     default_args={"owner": "data-eng", "retries": 1})
def bad_variable():
    @task
    def noop():
        return THRESHOLD

    noop()


bad_variable()
"""

DBT_LS_DAG = """
import subprocess

import pendulum
from airflow.sdk import dag, task

MODELS = subprocess.run(["dbt", "ls"], capture_output=True, text=True).stdout  # a parse-time dbt call


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False, tags=["roi"],
     default_args={"owner": "data-eng", "retries": 1})
def bad_dbt_ls():
    @task
    def noop():
        return MODELS

    noop()


bad_dbt_ls()
"""

NAIVE_DAG = """
from datetime import datetime
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2025, 1, 1), tags=["random-tag"])
def sloppy():
    @task
    def noop():
        return 1

    noop()


sloppy()
"""


def test_a_top_level_variable_read_fails_the_parse(tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "bad_variable.py").write_text(BAD_DAG)
    result = parse(folder, tmp_path)
    assert len(result["errors"]) == 1
    assert "Variable.get called at DAG parse time" in next(iter(result["errors"].values()))


def test_a_dag_without_owner_retries_tags_or_timezone_is_caught(tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "sloppy.py").write_text(NAIVE_DAG)
    result = parse(folder, tmp_path)
    dag = result["dags"]["sloppy"]
    assert dag["owner"] in (None, "airflow")
    assert not dag["retries"]
    assert not set(dag["tags"]) <= APPROVED_TAGS
    tree = ast.parse(NAIVE_DAG)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "dag")
    assert "catchup" not in {kw.arg for kw in call.keywords}


def test_running_dbt_at_parse_time_fails_the_parse(tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "bad_dbt_ls.py").write_text(DBT_LS_DAG)
    result = parse(folder, tmp_path)
    assert len(result["errors"]) == 1
    assert "a subprocess called at DAG parse time" in next(iter(result["errors"].values()))
