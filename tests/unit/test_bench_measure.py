"""The benchmarks' peak memory (benchmarks/measure.py) is the command's own: a test process
holding ~400 MB measures children that use less and more than it, and their exit status and
output come through as they are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measure  # noqa: E402

MB = 10**6
#: A Python child that allocates and touches argv[1] MB (every page written, so it is resident).
ALLOCATE = "import sys\nn = int(sys.argv[1]) * 10**6\nb = bytearray(n)\nb[::4096] = b'\\x01' * len(range(0, n, 4096))\n"


def touched(megabytes: int) -> bytearray:
    buf = bytearray(megabytes * MB)
    buf[::4096] = b"\x01" * len(range(0, len(buf), 4096))
    return buf


@pytest.fixture(scope="module")
def heavy_parent():
    """This process at >= 400 MB resident: with wait4's ru_maxrss every child would report as much."""
    buf = touched(400)
    yield
    del buf


def test_a_small_child_reports_its_own_peak_not_the_parents(heavy_parent):
    done = measure.run([sys.executable, "-c", ALLOCATE, "60"])
    assert done.status == 0
    assert 60 * MB <= done.peak <= 200 * MB


def test_a_large_child_reports_its_peak(heavy_parent):
    done = measure.run([sys.executable, "-c", ALLOCATE, "250"])
    assert 250 * MB <= done.peak < 400 * MB


def test_the_peak_is_the_largest_process_among_the_commands_descendants(heavy_parent):
    spawn = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {ALLOCATE!r}, '120'], check=True)\n"
    done = measure.run([sys.executable, "-c", spawn])
    assert 120 * MB <= done.peak <= 250 * MB


def test_the_exit_status_comes_through():
    assert measure.run([sys.executable, "-c", "import sys; sys.exit(3)"]).status == 3
    killed = measure.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
    assert killed.status == -15
    missing = measure.run(["no-such-command-roi-bench"], stderr=subprocess.PIPE)
    assert missing.status == 127
    assert "no-such-command-roi-bench" in missing.stderr


def test_the_commands_output_is_its_own(tmp_path):
    code = "import sys; print('out 1'); print('err', file=sys.stderr); print('out 2')"
    done = measure.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert (done.stdout, done.stderr) == ("out 1\nout 2\n", "err\n")
    assert done.peak > 0
    log = tmp_path / "log"
    with log.open("w") as out:
        measure.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    assert sorted(log.read_text().splitlines()) == ["err", "out 1", "out 2"]


def test_the_tree_peak_is_sampled_over_the_commands_processes():
    done = measure.run([sys.executable, "-c", ALLOCATE + "import time; time.sleep(0.6)\n", "80"], sample_tree=0.1)
    assert 80 * MB <= done.tree_peak <= done.peak + 20 * MB
