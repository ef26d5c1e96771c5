"""The record of what was e-mailed: one JSON line per report sent, per client-month.

    <reports_dir>/_sent/<client_id>/<YYYY-MM>.jsonl

It lives beside the published tree, never inside ``<client>/<month>/`` (whose files are
byte-identical from one run to the next). Each line names the report sent by the SHA-256
of its ``report.pdf``, when it was sent (UTC), to whom, whether it was a restatement (a
report with other figures had been sent for the month before), and the figures it stated
(:func:`~roi_pipeline.report.document.figures_record`). The monthly DAG's e-mail step reads
it (:func:`says_the_same`) so a retry or a re-run does not send the same report twice, and a
restated month is sent again.

The same figures are the same report, whatever the PDF's bytes: the PDF is byte-identical
from one render to the next on one machine, but it names the code version that rendered it,
and its embedded fonts depend on the WeasyPrint and font subsetter of the machine. A month
re-run after a deployment, or on another worker, is not sent again as "restated".

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
from roi_pipeline.report.document import figure_changes, figures_record
from roi_pipeline.report.publish import fsync_dir, write_synced

#: The e-mail record: <reports>/_sent/<client>/<month>.jsonl
SENT_DIR = "_sent"

FIELDS = ("client_id", "month", "report_sha256", "sent_at", "recipients", "restated")
#: Kept when known: the figures the e-mailed report stated (entries written before have none).
OPTIONAL_FIELDS = ("figures",)


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
        if (
            not isinstance(entry, dict)
            or any(name not in entry for name in FIELDS)
            or not _figures_or_none(entry.get("figures"))
        ):
            raise ValueError(
                f"{path} line {number}: not an e-mail record entry (expected the fields {', '.join(FIELDS)}, "
                "and figures as the e-mail step records them, if any); "
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
    kept = {name: entry[name] for name in FIELDS} | {n: entry[n] for n in OPTIONAL_FIELDS if entry.get(n) is not None}
    line = json.dumps(kept, ensure_ascii=False) + "\n"
    temp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        write_synced(temp, before + line.encode("utf-8"))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _figures_or_none(value: Any) -> bool:
    """Whether an entry's ``figures`` is absent or a :func:`figures_record` (as JSON keeps it)."""
    return value is None or (
        isinstance(value, dict) and isinstance(value.get("figures"), dict) and "schema_version" in value
    )


def says_the_same(entry: dict[str, Any], report_sha256: str, figures: dict[str, Any] | None) -> bool:
    """Whether the report e-mailed in ``entry`` says what this one says.

    The same PDF, or the same figures (:func:`~roi_pipeline.report.document.figure_changes`
    finds none: the rule the renderer's restatement block follows). ``figures``: this report's
    :func:`~roi_pipeline.report.document.figures_record`, None when its report.json cannot be
    read; an entry recorded without figures is compared by its PDF alone.
    """
    if entry["report_sha256"] == report_sha256:
        return True
    if figures is None or entry.get("figures") is None:
        return False
    return not figure_changes(entry["figures"], figures)


def published_figures(directory: Path) -> dict[str, Any] | None:
    """The figures of the report published in ``directory`` (its ``report.json``), None when
    it has none that can be read (the PDF alone then identifies the report)."""
    try:
        document = json.loads((Path(directory) / "report.json").read_bytes())
    except (OSError, ValueError):
        return None
    return figures_record(document) if isinstance(document, dict) else None
