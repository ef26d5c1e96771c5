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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: The schema copied (every table and view in it; views are copied as tables).
SCHEMA = "marts"


class SnapshotFailed(RuntimeError):
    """The snapshot could not be written; the previous one, if any, is still in place."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: list[str]


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
                con.execute(f"attach '{_sql_string(temp)}' as roi_snapshot")
                try:
                    con.execute(f"create schema roi_snapshot.{SCHEMA}")
                    for table in tables:
                        con.execute(f'create table roi_snapshot.{SCHEMA}."{table}" as select * from {SCHEMA}."{table}"')
                    con.execute(
                        "create table roi_snapshot.main.snapshot_info as select "
                        "cast(? as timestamp) as taken_at_utc, ? as warehouse, ? as tables",
                        [datetime.now(UTC).replace(tzinfo=None), str(warehouse), tables],
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
    return Snapshot(snapshot, tables)


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
