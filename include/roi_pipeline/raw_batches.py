"""Parsed rows as Arrow tables typed by the raw layer's columns, and written to DuckDB.

Ingestion parses a file into Python rows (:mod:`roi_pipeline.formats`); this module turns
them into one Arrow table per raw table, typed by the table's :class:`Column` list, and
inserts a batch of such tables with one statement per table. Arrow is the hand-over
because it is columnar: a worker process hands a parsed file back as a few buffers (Arrow
streams in a spool file, ``ingest._spool``) instead of pickling every row, and DuckDB scans
it without converting a value at a time (as it must for Python objects).

A column whose values do not fit its declared type (a number in a text column) is kept as
Arrow infers it, or as text, and the insert's ``cast`` decides: it converts what the
database converts and refuses what it refuses, so such a file fails alone as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from roi_pipeline.formats import Column

#: DuckDB column type -> the Arrow type its values travel as.
ARROW_TYPES: dict[str, pa.DataType] = {
    "varchar": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "varchar[]": pa.list_(pa.string()),
}


def _array(values: list[Any], type_: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type=type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        pass
    try:  # the insert's cast converts it, or refuses the file
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def arrow_table(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    constants: Mapping[str, Any] | None = None,
    *,
    typed: Mapping[str, pa.Array] | None = None,
    **lists: Sequence[Any],
) -> pa.Table:
    """``rows`` as a table with one column per ``columns`` (a key a row lacks is null).

    ``constants``: columns with one value for every row (a file's lineage); ``lists``:
    columns given whole, one value per row (the rows' record numbers); ``typed``: columns
    given whole as Arrow arrays of their declared type (a format's columnar parse: ``rows``
    then only says how many there are).
    """
    constants, typed = constants or {}, typed or {}
    arrays, names = [], []
    for column in columns:
        type_ = ARROW_TYPES.get(column.type, pa.string())
        if column.name in typed:
            array = typed[column.name]
            if array.type != type_ or len(array) != len(rows):
                raise TypeError(f"{column.name}: {len(array)} values of {array.type}, expected {len(rows)} of {type_}")
            arrays.append(array)
            names.append(column.name)
            continue
        if column.name in constants:
            values = [constants[column.name]] * len(rows)
        elif column.name in lists:
            values = list(lists[column.name])
        else:
            name = column.name
            values = [row.get(name) for row in rows]
        arrays.append(_array(values, type_))
        names.append(column.name)
    return pa.Table.from_arrays(arrays, names=names)


def insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[Column], parts: Iterable[pa.Table]) -> None:
    """Insert tables made by :func:`arrow_table` for ``columns`` into ``table`` (schema-qualified)."""
    parts = [part for part in parts if part.num_rows]
    if not parts:
        return
    try:
        batches = [pa.concat_tables(parts, promote_options="permissive")]
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column fell back to different types in two files
        batches = parts
    names = [c.name for c in columns]
    select = ", ".join(f"cast({c.name} as {c.type}) as {c.name}" for c in columns)
    for batch in batches:
        con.register("_raw_batch", batch)
        # Not unregistered when the insert fails: the aborted transaction refuses that too, and
        # the next register replaces the view.
        con.execute(f"insert into {table} ({', '.join(names)}) select {select} from _raw_batch")
        con.unregister("_raw_batch")
