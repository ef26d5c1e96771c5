"""Gate results in the warehouse (schema ``quality``) and the publish decision read back from it.

- ``quality.validation_results``: every evaluated expectation of every gate run (append-only
  history: run id, client, month, gate, suite, expectation, defect, severity, success,
  observed value, message, validated_at);
- ``quality.gate_results``: the latest outcome per client, month and gate;
- ``quality.gate_status``: one row per client-month: ``publishable`` and the ``reasons`` it
  is held back (or the ``notes`` it carries). It is derived from ``gate_results`` only, so it
  never depends on the wall clock: same inputs, same decision and the same words.

A report may be published only when both gates have passed for the month. A new raw-gate
run clears the month's mart result: the marts must be checked again once they are rebuilt
from the newly checked inputs. DuckDB has a single writer: a connection is open only while
this module reads or writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from roi_pipeline.quality.results import Finding, GateResult, GateStatus

SCHEMA = "quality"

_DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.validation_results (
        run_id varchar, client_id varchar, month varchar, gate varchar, suite varchar,
        expectation varchar, defect varchar, severity varchar, success boolean,
        observed_value varchar, message varchar, validated_at timestamp
    )""",
    f"""create table if not exists {SCHEMA}.gate_results (
        client_id varchar, month varchar, gate varchar, publishable boolean,
        blocking_defects varchar[], warning_defects varchar[], reasons varchar[], notes varchar[],
        expectations_evaluated integer, run_id varchar, validated_at timestamp
    )""",
    f"""create table if not exists {SCHEMA}.gate_status (
        client_id varchar, month varchar, publishable boolean, reasons varchar[], notes varchar[],
        raw_publishable boolean, mart_publishable boolean
    )""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)


def _defects(findings: list[Finding]) -> list[str]:
    return list(dict.fromkeys(f.defect for f in findings))


def write_results(
    warehouse: Path,
    results: list[GateResult],
    evaluations: list[dict],
    validated_at: datetime,
) -> None:
    """Record a gate run: its evaluated expectations, per-gate outcomes and the client-months' status."""
    from roi_pipeline.warehouse_lock import hold_warehouse

    with hold_warehouse(warehouse):  # one writer at a time, whoever calls
        _write_results(warehouse, results, evaluations, validated_at)


def _write_results(
    warehouse: Path,
    results: list[GateResult],
    evaluations: list[dict],
    validated_at: datetime,
) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        ensure_schema(con)
        con.execute("begin transaction")
        for row in evaluations:
            con.execute(
                f"insert into {SCHEMA}.validation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row["run_id"],
                    row["client_id"],
                    row["month"],
                    row["gate"],
                    row["suite"],
                    row["expectation"],
                    row["defect"],
                    row["severity"],
                    row["success"],
                    row["observed"],
                    row["message"],
                    validated_at,
                ],
            )
        for result in results:
            key = [result.client_id, result.month]
            con.execute(
                f"delete from {SCHEMA}.gate_results where client_id = ? and month = ? and gate = ?",
                [*key, result.gate],
            )
            if result.gate == "raw":  # the marts must be re-checked after a new raw check
                con.execute(
                    f"delete from {SCHEMA}.gate_results where client_id = ? and month = ? and gate = 'mart'", key
                )
            con.execute(
                f"insert into {SCHEMA}.gate_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    *key,
                    result.gate,
                    result.publishable,
                    _defects(result.blocking_failures),
                    _defects(result.warnings),
                    result.reasons,
                    result.notes,
                    result.evaluated,
                    result.run_id,
                    validated_at,
                ],
            )
            _refresh_status(con, result.client_id, result.month)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()


def _refresh_status(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> None:
    status = _derive(con, client_id, month)
    con.execute(f"delete from {SCHEMA}.gate_status where client_id = ? and month = ?", [client_id, month])
    con.execute(
        f"insert into {SCHEMA}.gate_status values (?, ?, ?, ?, ?, ?, ?)",
        [
            client_id,
            month,
            status.publishable,
            status.reasons,
            status.notes,
            status.raw_publishable,
            status.mart_publishable,
        ],
    )


def _derive(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> GateStatus:
    rows = con.execute(
        f"select gate, publishable, reasons, notes from {SCHEMA}.gate_results where client_id = ? and month = ?",
        [client_id, month],
    ).fetchall()
    by_gate = {gate: (ok, list(reasons or []), list(notes or [])) for gate, ok, reasons, notes in rows}
    reasons: list[str] = []
    notes: list[str] = []
    for gate, label in (("raw", "raw-input"), ("mart", "mart")):
        if gate not in by_gate:
            reasons.append(f"{client_id} {month}: {label} quality gate has not run (or must run again)")
            continue
        reasons.extend(by_gate[gate][1])
        notes.extend(by_gate[gate][2])
    raw_ok = by_gate["raw"][0] if "raw" in by_gate else None
    mart_ok = by_gate["mart"][0] if "mart" in by_gate else None
    return GateStatus(client_id, month, bool(raw_ok and mart_ok), reasons, notes, raw_ok, mart_ok)


def gate_status(warehouse: Path, client_id: str, month: str) -> GateStatus:
    """The publish decision for a client's report of ``month`` ('YYYY-MM'), as recorded.

    Not publishable when a gate failed on a blocking expectation or has not run for the
    month; ``reasons`` then says why, and ``notes`` lists the warnings a published report
    must carry.
    """
    return gate_statuses(warehouse, [client_id], month)[client_id]


def gate_statuses(warehouse: Path, client_ids: Sequence[str], month: str) -> dict[str, GateStatus]:
    """:func:`gate_status` of each client, read through one connection (at 200 clients, opening
    the warehouse once per client cost seconds)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return {
            cid: GateStatus(cid, month, False, [f"{cid} {month}: no warehouse at {warehouse}"], [], None, None)
            for cid in client_ids
        }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = 'gate_results'",
            [SCHEMA],
        ).fetchall()[0][0]
        if not exists:
            return {
                cid: GateStatus(cid, month, False, [f"{cid} {month}: the quality gates have never run"], [], None, None)
                for cid in client_ids
            }
        return {cid: _derive(con, cid, month) for cid in client_ids}
    finally:
        con.close()


def dumps(value: object) -> str:
    """Compact, deterministic JSON for observed values (timestamps and numpy scalars as text)."""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
