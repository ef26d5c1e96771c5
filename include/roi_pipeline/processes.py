"""Worker processes: how many, and that none outlives the command that started it.

``roi report`` / ``roi run`` render client reports, and ``roi ingest`` parses files, in pools
of :func:`cores` processes. A worker must not go on after its parent is killed (a person
pressing Ctrl-C twice, a scheduler's SIGKILL): it would keep writing reports or hold the
command's output pipe open. :func:`die_with_parent` is each pool's initializer.
"""

from __future__ import annotations

import os
import signal
import sys


def cores() -> int:
    """The processors this process may run on (its CPU affinity): the default pool size."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process ``parent`` ends (Linux; elsewhere, no-op).

    The kernel sends SIGTERM to the worker when its parent exits (``PR_SET_PDEATHSIG``); a
    parent that ended before the worker got here is caught by comparing the parent id.
    """
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)
