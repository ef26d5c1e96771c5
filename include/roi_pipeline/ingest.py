"""The raw layer: landing files -> typed DuckDB tables in schema ``raw``, losing nothing.

Contract (docs/landing.md, README "Raw layer"):

- one table per landing format (``raw.<format>``) plus child tables (HubSpot associations);
  every row carries lineage: ``_client_id``, ``_source_file`` (relative to the landing dir),
  ``_row_number``, ``_file_sha256``, ``_loaded_at`` and the landed record in ``_record``;
- a file is the unit of loading. Unchanged file (same checksum, same parsing-relevant
  configuration) -> nothing happens; changed file -> its earlier rows are replaced, in one
  transaction; unreadable file -> its earlier rows stay, the file is marked ``failed``;
- a record that cannot be parsed, or parses but cannot be true (a time after the file's
  extraction, a foreign currency, a value beyond the limits of
  :mod:`roi_pipeline.formats.plausibility`), goes to ``raw._quarantine`` with the reason, so
  for every file ``rows_read = rows_loaded + rows_quarantined`` (kept in ``raw._landed_files``);
- ``raw._ingest_log`` is the append-only history of every load decision;
- a timesheet file's covered dates (``covers_from`` / ``covers_to``, see
  :meth:`~roi_pipeline.formats.base.LandingFormat.coverage`) are recorded with it in
  ``raw._landed_files``: the models let a later file replace earlier files' rows on those dates;
- so are the fields a file's records carried (``fields_present``, any value, quarantined
  records too): the raw gate finds a field that a client's earlier files of the source had
  and a month's files lack (a vendor renamed an optional column).

A file's failure never stops the client's other files, and a client's never stops the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from roi_pipeline.config import ClientConfig, source_needs
from roi_pipeline.config_tables import write_config_tables
from roi_pipeline.formats import FORMATS, Column, LandingFormat, ParseContext, Rejected, UnreadableFile, columnar
from roi_pipeline.formats.base import Coverage
from roi_pipeline.formats.columnar import Unusual
from roi_pipeline.processes import die_with_parent
from roi_pipeline.raw_batches import arrow_table, insert
from roi_pipeline.settings import duckdb_memory_limit, whole_number_setting
from roi_pipeline.timeutil import BadTimestamp, localize, parse_instant
from roi_pipeline.warehouse_lock import hold_warehouse

RAW_SCHEMA = "raw"
#: Raw run-log tables -> their run id column: a re-delivered run log keeps the runs its new
#: version no longer holds (:meth:`_Loader._keep_withdrawn_runs`).
RUN_ID_COLUMNS = {"n8n_executions": "id", "generic_runs": "run_id"}
#: Between a run log's source file and its earlier version's checksum (12 hex digits) in the
#: name of the runs kept from that version: ``n8n_executions/2026-10.json#earlier-0123456789ab``.
KEPT_MARK = "#earlier-"


def kept_file_name(source_file: str, earlier_sha256: str) -> str:
    """The landed-file name of the runs kept from ``source_file``'s version ``earlier_sha256``."""
    return f"{source_file}{KEPT_MARK}{earlier_sha256[:12]}"


@dataclass(frozen=True)
class KeptRuns:
    """Runs of an earlier version of a run log that its re-delivery no longer holds, kept."""

    client_id: str
    source_file: str
    kept_file: str
    runs: int


BATCH_ROWS = 100_000
#: Files handed to the parsing pool ahead of the one being taken: 2 per worker, and up to
#: IN_FLIGHT_FILES per worker while they add up to less than IN_FLIGHT_BYTES (a month's files
#: are small: with 2 each, the workers waited for this process between files).
IN_FLIGHT_FILES = 8
IN_FLIGHT_BYTES = 16 << 20
#: Below this many bytes of changed files (all clients together), they are parsed in-process (see _Parser).
PARALLEL_MIN_BYTES = 4 << 20

LINEAGE = (
    Column("_source_file", "varchar", "landing file the row came from, relative to the landing dir"),
    Column("_row_number", "bigint", "record number within that file, from 1"),
    Column("_file_sha256", "varchar", "checksum of the file version the row came from"),
    Column("_loaded_at", "timestamp", "when the row was loaded (UTC)"),
)
RECORD = Column("_record", "varchar", "the landed record as canonical JSON: nothing is lost")
CLIENT = Column("_client_id", "varchar", "client slug")

LANDED_FILES_COLUMNS = (
    Column("client_id", "varchar"),
    Column("format", "varchar"),
    Column("source_file", "varchar"),
    Column("file_sha256", "varchar"),
    Column("file_size", "bigint", "size in bytes when the file was checked, before it was read and hashed"),
    Column(
        "file_mtime_ns",
        "bigint",
        "modification time (ns) when the file was checked, before it was read and hashed; null when it was "
        "too recent to trust (RECENT_WRITE_NS): the next ingestion hashes the file again",
    ),
    Column("config_hash", "varchar", "hash of the configuration that parsing depends on"),
    Column("status", "varchar", "loaded / failed"),
    Column("error", "varchar"),
    Column("rows_read", "bigint"),
    Column("rows_loaded", "bigint"),
    Column("rows_quarantined", "bigint"),
    Column("extracted_at", "timestamp", "from the folder's _extracts.json (null when unknown)"),
    Column("loaded_at", "timestamp"),
    Column("covers_from", "date", "timesheets: first local date the file speaks for (null: none / not a timesheet)"),
    Column("covers_to", "date", "timesheets: last local date the file speaks for, included"),
    Column("covers_basis", "varchar", "where the covered dates were read: file name / extraction record / entries"),
    Column(
        "latest_record_at",
        "timestamp",
        "latest record time in the file (the format's record_time_columns, UTC): its as-of without an extraction record",
    ),
    Column(
        "fields_present",
        "varchar[]",
        "every field its records carried, whatever the value (n8n customData.<key>, HubSpot properties.<key>): "
        "the raw gate compares a month's files with the client's earlier ones (schema drift)",
    ),
    Column(
        "fields_by_workflow",
        "varchar",
        "run logs: JSON object, workflow id -> the fields its records carried (null for other formats)",
    ),
)
QUARANTINE_COLUMNS = (
    Column("client_id", "varchar"),
    Column("format", "varchar"),
    Column("source_file", "varchar"),
    Column("row_number", "bigint"),
    Column("file_sha256", "varchar"),
    Column("reason", "varchar"),
    Column("record", "varchar"),
    Column("loaded_at", "timestamp"),
)
#: What an unchanged file's bookkeeping updates in ``_landed_files`` (with its key).
_STAMPED = ("client_id", "source_file", "extracted_at", "file_size", "file_mtime_ns")
INGEST_LOG_COLUMNS = (
    *LANDED_FILES_COLUMNS,
    Column(
        "action",
        "varchar",
        "loaded / replaced / unchanged / failed / kept (runs of an earlier version its re-delivery no longer holds)",
    ),
)


@dataclass
class FileOutcome:
    client_id: str
    format: str
    source_file: str
    action: str  # loaded / replaced / unchanged / failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    coverage: Coverage | None = None
    #: Latest record time in the file (naive UTC), None without dated records.
    latest_record_at: datetime | None = None
    #: The fields the file's records carried (sorted; None when the file was not read).
    fields_present: list[str] | None = None
    #: Run logs: workflow id -> its records' fields.
    fields_by_workflow: dict[str, list[str]] | None = None
    #: Size and modification time (ns) of the file when it was read: while both stay the same,
    #: the next ingestion trusts the recorded checksum instead of reading the file again.
    file_size: int | None = None
    file_mtime_ns: int | None = None


@dataclass
class IngestReport:
    """What happened to every file, per client."""

    files: list[FileOutcome] = field(default_factory=list)
    client_errors: dict[str, str] = field(default_factory=dict)
    #: Run logs re-delivered without runs their earlier version had: those runs, kept.
    kept: list[KeptRuns] = field(default_factory=list)
    #: client id -> what under its landing folder is never read, and why (ignored_landing_entries)
    ignored: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def for_client(self, client_id: str) -> list[FileOutcome]:
        return [f for f in self.files if f.client_id == client_id]

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.action == "failed"]

    def totals(self) -> dict[str, int]:
        out = {"files": len(self.files), "rows_loaded": 0, "rows_quarantined": 0, "failed_files": 0}
        for f in self.files:
            if f.action in ("loaded", "replaced"):
                out["rows_loaded"] += f.rows_loaded
                out["rows_quarantined"] += f.rows_quarantined
            out["failed_files"] += f.action == "failed"
        return out


#: How DuckDB stores a column where its own choice does not suit. The landed records' JSON text
#: is most of a raw table's bytes: zstd keeps it in about half the space and costs less to write
#: at the checkpoint (5 clients x 24 months: database file 35 -> 19 MB, closing the warehouse
#: after ingestion 0.47 -> 0.34 s). Tables created before keep the storage they have, and a
#: column added to an existing table (ensure_schema's alter) takes DuckDB's default. Keyed by
#: column name in every table: DuckDB compresses varchar with zstd, not json.
STORAGE = {RECORD.name: "using compression zstd"}


def _ddl(table: str, columns: Iterable[Column]) -> str:
    cols = ",\n  ".join(" ".join(filter(None, (c.name, c.type, STORAGE.get(c.name)))) for c in columns)
    return f"create table if not exists {RAW_SCHEMA}.{table} (\n  {cols}\n)"


def table_columns(fmt: type[LandingFormat]) -> dict[str, tuple[Column, ...]]:
    """Every raw table a format writes, with its full column list (data + lineage)."""
    tables = {fmt.table: (CLIENT, *fmt.columns, *LINEAGE, RECORD)}
    for child, cols in fmt.child_tables.items():
        tables[child] = (CLIENT, *cols, *LINEAGE)
    return tables


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and tables; add columns a newer format version declares."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    wanted: dict[str, tuple[Column, ...]] = {
        "_landed_files": LANDED_FILES_COLUMNS,
        "_quarantine": QUARANTINE_COLUMNS,
        "_ingest_log": INGEST_LOG_COLUMNS,
    }
    for fmt in FORMATS.values():
        wanted.update(table_columns(fmt))
    for table, columns in wanted.items():
        con.execute(_ddl(table, columns))
        existing = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [RAW_SCHEMA, table],
            ).fetchall()
        }
        for col in columns:
            if col.name not in existing:
                con.execute(f"alter table {RAW_SCHEMA}.{table} add column {col.name} {col.type}")


#: DuckDB checkpoints (writes the WAL's changes into the database file) whenever the WAL passes
#: 16 MiB by default; at a month's ingestion into a grown warehouse those checkpoints were most
#: of the writing (200 clients' month, 415k rows: 3.1 s of commits against 0.5 s with this).
#: With it the WAL is checkpointed once, when ingestion closes the warehouse (or replayed at the
#: next open if the process dies first).
CHECKPOINT_THRESHOLD = "1GB"


def duckdb_threads(environ: dict[str, str] | None = None) -> int:
    """DuckDB's threads while ingesting: the cores the parsing processes leave, at least one.

    Parsing, not writing, is ingestion's work: the :func:`ingest_workers` processes parse while
    this process inserts what they parsed. A DuckDB with a thread per core beside them only made
    the three contend (5 clients x 24 months on 2 cores, alternated three times each: this
    process's CPU 2.3 -> 2.0 s, its writing 1.1 -> 0.75 s, wall 3.66 -> 3.57 s with one thread).
    Once parsing is over, the checkpoint that closes the warehouse has every core again.
    """
    from roi_pipeline.processes import cores

    return max(1, cores() - ingest_workers(environ))


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse, bounded in memory as dbt's builds are (``settings.duckdb_memory_limit``),
    checkpointed once per ingestion (:data:`CHECKPOINT_THRESHOLD`), on the cores parsing leaves
    (:func:`duckdb_threads`)."""
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    limit = duckdb_memory_limit()
    config = {"memory_limit": limit, "checkpoint_threshold": CHECKPOINT_THRESHOLD, "threads": duckdb_threads()}
    try:
        return duckdb.connect(str(warehouse), config=config)
    except duckdb.ParserException as exc:  # the only text DuckDB parses here is the limit's
        raise ValueError(
            f"ROI_DUCKDB_MEMORY_LIMIT={limit!r} is not a memory size DuckDB reads, such as 1GB or 512MB ({exc})"
        ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parsing_config_hash(client: ClientConfig, folder: str) -> str:
    """What parsing a file depends on besides its bytes: if it changes, the file reloads.

    The parser's version, the zone (naive timestamps) and the timesheet column mapping;
    not fees, rates or the register: runs of a workflow id the register does not know are
    loaded like any other (the models count them nowhere, docs/method.md), so editing
    the register never reloads a file.
    """
    relevant: dict[str, Any] = {"timezone": client.timezone, "folder": folder, "parser": FORMATS[folder].version}
    relevant["record_time"] = list(FORMATS[folder].record_time_columns)  # files loaded before it are re-read once
    fmt = FORMATS[folder]
    relevant["fields_present"] = [*fmt.nested_fields, fmt.field_scope]  # likewise: their fields are recorded
    if folder in ("harvest_time_entries", "toggl_time_entries"):
        relevant["timesheets"] = client.timesheets.model_dump(mode="json")
    if folder == "generic_runs" and client.run_log is not None:  # a changed mapping re-reads the files
        relevant["run_log"] = client.run_log.model_dump(mode="json")
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _extraction_records(folder: Path) -> tuple[dict[str, datetime], dict[str, Coverage]]:
    """A landing folder's ``_extracts.json``, read once: file name -> extraction instant (naive
    UTC), and file name -> the dates the extraction says the file covers.

    ``{"<file>": {"extracted_at": ..., "covers_from": "2025-12-01", "covers_to": "2025-12-31"}}``;
    a bad extraction time is ignored, and an entry without both dates, or with bad ones, states
    no range.
    """
    path = folder / "_extracts.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError):  # none (the usual case for a hand-dropped file), or unreadable
        return {}, {}
    extracted, stated = {}, {}
    for name, meta in data.items() if isinstance(data, dict) else []:
        with contextlib.suppress(KeyError, TypeError, BadTimestamp):
            extracted[name] = parse_instant(str(meta["extracted_at"]), "UTC")[0]
        try:
            first, last = date.fromisoformat(meta["covers_from"]), date.fromisoformat(meta["covers_to"])
        except (KeyError, TypeError, ValueError):
            continue
        if first <= last:
            stated[name] = Coverage(first, last, "extraction record")
    return extracted, stated


def latest_record_time(fmt: LandingFormat, rows: Iterable[dict[str, Any]], tz_name: str) -> datetime | None:
    """The latest value of the format's ``record_time_columns`` over ``rows`` (naive UTC).

    What a file without an extraction record can vouch for: its export happened at or after
    this instant. A ``date`` value counts as the local midnight that starts the day.
    """
    latest: datetime | None = None
    for row in rows:
        for column in fmt.record_time_columns:
            value = row.get(column)
            if value is None:
                continue
            if not isinstance(value, datetime):  # a local date
                try:
                    value = localize(datetime(value.year, value.month, value.day), tz_name).replace(tzinfo=None)
                except BadTimestamp:  # midnight inside a DST gap: the day starts an hour later
                    value = localize(datetime(value.year, value.month, value.day, 1), tz_name).replace(tzinfo=None)
            if latest is None or value > latest:
                latest = value
    return latest


def landing_files(client_dir: Path) -> list[tuple[str, Path]]:
    """``(folder, path)`` of every data file under a client's landing dir, in a stable order
    (by path; subfolders included, symbolic links to folders not followed)."""
    found = []
    for folder, fmt in FORMATS.items():
        base = client_dir / folder
        if not base.is_dir():
            continue
        paths = [Path(entry.path) for entry in _walk_files(str(base))]
        for path in sorted(paths):
            if path.suffix.lower() in fmt.suffixes and not path.name.startswith(("_", ".")):
                found.append((folder, path))
    return found


def ignored_landing_entries(client_dir: Path) -> list[tuple[str, str]]:
    """What under a client's landing dir looks like data but is never read, and why, as
    ``(path relative to the landing dir, reason)``: a folder that is not a landing format (a
    misspelt ``generic_run``), a file in a format folder with another extension, and a sibling
    folder that differs from the client id only in case. Names starting with ``_`` or ``.``
    are the project's own or hidden and are left out. Listed by ``roi ingest`` so that a file
    dropped in the wrong place is not silently missing from the month."""
    landing_dir = client_dir.parent
    out = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(landing_dir), key=lambda e: e.name):
            if (
                entry.name != client_dir.name
                and entry.name.casefold() == client_dir.name.casefold()
                and entry.is_dir(follow_symlinks=False)
            ):
                out.append((entry.name, f"not read: the client's landing folder is {client_dir.name}/ (case matters)"))
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(client_dir), key=lambda e: e.name):
            if entry.name.startswith(("_", ".")):
                continue
            where = f"{client_dir.name}/{entry.name}"
            if entry.name not in FORMATS:
                if entry.is_dir(follow_symlinks=False):
                    out.append((where + "/", f"not read: not a landing folder (one of: {', '.join(FORMATS)})"))
                else:
                    out.append((where, "not read: files go in a landing folder (<client>/<folder>/<file>)"))
                continue
            suffixes = FORMATS[entry.name].suffixes
            for file in _walk_files(entry.path):
                path = Path(file.path)
                if path.suffix.lower() not in suffixes and not path.name.startswith(("_", ".")):
                    rel = path.relative_to(landing_dir).as_posix()
                    out.append((rel, f"not read: {entry.name} files end in {' or '.join(sorted(suffixes))}"))
    return out


def _walk_files(folder: str) -> Iterator[os.DirEntry[str]]:
    """The files under ``folder`` (a link to a file counts; one to a folder is not entered).

    ``os.scandir`` rather than ``Path.rglob``: a month of 200 clients lists thousands of
    entries, and the directory entries already say which are files.
    """
    try:
        with os.scandir(folder) as entries:
            listed = list(entries)
    except (FileNotFoundError, NotADirectoryError):  # vanished meanwhile; an unreadable one is raised
        return
    for entry in listed:
        try:
            is_dir, is_file = entry.is_dir(follow_symlinks=False), entry.is_file()
        except OSError:  # a link that cannot be followed (a loop): no file to load
            continue
        if is_dir:
            yield from _walk_files(entry.path)
        elif is_file:
            yield entry


def files_by_folder(landing_dir: Path, client_id: str) -> dict[str, int]:
    """How many data files each landing folder of a client holds (folders with none left out)."""
    client_dir = Path(landing_dir) / client_id
    counts: dict[str, int] = {}
    for folder, _path in landing_files(client_dir) if client_dir.is_dir() else []:
        counts[folder] = counts.get(folder, 0) + 1
    return counts


def missing_sources(client: ClientConfig, by_folder: dict[str, int]) -> list[str]:
    """What a client's configuration needs from its landing folder that is not there, as
    ``<folder>/: <why>`` (``roi validate`` and the onboarding check both say it)."""
    return [
        f"{need.folders[0]}/: {need.why}"
        for need in source_needs(client)
        if not any(by_folder.get(folder) for folder in need.folders)
    ]


def landing_summary(client: ClientConfig, by_folder: dict[str, int], missing: list[str]) -> list[str]:
    """The lines ``roi validate`` prints for a client that loads: what it is, its landed files
    per folder, then each ``MISSING`` source."""
    lines = [f"OK {client.client_id}: {len(client.workflows)} workflows, {client.timezone}, {client.currency}"]
    lines += [f"    {folder:<22} {by_folder[folder]} file(s)" for folder in FORMATS if by_folder.get(folder)]
    lines += [f"    MISSING {problem}" for problem in missing]
    return lines


@dataclass
class _Known:
    """What ``raw._landed_files`` records of a file from an earlier ingestion."""

    file_sha256: str
    config_hash: str
    status: str
    extracted_at: datetime | None
    covers: tuple[date | None, date | None, str | None]
    stat: tuple[int | None, int | None]  # (file_size, file_mtime_ns) when the file was checked, before it was hashed


@dataclass
class _Staged:
    """A parsed file waiting for its batch to be written (:meth:`_Loader.flush`)."""

    outcome: FileOutcome
    checksum: str
    config_hash: str
    extracted: datetime | None
    replaces: bool  # earlier rows of the file are in the raw tables
    #: raw table (``_quarantine`` too) -> the file's rows with their lineage, in chunks
    tables: dict[str, list[pa.Table]]
    #: A parsing process's file of ``tables`` (:func:`_spool`): its path, and raw table -> the
    #: (offset, size) of each chunk's Arrow stream in it; ``tables`` is empty meanwhile.
    spooled: tuple[str, dict[str, list[tuple[int, int]]]] | None = None

    @property
    def row_count(self) -> int:
        assert self.spooled is None, "a spooled file's tables are counted once mapped back (_unspool)"
        return sum(part.num_rows for parts in self.tables.values() for part in parts)


@dataclass(frozen=True)
class _FileJob:
    """What parsing one changed file needs: picklable, so a worker process can do it."""

    client: ClientConfig
    folder: str
    path: Path
    source_file: str
    checksum: str | None  # None: a new file, hashed by parse_file
    config_hash: str
    extracted: datetime | None
    stated: Coverage | None
    loaded_at: datetime
    replaces: bool
    stat: tuple[int, int]  # (size, mtime_ns) when it was checked (a new file is hashed after)


@dataclass
class _Unreadable:
    """A file whose structure could not be read: it is recorded failed, its earlier rows stay."""

    outcome: FileOutcome
    checksum: str
    config_hash: str
    extracted: datetime | None


#: Where a large file's parsed chunks go as they are made: (raw table, its rows).
Sink = Callable[[str, pa.Table], None]


def parse_file(job: _FileJob, sink: Sink | None = None) -> _Staged | _Unreadable:
    """Parse one landing file into its rows and quarantined records (no database work).

    Records stream from the file (:meth:`LandingFormat.records`); every :data:`CHUNK_ROWS`
    parsed rows become Arrow tables, so a large export is held as columns, not as a Python
    object per value, until the file is complete and can be written as a whole. With ``sink``
    (a file over :data:`LARGE_FILE_BYTES`, see :meth:`_Loader.load_large`) each chunk's tables
    go to it instead, as they are made, and the file is never held.
    """
    if job.checksum is None:  # a new file: hashed here, beside its parsing, not by the ingesting process
        job = dataclasses.replace(job, checksum=file_sha256(job.path))
    client, folder, source_file, checksum = job.client, job.folder, job.source_file, job.checksum
    fmt = FORMATS[folder]()  # a fresh instance per file: per-file state stays per file
    # The file's extraction time, else the moment of ingestion, bounds its records' times
    # (formats/plausibility.py): a record from the future is quarantined, not loaded.
    ctx = ParseContext(client=client, source_file=source_file, extracted_at=job.extracted, ingested_at=job.loaded_at)
    chunks = _Chunks(job, fmt, sink)
    fields = fmt.field_tally()
    read = 0

    def one_at_a_time(numbered: Iterable[tuple[int, Any]]) -> None:
        nonlocal read
        for row_number, record in numbered:
            read += 1
            fields.add(record)
            try:
                parsed = fmt.parse(record, ctx)
            except Rejected as exc:
                chunks.quarantine(row_number, str(exc), record)
                continue
            chunks.add(row_number, parsed.row, parsed.children)

    try:
        records = fmt.records(job.path, ctx)
        if type(fmt).parse_columns is LandingFormat.parse_columns:
            one_at_a_time(records)
        else:  # a chunk at a time: typed a column at a time where the format vouches for every record
            size = min(CHUNK_ROWS, COLUMNAR_CHUNK_RECORDS)
            while chunk := list(itertools.islice(records, size)):
                try:
                    columns = fmt.parse_columns([record for _, record in chunk], ctx)
                except Unusual:
                    columns = None
                if columns is None:
                    one_at_a_time(chunk)
                    continue
                read += len(chunk)
                for _, record in chunk:
                    fields.add(record)
                chunks.add_columns(columns, [row_number for row_number, _ in chunk])
    except UnreadableFile as exc:
        outcome = FileOutcome(client.client_id, folder, source_file, "failed", error=str(exc))
        outcome.file_size, outcome.file_mtime_ns = job.stat
        return _Unreadable(outcome, checksum, job.config_hash, job.extracted)
    chunks.close()
    outcome = FileOutcome(
        client.client_id,
        folder,
        source_file,
        "replaced" if job.replaces else "loaded",
        read,
        chunks.loaded,
        chunks.quarantined,
        coverage=chunks.coverage,
        latest_record_at=chunks.latest,
        fields_present=fields.fields(),
        fields_by_workflow=fields.by_scope(),
        file_size=job.stat[0],
        file_mtime_ns=job.stat[1],
    )
    return _Staged(outcome, checksum, job.config_hash, job.extracted, job.replaces, chunks.tables)


#: How long a client's progress line may wait for its batch to be written (see _ingest_clients).
LINE_WAIT_SECONDS = 2.0

#: A file modified less than this before it is checked may be written again within the same
#: tick of its file system's clock (2 s on FAT and exFAT, a second on some network mounts), at
#: the same size, and keep the size and time the check saw (git calls such a file "racily
#: clean"). Its time is then not recorded (``file_mtime_ns`` null), so the next ingestion reads
#: and hashes it again rather than take it as unchanged; a file older than this is trusted.
RECENT_WRITE_NS = 5 * 1_000_000_000

#: Parsed rows of a file held as Python objects before they become Arrow tables.
CHUNK_ROWS = 50_000
#: Records of a file read before they are typed a column at a time (LandingFormat.parse_columns;
#: at most :data:`CHUNK_ROWS`): enough that Arrow's cost per call (tens of microseconds) is small
#: beside them, few enough that a large export's records, held as Python objects meanwhile, take
#: tens of MB.
COLUMNAR_CHUNK_RECORDS = 10_000
#: A file larger than this is written as it is parsed (:meth:`_Loader.load_large`), in this
#: process: holding its rows until it is complete would take several times its size in memory.
LARGE_FILE_BYTES = 64 * 2**20


class _Chunks:
    """A file's parsed rows, turned into Arrow tables a chunk at a time (see :func:`parse_file`).

    What the file's outcome reads from its rows is gathered chunk by chunk too: the dates it
    covers (:meth:`LandingFormat.coverage`: the stated range, else the first to the last
    entry) and its latest record time.
    """

    def __init__(self, job: _FileJob, fmt: LandingFormat, sink: Sink | None = None) -> None:
        self.job, self.fmt, self.sink = job, fmt, sink
        self.columns = table_columns(type(fmt))
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in self.columns}
        self.numbers: dict[str, list[int]] = {t: [] for t in self.columns}  # each row's record number
        self.held: list[dict[str, Any]] = []  # quarantined records
        self.tables: dict[str, list[pa.Table]] = {t: [] for t in (*self.columns, "_quarantine")}
        self.loaded = self.quarantined = 0
        self.coverage: Coverage | None = None
        self.latest: datetime | None = None
        self.lineage = {
            "_client_id": job.client.client_id,
            "_source_file": job.source_file,
            "_file_sha256": job.checksum,
            "_loaded_at": job.loaded_at,
        }

    def add(self, row_number: int, row: dict[str, Any], children: dict[str, list[dict[str, Any]]]) -> None:
        main = self.rows[self.fmt.table]
        main.append(row)
        self.numbers[self.fmt.table].append(row_number)
        for child, child_rows in children.items():
            self.rows[child].extend(child_rows)
            self.numbers[child].extend([row_number] * len(child_rows))
        if len(main) >= CHUNK_ROWS:
            self._convert()

    def add_columns(self, columns: dict[str, pa.Array], numbers: list[int]) -> None:
        """Rows typed a column at a time (:meth:`LandingFormat.parse_columns`), after the rows before them."""
        if self.fmt.covers_dates or self.fmt.child_tables:
            raise TypeError(f"{self.fmt.folder}: a columnar parse gives neither covered dates nor child rows")
        self._convert()
        self.loaded += len(numbers)
        latest = columnar.latest(*(columns[name] for name in self.fmt.record_time_columns))
        if latest is not None and (self.latest is None or latest > self.latest):
            self.latest = latest
        table = self.fmt.table
        self._keep(table, arrow_table(self.columns[table], numbers, self.lineage, typed=columns, _row_number=numbers))

    def quarantine(self, row_number: int, reason: str, record: Any) -> None:
        text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        self.held.append({"row_number": row_number, "reason": reason, "record": text})
        if len(self.held) >= CHUNK_ROWS:
            self._convert()

    def close(self) -> None:
        self._convert()

    def _convert(self) -> None:
        main = self.rows[self.fmt.table]
        self.loaded += len(main)
        covers = self.fmt.coverage(self.job.path, self.job.stated, main)
        if covers is not None and (main or self.coverage is None):  # an empty chunk adds no entries
            if self.coverage is not None and covers.basis == "entries":
                covers = Coverage(
                    min(covers.first, self.coverage.first), max(covers.last, self.coverage.last), "entries"
                )
            self.coverage = covers
        latest = latest_record_time(self.fmt, main, self.job.client.timezone)
        if latest is not None and (self.latest is None or latest > self.latest):
            self.latest = latest
        for table, columns in self.columns.items():
            if self.rows[table]:
                self._keep(table, arrow_table(columns, self.rows[table], self.lineage, _row_number=self.numbers[table]))
            self.rows[table], self.numbers[table] = [], []
        self.quarantined += len(self.held)
        if self.held:
            client, job = self.job.client, self.job
            kept = {"client_id": client.client_id, "format": self.fmt.folder, "source_file": job.source_file}
            kept |= {"file_sha256": job.checksum, "loaded_at": job.loaded_at}
            self._keep("_quarantine", arrow_table(QUARANTINE_COLUMNS, self.held, kept))
        self.held = []

    def _keep(self, table: str, part: pa.Table) -> None:
        if self.sink is None:
            self.tables[table].append(part)
        else:
            self.sink(table, part)


class _Loader:
    """Parses files one by one and writes them in batches.

    The database work of a file (delete its earlier rows, insert its rows, quarantine,
    ``_landed_files`` and ``_ingest_log``) is a handful of statements whatever its size, so a
    statement per file and table made small files cost more to record than to parse. Parsed
    files are staged and written together, one transaction per batch (at most ``batch_rows``
    rows; clients share a batch, and the last is written at the end): a batch is all or nothing, so a killed
    ingestion leaves every file of the batch unrecorded and the next run loads it again. A
    batch the database refuses is written again file by file, so a bad file fails alone.

    A batch is written behind: :meth:`flush` hands it to one writer thread and returns, so
    this process goes on taking parsed files (and the parsing workers go on parsing) while
    DuckDB inserts and commits; the next flush waits for it first, so batches are written one
    at a time, in order, and at most two are held. Every other use of the connection waits
    for the write (:meth:`wait`), except :meth:`read_known`, which reads through a cursor of
    its own (DuckDB gives it the last committed state).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        landing_dir: Path,
        loaded_at: datetime,
        batch_rows: int | None = None,
        kept: list[KeptRuns] | None = None,
    ):
        self.con = con
        #: what :meth:`_keep_withdrawn_runs` kept, once its transaction is committed
        self.kept: list[KeptRuns] = [] if kept is None else kept
        self.reader = con.cursor()
        self.landing_dir = landing_dir
        self.loaded_at = loaded_at
        self.batch_rows = batch_rows or ingest_batch_rows()
        #: client id -> its files' records, from :meth:`read_known` until :meth:`forget`
        self.known: dict[str, dict[str, _Known]] = {}
        self.staged: list[_Staged] = []
        self.staged_rows = 0  # the staged files' rows: summed as they come, not per file staged
        self.unchanged: list[tuple[FileOutcome, str, str, datetime | None]] = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="roi-ingest-writer")
        self._writing: Future[None] | None = None
        self.batches = 0  # batches handed to the writer so far, numbered from 1

    def wait(self) -> None:
        """Wait for the batch being written; its error, if any, is raised here."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def batch_of_taken(self) -> int:
        """The number of the batch that holds (or will hold) every file taken so far."""
        return self.batches + (1 if self.staged else 0)

    def written(self, batch: int) -> bool:
        """Batches up to ``batch`` are written: their files' outcomes are final. A write that
        failed is raised here."""
        if self._writing is not None and self._writing.done():
            self.wait()
        return self.batches - (1 if self._writing is not None else 0) >= batch

    def close(self) -> None:
        """Wait for the writer (without raising: called on the way out) and close the cursor."""
        self._writer.shutdown(wait=True)
        self.reader.close()

    def read_known(self, client_id: str) -> None:
        """Load what ``_landed_files`` records of the client's files: one query, not one per file."""
        rows = self.reader.execute(
            f"select source_file, file_sha256, config_hash, status, extracted_at, covers_from, covers_to, "
            f"covers_basis, file_size, file_mtime_ns from {RAW_SCHEMA}._landed_files where client_id = ?",
            [client_id],
        ).fetchall()
        self.known[client_id] = {  # the next client is read before this one's files are all taken
            source: _Known(sha, config_hash, status, extracted, (first, last, basis), (size, mtime))
            for source, sha, config_hash, status, extracted, first, last, basis, size, mtime in rows
        }

    def forget(self, client_id: str) -> None:
        """Drop what :meth:`read_known` read of a client whose files are all taken."""
        self.known.pop(client_id, None)

    def _metadata_changed(self, known: _Known, fmt: LandingFormat, path: Path, extracted, stated) -> bool:
        """A timesheet file whose extraction record changed is reloaded though its bytes did not.

        Its extraction time orders it against the client's other files, and a stated range is
        what it covers: both are recorded with its rows.
        """
        if not fmt.covers_dates:
            return False
        if known.extracted_at != extracted:
            return True
        stated_now = fmt.stated_coverage(path, stated)
        if stated_now is None:
            return known.covers[2] not in (None, "entries")
        return known.covers != (stated_now.first, stated_now.last, stated_now.basis)

    def check(
        self,
        client: ClientConfig,
        folder: str,
        path: Path,
        extracted: datetime | None,
        stated: Coverage | None = None,
    ) -> FileOutcome | _FileJob:
        """An unchanged file's outcome (its bookkeeping waits for :meth:`flush`), else the job of parsing it."""
        source_file = path.relative_to(self.landing_dir).as_posix()
        config_hash = parsing_config_hash(client, folder)
        before = self.known.get(client.client_id, {}).get(source_file)
        stat = path.stat()
        seen = (stat.st_size, stat.st_mtime_ns)
        # What is recorded with its rows: its modification time only once no later write can keep it.
        kept = seen if time.time_ns() - stat.st_mtime_ns >= RECENT_WRITE_NS else (stat.st_size, None)
        checksum: str | None
        if before is None:
            checksum = None  # a new file: hashed where it is parsed (a worker), not here
        elif before.stat == seen:
            checksum = before.file_sha256  # same size and modification time as when last checked: not read again
        else:
            checksum = file_sha256(path)
        if (
            before is not None
            and before.file_sha256 == checksum
            and before.config_hash == config_hash
            and before.status == "loaded"
            and not self._metadata_changed(before, FORMATS[folder](), path, extracted, stated)
        ):
            outcome = FileOutcome(
                client.client_id, folder, source_file, "unchanged", file_size=kept[0], file_mtime_ns=kept[1]
            )
            # The bytes are the same, but its export time may have been stated since (roi landed),
            # and a file copied again keeps its bytes under a new modification time.
            self.unchanged.append((outcome, checksum, config_hash, extracted))
            return outcome
        return _FileJob(
            client,
            folder,
            path,
            source_file,
            checksum,
            config_hash,
            extracted,
            stated,
            self.loaded_at,
            before is not None,
            kept,
        )

    def take(self, parsed: _Staged | _Unreadable) -> FileOutcome:
        """Stage a parsed file (written at the next :meth:`flush`), or record an unreadable one."""
        if isinstance(parsed, _Unreadable):
            self._record_failure(parsed.outcome, parsed.checksum, parsed.config_hash, parsed.extracted)
            return parsed.outcome
        self.staged.append(parsed)
        self.staged_rows += parsed.row_count
        if self.staged_rows >= self.batch_rows:
            self.flush()
        return parsed.outcome

    def flush(self) -> None:
        """Write the staged files and the unchanged files' bookkeeping, one transaction, behind
        (see the class): once the previous batch is written."""
        staged, unchanged = self.staged, self.unchanged
        self.staged, self.unchanged, self.staged_rows = [], [], 0
        if not staged and not unchanged:
            return
        self.wait()
        self.batches += 1
        self._writing = self._writer.submit(self._write_batch, staged, unchanged)

    def _write_batch(
        self, staged: list[_Staged], unchanged: list[tuple[FileOutcome, str, str, datetime | None]]
    ) -> None:
        try:
            self._write(staged, unchanged)
        except duckdb.Error as exc:
            if len(staged) + len(unchanged) == 1:
                _fail_unwritten([*staged, *unchanged], exc)
                return
            for one in staged:  # the batch was refused: write file by file, so a bad file fails alone
                try:
                    self._write([one], [])
                except duckdb.Error as one_exc:
                    _fail_unwritten([one], one_exc)
            if unchanged and staged:  # a parsed file may have been what the database refused
                try:
                    self._write([], unchanged)
                    return
                except duckdb.Error:
                    pass
            # The unchanged files of many clients share the batch: each is recorded alone, so a
            # refusal fails that file only, not every client's files.
            for one in unchanged:
                try:
                    self._write([], [one])
                except duckdb.Error as stamps_exc:  # its rows stand; its new stamps are not recorded
                    _fail_unwritten([one], stamps_exc)

    def _write(self, staged: list[_Staged], unchanged: list[tuple[FileOutcome, str, str, datetime | None]]) -> None:
        self.con.execute("begin transaction")
        try:
            replaced = [s for s in staged if s.replaces]
            if replaced:  # a first load has nothing to replace: skip scanning the tables
                tables = {t for s in replaced for t in s.tables if t != "_quarantine"}
                self._delete_earlier_rows([s.outcome for s in replaced], tables)
            by_table: dict[str, list[pa.Table]] = {}
            columns: dict[str, tuple[Column, ...]] = {"_quarantine": QUARANTINE_COLUMNS}
            for s in staged:
                columns.update(table_columns(FORMATS[s.outcome.format]))
                for table, parts in s.tables.items():
                    by_table.setdefault(table, []).extend(parts)
            for table, parts in by_table.items():
                insert(self.con, f"{RAW_SCHEMA}.{table}", columns[table], parts)
            kept = self._keep_withdrawn_runs([s.outcome for s in replaced]) if replaced else []
            self._record_written(staged, unchanged)
            self.con.execute("commit")
            self.kept.extend(kept)
        except Exception:
            _rollback(self.con)
            raise

    def _delete_earlier_rows(self, files: list[Any], tables: Iterable[str]) -> None:
        """Inside a write's transaction: the rows ``files`` (outcomes or keys) left in ``tables``
        and in the quarantine when they were loaded before.

        A run log's earlier runs are not deleted but set aside under the earlier version's
        name (:func:`kept_file_name`): :meth:`_keep_withdrawn_runs`, once the new version's
        rows are in, deletes those the new version holds again and keeps the others."""
        self._register_keys("_ingest_replaced", files)
        for table in sorted(tables):
            if table in RUN_ID_COLUMNS:
                self._register_kept_names()
                self.con.execute(
                    f"update {RAW_SCHEMA}.{table} set _source_file = k.kept_file from _ingest_kept_names k "
                    f"where {table}._client_id = k.client_id and {table}._source_file = k.source_file"
                ).fetchall()
                self.con.unregister("_ingest_kept_names")
                continue
            self.con.execute(
                f"delete from {RAW_SCHEMA}.{table} using _ingest_replaced k "
                f"where {table}._client_id = k.client_id and {table}._source_file = k.source_file"
            )
        self.con.execute(
            f"delete from {RAW_SCHEMA}._quarantine using _ingest_replaced k "
            "where _quarantine.client_id = k.client_id and _quarantine.source_file = k.source_file"
        )
        self.con.unregister("_ingest_replaced")

    def _register_kept_names(self) -> None:
        """View ``_ingest_kept_names``: each file of ``_ingest_replaced`` with the name its earlier
        runs are set aside under (:func:`kept_file_name` of its landed checksum)."""
        rows = self.con.execute(
            f"select k.client_id, k.source_file, landed.file_sha256 from _ingest_replaced k "
            f"inner join {RAW_SCHEMA}._landed_files landed "
            "on landed.client_id = k.client_id and landed.source_file = k.source_file"
        ).fetchall()
        self.con.register(
            "_ingest_kept_names",
            pa.table(
                {
                    "client_id": pa.array([r[0] for r in rows], pa.string()),
                    "source_file": pa.array([r[1] for r in rows], pa.string()),
                    "kept_file": pa.array([kept_file_name(r[1], r[2]) for r in rows], pa.string()),
                }
            ),
        )

    def _keep_withdrawn_runs(self, files: list[FileOutcome]) -> list[KeptRuns]:
        """Inside a write's transaction, after the new versions' rows are in: of the earlier runs
        :meth:`_delete_earlier_rows` set aside, delete those the new version holds again; the
        rest (runs the vendor pruned before the re-export, a narrower export window) stay, as
        their own landed file named after the earlier version, with its extraction time. The
        raw layer is the system of record: a run landed once is never lost to a re-delivery
        (``roi retract`` takes such a file back). Returns what was kept."""
        run_files = [f for f in files if FORMATS[f.format].table in RUN_ID_COLUMNS]
        kept_names = {}
        for f in run_files:
            table = FORMATS[f.format].table
            run_id = RUN_ID_COLUMNS[table]
            earlier = self.con.execute(
                f"select file_sha256 from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?",
                [f.client_id, f.source_file],
            ).fetchall()  # all: a result left unfetched blocks the connection
            if not earlier:
                continue
            kept = kept_file_name(f.source_file, earlier[0][0])
            self.con.execute(
                f"delete from {RAW_SCHEMA}.{table} where _client_id = $client and _source_file = $kept "
                f"and {run_id} in (select {run_id} from {RAW_SCHEMA}.{table} "
                "where _client_id = $client and _source_file = $file)",
                {"client": f.client_id, "kept": kept, "file": f.source_file},
            ).fetchall()
            n = self.con.execute(
                f"select count(*) from {RAW_SCHEMA}.{table} where _client_id = ? and _source_file = ?",
                [f.client_id, kept],
            ).fetchall()[0][0]
            if n:
                kept_names[(f.client_id, f.source_file)] = (kept, n)
        out = []
        for (client_id, source_file), (kept, n) in sorted(kept_names.items()):
            names = [c.name for c in LANDED_FILES_COLUMNS]
            values = {  # the earlier version's record; loaded (a failed re-delivery since left it 'failed')
                "source_file": "?",
                "file_size": "null",
                "file_mtime_ns": "null",
                "status": "'loaded'",
                "error": "null",
                "rows_read": "?",
                "rows_loaded": "?",
                "rows_quarantined": "0",
            }
            select = ", ".join(values.get(name, name) for name in names)
            self.con.execute(
                f"delete from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?", [client_id, kept]
            ).fetchall()
            self.con.execute(
                f"insert into {RAW_SCHEMA}._landed_files ({', '.join(names)}) select {select} "
                f"from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?",
                [kept, n, n, client_id, source_file],
            ).fetchall()
            log_names = ", ".join(c.name for c in INGEST_LOG_COLUMNS)
            self.con.execute(  # the audit trail says what was kept, when, from which version
                f"insert into {RAW_SCHEMA}._ingest_log ({log_names}) select "
                + ", ".join("cast(? as timestamp)" if name == "loaded_at" else name for name in names)
                + f", 'kept' from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?",
                [self.loaded_at, client_id, kept],
            ).fetchall()
            out.append(KeptRuns(client_id, source_file, kept, n))
        return out

    def _record_written(
        self, staged: list[_Staged], unchanged: list[tuple[FileOutcome, str, str, datetime | None]]
    ) -> None:
        """Inside a write's transaction: ``_landed_files`` and ``_ingest_log`` for its files."""
        landed = [self._landed_row(s.outcome, s.checksum, s.config_hash, "loaded", s.extracted) for s in staged]
        self._replace_landed(landed)
        if unchanged:
            stamps = arrow_table(
                [c for c in LANDED_FILES_COLUMNS if c.name in _STAMPED],
                [
                    {"client_id": o.client_id, "source_file": o.source_file, "extracted_at": extracted}
                    | {"file_size": o.file_size, "file_mtime_ns": o.file_mtime_ns}
                    for o, _checksum, _config_hash, extracted in unchanged
                ],
            )
            self.con.register("_ingest_unchanged", stamps)
            self.con.execute(
                f"update {RAW_SCHEMA}._landed_files set extracted_at = cast(u.extracted_at as timestamp), "
                "file_size = cast(u.file_size as bigint), file_mtime_ns = cast(u.file_mtime_ns as bigint) "
                "from _ingest_unchanged u where _landed_files.client_id = u.client_id "
                "and _landed_files.source_file = u.source_file "
                "and (_landed_files.extracted_at is distinct from cast(u.extracted_at as timestamp) "
                "or _landed_files.file_size is distinct from cast(u.file_size as bigint) "
                "or _landed_files.file_mtime_ns is distinct from cast(u.file_mtime_ns as bigint))"
            )
            self.con.unregister("_ingest_unchanged")
        log = [{**row, "action": s.outcome.action} for s, row in zip(staged, landed, strict=True)] + [
            {**self._landed_row(o, checksum, config_hash, "loaded", extracted), "action": o.action}
            for o, checksum, config_hash, extracted in unchanged
        ]
        insert(self.con, f"{RAW_SCHEMA}._ingest_log", INGEST_LOG_COLUMNS, [arrow_table(INGEST_LOG_COLUMNS, log)])

    def load_large(self, job: _FileJob) -> FileOutcome:
        """A file over :data:`LARGE_FILE_BYTES`, written as it is parsed: never held whole.

        Its chunks go to temporary tables, each insert committed on its own, so DuckDB can
        spill them to disk beyond its memory limit (rows inserted a chunk at a time inside one
        transaction stay in memory, however many). Then one transaction moves them into the raw
        tables with the file's bookkeeping, its earlier rows deleted first, as for a batch: the
        file is still loaded whole or not at all. The move is one ``insert ... select`` per
        table, which DuckDB writes to the database file as it goes. An unreadable file is
        recorded failed with its earlier rows kept; a file the database refuses fails alone,
        unrecorded. The temporary tables are this connection's own and go with it, whatever
        happens.
        """
        self.flush()  # the files staged before it are written first
        self.wait()
        columns = {"_quarantine": QUARANTINE_COLUMNS, **table_columns(FORMATS[job.folder])}
        staging = {table: f"temp.main._loading_{table}" for table in columns}
        try:
            for table, name in staging.items():
                self.con.execute(f"create or replace temporary table {name} as from {RAW_SCHEMA}.{table} limit 0")
            parsed = parse_file(job, sink=lambda table, part: insert(self.con, staging[table], columns[table], [part]))
            if isinstance(parsed, _Staged):
                self._move_staged(job, parsed, columns, staging)
        except duckdb.Error as exc:
            outcome = FileOutcome(job.client.client_id, job.folder, job.source_file, "loaded")
            _fail_unwritten([(outcome,)], exc)
            return outcome
        finally:
            for name in staging.values():
                self.con.execute(f"drop table if exists {name}")
        if isinstance(parsed, _Unreadable):
            self._record_failure(parsed.outcome, parsed.checksum, parsed.config_hash, parsed.extracted)
        return parsed.outcome

    def _move_staged(
        self, job: _FileJob, parsed: _Staged, columns: dict[str, tuple[Column, ...]], staging: dict[str, str]
    ) -> None:
        """One transaction: a large file's earlier rows out, its staged rows in, its bookkeeping."""
        self.con.execute("begin transaction")
        try:
            if job.replaces:
                key = {"client_id": job.client.client_id, "source_file": job.source_file}
                self._delete_earlier_rows([key], set(columns) - {"_quarantine"})
            for table, cols in columns.items():
                names = ", ".join(c.name for c in cols)
                self.con.execute(f"insert into {RAW_SCHEMA}.{table} ({names}) select {names} from {staging[table]}")
            kept = self._keep_withdrawn_runs([parsed.outcome]) if job.replaces else []
            self._record_written([parsed], [])
            self.con.execute("commit")
            self.kept.extend(kept)
        except BaseException:
            _rollback(self.con)
            raise

    def _record_failure(self, outcome: FileOutcome, checksum: str, config_hash: str, extracted) -> None:
        # Earlier rows of this file (if any) stay: a broken re-delivery must not erase good data.
        self.wait()
        self.con.execute("begin transaction")
        try:
            known = outcome.source_file in self.known.get(outcome.client_id, {})
            if known:
                self.con.execute(
                    f"update {RAW_SCHEMA}._landed_files set status = 'failed', error = ?, loaded_at = ? "
                    "where client_id = ? and source_file = ?",
                    [outcome.error, self.loaded_at, outcome.client_id, outcome.source_file],
                )
            else:
                self._replace_landed([self._landed_row(outcome, checksum, config_hash, "failed", extracted)])
            row = self._landed_row(outcome, checksum, config_hash, "failed", extracted)
            log = [{**row, "action": outcome.action}]
            insert(self.con, f"{RAW_SCHEMA}._ingest_log", INGEST_LOG_COLUMNS, [arrow_table(INGEST_LOG_COLUMNS, log)])
            self.con.execute("commit")
        except Exception:
            _rollback(self.con)
            raise

    def _replace_landed(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self._register_keys("_ingest_landed", rows)
        self.con.execute(
            f"delete from {RAW_SCHEMA}._landed_files using _ingest_landed k "
            "where _landed_files.client_id = k.client_id and _landed_files.source_file = k.source_file"
        )
        self.con.unregister("_ingest_landed")
        insert(self.con, f"{RAW_SCHEMA}._landed_files", LANDED_FILES_COLUMNS, [arrow_table(LANDED_FILES_COLUMNS, rows)])

    def _register_keys(self, name: str, files: list[Any]) -> None:
        """Register ``(client_id, source_file)`` of ``files`` (outcomes or landed rows) as view ``name``."""
        keys = [f if isinstance(f, dict) else {"client_id": f.client_id, "source_file": f.source_file} for f in files]
        key_columns = [c for c in LANDED_FILES_COLUMNS if c.name in ("client_id", "source_file")]
        self.con.register(name, arrow_table(key_columns, keys))

    def _landed_row(self, outcome: FileOutcome, checksum: str, config_hash: str, status: str, extracted):
        return {
            "client_id": outcome.client_id,
            "format": outcome.format,
            "source_file": outcome.source_file,
            "file_sha256": checksum,
            "file_size": outcome.file_size,
            "file_mtime_ns": outcome.file_mtime_ns,
            "config_hash": config_hash,
            "status": status,
            "error": outcome.error,
            "rows_read": outcome.rows_read,
            "rows_loaded": outcome.rows_loaded,
            "rows_quarantined": outcome.rows_quarantined,
            "extracted_at": extracted,
            "loaded_at": self.loaded_at,
            "covers_from": outcome.coverage.first if outcome.coverage else None,
            "covers_to": outcome.coverage.last if outcome.coverage else None,
            "covers_basis": outcome.coverage.basis if outcome.coverage else None,
            "latest_record_at": outcome.latest_record_at,
            "fields_present": outcome.fields_present,
            "fields_by_workflow": (
                None if outcome.fields_by_workflow is None else json.dumps(outcome.fields_by_workflow, sort_keys=True)
            ),
        }


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any: a COMMIT that fails has rolled back already, and
    its error, not "no transaction is active", is the one to report."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("rollback")


def _fail_unwritten(unwritten: list, error: duckdb.Error) -> None:
    """Files the database refused: failed, nothing of them recorded (the next run tries again)."""
    for one in unwritten:
        outcome = one.outcome if isinstance(one, _Staged) else one[0]
        outcome.action, outcome.error = "failed", f"{type(error).__name__}: {error}"
        outcome.rows_read = outcome.rows_loaded = outcome.rows_quarantined = 0


def ingest(
    landing_dir: Path,
    warehouse: Path,
    clients: Iterable[ClientConfig],
    *,
    progress: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Load every client's landing files (and its configuration) into ``raw``.

    Returns what happened to each file.

    ``now`` (UTC) stamps ``_loaded_at``, and bounds the record times of a file without an
    extraction record (more than a day after it is the future: quarantined). It never feeds
    a figure.
    """
    landing_dir = Path(landing_dir).resolve()
    loaded_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    report = IngestReport()
    say = progress or (lambda _line: None)
    clients = list(clients)
    with hold_warehouse(warehouse, say=say):  # one writer at a time, whoever calls
        _ingest_clients(landing_dir, warehouse, clients, loaded_at, report, say)
    return report


def _say_client(
    say: Callable[[str], None], counter: str, client: ClientConfig, files: int, report: IngestReport
) -> None:
    mine = report.for_client(client.client_id)
    changed = [f for f in mine if f.action in ("loaded", "replaced")]
    failed = [f for f in mine if f.action == "failed"]
    say(
        f"{counter} {client.client_id}: {files} files, "
        f"{len(changed)} (re)loaded, {len(mine) - len(changed) - len(failed)} unchanged, "
        f"{len(failed)} failed; {sum(f.rows_loaded for f in changed):,} rows loaded, "
        f"{sum(f.rows_quarantined for f in changed):,} quarantined"
    )
    for f in failed:
        say(f"    FAILED {f.source_file}: {f.error}")
    for where, why in report.ignored.get(client.client_id, []):
        say(f"    IGNORED {where}: {why}")
    for k in report.kept:
        if k.client_id == client.client_id:
            say(
                f"    KEPT {k.runs:,} run(s) of the earlier {k.source_file} that its re-delivery no longer holds, "
                f"as {k.kept_file} (a run landed once stays: vendors prune history; `roi retract` takes them back)"
            )


def _failed(client: ClientConfig, folder: str, path: Path, landing_dir: Path, exc: Exception) -> FileOutcome:
    source = path.relative_to(landing_dir).as_posix()
    return FileOutcome(client.client_id, folder, source, "failed", error=f"{type(exc).__name__}: {exc}")


def ingest_batch_rows(environ: dict[str, str] | None = None) -> int:
    """Rows per write transaction: ``ROI_INGEST_BATCH_ROWS``, default :data:`BATCH_ROWS`.

    Smaller batches lose less to a killed run (a batch's files are loaded again by the next
    run) and cost more commits; 1 writes every file in its own transaction.
    """
    return whole_number_setting("ROI_INGEST_BATCH_ROWS", environ, BATCH_ROWS, "rows")


#: The most parsing processes ingestion starts unless ``ROI_INGEST_WORKERS`` asks for more: each
#: has a few files in flight (:data:`IN_FLIGHT_FILES`), so memory stays bounded whatever the
#: host's core count (a container's CPU quota does not show in its CPU affinity).
DEFAULT_MAX_WORKERS = 2


def ingest_workers(environ: dict[str, str] | None = None) -> int:
    """Processes that parse files: ``ROI_INGEST_WORKERS``, default one per core up to
    :data:`DEFAULT_MAX_WORKERS` on Linux, 1 (this process) elsewhere.

    Measured (benchmarks/bench_ingest.py's files, 5 clients x 24 months, 960 files, on an idle
    2-core machine, alternated four times each): 5.5-5.8 s with two workers against 6.8-7.6 s in
    this process alone, and a lower peak (this process no longer holds what it parses). Changed
    files adding up to less than :data:`PARALLEL_MIN_BYTES` (all clients together) are parsed
    here whatever the setting.
    The workers are forked (they inherit the loaded code): elsewhere than on Linux forking a
    process with threads is not safe, and a worker would not end with a killed parent
    (:func:`~roi_pipeline.processes.die_with_parent`), so the pool is only there on request.
    """
    from roi_pipeline.processes import cores

    default = min(cores(), DEFAULT_MAX_WORKERS) if sys.platform == "linux" else 1
    return whole_number_setting("ROI_INGEST_WORKERS", environ, default, "processes")


class _Parser:
    """Parses the changed files of every client, in worker processes when there is enough to parse.

    Parsing is pure Python over one file at a time, so files go to a pool of
    :func:`ingest_workers` processes (forked: they inherit the loaded code and need no
    database) while this process writes the batches; results come back in order, at most a
    few files ahead, so memory stays bounded, each through a spool file (:func:`_spool`) in a
    folder of this ingestion's, removed at its end. The files of all clients are one stream, so
    the pool does not wait at each client's end (a month of 200 clients is 200 short lists).
    Until :data:`PARALLEL_MIN_BYTES` of changed files are known a pool would cost more than it
    saves: an ingestion with less than that parses them here.
    """

    def __init__(self) -> None:
        self.workers = ingest_workers()
        self.pool: ProcessPoolExecutor | None = None
        self.spool: Path | None = None  # where the pool's parsed files come back (_spool)

    def parse(
        self, items: Iterable[tuple[Any, _FileJob | None]]
    ) -> Iterator[tuple[Any, _Staged | _Unreadable | OSError | None]]:
        """``(key, job)`` -> ``(key, parsed job)``, in order; an item without a job passes
        through as ``(key, None)`` at its place (a client's end). ``items`` is read lazily, a
        few files ahead of what has been yielded."""
        stream = iter(items)
        # A daemonic process (a multiprocessing worker's own child) may not start processes.
        alone = self.workers < 2 or multiprocessing.current_process().daemon
        ahead: list[tuple[Any, _FileJob | None]] = []
        files = size = 0
        if not alone:  # how much is there to parse? read ahead until it is worth a pool
            for item in stream:
                ahead.append(item)
                if item[1] is not None:
                    files, size = files + 1, size + item[1].stat[0]  # the size it was checked with
                    if files >= 2 and size >= PARALLEL_MIN_BYTES:
                        break
        items = itertools.chain(ahead, stream)
        if alone or files < 2 or size < PARALLEL_MIN_BYTES:
            for key, job in items:
                yield key, (None if job is None else _parse_or_error(job))
            return
        if self.pool is None:
            self.spool = _spool_folder()
            self.pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        pending: deque[tuple[Any, Future | None, int]] = deque()
        in_flight = in_flight_bytes = 0

        def submit() -> None:  # items without a job pass along in their place
            nonlocal in_flight, in_flight_bytes
            while in_flight < 2 * self.workers or (
                in_flight < IN_FLIGHT_FILES * self.workers and in_flight_bytes < IN_FLIGHT_BYTES
            ):
                item = next(items, None)
                if item is None:
                    return
                key, job = item
                if job is None:
                    pending.append((key, None, 0))
                else:
                    size = job.stat[0]
                    pending.append((key, self.pool.submit(_parse_or_error, job, self.spool), size))
                    in_flight, in_flight_bytes = in_flight + 1, in_flight_bytes + size

        submit()
        while pending:
            key, future, size = pending.popleft()
            if future is None:
                yield key, None
                continue
            result = future.result()
            if isinstance(result, _Staged):
                try:
                    _unspool(result)
                except OSError as exc:  # its spool file is gone (a temporary folder cleaned): that file fails
                    result = exc
            in_flight, in_flight_bytes = in_flight - 1, in_flight_bytes - size
            submit()
            yield key, result

    def close(self) -> None:
        try:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None
        finally:
            if self.spool is not None:  # files of results never taken (an error, cancelled work)
                shutil.rmtree(self.spool, ignore_errors=True)
                self.spool = None


def _parse_or_error(job: _FileJob, spool: Path | None = None) -> _Staged | _Unreadable | OSError:
    """Parse a file; in a parsing process (``spool``: the ingestion's spool folder) its tables
    come back through a file there (:func:`_spool`)."""
    try:
        parsed = parse_file(job)
    except OSError as exc:  # the file vanished or cannot be read: that file fails, not the run
        return exc
    if spool is not None and isinstance(parsed, _Staged):
        _spool(parsed, spool)
    return parsed


_SPOOLED = itertools.count()
#: Linux's folder in memory (tmpfs): spooled there, a parsed file never meets a disk's file
#: system (on ext4, /tmp: 3.68 -> 3.46 s for 5 clients x 24 months, the kernel's time 0.95 -> 0.55 s).
MEMORY_FOLDER = Path("/dev/shm")


#: Room the spool folder must have free for a parsed file to be spooled: this much, or a tenth of
#: the folder's size if more. /dev/shm is shared (a container's is 64 MiB by default, and
#: multiprocessing keeps its semaphores there): with less free, the file goes back through the
#: pipe instead. (Not the file's own size: summing its tables' bytes took a quarter of
#: spooling's time in a profile.)
SPOOL_HEADROOM_BYTES = 16 << 20
_SPOOL_PREFIX = "roi-ingest-"


def _spool_root() -> str | None:
    """Where the parsing processes spool their files: :data:`MEMORY_FOLDER` when this process
    may write there, else the temporary folder (None). A full one (a container's small /dev/shm)
    costs nothing but speed: a file that cannot be spooled goes back through the pipe."""
    return str(MEMORY_FOLDER) if MEMORY_FOLDER.is_dir() and os.access(MEMORY_FOLDER, os.W_OK) else None


def _pid_namespace() -> int:
    """This process's PID namespace (its inode), 0 where there is none to read: a process id
    means something only inside its namespace, and /dev/shm may be shared between namespaces
    (containers run with ``--ipc=host``)."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _remove_stale_spools() -> None:
    """Remove the spool folders of ingestions killed outright (the OOM killer, an orchestrator's
    SIGKILL), which could not remove their own: /dev/shm holds them until the machine restarts.
    Every ingestion does it, with or without a parsing pool. A folder is removed when its
    process, in this PID namespace, is no longer alive; another namespace's folders are left
    alone (its process ids are not ours to check). Folders named before namespaces were
    (``roi-ingest-<pid>-<random>``) are taken as this namespace's."""
    here = _pid_namespace()
    for root in {_spool_root(), tempfile.gettempdir()} - {None}:  # _spool_folder's two places
        for stale in Path(root).glob(f"{_SPOOL_PREFIX}*-*"):
            pid, _, rest = stale.name.removeprefix(_SPOOL_PREFIX).partition("-")
            namespace = rest.split("-", 1)[0]
            if namespace.startswith("ns") and namespace.removeprefix("ns") != str(here):
                continue
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)


def _spool_folder() -> Path:
    """A new spool folder for this ingestion, named by this process's id and PID namespace
    (:func:`_remove_stale_spools` reads both). Where the memory folder cannot take a folder,
    the temporary folder does."""
    root = _spool_root()
    prefix = f"{_SPOOL_PREFIX}{os.getpid()}-ns{_pid_namespace()}-"
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError:  # a full memory folder (no room, no inodes)
        if root is None:
            raise
        return Path(tempfile.mkdtemp(prefix=prefix))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _spool(staged: _Staged, folder: Path) -> None:
    """Hand a parsed file's tables to the ingesting process through a file rather than a pipe.

    Sent back as the pool's result, the tables were pickled, pushed through a pipe and read
    out of it again, while the ingesting process was also busy writing. Written here as Arrow
    streams and mapped into memory there (:func:`_unspool`), they cost one copy, and the
    parsing process never waits for the other to read (5 clients x 24 months on 2 cores,
    alternated three times each: 3.84 -> 3.61 s). A file that cannot be written (a full disk,
    a container's small /dev/shm) goes back the old way, through the pipe.
    """
    path = folder / f"{os.getpid()}-{next(_SPOOLED)}.arrow"
    layout: dict[str, list[tuple[int, int]]] = {}
    try:
        room = os.statvfs(folder)
        if room.f_bavail * room.f_frsize < max(SPOOL_HEADROOM_BYTES, room.f_blocks * room.f_frsize // 10):
            return
        with pa.OSFile(str(path), "wb") as sink:
            for table, parts in staged.tables.items():
                spans = layout[table] = []
                for part in parts:
                    start = sink.tell()
                    with pa.ipc.new_stream(sink, part.schema) as writer:
                        writer.write_table(part)
                    spans.append((start, sink.tell() - start))
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return
    staged.tables, staged.spooled = {}, (str(path), layout)


def _unspool(staged: _Staged) -> None:
    """Map back the tables a parsing process spooled (:func:`_spool`); the file is removed at
    once (its memory stays mapped until the tables are written and dropped)."""
    if staged.spooled is None:
        return
    path, layout = staged.spooled
    try:
        try:
            with pa.memory_map(path) as source:
                data = source.read_buffer()  # zero-copy: the tables below point into the mapping
        except FileNotFoundError:
            raise
        except OSError:  # a mapping refused (the process's limit of mappings): read into memory
            with pa.OSFile(path) as source:
                data = source.read_buffer()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    staged.tables = {
        table: [pa.ipc.open_stream(data.slice(start, size)).read_all() for start, size in spans]
        for table, spans in layout.items()
    }
    staged.spooled = None


@dataclass
class _ClientPlan:
    """A client's landing files as checked: each file's outcome (a changed file's is filled in
    once it is parsed and taken), the changed files to parse by their place among the
    outcomes, and the large ones, written on their own."""

    client: ClientConfig
    counter: str  # "[i/n]" of its progress line
    folder: Path
    files: int | None  # None: no landing files could be listed (see error)
    outcomes: list[FileOutcome] = field(default_factory=list)
    jobs: dict[int, _FileJob] = field(default_factory=dict)
    large: dict[int, _FileJob] = field(default_factory=dict)
    error: str | None = None  # why its landing files could not be listed


def _plan_client(
    loader: _Loader, landing_dir: Path, client: ClientConfig, counter: str, report: IngestReport
) -> _ClientPlan:
    client_dir = landing_dir / client.client_id
    if not client_dir.is_dir():
        report.client_errors[client.client_id] = f"no landing folder {client_dir}"
        return _ClientPlan(client, counter, client_dir, None, error=f"no landing folder at {client_dir}")
    try:
        files = landing_files(client_dir)
    except OSError as exc:  # a folder that cannot be listed: this client fails, the others load
        error = f"cannot list its landing files: {type(exc).__name__}: {exc}"
        report.client_errors[client.client_id] = error
        return _ClientPlan(client, counter, client_dir, None, error=error)
    plan = _ClientPlan(client, counter, client_dir, len(files))
    ignored = ignored_landing_entries(client_dir)
    if ignored:
        report.ignored[client.client_id] = ignored
    loader.read_known(client.client_id)
    records: dict[Path, tuple[dict[str, datetime], dict[str, Coverage]]] = {}
    for folder, path in files:
        if path.parent not in records:
            records[path.parent] = _extraction_records(path.parent)
        stamps, stated = records[path.parent]
        try:
            checked = loader.check(client, folder, path, stamps.get(path.name), stated.get(path.name))
        except OSError as exc:  # one bad file never stops the rest
            checked = _failed(client, folder, path, landing_dir, exc)
        if isinstance(checked, _FileJob):
            slot = len(plan.outcomes)
            (plan.large if checked.stat[0] > LARGE_FILE_BYTES else plan.jobs)[slot] = checked
            checked = FileOutcome(client.client_id, folder, checked.source_file, "failed")  # filled in when taken
        plan.outcomes.append(checked)
    return plan


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """The objects alive now (the loaded code, the configs) left out of garbage collection meanwhile.

    Parsing makes and drops millions of small objects, so the collector runs often, and each
    full collection walked every object of the libraries loaded (pandas, pyarrow, pydantic).
    Frozen, they are skipped, here and in the parsing processes forked after, which inherit the
    frozen heap (5 clients x 24 months on 2 cores, alternated three times each: 3.82 -> 3.66 s).
    Unfrozen on the way out, so what ingestion dropped is collected as before. A process that
    froze its heap itself (a server forking workers) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _ingest_clients(
    landing_dir: Path,
    warehouse: Path,
    clients: list[ClientConfig],
    loaded_at: datetime,
    report: IngestReport,
    say: Callable[[str], None],
) -> None:
    con = connect(warehouse)
    _remove_stale_spools()
    parser = _Parser()
    loader: _Loader | None = None
    stack = contextlib.ExitStack()
    try:
        ensure_schema(con)
        write_config_tables(con, clients, RAW_SCHEMA)
        stack.enter_context(_frozen_heap())
        loader = _Loader(con, landing_dir, loaded_at, kept=report.kept)
        # Clients share batches (a transaction per client cost more than its rows at a month's
        # scale: 200 clients, a few new files each), so a client's line is said once its parsed
        # files are written, and says what was written; a line waits at most LINE_WAIT_SECONDS
        # (its batch is then written early).
        pending: deque[tuple[int, float, Callable[[], None]]] = deque()  # (batch it waits for, since, line)

        def settle() -> None:
            waits_for_staged = pending and pending[0][0] > loader.batches
            if waits_for_staged and time.monotonic() - pending[0][1] > LINE_WAIT_SECONDS:
                loader.flush()  # written behind: the line is said once it is (a later settle)
            while pending and loader.written(pending[0][0]):
                pending.popleft()[2]()

        def later(line: Callable[[], None]) -> None:
            # the files taken so far are this line's client's and the clients' before it
            pending.append((loader.batch_of_taken(), time.monotonic(), line))
            settle()

        def plans() -> Iterator[tuple[_ClientPlan, _FileJob | None]]:
            """Each client's changed files to parse, then its end: checked as the parser reads on."""
            for index, client in enumerate(clients, start=1):
                plan = _plan_client(loader, landing_dir, client, f"[{index}/{len(clients)}]", report)
                for slot, job in plan.jobs.items():
                    yield (plan, slot), job
                yield (plan, None), None

        for (plan, slot), parsed in parser.parse(plans()):
            client = plan.client
            if slot is not None:
                job = plan.jobs[slot]
                if isinstance(parsed, OSError):
                    plan.outcomes[slot] = _failed(client, job.folder, job.path, landing_dir, parsed)
                else:
                    try:
                        plan.outcomes[slot] = loader.take(parsed)
                    except duckdb.Error as exc:  # recording an unreadable file failed: that file only
                        plan.outcomes[slot] = _failed(client, job.folder, job.path, landing_dir, exc)
                if pending:  # lines waiting for a batch being written: said as soon as it is
                    settle()
                continue
            if plan.files is None:  # no landing folder, or one that cannot be listed
                later(functools.partial(say, f"{plan.counter} {client.client_id}: {plan.error}"))
                continue
            if plan.large:  # earlier clients' files are written first, and their lines said
                loader.flush()
                loader.wait()
                settle()
            for slot, job in plan.large.items():
                say(f"    {job.source_file}: {job.stat[0] / 2**20:,.0f} MiB, written as it is parsed")
                try:
                    plan.outcomes[slot] = loader.load_large(job)
                except (OSError, duckdb.Error) as exc:  # recording an unreadable file failed: that file only
                    plan.outcomes[slot] = _failed(client, job.folder, job.path, landing_dir, exc)
            loader.forget(client.client_id)
            report.files.extend(plan.outcomes)
            later(functools.partial(_say_client, say, plan.counter, client, plan.files, report))
        loader.flush()
        loader.wait()
        settle()
    finally:
        try:
            parser.close()
            if loader is not None:
                loader.close()
            with contextlib.suppress(duckdb.Error):  # the parsing is over: the closing checkpoint may use every core
                con.execute("reset threads")
            con.close()
        finally:
            stack.close()
