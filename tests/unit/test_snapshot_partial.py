"""The marts snapshot updated from the previous one (roi_pipeline.snapshot): after any change to
the warehouse's marts, the snapshot holds exactly the warehouse's rows (compared here row for row
with EXCEPT ALL, both ways), replacing only the partitions that changed; anything it cannot
trust (another warehouse's snapshot, an unreadable file, changed columns) is copied whole."""

from __future__ import annotations

import duckdb
import pytest

from roi_pipeline.snapshot import PARTITIONED, publish_marts_snapshot

RUNS = "fct_automation_runs"


def make_warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            f"create table marts.{RUNS} as select 'c' || (i % 3) as client_id, "
            "date '2026-01-01' + to_months(cast(i % 4 as integer)) as run_month, "
            "'r' || i as run_id, i * 1.5 as llm_cost from range(1200) as r(i)"
        )
        con.execute("create table marts.dim_clients as select 'c' || i as client_id from range(3) as r(i)")


def differences(warehouse, snapshot) -> dict[str, int]:
    """Rows in one file's marts table and not the other's (with multiplicity), per table of either."""
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as w (read_only)")
        con.execute(f"attach '{snapshot}' as s (read_only)")
        names = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        out = {}
        for name in sorted(names):
            try:
                out[name] = con.execute(
                    f"select (select count(*) from (select * from w.marts.{name} except all select * from s.marts.{name}))"
                    f" + (select count(*) from (select * from s.marts.{name} except all select * from w.marts.{name}))"
                ).fetchone()[0]
            except duckdb.Error as exc:  # a table on one side only, or different columns
                out[name] = str(exc).splitlines()[0]
        return out


@pytest.fixture
def files(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "marts_snapshot.duckdb"
    make_warehouse(warehouse)
    first = publish_marts_snapshot(warehouse, snapshot)
    assert first.patched == {}, "the first snapshot is a whole copy"
    return warehouse, snapshot


def change(warehouse, *statements):
    with duckdb.connect(str(warehouse)) as con:
        for statement in statements:
            con.execute(statement)


def test_the_runs_fact_is_partitioned_by_client_and_month():
    assert PARTITIONED == {RUNS: ("client_id", "run_month")}


def test_nothing_changed_replaces_nothing(files):
    warehouse, snapshot = files
    again = publish_marts_snapshot(warehouse, snapshot)
    assert again.patched == {RUNS: (0, 12)}
    assert set(differences(warehouse, snapshot).values()) == {0}


def test_changed_deleted_added_and_null_partitions_are_replaced(files):
    warehouse, snapshot = files
    change(
        warehouse,
        # a value changed, same row count (c0, January); a partition gone (c1, February);
        # a new month (c2, May); a row with no client (null key) in a new partition
        f"update marts.{RUNS} set llm_cost = llm_cost + 1 where run_id = 'r0'",
        f"delete from marts.{RUNS} where client_id = 'c1' and run_month = date '2026-02-01'",
        f"insert into marts.{RUNS} values ('c2', date '2026-05-01', 'new', 1.0), (null, date '2026-05-01', 'x', 2.0)",
        "insert into marts.dim_clients values ('c3')",
    )
    published = publish_marts_snapshot(warehouse, snapshot)
    assert published.patched == {RUNS: (4, 13)}  # c0/Jan, c1/Feb (gone), c2/May, null/May
    assert differences(warehouse, snapshot) == {RUNS: 0, "dim_clients": 0}
    assert "4 of 13 partitions replaced" in published.summary()


def test_changed_columns_dropped_tables_and_a_rebuilt_fact(files):
    warehouse, snapshot = files
    change(
        warehouse,
        f"alter table marts.{RUNS} add column tasks integer default 1",
        "drop table marts.dim_clients",
        "create table marts.dim_workflows as select 1 as workflow_key",
    )
    published = publish_marts_snapshot(warehouse, snapshot)
    assert published.patched == {}, "columns changed: copied whole"
    assert differences(warehouse, snapshot) == {RUNS: 0, "dim_workflows": 0}
    # a full rebuild with the same rows in another order: nothing to replace
    change(warehouse, f"create or replace table marts.{RUNS} as select * from marts.{RUNS} order by run_id desc")
    assert publish_marts_snapshot(warehouse, snapshot).patched == {RUNS: (0, 12)}
    assert differences(warehouse, snapshot) == {RUNS: 0, "dim_workflows": 0}


def test_another_warehouses_or_an_unreadable_snapshot_is_copied_whole(files, tmp_path):
    warehouse, snapshot = files
    other = tmp_path / "other.duckdb"
    make_warehouse(other)
    change(other, f"delete from marts.{RUNS} where client_id = 'c0'")
    moved = publish_marts_snapshot(other, snapshot)  # the snapshot path now used for another warehouse
    assert moved.patched == {}
    assert set(differences(other, snapshot).values()) == {0}
    snapshot.write_bytes(b"not a database")
    assert publish_marts_snapshot(warehouse, snapshot).patched == {}
    assert set(differences(warehouse, snapshot).values()) == {0}
    assert not list(tmp_path.glob(".marts_snapshot*")), "no temporary file is left behind"


def test_a_snapshot_grown_by_partial_updates_is_copied_whole_again(files, monkeypatch):
    import roi_pipeline.snapshot as snapshot_module

    warehouse, snapshot = files
    with duckdb.connect(str(snapshot), read_only=True) as con:
        whole = con.execute("select whole_copy_blocks from main.snapshot_info").fetchone()[0]
        used = con.execute("select total_blocks from pragma_database_size()").fetchone()[0]
    assert 0 < whole <= used
    monkeypatch.setattr(snapshot_module, "GROWTH_SLACK_BLOCKS", 0)
    monkeypatch.setattr(snapshot_module, "MAX_GROWTH", (used - 0.5) / whole)  # just below its size now
    assert publish_marts_snapshot(warehouse, snapshot).patched == {}, "grown past the bound: a whole copy"
    monkeypatch.setattr(snapshot_module, "MAX_GROWTH", 1000.0)
    assert publish_marts_snapshot(warehouse, snapshot).patched == {RUNS: (0, 12)}
    assert set(differences(warehouse, snapshot).values()) == {0}
