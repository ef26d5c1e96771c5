"""The record of what was e-mailed: one JSON line per report sent, per client-month.

    <reports_dir>/_sent/<client_id>/<YYYY-MM>.jsonl

It lives beside the published tree, never inside ``<client>/<month>/`` (whose files are
byte-identical from one run to the next). Each line names the report sent by the SHA-256
of its ``report.pdf`` (the PDF is deterministic: the same figures give the same bytes),
when it was sent (UTC), to whom, and whether it was a restatement (a different report had
been sent for the month before). The monthly DAG's e-mail step reads it so a retry or a
re-run does not send the same report twice, and a restated month is sent again.

A line is added by writing the whole file anew beside it (fsynced) and renaming it over the
old one, so a reader sees the file before or after the line, never half a line. Callers
hold :func:`~roi_pipeline.report.publish.locked` on the log while they check, send and
record, so two runs of one client-month cannot both send.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from roi_pipeline.ingest import file_sha256  # noqa: F401  (the one file hash: steps.email_client reads it here)
from roi_pipeline.report.publish import fsync_dir, write_synced

#: The e-mail record: <reports>/_sent/<client>/<month>.jsonl
SENT_DIR = "_sent"

FIELDS = ("client_id", "month", "report_sha256", "sent_at", "recipients", "restated")


def sent_log(reports_dir: Path, client_id: str, month: str) -> Path:
    """Where the client-month's e-mail record is: never inside the published ``<client>/<month>/``."""
    return Path(reports_dir) / SENT_DIR / client_id / f"{month}.jsonl"


def read_sent(path: Path) -> list[dict[str, Any]]:
    """The entries of an e-mail record, oldest first ([] when nothing was sent yet).

    A line that is not an entry raises ``ValueError`` naming the file and line.
    """
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or any(name not in entry for name in FIELDS):
            raise ValueError(
                f"{path} line {number}: not an e-mail record entry (expected the fields {', '.join(FIELDS)}); "
                "fix or remove the line"
            )
        entries.append(entry)
    return entries


def record_sent(path: Path, entry: dict[str, Any]) -> None:
    """Add ``entry`` as one line, atomically (the new file is renamed over the old one)."""
    missing = [name for name in FIELDS if name not in entry]
    if missing:
        raise ValueError(f"e-mail record entry lacks {', '.join(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_bytes() if path.is_file() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    line = json.dumps({name: entry[name] for name in FIELDS}, ensure_ascii=False) + "\n"
    temp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        write_synced(temp, before + line.encode("utf-8"))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
