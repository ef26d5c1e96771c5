"""Helpers of the scenario tests that run ``roi`` on a generated sample in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import duckdb

from roi_pipeline.cli import main


def roi(base: Path, monkeypatch, *args: str) -> int:
    """``roi ARGS`` with every location under ``base`` (landing, clients, reports, warehouse)."""
    for name, sub in (("LANDING", "landing"), ("CLIENTS", "clients"), ("REPORTS", "reports")):
        monkeypatch.setenv(f"ROI_{name}_DIR", str(base / sub))
    monkeypatch.setenv("ROI_WAREHOUSE", str(base / "warehouse.duckdb"))
    return main(list(args))


def gate(base: Path, client_id: str, month: str) -> tuple[bool, list[str]]:
    """The publish decision recorded for a client-month (quality.gate_status): publishable, reasons."""
    con = duckdb.connect(str(base / "warehouse.duckdb"), read_only=True)
    try:
        publishable, reasons = con.execute(
            "select publishable, reasons from quality.gate_status where client_id = ? and month = ?",
            [client_id, month],
        ).fetchone()
    finally:
        con.close()
    return publishable, list(reasons)
