"""Shared by the Airflow tests: sample data for a run, the DAG loaded, a run executed in-process.

``dag.test()`` runs every task in this process against the metadata DB of ``AIRFLOW_HOME``
(tests/dags/conftest.py points it at a throwaway SQLite database).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"

# Before Airflow is first imported in the session: a throwaway home (SQLite metadata DB),
# no example DAGs, our dags/ folder. Importing this module sets them once per process; the
# home (and Cosmos' cache inside it) is removed when the process ends.
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="roi-airflow-home-"))
_OWNER = os.getpid()


@atexit.register
def _remove_airflow_home() -> None:
    if os.getpid() == _OWNER:  # not in a forked child that exits through atexit
        shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = str(AIRFLOW_HOME / "cosmos")  # default: $TMPDIR/cosmos
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
# No usage pings to outside hosts from Cosmos (or anything honouring DO_NOT_TRACK).
os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
os.environ["DO_NOT_TRACK"] = "true"
os.environ["SCARF_NO_ANALYTICS"] = "true"
os.environ["AIRFLOW__USAGE_DATA_COLLECTION__ENABLED"] = "False"


@dataclass(frozen=True)
class Sample:
    base: Path
    landing: Path
    clients: Path
    warehouse: Path
    reports: Path

    def env(self) -> dict[str, str]:
        return {
            "ROI_LANDING_DIR": str(self.landing),
            "ROI_CLIENTS_DIR": str(self.clients),
            "ROI_WAREHOUSE": str(self.warehouse),
            "ROI_REPORTS_DIR": str(self.reports),
        }


def make_sample(base: Path, *, clients: int = 4, months: int = 15, end_month: str = "2026-10") -> Sample:
    """Generated client files and landing data (no warehouse yet: the DAG builds it)."""
    from roi_pipeline.sample.generator import generate

    base.mkdir(parents=True, exist_ok=True)
    sample = Sample(base, base / "landing", base / "clients", base / "wh" / "warehouse.duckdb", base / "reports")
    generate(sample.landing, sample.clients, clients=clients, months=months, end_month=end_month)
    return sample


def with_data(sample: Sample, base: Path) -> Sample:
    """The same landing data and client files, with a fresh warehouse and reports dir."""
    return Sample(base, sample.landing, sample.clients, base / "wh" / "warehouse.duckdb", base / "reports")


@contextmanager
def environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_migrated: set[str] = set()


def migrate_metadata_db() -> None:
    """Create the SQLite metadata DB of this session's AIRFLOW_HOME once."""
    home = os.environ["AIRFLOW_HOME"]
    if home in _migrated:
        return
    subprocess.run([str(AIRFLOW), "db", "migrate"], check=True, capture_output=True, timeout=300)
    from airflow import settings

    settings.configure_orm()
    _migrated.add(home)


def load_dag(dag_id: str, *, retries: int = 0):
    """The DAG from dags/ with retries off (a failing task fails the test now, not in 5 minutes)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}, bag.import_errors
    dag = bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = retries
    return dag


def run_dag(dag_id: str, sample: Sample, *, logical_date, conf: dict | None = None):
    """One in-process run of ``dag_id`` on ``sample``; returns (dag run, {task_id: [states]}, xcoms)."""
    migrate_metadata_db()
    with environment(sample.env()):
        dag = load_dag(dag_id)
        run = dag.test(logical_date=logical_date, run_conf=conf)
    return run, task_states(run), run


def task_states(run) -> dict[str, list[str]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    out: dict[str, list[str]] = {}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id
        ):
            out.setdefault(ti.task_id, []).append(str(ti.state))
    return out


def xcom(run, task_id: str, map_index: int = -1):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == map_index,
                XComModel.key == "return_value",
            )
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> sha256), lock files excluded."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


# --------------------------------------------------------------------------- real deployments

# The runs the service tests start, pinned so that no month they process, and no wait, depends
# on the day the suite runs (tests/dags/test_service_clock.py runs the same requests at awkward
# clock times). Those months are long settled, so the runs do not wait for the settle period
# (``settle_minutes`` 0); the settle wait itself is tested in-process.
SERVICE_MONTHS = ["2026-08", "2026-09", "2026-10"]
#: ``airflow backfill create --from-date/--to-date``: the first days of the first and last month.
BACKFILL_DATES = ("2026-08-01", "2026-10-01")
BACKFILL_CONF = {"settle_minutes": 0}
#: ``airflow dags trigger``: it infers the data interval from the wall clock, not from
#: ``--logical-date``, so the month is named explicitly.
TRIGGER_LOGICAL_DATE = "2026-11-01T00:00:00+00:00"
TRIGGER_CONF = {"month": "2026-10", "settle_minutes": 0}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Airflow components started by a test, each in its own process group, always stopped.

    ``stop()`` ends exactly the groups this object started (SIGTERM, then SIGKILL after a
    grace period), so no scheduler or worker outlives the test.
    """

    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []
        logs.mkdir(parents=True, exist_ok=True)

    def airflow(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(AIRFLOW), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, (
            f"airflow {' '.join(args)} exited with {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
        return done.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [str(AIRFLOW), *args], env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.started.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self, grace: float = 20) -> None:
        import signal
        import time

        for _name, proc in reversed(self.started):
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _name, proc in self.started:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # the group may still hold children (task processes) after its leader exits
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def wait_for_http(self, url: str, timeout: float = 120) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except OSError:
                time.sleep(1)
        raise AssertionError(f"{url} did not answer within {timeout}s")


def deployment_env(home: Path, sample: Sample, *, port: int, executor: str, extra: dict | None = None) -> dict:
    """Environment for a multi-process Airflow on this machine (same values for every component)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "ROI_"))}
    if "ROI_DOCS_SITE" in os.environ:  # the suite's choice (tests/conftest.py): reports compared without it
        env["ROI_DOCS_SITE"] = os.environ["ROI_DOCS_SITE"]
    env.update(sample.env())
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__EXECUTOR=executor,
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__API_AUTH__JWT_SECRET="roi-test-jwt-secret-not-for-production",
        AIRFLOW__API__SECRET_KEY="roi-test-secret-key-not-for-production",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        # The scheduler runs only what a test creates (a backfill, a triggered run): with job
        # scheduling on it would also start the latest scheduled month, whatever today is.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="600",
        # Tasks call the api-server (Execution API); on a busy 2-core machine its answers take
        # longer than the default 5 s, and a timed-out call fails the task.
        AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="60",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__USAGE_DATA_COLLECTION__ENABLED="False",
        DO_NOT_TRACK="true",
        SCARF_NO_ANALYTICS="true",
    )
    env.update(extra or {})
    return env


def wait_for_runs(procs: Processes, dag_id: str, count: int, timeout: float) -> list[dict]:
    """Poll ``airflow dags list-runs`` until ``count`` runs have finished; returns them."""
    import json
    import time

    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    misses = 0
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            out = procs.airflow("dags", "list-runs", dag_id, "-o", "json")
        except (AssertionError, subprocess.TimeoutExpired):
            misses += 1  # one CLI call can fail on a busy machine; the runs go on meanwhile
            if misses >= 5:
                raise
            time.sleep(10)
            continue
        misses = 0
        lines = [line for line in out.splitlines() if line.startswith("[")]  # warnings share stdout
        runs = json.loads(lines[-1]) if lines else []
        finished = [r for r in runs if r["state"] in ("success", "failed")]
        if len(finished) >= count:
            return runs
        time.sleep(5)
    raise AssertionError(f"{dag_id}: {count} runs did not finish within {timeout}s: {runs}")
