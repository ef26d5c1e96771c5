"""The warehouse lock (roi_pipeline.warehouse_lock): who waits, for whom, and what it says."""

from __future__ import annotations

import subprocess
import sys

import pytest

from roi_pipeline.warehouse_lock import WarehouseBusy, hold_warehouse, lock_path

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH if sys.argv[2] == "shared" else fcntl.LOCK_EX)
if sys.argv[2] != "shared":
    os.write(fd, b"roi run --month 2026-10\\t4242\\t2026-11-05T06:00:02Z\\n")
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def other_process(tmp_path):
    """Hold the warehouse's lock from another process, as another roi command would."""
    started = []

    def hold(mode: str):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock_path(tmp_path / "warehouse.duckdb")), mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in started:
        proc.stdin.close()
        proc.wait(timeout=10)


def test_a_writer_that_cannot_wait_names_the_holder_in_one_line(tmp_path, other_process):
    other_process("exclusive")
    said = []
    with (
        pytest.raises(WarehouseBusy) as caught,
        hold_warehouse(tmp_path / "warehouse.duckdb", timeout=0.3, say=said.append),
    ):
        pass
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"another `roi run --month 2026-10` (pid 4242) holds the warehouse {tmp_path / 'warehouse.duckdb'} "
        "since 2026-11-05T06:00:02Z; gave up after waiting 0s"
    ), message
    assert said == [
        f"waiting: another `roi run --month 2026-10` (pid 4242) holds the warehouse {tmp_path / 'warehouse.duckdb'} "
        "since 2026-11-05T06:00:02Z (up to 0s)"
    ]


def test_readers_share_the_warehouse_and_a_writer_waits_for_them(tmp_path, other_process):
    other_process("shared")
    with hold_warehouse(tmp_path / "warehouse.duckdb", shared=True, timeout=0):
        pass  # a second reader goes straight in
    busy = pytest.raises(WarehouseBusy, match="another roi command is reading the warehouse")
    with busy, hold_warehouse(tmp_path / "warehouse.duckdb", timeout=0):
        pass


def test_the_lock_nests_within_a_process_and_is_free_after_it(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with hold_warehouse(warehouse), hold_warehouse(warehouse), hold_warehouse(warehouse, shared=True):
        pass
    check = subprocess.run(
        [sys.executable, "-c", "import fcntl, os, sys; fcntl.flock(os.open(sys.argv[1], os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)",
         str(lock_path(warehouse))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert lock_path(warehouse).read_text() == "", "no holder is named once it is released"


def test_a_bad_wait_setting_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ROI_WAREHOUSE_WAIT", "soon")
    bad = pytest.raises(WarehouseBusy, match=r"ROI_WAREHOUSE_WAIT='soon': expected a number of seconds")
    with bad, hold_warehouse(tmp_path / "warehouse.duckdb"):
        pass
