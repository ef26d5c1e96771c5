"""Faults: the pipeline killed (``kill -9``) mid-step, or started twice at once, loses nothing.

Every case runs ``roi`` as a separate process on a small sample (2 clients, 2026-09 and
2026-10), kills it at an observable point, runs it again, and compares with one clean,
uninterrupted ``roi run --month 2026-10`` of the same landing files into a fresh warehouse:

- the raw layer row for row (every ``raw.*`` table, ``raw._landed_files`` and
  ``raw._quarantine`` included; load times and files' recorded modification times aside, and
  ``raw._ingest_log`` aside, which is the history of load decisions and so records the killed
  attempt too);
- the marts row for row;
- the published reports byte for byte (sha256 of every visible file under the reports dir).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.dags.harness import Sample, make_sample, with_data

pytestmark = pytest.mark.slow

ROI = Path(sys.executable).parent / "roi"
MONTH = "2026-10"
#: Columns that say when a run happened, not what it loaded: the only ones an interrupted load
#: may change. The load times; and a landed file's modification time, recorded only when the file
#: was older than RECENT_WRITE_NS when checked (roi_pipeline.ingest), so null in the reference run
#: right after the sample is written and recorded by a later run (a hint for not hashing a file
#: again, not a figure).
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at", "file_mtime_ns"}


class Roi:
    """``roi ARGS`` running in the background, its stdout collected line by line."""

    def __init__(self, sample: Sample, *args: str, **extra_env: str):
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("ROI_", "FORCE_COLOR", "NO_COLOR"))}
        # the docs page is not what these faults are about (and costs tens of seconds a build)
        env = keep | sample.env() | {"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "ROI_DOCS_SITE": "off", **extra_env}
        self.args = args
        self.proc = subprocess.Popen(
            [str(ROI), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    def kill_when(self, point: Callable[[], bool], what: str, timeout: float = 300) -> None:
        """SIGKILL the process as soon as ``point()`` holds; fail if it ended first."""
        deadline = time.monotonic() + timeout
        while not point():
            assert self.proc.poll() is None, f"roi {' '.join(self.args)} ended before {what}:\n{self.stdout[-3000:]}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.002)
        self.proc.send_signal(signal.SIGKILL)
        self.wait()
        assert self.proc.returncode == -signal.SIGKILL, f"not killed at {what}: it had already ended"

    def wait(self, timeout: float = 600) -> int:
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self.stderr = self.proc.stderr.read()
        return self.proc.returncode

    def succeeded(self) -> None:
        code = self.wait()
        assert code == 0, f"roi {' '.join(self.args)} exit {code}\n{self.stdout[-4000:]}\n{self.stderr[-4000:]}"


def roi(sample: Sample, *args: str) -> Roi:
    run = Roi(sample, *args)
    run.succeeded()
    return run


def raw_rows(warehouse: Path) -> dict[str, list[tuple]]:
    return _schema_rows(warehouse, "raw", skip={"_ingest_log"})


def mart_rows(warehouse: Path) -> dict[str, list[tuple]]:
    return _schema_rows(warehouse, "marts")


def _schema_rows(warehouse: Path, schema: str, skip: set[str] = frozenset()) -> dict[str, list[tuple]]:
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
            if t not in skip
        ]
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in LOAD_TIME_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"select {select} from {schema}.{table} order by all").fetchall()
    return out


def visible_tree(reports: Path) -> dict[str, str]:
    """sha256 of every file a reader of the reports dir sees (hidden locks and staging aside)."""
    out = {}
    for path in sorted(reports.rglob("*")):
        relative = path.relative_to(reports)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            out[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def landed_count(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute("select client_id, count(*) from raw._landed_files group by all order by all").fetchall()
        )


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    return make_sample(tmp_path_factory.mktemp("faults"), clients=2, months=2, end_month=MONTH)


@pytest.fixture(scope="module")
def reference(sample: Sample, tmp_path_factory) -> Sample:
    """One clean, uninterrupted ``roi run --month`` of the sample into a fresh warehouse."""
    clean = with_data(sample, tmp_path_factory.mktemp("reference"))
    roi(clean, "run", "--month", MONTH)
    assert visible_tree(clean.reports), "the reference run published nothing"
    return clean


def fresh(sample: Sample, tmp_path: Path) -> Sample:
    return with_data(sample, tmp_path)


def assert_same_as(reference: Sample, sample: Sample, *, reports: bool = True) -> None:
    assert raw_rows(sample.warehouse) == raw_rows(reference.warehouse)
    if reports:
        assert mart_rows(sample.warehouse) == mart_rows(reference.warehouse)
        assert visible_tree(sample.reports) == visible_tree(reference.reports)


# -- kill -9 ------------------------------------------------------------------------------------


def test_ingest_killed_half_way_then_run_again_loads_every_row_once(sample, reference, tmp_path):
    target = fresh(sample, tmp_path)
    clients = sorted(p.stem for p in sample.clients.glob("*.yaml") if not p.stem.startswith("_"))
    ingest = Roi(target, "ingest", ROI_INGEST_BATCH_ROWS="1")
    # ingest prints "[1/2] <client>: ..." once the first client's files are all committed; with
    # a batch per file, the second client's files are being read and committed one transaction
    # each right after it: the kill lands with some files of the run in the warehouse and others
    # not. (By default clients share batches of 100,000 rows, and a sample this small is one.)
    ingest.kill_when(lambda: any(line.startswith("[1/2] ") for line in ingest.lines), "the first client's line")
    partial = landed_count(target.warehouse)
    expected = landed_count(reference.warehouse)
    assert partial.get(clients[0]) == expected[clients[0]]
    assert partial.get(clients[1], 0) < expected[clients[1]], "the kill came after the whole ingest"
    roi(target, "ingest")
    assert_same_as(reference, target, reports=False)


def test_dbt_build_killed_between_the_runs_fact_and_its_ledger_then_run_again(sample, reference, tmp_path):
    target = fresh(sample, tmp_path)
    roi(target, "ingest")
    build = Roi(target, "build", "--month", MONTH, "--verbose")
    # dbt has committed the incremental runs fact (marts.fct_automation_runs) but not yet the
    # ledger of built run files (int_run_files_built) nor the marts above them: the point where
    # a re-run could count a month's runs twice, or never.
    build.kill_when(
        lambda: any("OK created sql incremental model marts.fct_automation_runs" in line for line in build.lines),
        "fct_automation_runs built",
    )
    roi(target, "run", "--month", MONTH)
    assert_same_as(reference, target)


def test_report_killed_while_publishing_leaves_no_half_written_report(sample, reference, tmp_path):
    target = fresh(sample, tmp_path)
    target.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(reference.warehouse, target.warehouse)  # built and gated: only rendering is left
    expected = visible_tree(reference.reports)
    report = Roi(target, "report", "--month", MONTH)

    def publishing() -> bool:
        # a hidden staging directory beside a month's directory: its files are being written
        return target.reports.is_dir() and any(".tmp-" in p.name for p in target.reports.glob("*/.*"))

    report.kill_when(publishing, "a report's staging directory", timeout=120)
    seen = visible_tree(target.reports)
    for path, digest in seen.items():
        assert expected.get(path) == digest, f"{path} is visible but not the finished report"
    for month_dir in {Path(p).parent for p in seen}:  # a visible month is a whole month
        assert {p for p in seen if Path(p).parent == month_dir} == {p for p in expected if Path(p).parent == month_dir}
    roi(target, "report", "--month", MONTH)
    assert visible_tree(target.reports) == expected
    leftovers = [p.name for p in target.reports.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, leftovers


# -- started twice ------------------------------------------------------------------------------


def wait_for(run: Roi, prefix: str) -> None:
    deadline = time.monotonic() + 120
    while not any(line.startswith(prefix) for line in run.lines):
        assert run.proc.poll() is None and time.monotonic() < deadline, f"no {prefix!r} line:\n{run.stdout}"
        time.sleep(0.01)


def test_a_second_run_started_at_once_fails_clearly_and_a_reader_waits_its_turn(sample, reference, tmp_path):
    """Two ``roi run --month`` at once: the second, told not to wait, stops with one line naming
    the first; a ``roi report`` started during the first's dbt build waits (the default) and
    renders after it. Nothing surfaces DuckDB's own lock error, and the outputs are one run's.

    (Two runs that both wait take turns the same way; that costs a second dbt build, so the
    waiting side is shown with the cheaper reader.)
    """
    target = fresh(sample, tmp_path)
    first = Roi(target, "run", "--month", MONTH)
    wait_for(first, "Ingesting ")  # the first holds the warehouse and is writing it
    second = Roi(target, "run", "--month", MONTH, ROI_WAREHOUSE_WAIT="0")
    assert second.wait() == 1
    wait_for(first, "Building the dbt models")
    reader = Roi(target, "report", "--month", MONTH)
    first.succeeded()
    reader.succeeded()

    holder = f"another `roi run --month {MONTH}` (pid {first.proc.pid}) holds the warehouse {target.warehouse}"
    assert second.lines == [], second.stdout  # nothing started
    [line] = second.stderr.splitlines()
    assert line.startswith(f"roi run: error: {holder} since "), line
    assert "ROI_WAREHOUSE_WAIT=0" in line
    waited = [line for line in reader.lines if line.startswith("waiting: ")]
    assert len(waited) == 1 and waited[0].startswith(f"waiting: {holder} since "), reader.stdout
    assert reader.lines.index(waited[0]) == 0, "it waits before it reads anything"
    for run in (first, reader):
        assert run.stderr == "", run.stderr
    assert_same_as(reference, target)
