"""Test set-up shared by the extract tests: client files, extract settings, connections, ingest."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from roi_pipeline.config import ClientConfig, load_client_file
from roi_pipeline.extract.http import HttpPolicy
from roi_pipeline.ingest import ingest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients"


def make_client(clients_dir: Path, client_id: str, example: str = "northwind-dental", **changes: Any) -> ClientConfig:
    data = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    data["client_id"] = client_id
    data.update(changes)
    clients_dir.mkdir(parents=True, exist_ok=True)
    path = clients_dir / f"{client_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_client_file(path)


def write_settings(clients_dir: Path, client_id: str, settings: dict[str, Any]) -> Path:
    path = clients_dir / "extract" / f"{client_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def connection_env(client_id: str, source: str, secret: str, **extra: Any) -> dict[str, str]:
    conn_id = f"roi_{client_id}_{source}".replace("-", "_")
    value = {"conn_type": "http", "password": secret, "extra": extra}
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value)}


def fast_policy(sleeps: list[float] | None = None, attempts: int = 4) -> HttpPolicy:
    record = sleeps if sleeps is not None else []
    return HttpPolicy(
        connect_timeout=2, read_timeout=5, attempts=attempts, backoff_initial=0.001, backoff_max=0.002,
        max_wait=5, sleep=record.append,
    )  # fmt: skip


def ingest_counts(landing: Path, warehouse: Path, clients: list[ClientConfig], table: str, key: str) -> dict[str, int]:
    """Ingest, then rows / distinct ids in ``raw.<table>`` and quarantined rows."""
    report = ingest(landing, warehouse, clients)
    assert not report.failed, [f.error for f in report.failed]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows, distinct = con.execute(f"select count(*), count(distinct {key}) from raw.{table}").fetchone()
        quarantined = con.execute("select count(*) from raw._quarantine").fetchone()[0]
        reasons = con.execute("select distinct reason from raw._quarantine limit 5").fetchall()
    finally:
        con.close()
    return {"rows": rows, "distinct": distinct, "quarantined": quarantined, "reasons": reasons}


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result, or fail the test when it has not returned after ``seconds`` (a loop
    that never ends fails instead of hanging the suite; the daemon thread is left behind)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # re-raised in the test's own thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the extract does not stop")
    if "error" in box:
        raise box["error"]
    return box["value"]


def landed_files(client_dir: Path) -> dict[str, tuple[bytes, int]]:
    """Every landing file of a client (data files and ``_extracts.json``, not the extractor's
    ``_extract/`` state) with its bytes and modification time: equal = nothing was written."""
    return {
        str(p.relative_to(client_dir)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(client_dir.rglob("*"))
        if p.is_file() and "_extract" not in p.relative_to(client_dir).parts
    }


def watermark(client_dir: Path, source: str) -> str | None:
    path = client_dir / "_extract" / f"{source}.state.json"
    return json.loads(path.read_text()).get("watermark") if path.is_file() else None
