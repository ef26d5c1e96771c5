"""Worker processes: how many, and that none outlives the command that started it.

``roi report`` / ``roi run`` render client reports and ``roi check`` runs the quality gates in
pools of :func:`cores` spawned processes (:func:`pool_map`); ``roi ingest`` parses the changed
files of all its clients in a pool of forked processes (one per core, at most two, on Linux)
when they are large enough to repay it (``ROI_INGEST_WORKERS`` sets the number). A worker must not go on after its parent
is killed (a person pressing Ctrl-C twice, a scheduler's SIGKILL): it would keep writing
reports or hold the command's output pipe open. :func:`die_with_parent` is each pool's
initializer.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: Libraries whose INFO/WARNING lines a pool worker keeps to itself unless asked (``--verbose``).
_CHATTY_LOGGERS = ("weasyprint", "great_expectations")


def cores() -> int:
    """The processors this process may run on (its CPU affinity): the default pool size."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process ``parent`` ends (Linux; elsewhere, no-op).

    The kernel sends SIGTERM to the worker when its parent exits (``PR_SET_PDEATHSIG``); a
    parent that ended before the worker got here is caught by comparing the parent id. A
    forked worker inherits its parent's signal handlers (an Airflow task process's ignores a
    SIGTERM not meant for the task itself), so SIGTERM is first given back its default: it ends
    the worker.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


def pool_map(
    fn: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    crashed: Callable[[BaseException], T],
    *,
    verbose: bool = False,
) -> Iterator[T]:
    """``fn(*job)`` for every job, in a pool of ``workers`` processes when more than one; yields
    the results in the jobs' order. A job whose worker process died (or whose result could not
    be sent back) yields ``crashed(exception)``: ``fn`` is expected to turn its own failures
    into results, so one job's failure never stops the others.

    Workers are spawned (a clean interpreter each: no copy of this process's threads or open
    databases) and end with this process (:func:`die_with_parent`).
    """
    if workers <= 1 or len(jobs) <= 1:
        yield from (fn(*job) for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_pool_worker,
        initargs=(verbose, os.getpid()),
    ) as pool:
        futures = [pool.submit(fn, *job) for job in jobs]
        for future in futures:
            try:
                yield future.result()
            except Exception as exc:  # the worker process itself died
                yield crashed(exc)


def _pool_worker(verbose: bool, parent: int) -> None:
    die_with_parent(parent)  # a killed command leaves no worker writing on
    if not verbose:
        for name in _CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
