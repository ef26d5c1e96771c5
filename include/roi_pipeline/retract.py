"""Take back a landed file: ``roi retract CLIENT SOURCE FILE... --reason TEXT``.

The raw layer is the system of record: a file's rows stay when the file leaves the landing
folder (vendors prune their history, so a landing folder may be cleared after loading), and
ingestion never deletes them by itself. A file landed by mistake (another client's export
dropped in this client's folder, a test export) therefore needs saying so. Retracting a file:

- deletes its rows from the raw tables of its format and its quarantined records, and its
  ``raw._landed_files`` record, in one transaction;
- logs the retraction in ``raw._ingest_log`` (action ``retracted``, the reason in ``error``);
- moves the file out of the client's landing folder into
  ``<landing>/_retracted/<client>/<source>/`` (kept as evidence; a name taken there gets a
  numbered suffix), so the next ingestion does not load it again.

The next build rebuilds the months the file had rows in (for run logs, the runs models'
ledger sees it gone: ``int_run_files_pending``), and running those months again restates
their reports.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from roi_pipeline.formats import FORMATS
from roi_pipeline.ingest import INGEST_LOG_COLUMNS, LANDED_FILES_COLUMNS, RAW_SCHEMA, ensure_schema, table_columns

#: Where retracted files are kept, under the landing folder (no client is called that).
RETRACTED_DIR = "_retracted"


@dataclass(frozen=True)
class Retracted:
    source_file: str
    rows: int
    quarantined: int
    kept_at: Path | None  # where the file was moved (None: it was no longer in the landing folder)


def retract_files(
    landing_dir: Path, warehouse: Path, client_id: str, source: str, names: list[str], reason: str, now: datetime
) -> list[Retracted]:
    """Retract ``names`` (paths inside ``<landing>/<client>/<source>/``) of the client; raises
    ValueError naming what cannot be retracted before anything changes."""
    if source not in FORMATS:
        raise ValueError(f"unknown source {source!r} (one of: {', '.join(FORMATS)})")
    if not reason.strip():
        raise ValueError("say why the files are retracted (--reason)")
    landing_dir = Path(landing_dir)
    keys = [f"{client_id}/{source}/{Path(name).as_posix()}" for name in names]
    con = duckdb.connect(str(warehouse))
    try:
        ensure_schema(con)
        known = {
            row[0]
            for row in con.execute(
                f"select source_file from {RAW_SCHEMA}._landed_files where client_id = ? and source_file in "
                f"(select unnest(?))",
                [client_id, keys],
            ).fetchall()
        }
        unknown = [key for key in keys if key not in known]
        if unknown:
            raise ValueError(f"not landed for {client_id}: {', '.join(unknown)} (see raw._landed_files)")
        done = []
        log_columns = ", ".join(c.name for c in INGEST_LOG_COLUMNS)
        landed_columns = [c.name for c in LANDED_FILES_COLUMNS]
        picked = ", ".join(
            "? as loaded_at" if name == "loaded_at" else "? as error" if name == "error" else name
            for name in landed_columns
        )
        con.execute("begin transaction")
        try:
            for key in keys:
                rows = 0
                for table in table_columns(FORMATS[source]):
                    (deleted,) = con.execute(
                        f"delete from {RAW_SCHEMA}.{table} where _client_id = ? and _source_file = ?", [client_id, key]
                    ).fetchone()
                    rows += deleted if table == FORMATS[source].table else 0
                (quarantined,) = con.execute(
                    f"delete from {RAW_SCHEMA}._quarantine where client_id = ? and source_file = ?", [client_id, key]
                ).fetchone()
                params = [
                    now if name == "loaded_at" else f"retracted: {reason}"
                    for name in landed_columns
                    if name in ("loaded_at", "error")
                ]
                con.execute(
                    f"insert into {RAW_SCHEMA}._ingest_log ({log_columns}) select {picked}, 'retracted' "
                    f"from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?",
                    [*params, client_id, key],
                )
                con.execute(
                    f"delete from {RAW_SCHEMA}._landed_files where client_id = ? and source_file = ?", [client_id, key]
                )
                done.append((key, rows, quarantined))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.close()
    return [Retracted(key, rows, quarantined, _keep(landing_dir, key)) for key, rows, quarantined in done]


def _keep(landing_dir: Path, key: str) -> Path | None:
    """Move a retracted file out of its client's landing folder (see the module)."""
    path = landing_dir / key
    if not path.is_file():
        return None
    target = landing_dir / RETRACTED_DIR / key
    target.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while target.exists():
        target = target.with_name(f"{Path(key).stem}.{n}{Path(key).suffix}")
        n += 1
    shutil.move(str(path), str(target))
    return target
