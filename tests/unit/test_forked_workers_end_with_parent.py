"""Forked workers (ingestion's parsing pool) of a command that is killed neither live on nor keep
the warehouse locked, even when the command ran inside a process that ignores SIGTERM (an
Airflow task process ignores one not meant for the task).

Each scenario runs the command's part in a child interpreter that ends with ``os._exit`` while
holding the warehouse, as a killed process does: no ``finally``, no pool shutdown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roi_pipeline.warehouse_lock import hold_warehouse

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")

INCLUDE = str(Path(__file__).resolve().parents[2] / "include")

POOL_WORKER = """
import multiprocessing, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from roi_pipeline.processes import die_with_parent
from roi_pipeline.warehouse_lock import hold_warehouse

signal.signal(signal.SIGTERM, lambda *args: None)  # as an Airflow task process does
with hold_warehouse(Path(sys.argv[1])):
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=die_with_parent, initargs=(os.getpid(),)
    )
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600)
    time.sleep(0.5)
    os._exit(0)
"""

FORKED_CHILD = """
import os, sys, time
from pathlib import Path
from roi_pipeline.warehouse_lock import hold_warehouse

with hold_warehouse(Path(sys.argv[1])):
    child = os.fork()
    if child == 0:
        time.sleep(600)
        os._exit(0)
    print(child, flush=True)
    os._exit(0)
"""


def _start(script: str, warehouse: Path) -> int:
    """Run ``script`` until it exits; the pid it printed (its worker or child, still to be checked).

    Not ``subprocess.run``: that waits for the output pipe's end, which a surviving child holds.
    """
    env = {**os.environ, "PYTHONPATH": INCLUDE}
    proc = subprocess.Popen([sys.executable, "-c", script, str(warehouse)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline().strip())
        assert proc.wait(timeout=60) == 0
    finally:
        proc.stdout.close()
    return pid


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"  # a zombie has ended: only its exit status is left


@pytest.fixture
def stray():
    """Pids to kill after the test, should a worker outlive its parent."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_pool_worker_ends_with_its_killed_parent_whatever_sigterm_handler_it_inherited(tmp_path, stray):
    worker = _start(POOL_WORKER, tmp_path / "warehouse.duckdb")
    stray.append(worker)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the worker outlived its parent"


def test_a_forked_child_does_not_keep_the_warehouse_locked(tmp_path, stray, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    child = _start(FORKED_CHILD, warehouse)
    stray.append(child)
    assert _alive(child)  # still running, with its copy of the parent's descriptors
    monkeypatch.setenv("ROI_WAREHOUSE_WAIT", "2")
    with hold_warehouse(warehouse, say=lambda line: None):  # WarehouseBusy after 2 s if the child held it
        pass
