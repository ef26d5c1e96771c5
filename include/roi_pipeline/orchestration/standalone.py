"""The main job through Airflow on the embedded default: ``roi demo`` (what ``make demo`` runs).

From nothing to reports, with no services to start: a SQLite metadata database under
``$AIRFLOW_HOME`` (default ``data/airflow``), the DuckDB warehouse, and
``airflow dags test``, which runs every task of one ``roi_monthly`` run in-process, in
dependency order, exactly as the scheduler would (the same mapped per-client tasks, the
same Cosmos dbt build, the same pool).

The steps, each a subprocess of the ``airflow`` command installed beside this interpreter:

1. ``airflow db migrate`` (creates the SQLite database the first time; a no-op afterwards);
2. ``airflow pools import airflow/pools.json`` (the one-slot ``duckdb_writer`` pool);
3. ``airflow dags test roi_monthly <M+1>-01``: the manual run whose data interval is the
   report month M (see :func:`logical_date`).

Airflow's own output goes to a log file (it is long: every task's log); this module prints
the steps, the per-task outcome and where the reports are. Settings the caller has already
exported (``AIRFLOW_HOME``, ``AIRFLOW__CORE__DAGS_FOLDER``, ...) are kept, so the same
command runs against another Airflow home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from roi_pipeline.orchestration.defaults import MONTHLY_DAG_ID
from roi_pipeline.orchestration.months import parse_month
from roi_pipeline.settings import ENV_VARS, PROJECT_DIR, Locations
from roi_pipeline.timeutil import add_months

#: Settings the embedded run needs; each applies only where the environment has not set it.
#: The telemetry switches keep Airflow and Cosmos from calling home (Cosmos pings a usage
#: gateway by default).
EMBEDDED_DEFAULTS = {
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
}

# Progress is read from `dags test`'s own log lines (Airflow 3.3's format): a task starts with
#   [DAG TEST] running task <TaskInstance: roi_monthly.prepare.ingest manual__... map_index=2 [...] ti_id=...>
# and ends with "Task instance state updated ... new_state=success ... ti_id=...". Only the
# printed progress depends on them; the run's outcome comes from the exit status.
_TASK_STARTS = re.compile(
    r"\[DAG TEST\] running task <TaskInstance: [\w\-]+\.(?P<task>\S+) \S+(?: map_index=(?P<index>\d+))?"
    r".*?ti_id=(?P<ti>[0-9a-f\-]+)"
)
_TASK_STATE = re.compile(r"new_state=(?P<state>\w+).*?ti_id=(?P<ti>[0-9a-f\-]+)")
_FINAL_STATES = {"success", "failed", "skipped", "upstream_failed", "up_for_retry", "removed"}


@dataclass(frozen=True)
class EmbeddedAirflow:
    """Where the embedded Airflow keeps its state, and the environment its commands get."""

    home: Path
    env: dict[str, str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, project_dir: Path = PROJECT_DIR) -> EmbeddedAirflow:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("AIRFLOW_HOME") or project_dir / "data" / "airflow").expanduser().resolve()
        dags = Path(env.get("AIRFLOW__CORE__DAGS_FOLDER") or project_dir / "dags").expanduser().resolve()
        env["AIRFLOW_HOME"] = str(home)
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
        for key, value in EMBEDDED_DEFAULTS.items():
            env.setdefault(key, value)
        # The tasks run in the subprocess: they must see the same data locations as this process.
        locations = Locations.from_env(env)
        for field, (var, _default) in ENV_VARS.items():
            env[var] = str(getattr(locations, field))
        return cls(home=home, env=env)

    @property
    def log_dir(self) -> Path:
        return self.home / "demo-logs"


def logical_date(month: str) -> str:
    """The date to give ``airflow dags test roi_monthly`` so the run processes ``month``.

    ``dags test`` creates a manual run whose data interval the timetable infers from the
    date: ``CronDataIntervalTimetable("0 0 1 * *", "UTC")`` takes the last whole interval
    that ended by it, so ``M+1-01`` gives the interval ``[M-01, M+1-01)``, i.e. month M.
    (A *scheduled* run for M, e.g. from ``airflow backfill create``, is named by the
    interval's start, M-01.)
    """
    return add_months(parse_month(month), 1).isoformat()


def airflow_command() -> Path:
    """The ``airflow`` script installed beside this interpreter (the project's venv)."""
    candidate = Path(sys.executable).parent / "airflow"
    if not candidate.exists():
        raise FileNotFoundError(f"no `airflow` command beside {sys.executable}; install the project with `make setup`")
    return candidate


class StepFailed(RuntimeError):
    def __init__(self, step: str, returncode: int, log: Path):
        super().__init__(f"{step} failed (exit {returncode}); its output is in {log}")
        self.step = step
        self.returncode = returncode
        self.log = log


def _run_step(
    name: str,
    args: list[str],
    airflow: EmbeddedAirflow,
    log: Path,
    say: Callable[[str], None],
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Run one airflow command, its output appended to ``log``; raise :class:`StepFailed`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say(f"[airflow] {name} ...")
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ airflow {' '.join(args)}\n")
        out.flush()
        proc = subprocess.Popen(
            [str(airflow_command()), *args],
            env=airflow.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if on_line is not None:
                on_line(line)
        returncode = proc.wait()
    elapsed = time.monotonic() - started
    if returncode != 0:
        raise StepFailed(name, returncode, log)
    say(f"[airflow] {name}: done in {elapsed:.0f} s")


def task_progress(say: Callable[[str], None]) -> Callable[[str], None]:
    """A handler for `dags test` output lines that prints each task's end state as it happens."""
    names: dict[str, str] = {}

    def handle(line: str) -> None:
        started = _TASK_STARTS.search(line)
        if started:
            index = started["index"]
            names[started["ti"]] = started["task"] + (f"[{index}]" if index is not None else "")
            return
        ended = _TASK_STATE.search(line)
        if ended and ended["state"] in _FINAL_STATES and ended["ti"] in names:
            say(f"    {ended['state']:<15} {names[ended['ti']]}")

    return handle


def run_month_in_airflow(
    month: str,
    *,
    environ: Mapping[str, str] | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """One ``roi_monthly`` run for ``month`` with ``airflow dags test``: 0 when the run succeeded.

    The run's own outcome (which clients were published, which held and why) is recorded in
    the warehouse (``quality.gate_status``) and printed by ``roi status``; this returns the
    run's state: non-zero when ``dags test`` reports the DagRun failed.
    """
    airflow = EmbeddedAirflow.from_env(environ)
    log = airflow.log_dir / f"{MONTHLY_DAG_ID}-{month}.log"
    if log.exists():
        log.unlink()  # one run, one log: a re-run does not append to the last one
    say(f"Airflow home {airflow.home} (SQLite metadata database); full Airflow output: {log}")
    try:
        _run_step("db migrate", ["db", "migrate"], airflow, log, say)
        pools = PROJECT_DIR / "airflow" / "pools.json"
        _run_step("pools import", ["pools", "import", str(pools)], airflow, log, say)
        _run_step(
            f"dags test {MONTHLY_DAG_ID} {logical_date(month)} (report month {month})",
            ["dags", "test", MONTHLY_DAG_ID, logical_date(month)],
            airflow,
            log,
            say,
            on_line=task_progress(say),
        )
    except StepFailed as exc:
        say(f"FAILED: {exc}")
        return 1
    return 0
