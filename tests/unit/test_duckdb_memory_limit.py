"""DuckDB's memory bound is one deployment setting: ingestion connects with it, `roi build` hands it
to dbt, and the profile's own default (dbt run by hand) is the same."""

from __future__ import annotations

import re

import duckdb
import pytest

from roi_pipeline import ingest, settings, transform


def limit_in_bytes(text: str) -> int:
    with duckdb.connect(config={"memory_limit": text}) as con:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_ingestion_connects_with_the_deployments_memory_limit(tmp_path, monkeypatch):
    for value in ("300MB", None):
        if value:
            monkeypatch.setenv("ROI_DUCKDB_MEMORY_LIMIT", value)
        else:
            monkeypatch.delenv("ROI_DUCKDB_MEMORY_LIMIT", raising=False)
        con = ingest.connect(tmp_path / f"w-{value}.duckdb")
        try:
            got = con.execute("select current_setting('memory_limit')").fetchone()[0]
        finally:
            con.close()
        assert got == limit_in_bytes(value or "1GB")


def test_ingestion_checkpoints_once_and_leaves_no_wal(tmp_path):
    """A checkpoint per 16 MiB of WAL cost most of a month's writing: ingestion's connection
    checkpoints when it closes, and the warehouse it leaves holds everything in its file."""
    warehouse = tmp_path / "w.duckdb"
    con = ingest.connect(warehouse)
    try:
        threshold = con.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
        con.execute("create table t (n bigint, pad varchar)")
        for start in range(0, 200_000, 5_000):  # small appends go through the WAL
            con.execute(f"insert into t select range, repeat('x', 200) from range({start}, {start + 5_000})")
        assert warehouse.with_name("w.duckdb.wal").stat().st_size > 16 * 2**20  # past DuckDB's default
    finally:
        con.close()
    with duckdb.connect(config={"checkpoint_threshold": ingest.CHECKPOINT_THRESHOLD}) as plain:
        assert threshold == plain.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    assert not warehouse.with_name("w.duckdb.wal").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 200000


def test_a_limit_duckdb_cannot_read_is_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ROI_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="ROI_DUCKDB_MEMORY_LIMIT='lots' is not a memory size"):
        ingest.connect(tmp_path / "w.duckdb")


def test_the_profiles_default_is_the_settings_default():
    profile = (settings.PROJECT_DIR / "dbt_project" / "profiles.yml").read_text()
    found = re.search(r"memory_limit: \"\{\{ env_var\('ROI_DUCKDB_MEMORY_LIMIT', '([^']+)'\) \}\}\"", profile)
    assert found, "profiles.yml no longer reads ROI_DUCKDB_MEMORY_LIMIT"
    assert found.group(1) == settings.DUCKDB_MEMORY_LIMIT[1]


def test_roi_build_hands_the_limit_to_dbt(tmp_path, monkeypatch):
    seen = {}

    class Runner:
        def __init__(self, callbacks=None):
            pass

        def invoke(self, args):
            import os

            seen["limit"] = os.environ.get("ROI_DUCKDB_MEMORY_LIMIT")

            class Result:
                success, exception, result = True, None, None

            return Result()

    import dbt.cli.main

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.delenv("ROI_DUCKDB_MEMORY_LIMIT", raising=False)
    transform.run_dbt(["parse"], tmp_path / "w.duckdb")
    assert seen["limit"] == "1GB"
    monkeypatch.setenv("ROI_DUCKDB_MEMORY_LIMIT", "2GB")
    transform.run_dbt(["parse"], tmp_path / "w.duckdb")
    assert seen["limit"] == "2GB"
