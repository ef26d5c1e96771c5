"""The incident record: what is open, and which messages went out, per client.

    <reports_dir>/_alerts/<client_id>.json          open incidents, and resolved ones whose
                                                    resolution message has not gone out yet
    <reports_dir>/_alerts/<client_id>.history.jsonl one line per incident closed and told

An incident is keyed (client, kind, subject). :func:`reconcile` applies one detection to the
record: a new finding opens an incident, a finding still present changes nothing, an open
incident whose (client, kind) was judged and not found is resolved. Each incident carries,
per message (``opened``, ``resolved``), the channels it was delivered to and when, so a
message is sent once per channel and a failed channel is retried alone. The file is
written whole beside itself and renamed over the old one (as the e-mail record is).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roi_pipeline.alerts.detect import Finding
from roi_pipeline.report.publish import fsync_dir, write_synced

ALERTS_DIR = "_alerts"


def state_path(reports_dir: Path, client_id: str) -> Path:
    return Path(reports_dir) / ALERTS_DIR / f"{client_id}.json"


def iso(moment: datetime) -> str:
    """``2026-10-12T09:00:00Z`` (a naive value is UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_state(path: Path) -> dict[str, dict[str, Any]]:
    """Incidents by key (``kind|subject``); {} when the client never had one."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        incidents = data["incidents"]
        assert isinstance(incidents, dict)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ValueError(f"{path}: not an alert record ({exc}); fix or remove the file") from exc
    return incidents


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        write_synced(temp, data)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_state(path: Path, client_id: str, incidents: dict[str, dict[str, Any]]) -> None:
    body = {"client_id": client_id, "incidents": dict(sorted(incidents.items()))}
    _write(path, (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def append_history(path: Path, closed: Iterable[dict[str, Any]]) -> None:
    lines = [json.dumps(i, sort_keys=True, ensure_ascii=False) + "\n" for i in closed]
    if not lines:
        return
    history = path.with_name(path.stem + ".history.jsonl")
    before = history.read_bytes() if history.is_file() else b""
    _write(history, before + "".join(lines).encode("utf-8"))


def reconcile(
    incidents: dict[str, dict[str, Any]],
    findings: Iterable[Finding],
    evaluated_kinds: set[str],
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Apply one detection to a client's incidents in place; returns (opened keys, resolved keys).

    A resolved incident that comes back before its resolution was told is open again (the
    pending resolution is dropped: nobody needs "cleared" followed by "open").
    """
    stamp = iso(now)
    opened, resolved = [], []
    seen = set()
    for f in findings:
        seen.add(f.key)
        current = incidents.get(f.key)
        if current is None:
            incidents[f.key] = {
                "kind": f.kind, "subject": f.subject, "status": "open", "opened_at": stamp,
                "summary": f.summary, "resolved_at": None, "sent": {"opened": {}, "resolved": {}},
            }  # fmt: skip
            opened.append(f.key)
        elif current["status"] == "resolved":
            current.update(status="open", resolved_at=None)
            current["sent"]["resolved"] = {}
    for key, incident in incidents.items():
        if incident["status"] == "open" and key not in seen and incident["kind"] in evaluated_kinds:
            incident.update(status="resolved", resolved_at=stamp)
            resolved.append(key)
    return opened, resolved
