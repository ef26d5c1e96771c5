"""One writer at a time on the warehouse: an advisory lock file beside it, for every command.

DuckDB lets one process open a database file for writing, and no other process read it
meanwhile; a second process gets "Could not set lock on file" from whichever statement it
meets first. Two ``roi run`` started at once (a cron job and a person, or two people) would
then fail half-way, or, worse, one run's report step would fail because the other's ingest
had just opened the file.

So every command that touches the warehouse holds ``<warehouse>.lock`` (``fcntl.flock``) for
as long as it uses it: writers (ingest, dbt build, the quality gates' record, ``roi run``
for its whole length) exclusively, readers (``roi report``, ``roi status``) shared. A command
that finds it held says once which command holds it and since when, e.g.

    waiting: another `roi run --month 2026-10` (pid 4242) holds the warehouse /data/warehouse.duckdb since 2026-11-05T06:00:02Z

waits (at most ``ROI_WAREHOUSE_WAIT`` seconds, default 3600; tenacity retries the lock every
0.2 s), then goes on; past the wait it
stops with :class:`WarehouseBusy`, one line naming the holder. The kernel releases the lock
when its holder exits, however it exits (``kill -9`` too): there is no stale lock to clear.

The lock is re-entrant within a process: ``roi run`` takes it once, and the steps it calls
(which take it again) nest inside.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

#: Seconds a command waits for the warehouse before it gives up (``ROI_WAREHOUSE_WAIT``).
DEFAULT_WAIT_SECONDS = 3600.0
WAIT_ENV = "ROI_WAREHOUSE_WAIT"
_POLL_SECONDS = 0.2


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse for longer than this one was willing to wait."""


#: Locks this process holds: lock path -> [fd, exclusive, depth].
_held: dict[str, list] = {}


def _forget_in_child() -> None:
    """In a forked child (ingestion's parsing workers): close the copies of this process's lock
    descriptors, never unlocking them (the locks stay the parent's). A ``flock`` lasts while any
    descriptor of it is open, so a worker that outlived a killed parent would otherwise keep the
    warehouse locked for every later command."""
    for fd, _exclusive, _depth in _held.values():
        with suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def lock_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".lock")


def wait_seconds(environ: dict[str, str] | None = None) -> float:
    """``ROI_WAREHOUSE_WAIT`` (seconds, 0: do not wait), else the default."""
    env = os.environ if environ is None else environ
    raw = env.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise WarehouseBusy(f"{WAIT_ENV}={raw!r}: expected a number of seconds (0: do not wait)") from None
    return max(value, 0.0)


def _this_command() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if name in ("-c", "") or name.endswith(".py"):
        name = "python " + name if name else "python"
    return shlex.join([name, *sys.argv[1:]]) if sys.argv else name


def _holder(fd: int) -> list[str]:
    """Who holds the lock: [command, pid, since] as its writer recorded it ([] for readers)."""
    try:
        parts = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip().split("\t")
    except OSError:
        return []
    return parts if len(parts) == 3 else []


def _describe(holder: list[str], warehouse: Path, exclusive: bool) -> str:
    if holder:
        command, pid, since = holder
        return f"another `{command}` (pid {pid}) holds the warehouse {warehouse} since {since}"
    return f"another roi command is {'reading' if exclusive else 'writing'} the warehouse {warehouse}"


@contextmanager
def hold_warehouse(
    warehouse: Path,
    *,
    shared: bool = False,
    timeout: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's lock (exclusive, or ``shared`` for a reader) while in the block.

    Waits up to ``timeout`` seconds (default :func:`wait_seconds`) for another holder,
    telling ``say`` once (default: stderr) who it is waiting for.
    """
    path = lock_path(warehouse)
    key = str(path)
    if key in _held:  # this process holds it already: nest (a reader inside a writer too)
        entry = _held[key]
        if not shared and not entry[1]:
            raise RuntimeError(f"{path}: a shared hold cannot become exclusive; take it exclusively first")
        entry[2] += 1
        try:
            yield
        finally:
            entry[2] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = wait_seconds() if timeout is None else timeout
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, Path(warehouse).resolve(), shared, limit, say)
        if not shared:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{_this_command()}\t{os.getpid()}\t{stamp}\n".encode(), 0)
        _held[key] = [fd, not shared, 1]
        try:
            yield
        finally:
            del _held[key]
            if not shared:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class _Held(Exception):
    """The lock is held by another process (one attempt's outcome; retried until the wait ends)."""


def _acquire(fd: int, path: Path, warehouse: Path, shared: bool, limit: float, say) -> None:
    """Take the lock, retrying every ``_POLL_SECONDS`` (tenacity) for up to ``limit`` seconds."""
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB

    def attempt() -> None:
        try:
            fcntl.flock(fd, mode)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise _Held from None

    def tell(state: RetryCallState) -> None:  # before the first wait only: say it once
        if state.attempt_number == 1:
            line = f"waiting: {_describe(_holder(fd), warehouse, not shared)} (up to {limit:.0f}s)"
            (say or (lambda text: print(text, file=sys.stderr, flush=True)))(line)

    retrying = Retrying(
        retry=retry_if_exception_type(_Held),
        stop=stop_after_delay(limit),
        wait=wait_fixed(_POLL_SECONDS),
        before_sleep=tell,
    )
    try:
        retrying(attempt)
    except RetryError:
        waited = f"after waiting {limit:.0f}s" if limit else f"({WAIT_ENV}=0: not waiting)"
        raise WarehouseBusy(
            f"{_describe(_holder(fd), warehouse, not shared)}; gave up {waited}: "
            f"run again when it has finished (lock file {path})"
        ) from None
