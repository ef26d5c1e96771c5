"""PostgreSQL side of the warehouse: copy the raw layer out of DuckDB so dbt can build there.

The dbt project runs on DuckDB (default) and on PostgreSQL (``ROI_DBT_TARGET=postgres``,
``ROI_PG_*`` variables read by ``dbt_project/profiles.yml``). Ingestion always writes the
raw layer to DuckDB; :func:`copy_raw_to_postgres` then mirrors every table of the DuckDB
``raw`` schema (data tables, ``config_*``, ``_landed_files``, ``_quarantine``,
``_ingest_log``) into a PostgreSQL schema, so ``dbt build`` on the postgres target reads
the same sources.

DuckDB's own ``postgres`` extension is not used (it is a binary download these machines
cannot make): each table is exported by DuckDB to a temporary CSV file and streamed into
PostgreSQL with ``COPY ... FROM STDIN``, all tables in one transaction.

Credentials come only from the arguments (a libpq DSN) or the ``ROI_PG_*`` environment
variables (:func:`dsn_from_env`); nothing here logs or prints a DSN or a password.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb

RAW_SCHEMA = "raw"

# DuckDB type (information_schema.columns.data_type) -> PostgreSQL type. The raw layer
# uses the first seven (formats' and CONFIG_TABLES' Column.type); the rest keep a future
# column from failing on a type PostgreSQL spells differently.
TYPE_MAP: dict[str, str] = {
    "VARCHAR": "text",
    "TIMESTAMP": "timestamp without time zone",
    "DOUBLE": "double precision",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "FLOAT": "real",
    "REAL": "real",
    "HUGEINT": "numeric(39,0)",
    "UBIGINT": "numeric(20,0)",
    "UINTEGER": "bigint",
    "USMALLINT": "integer",
    "UTINYINT": "smallint",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIME": "time without time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "text",
    "BLOB": "bytea",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class UnsupportedColumnType(ValueError):
    """A DuckDB raw column has a type with no PostgreSQL mapping."""


def is_list(duckdb_type: str) -> bool:
    """A DuckDB list column (``VARCHAR[]``): copied to PostgreSQL as its JSON text."""
    return duckdb_type.strip().endswith("[]")


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL type for a DuckDB column type (``information_schema`` spelling)."""
    spelled = duckdb_type.strip().upper()
    if is_list(spelled):
        return "text"  # JSON array text (see _copy_table): no model reads it as a list
    if spelled in TYPE_MAP:
        return TYPE_MAP[spelled]
    decimal = _DECIMAL.match(spelled)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    raise UnsupportedColumnType(f"no PostgreSQL type for DuckDB type {duckdb_type!r}")


def dsn_from_env(database: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """A libpq DSN from the ``ROI_PG_*`` variables, with ``profiles.yml``'s defaults.

    ``database`` overrides ``ROI_PG_DATABASE`` (e.g. ``postgres`` for administration).
    The password is included only when set; the DSN is for connecting, never for logs.
    """
    from psycopg2.extensions import make_dsn

    env = os.environ if env is None else env
    parts = _parts(database, env)
    password = env.get("ROI_PG_PASSWORD", "")
    if password:
        parts["password"] = password
    return make_dsn(**parts)


def place_from_env(env: Mapping[str, str] | None = None) -> str:
    """``host:port/database`` of :func:`dsn_from_env`, for messages (no user, no password)."""
    parts = _parts(None, os.environ if env is None else env)
    return f"{parts['host']}:{parts['port']}/{parts['dbname']}"


def _parts(database: str | None, env: Mapping[str, str]) -> dict[str, str]:
    return {
        "host": env.get("ROI_PG_HOST", "127.0.0.1"),
        "port": env.get("ROI_PG_PORT", "5432"),
        "user": env.get("ROI_PG_USER", "postgres"),
        "dbname": database or env.get("ROI_PG_DATABASE", "roi"),
    }


def _check_identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name) or len(name) > 63:
        raise ValueError(f"{what} must be a lower-case SQL identifier of at most 63 characters, got {name!r}")
    return name


def _raw_tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    """``table -> [(column, duckdb type), ...]`` in column order, for base tables of ``schema``."""
    rows = con.execute(
        """
        select c.table_name, c.column_name, c.data_type
        from information_schema.columns as c
        inner join information_schema.tables as t
            on c.table_catalog = t.table_catalog
            and c.table_schema = t.table_schema
            and c.table_name = t.table_name
        where c.table_schema = ? and t.table_type = 'BASE TABLE'
        order by c.table_name, c.ordinal_position
        """,
        [schema],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _pg_columns(cur, schema: str, table: str) -> list[tuple[str, str]]:
    cur.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute as a
        inner join pg_class as c on a.attrelid = c.oid
        inner join pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p')
            and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    )
    return [(name, type_) for name, type_ in cur.fetchall()]


def copy_raw_to_postgres(duckdb_path: Path, dsn: str, schema: str = RAW_SCHEMA) -> dict[str, int]:
    """Copy every table of the DuckDB ``raw`` schema into PostgreSQL schema ``schema``.

    Column types are mapped by :data:`TYPE_MAP` (varchar -> text, timestamp -> timestamp
    without time zone, double -> double precision; bigint, integer, boolean and date as
    they are). A table that already exists with exactly the mapped columns is truncated and
    refilled, so views built on it (dbt's staging views) stay; one with other columns is
    dropped (``cascade``: dependent views go too, and the next ``dbt build`` recreates
    them) and created again. PostgreSQL tables absent from DuckDB are left alone.

    Everything happens in one transaction: on any error nothing in PostgreSQL changes.
    Each table is exported by DuckDB to a temporary CSV file (empty strings quoted, NULLs
    unquoted-empty; doubles in shortest round-trip form, so values arrive bit for bit) and
    loaded with ``COPY ... FROM STDIN``, then analysed so the planner has statistics for
    the first ``dbt build``. The DuckDB file is opened read-only, so no writer may hold it
    meanwhile.

    Returns the number of rows copied per table; raises if PostgreSQL's count of a
    ``COPY`` differs from DuckDB's.
    """
    import psycopg2
    from psycopg2 import sql

    _check_identifier(schema, "schema")
    source = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        tables = _raw_tables(source, RAW_SCHEMA)
        if not tables:
            raise ValueError(f"{duckdb_path}: no tables in schema {RAW_SCHEMA}")
        copied: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="roi_pg_copy_") as scratch:
            target = psycopg2.connect(dsn)
            try:
                # one transaction: commit on success, rollback on error
                with target, target.cursor() as cur:
                    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
                    for table, columns in tables.items():
                        copied[table] = _copy_table(source, cur, schema, table, columns, Path(scratch))
            finally:
                target.close()
        return copied
    finally:
        source.close()


def _copy_table(source, cur, schema: str, table: str, columns: list[tuple[str, str]], scratch: Path) -> int:
    from psycopg2 import sql

    wanted = [(name, pg_type(type_)) for name, type_ in columns]
    relation = sql.Identifier(schema, table)
    existing = _pg_columns(cur, schema, table)
    if existing == wanted:
        cur.execute(sql.SQL("truncate table {}").format(relation))
    else:
        cur.execute(sql.SQL("drop table if exists {} cascade").format(relation))
        cur.execute(
            sql.SQL("create table {} ({})").format(
                relation,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_)) for name, type_ in wanted
                ),
            )
        )
    expected = source.execute(f'select count(*) from {RAW_SCHEMA}."{table}"').fetchall()[0][0]
    if expected == 0:
        return 0
    csv_path = scratch / f"{table}.csv"
    # DuckDB writes NULL as an unquoted empty field and '' as "": exactly what
    # PostgreSQL's CSV COPY reads back as NULL and as the empty string.
    selected = ", ".join(
        f'cast(to_json("{name}") as varchar) as "{name}"' if is_list(type_) else f'"{name}"' for name, type_ in columns
    )
    source.execute(
        f"copy (select {selected} from {RAW_SCHEMA}.\"{table}\") to '{csv_path.as_posix()}' "
        "(format csv, header false, delimiter ',', quote '\"', escape '\"')"
    )
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in wanted)
    copy = sql.SQL("copy {} ({}) from stdin with (format csv, header false)").format(relation, names)
    with csv_path.open("r", encoding="utf-8", newline="") as handle:
        cur.copy_expert(copy.as_string(cur), handle, size=1 << 20)
    loaded = cur.rowcount
    csv_path.unlink()
    if loaded != expected:
        raise RuntimeError(f"{schema}.{table}: COPY loaded {loaded} rows, DuckDB has {expected}")
    # COPY leaves the planner without statistics until autovacuum gets round to the table;
    # without them it plans the run models' self-joins as nested loops (minutes, not seconds).
    cur.execute(sql.SQL("analyze {}").format(relation))
    return loaded


def _admin_connection(dsn_admin: str):
    import psycopg2

    con = psycopg2.connect(dsn_admin)
    con.autocommit = True  # CREATE / DROP DATABASE cannot run inside a transaction
    return con


def create_database(dsn_admin: str, name: str, *, collation: str | None = None) -> None:
    """Create database ``name`` through an administrative connection (e.g. to ``postgres``).

    With ``collation`` (e.g. ``'C'``: byte order, as DuckDB compares strings) the database
    is created from ``template0`` with that ``LC_COLLATE``; otherwise it inherits the
    server's default from ``template1``.
    """
    from psycopg2 import sql

    _check_identifier(name, "database name")
    statement = sql.SQL("create database {}").format(sql.Identifier(name))
    if collation is not None:
        statement += sql.SQL(" template template0 lc_collate {}").format(sql.Literal(collation))
    con = _admin_connection(dsn_admin)
    try:
        with con.cursor() as cur:
            cur.execute(statement)
    finally:
        con.close()


def drop_database(dsn_admin: str, name: str) -> None:
    """Drop database ``name`` if it exists, ending any sessions still connected to it."""
    from psycopg2 import sql

    _check_identifier(name, "database name")
    con = _admin_connection(dsn_admin)
    try:
        with con.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    finally:
        con.close()
