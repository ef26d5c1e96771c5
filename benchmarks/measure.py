"""Run a command as a child process and measure its time and peak memory (the benchmarks' one way to).

Why a trampoline: on Linux the ``ru_maxrss`` that ``wait4`` reports for a child is at least the
parent's own peak RSS when it forked, since the child's memory map is copied with the parent's
high-water mark and exec records that mark in the child's maxrss; a bench holding 1.3 GiB sees
every child "peak" at 1.3 GiB. So :func:`run` starts a tiny fresh interpreter (``python -I -S -c``,
whose own mark after its exec is a few MiB), which spawns the command, waits for it and writes
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the largest single process among the command and the
descendants waited for) and the exit status to a side file, never to the command's stdout.

    done = measure.run(["roi", "build"], env=env, stdout=subprocess.DEVNULL)
    done.seconds, done.status, done.peak  # peak: bytes, largest process
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: The trampoline: ``argv[1]`` the side file, the rest the command. SIGTERM and SIGINT are passed
#: on to the command; the trampoline exits with the command's status (128 + N if killed by N).
TRAMPOLINE = """
import os, resource, signal, sys
side, argv = sys.argv[1], sys.argv[2:]
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as e:
    print(f"{argv[0]}: {e}", file=sys.stderr)
    sys.exit(127)
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda n, _f: os.kill(pid, n))
status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(side, "w") as f:
    f.write(f"{status} {kib * (1 if sys.platform == 'darwin' else 1024)}")
sys.exit(status if status >= 0 else 128 - status)
"""


@dataclass
class Measured:
    """A finished command: wall ``seconds``, exit ``status`` (as Popen's returncode: -N if killed by
    signal N), ``peak`` bytes RSS of its largest process (None if the trampoline itself died),
    ``tree_peak`` bytes RSS of its whole process tree (sampled; 0 unless asked), captured output."""

    seconds: float
    status: int
    peak: int | None
    tree_peak: int = 0
    stdout: str | None = None
    stderr: str | None = None


def run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdout: int | object | None = None,
    stderr: int | object | None = None,
    sample_tree: float | None = None,
) -> Measured:
    """Run ``argv`` through the trampoline and wait for it.

    ``stdout``/``stderr`` are as :class:`subprocess.Popen`'s (None: inherited; a file;
    ``subprocess.DEVNULL``, ``PIPE`` (captured as text), ``STDOUT``). ``sample_tree``: every that
    many seconds, sum the RSS of the command's process tree (psutil), kept as ``tree_peak``.
    """
    fd, side = tempfile.mkstemp(prefix="roi-measure-")
    os.close(fd)
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", TRAMPOLINE, side, *argv],
            env=env, cwd=cwd, stdout=stdout, stderr=stderr, text=True,
        )  # fmt: skip
        tree_peak, stop = [0], threading.Event()
        sampler = threading.Thread(target=_sample, args=(proc.pid, sample_tree, stop, tree_peak), daemon=True)
        if sample_tree:
            sampler.start()
        try:
            out, err = proc.communicate()
        except BaseException:  # e.g. Ctrl-C: the trampoline passes SIGTERM on to the command
            proc.terminate()
            proc.wait()
            raise
        finally:
            stop.set()
            if sample_tree:
                sampler.join()
        seconds = time.perf_counter() - started
        written = Path(side).read_text(encoding="utf-8").split()
    finally:
        os.unlink(side)
    status, peak = (int(written[0]), int(written[1])) if written else (proc.returncode, None)
    return Measured(seconds, status, peak, tree_peak[0], out, err)


def run_checked(argv: list[str], env: dict[str, str]) -> Measured:
    """``argv`` through :func:`run`, its output captured; a failure ends the benchmark with that output."""
    done = run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.status != 0:
        sys.exit(f"{' '.join(argv[:4])} failed ({done.status}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def _sample(pid: int, every: float, stop: threading.Event, peak: list[int]) -> None:
    """Keep in ``peak[0]`` the largest sum of RSS over the trampoline's descendants (not itself)."""
    import psutil

    try:
        trampoline = psutil.Process(pid)
        while not stop.wait(every):
            total = 0
            for p in trampoline.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
    except psutil.Error:
        return
