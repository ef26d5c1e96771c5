"""The raw layer of a warehouse as comparable rows, for tests that compare two ingestions."""

from __future__ import annotations

from pathlib import Path

import duckdb


def raw_tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every raw table's rows, sorted (row order inside a table is not part of the contract).

    A landed file's recorded modification time is left aside: it differs between two runs'
    folders, and it is recorded only when the file was older than ``RECENT_WRITE_NS`` when
    checked (``roi_pipeline.ingest``), so two ingestions a few seconds apart may differ in it.
    It is a hint for not hashing a file again, read by nothing downstream.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        ]
        out = {}
        for table in tables:
            columns = {r[0] for r in con.execute(f"describe raw.{table}").fetchall()}
            select = "* exclude (file_mtime_ns)" if "file_mtime_ns" in columns else "*"
            out[table] = sorted(con.execute(f"select {select} from raw.{table}").fetchall(), key=repr)
        return out
