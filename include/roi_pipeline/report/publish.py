"""Atomic publication of a report directory.

All files of a report are written into a hidden temporary directory beside the final one
(same file system), each fsynced, then the directory takes the final name in one step:
on Linux ``renameat2(RENAME_EXCHANGE)`` swaps the new directory with the published one
atomically; elsewhere (or on file systems without it) the old directory is renamed aside
and the new one renamed in, a window of two renames in which the month's directory is
briefly absent but never half-written. A crash leaves at most a hidden ``.<name>.tmp-*``
(or ``.<name>.old-*``) directory, which the next publication of that month cleans up, and
restores first when the crash happened between the two renames.

One writer per client-month is enforced with an advisory lock (``.<name>.lock``).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def write_synced(path: Path, content: bytes) -> None:
    """Write ``content`` to a new file and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


@contextmanager
def locked(final: Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside ``final`` (blocks while another writer holds it)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(final.parent / f".{final.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def recover(final: Path) -> None:
    """Clean up after a crashed publication of ``final`` (call while holding the lock)."""
    parent = final.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{final.name}.old-*"))
    if not final.exists() and olds:
        os.rename(olds.pop(), final)  # crashed between the two renames: put the report back
    for leftover in [*olds, *parent.glob(f".{final.name}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def publish_dir(final: Path, files: dict[str, bytes]) -> None:
    """Make ``final`` contain exactly ``files``, atomically (call while holding the lock)."""
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=parent))
    try:
        os.chmod(staging, 0o755)
        for name, content in files.items():
            write_synced(staging / name, content)
        fsync_dir(staging)
        if not final.exists():
            os.rename(staging, final)
        elif not _exchange(staging, final):
            aside = parent / (staging.name.replace(".tmp-", ".old-", 1))
            os.rename(final, aside)
            os.rename(staging, final)
            staging = aside
        # after an exchange, ``staging`` holds the previous report
        fsync_dir(parent)
    finally:
        # the new files if publication failed, the previous report's if it succeeded
        shutil.rmtree(staging, ignore_errors=True)
