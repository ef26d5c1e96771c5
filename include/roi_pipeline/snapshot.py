"""The marts for readers: a read-only copy of the warehouse's ``marts`` schema, after each build.

While the pipeline writes the warehouse, DuckDB lets no other process open it at all, so a
notebook or a BI tool pointed at ``warehouse.duckdb`` fails for as long as a run lasts. Readers
use the snapshot instead (``Locations.marts_snapshot``: ``marts_snapshot.duckdb`` beside the
warehouse, or ``ROI_MARTS_SNAPSHOT``), a separate DuckDB file holding a copy of every table
of the ``marts`` schema (the facts, the KPIs and the portfolio ``rpt_`` tables) under the same
names, so ``select * from marts.fct_client_months`` runs unchanged against either file.

:func:`publish_marts_snapshot` runs after every successful build (``roi build``, ``roi run``,
the monthly DAG's ``marts_snapshot`` task), holding the warehouse's lock as a writer
(:mod:`roi_pipeline.warehouse_lock`), so the copy is of one build and nothing writes the
marts meanwhile. It attaches a temporary file beside the snapshot, copies each table with
``CREATE TABLE ... AS SELECT`` (DuckDB streams it: memory stays bounded whatever the size),
detaches it (a checkpoint: no ``.wal`` is left) and swaps it in with :func:`os.replace`, which
is atomic: a reader that has the old file open keeps reading the old file, undisturbed, and
a connection opened afterwards gets the new one. A reader never waits and never sees half a
snapshot; the snapshot lags the warehouse by at most one build. A run killed while copying
leaves a hidden ``.marts_snapshot.duckdb.<pid>.tmp``, removed by the next publication.

The snapshot also holds ``main.snapshot_info``: when it was taken (UTC), from which warehouse,
and the tables it holds.

A month's build changes a few months of the runs fact (``fct_automation_runs``, the one table
that grows with every run: 10 M rows at 200 clients x 24 months, 9 s to copy), so its copy
is not rewritten each time: the previous snapshot of the same warehouse is copied as a file,
and only the partitions (client, run month) whose row count or order-free checksum of their
rows (``sum(hash(row))``) differ from the warehouse's are deleted and inserted again
(:data:`PARTITIONED`). The checksums are computed on both sides at every publication, so
whatever changed the warehouse (a month's build, a late file, a full build, a failed build
before it) the snapshot ends equal to it; a table whose columns changed, and a previous
snapshot that cannot be read or is of another warehouse, are copied whole. Deleted rows leave
holes DuckDB does not reclaim, so after a few months of partial updates (:data:`MAX_GROWTH`)
the snapshot is copied whole again (``main.snapshot_info.whole_copy_blocks``: the size of the
last whole copy, in DuckDB blocks).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

#: The schema copied (every table and view in it; views are copied as tables).
SCHEMA = "marts"
#: Tables updated partition by partition (their partition columns) when a previous snapshot of
#: the same warehouse exists; every other table is copied whole (they are small).
PARTITIONED: dict[str, tuple[str, ...]] = {"fct_automation_runs": ("client_id", "run_month")}
#: DuckDB does not give back the space of deleted rows inside a table's row groups, so every
#: partial update grows the file (at 200 clients x 24 months, 1 to 15 % a month, and its time
#: with it): once the file is this many times the blocks its last whole copy used (and
#: GROWTH_SLACK_BLOCKS more: a small snapshot's own bookkeeping), the next publication copies
#: whole.
MAX_GROWTH = 1.25
GROWTH_SLACK_BLOCKS = 64  # 16 MiB of DuckDB's 256 KiB blocks


class SnapshotFailed(RuntimeError):
    """The snapshot could not be written; the previous one, if any, is still in place."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: list[str]
    #: Tables updated from the previous snapshot: name -> (partitions replaced, partitions in all).
    patched: dict[str, tuple[int, int]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the step's log: the tables, and what a partial update replaced."""
        parts = [f"{len(self.tables)} tables"]
        parts += [
            f"{name}: {changed:,} of {total:,} partitions replaced" for name, (changed, total) in self.patched.items()
        ]
        return "; ".join(parts)


def publish_marts_snapshot(warehouse: Path, snapshot: Path) -> Snapshot:
    """Copy the warehouse's marts into ``snapshot`` (a new file swapped in atomically).

    Takes the warehouse's lock as a writer (re-entrant: inside ``roi build`` it is held already).
    Raises :class:`SnapshotFailed` with one line naming the file and the cause.
    """
    import duckdb

    from roi_pipeline.warehouse_lock import hold_warehouse

    warehouse, snapshot = Path(warehouse).resolve(), Path(snapshot).resolve()
    if snapshot == warehouse:
        raise SnapshotFailed(f"the marts snapshot {snapshot} is the warehouse itself: set ROI_MARTS_SNAPSHOT elsewhere")
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    temp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    patched: dict[str, tuple[int, int]] = {}
    with hold_warehouse(warehouse):
        # Only the lock's holder writes here: any temporary file is a killed run's leftover.
        for leftover in snapshot.parent.glob(f".{snapshot.name}.*.tmp"):
            _remove(leftover)
        try:
            with duckdb.connect(str(warehouse)) as con:
                tables = [
                    row[0]
                    for row in con.execute(
                        "select table_name from information_schema.tables "
                        "where table_catalog = current_database() and table_schema = ? order by table_name",
                        [SCHEMA],
                    ).fetchall()
                ]
                if not tables:
                    raise SnapshotFailed(f"the warehouse {warehouse} has no {SCHEMA} tables: run `roi build` first")
                previous, whole_copy_blocks = _previous_tables(con, snapshot, warehouse, temp)
                con.execute(f"attach '{_sql_string(temp)}' as roi_snapshot")
                try:
                    con.execute(f"create schema if not exists roi_snapshot.{SCHEMA}")
                    for table in sorted(set(previous) - set(tables)):
                        con.execute(f'drop table roi_snapshot.{SCHEMA}."{table}"')
                    for table in tables:
                        keys = PARTITIONED.get(table)
                        if keys and previous.get(table) == _columns(con, SCHEMA, table):
                            patched[table] = _replace_changed_partitions(con, table, keys)
                        else:
                            con.execute(f'drop table if exists roi_snapshot.{SCHEMA}."{table}"')
                            con.execute(
                                f'create table roi_snapshot.{SCHEMA}."{table}" as select * from {SCHEMA}."{table}"'
                            )
                    if not patched:  # a whole copy: the size later partial updates are measured against
                        con.execute("checkpoint roi_snapshot")
                        whole_copy_blocks = _blocks(con, "roi_snapshot")
                    con.execute(
                        "create or replace table roi_snapshot.main.snapshot_info as select "
                        "cast(? as timestamp) as taken_at_utc, ? as warehouse, ? as tables, "
                        "cast(? as bigint) as whole_copy_blocks",
                        [datetime.now(UTC).replace(tzinfo=None), str(warehouse), tables, whole_copy_blocks],
                    )
                finally:
                    con.execute("detach roi_snapshot")
            os.replace(temp, snapshot)
        except SnapshotFailed:
            _remove(temp)
            raise
        except (duckdb.Error, OSError) as exc:
            _remove(temp)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SnapshotFailed(
                f"could not write the marts snapshot {snapshot}: {first} (the previous snapshot is unchanged)"
            ) from exc
    return Snapshot(snapshot, tables, patched)


def _columns(con, schema: str, table: str, catalog: str | None = None) -> list[tuple[str, str]]:
    """A table's columns and types, in order."""
    where = f'{catalog}.{schema}."{table}"' if catalog else f'{schema}."{table}"'
    return [(row[0], row[1]) for row in con.execute(f"describe {where}").fetchall()]


def _blocks(con, catalog: str, which: str = "used_blocks") -> int:
    """An attached database's size in DuckDB blocks: ``used_blocks`` or ``total_blocks`` (the file)."""
    query = f"select {which} from pragma_database_size() where database_name = ?"
    return con.execute(query, [catalog]).fetchone()[0]


def _previous_tables(
    con, snapshot: Path, warehouse: Path, temp: Path
) -> tuple[dict[str, list[tuple[str, str]]], int | None]:
    """Start ``temp`` from the previous snapshot of this warehouse: its marts tables and their
    columns, and the size of the last whole copy it descends from (DuckDB blocks).

    Nothing (and no file at ``temp``) when there is no previous snapshot, it cannot be read, it
    was taken of another warehouse, or it has grown past :data:`MAX_GROWTH` times its last whole
    copy: every table is then copied whole.
    """
    import duckdb

    if not snapshot.is_file():
        return {}, None
    try:
        shutil.copyfile(snapshot, temp)
        con.execute(f"attach '{_sql_string(temp)}' as roi_previous")
        try:
            taken_of, whole_copy_blocks = con.execute(
                "select warehouse, whole_copy_blocks from roi_previous.main.snapshot_info"
            ).fetchone()
            if taken_of != str(warehouse):
                raise LookupError("another warehouse's snapshot")
            grown_past = (
                max(MAX_GROWTH * whole_copy_blocks, whole_copy_blocks + GROWTH_SLACK_BLOCKS) if whole_copy_blocks else 0
            )
            if _blocks(con, "roi_previous", "total_blocks") > grown_past:
                raise LookupError("grown by replaced partitions: copy it whole again")
            names = con.execute(
                "select table_name from information_schema.tables where table_catalog = 'roi_previous' "
                "and table_schema = ?",
                [SCHEMA],
            ).fetchall()
            return {name: _columns(con, SCHEMA, name, "roi_previous") for (name,) in names}, whole_copy_blocks
        finally:
            con.execute("detach roi_previous")
    except (duckdb.Error, OSError, LookupError, TypeError):
        _remove(temp)
        return {}, None


def _replace_changed_partitions(con, table: str, keys: tuple[str, ...]) -> tuple[int, int]:
    """Make the snapshot's ``table`` equal to the warehouse's, replacing only the partitions
    (values of ``keys``) whose row count or order-free checksum differ. Returns (replaced, all).
    """
    source, target = f'{SCHEMA}."{table}"', f'roi_snapshot.{SCHEMA}."{table}"'
    columns = ", ".join(f'"{key}"' for key in keys)
    either = ", ".join(f'coalesce(w."{key}", s."{key}") as "{key}"' for key in keys)
    same_keys = " and ".join(f'w."{key}" is not distinct from s."{key}"' for key in keys)
    in_changed = "exists (select 1 from roi_partitions as p where p.changed and {})".format(
        " and ".join(f'p."{key}" is not distinct from t."{key}"' for key in keys)
    )

    def fingerprints(relation: str) -> str:
        return f"select {columns}, count(*) as n, sum(hash(t)::hugeint) as h from {relation} as t group by all"

    con.execute(
        f"create or replace temp table roi_partitions as select {either}, w.n is not null as in_source, "
        "(w.n is distinct from s.n or w.h is distinct from s.h) as changed "
        f"from ({fingerprints(source)}) as w full outer join ({fingerprints(target)}) as s on {same_keys}"
    )
    replaced, total = con.execute(
        "select count(*) filter (where changed), count(*) filter (where in_source) from roi_partitions"
    ).fetchone()
    if replaced:
        con.execute(f"delete from {target} as t where {in_changed}")
        con.execute(f"insert into {target} select * from {source} as t where {in_changed}")
    con.execute("drop table roi_partitions")
    rows, copied = con.execute(f"select (select count(*) from {source}), (select count(*) from {target})").fetchone()
    if rows != copied:
        raise SnapshotFailed(f"the partial update of {table} left {copied:,} rows for the warehouse's {rows:,}")
    return replaced, total


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
