"""The dbt project builds on PostgreSQL and gives the same marts as on DuckDB.

The sample raw layer (the session's DuckDB warehouse) is copied into a throwaway
PostgreSQL database, ``dbt build`` (models, data tests and unit tests) runs there on the
``postgres`` target, and every table of schema ``marts`` is compared with DuckDB's: same
columns, same row count, same rows after sorting by the grain key. Numbers compare as
floats with a relative tolerance of 1e-9 (PostgreSQL returns numeric where DuckDB returns
double or integer); strings, dates, timestamps and booleans compare exactly.

The server comes from the ``ROI_PG_*`` variables (profiles.yml's defaults: 127.0.0.1:5432,
user postgres). The test is skipped only when nothing listens there; the database it
creates is dropped afterwards, whatever happened.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.postgres import copy_raw_to_postgres, create_database, drop_database, dsn_from_env
from roi_pipeline.transform import run_dbt

pytestmark = pytest.mark.postgres

REL_TOL = 1e-9

# Grain key of each mart (its unique column): rows are paired by it. A mart not listed
# here is still compared, sorted by all its columns.
MART_KEYS: dict[str, tuple[str, ...]] = {
    "fct_automation_runs": ("run_key",),
    "fct_workflow_months": ("workflow_month_key",),
    "fct_client_months": ("client_month_key",),
    "fct_billing_credits": ("credit_key",),
    "rpt_portfolio_months": ("client_month_key",),
    "dim_clients": ("client_id",),
    "dim_workflows": ("workflow_id",),
    "fct_lead_responses": ("lead_key",),
    "fct_client_kpi_months": ("client_month_key",),
    "fct_inventory_months": ("inventory_month_key",),
    "fct_roadmap_candidate_months": ("candidate_month_key",),
}
REQUIRED_MARTS = {
    "fct_automation_runs",
    "fct_workflow_months",
    "fct_client_months",
    "fct_billing_credits",
    "rpt_portfolio_months",
    "dim_clients",
    "dim_workflows",
}


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """DSN of the server's administrative database; skips when nothing listens there.

    Session-scoped and requested first by the test, so an unreachable server skips before
    the (shared, slow) sample warehouse is built.
    """
    host = os.environ.get("ROI_PG_HOST", "127.0.0.1")
    port = int(os.environ.get("ROI_PG_PORT", "5432"))
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.skip(f"PostgreSQL server not reachable at {host}:{port} ({exc.__class__.__name__}: {exc})")
    return dsn_from_env(os.environ.get("ROI_PG_ADMIN_DATABASE", "postgres"))


@pytest.fixture
def pg_database(pg_admin_dsn):
    """A fresh, empty PostgreSQL database, dropped afterwards even when the test fails.

    Created with collation 'C' (strings sort by bytes, as in DuckDB), so string ordering
    (listagg order, tie-breaks of deduplication) is the same on both sides.
    """
    name = f"roi_parity_{os.getpid()}_{secrets.token_hex(4)}"
    create_database(pg_admin_dsn, name, collation="C")
    try:
        yield name
    finally:
        drop_database(pg_admin_dsn, name)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _sortable(value):
    """A sort key for one value: NULLs first, numbers by float (rounded: tie-breaks only)."""
    if value is None:
        return (0, 0)
    if _is_number(value):
        return (1, float(f"{float(value):.9g}"))
    return (2, value)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=0.0)
    return type(a) is type(b) and a == b


def _duckdb_marts(warehouse: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            cursor = con.execute(f'select * from marts."{table}"')
            columns = [d[0] for d in cursor.description]
            out[table] = (columns, [tuple(row) for row in cursor.fetchall()])
        return out
    finally:
        con.close()


def _postgres_marts(dsn: str) -> dict[str, tuple[list[str], list[tuple]]]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute("select table_name from information_schema.tables where table_schema = 'marts' order by 1")
            tables = [row[0] for row in cur.fetchall()]
            out = {}
            for table in tables:
                cur.execute(f'select * from marts."{table}"')
                columns = [d[0] for d in cur.description]
                out[table] = (columns, [tuple(row) for row in cur.fetchall()])
        return out
    finally:
        con.close()


def _sorted_rows(table: str, columns: list[str], rows: list[tuple]) -> list[tuple]:
    key_idx = [columns.index(c) for c in MART_KEYS.get(table, ()) if c in columns]
    return sorted(
        rows,
        key=lambda row: (
            tuple(_sortable(row[i]) for i in key_idx),
            tuple(_sortable(v) for v in row),
        ),
    )


def _differences(table: str, duck, pg, limit: int = 10) -> list[str]:
    duck_columns, duck_rows = duck
    pg_columns, pg_rows = pg
    if duck_columns != pg_columns:
        return [f"{table}: columns differ\n  duckdb:   {duck_columns}\n  postgres: {pg_columns}"]
    if len(duck_rows) != len(pg_rows):
        return [f"{table}: {len(duck_rows)} rows in DuckDB, {len(pg_rows)} in PostgreSQL"]
    found = []
    key_idx = [duck_columns.index(c) for c in MART_KEYS.get(table, ()) if c in duck_columns]
    for d_row, p_row in zip(_sorted_rows(table, duck_columns, duck_rows), _sorted_rows(table, pg_columns, pg_rows)):
        for i, column in enumerate(duck_columns):
            if not _same(d_row[i], p_row[i]):
                key = tuple(d_row[k] for k in key_idx) or "(whole row)"
                found.append(f"{table} {key} {column}: duckdb={d_row[i]!r} postgres={p_row[i]!r}")
                if len(found) >= limit:
                    return found
    return found


def test_marts_on_postgres_match_duckdb(pg_admin_dsn, sample_pipeline, pg_database, tmp_path, monkeypatch):
    dsn = dsn_from_env(pg_database)

    copied = copy_raw_to_postgres(sample_pipeline.warehouse, dsn)
    assert {"config_clients", "_landed_files", "_quarantine", "_ingest_log", "n8n_executions"} <= set(copied)
    assert copied["n8n_executions"] > 0

    monkeypatch.setenv("ROI_PG_DATABASE", pg_database)
    # For the postgres target run_dbt only places dbt's target/ and logs/ beside this path.
    result = run_dbt(["build"], tmp_path / "placeholder.duckdb", target="postgres", quiet=True)
    assert result.success, "dbt build on PostgreSQL failed:\n" + "\n".join(result.failures)

    duck = _duckdb_marts(sample_pipeline.warehouse)
    pg = _postgres_marts(dsn)
    assert set(duck) >= REQUIRED_MARTS, f"marts missing in DuckDB: {sorted(REQUIRED_MARTS - set(duck))}"
    assert set(pg) == set(duck), f"mart tables differ: DuckDB {sorted(duck)}, PostgreSQL {sorted(pg)}"

    problems = [p for table in sorted(duck) for p in _differences(table, duck[table], pg[table])]
    assert not problems, "PostgreSQL marts differ from DuckDB's:\n" + "\n".join(problems)
