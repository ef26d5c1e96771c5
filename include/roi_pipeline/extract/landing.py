"""Writing landing files safely, and the extractor's own state beside them.

- Data files are written atomically: bytes go to a dot-prefixed temp file in the same folder
  (ingestion never reads ``.`` / ``_`` names), are fsynced, then renamed over the target, so
  ingestion sees the old file or the new one, never half of one. Identical bytes are not
  rewritten.
- Bytes are deterministic: records sorted by id, keys sorted, one record per line, fixed
  separators, ``\\n`` line ends, UTF-8 without BOM.
- ``<folder>/_extracts.json`` records when each file was extracted (docs/landing.md); a
  person who drops a file by hand states its export time with ``roi landed`` (:func:`state_exported`).
- State lives in ``<landing>/<client>/_extract/`` (not a format folder, so never ingested):
  ``<source>.state.json`` (the watermark), ``<source>.run.json`` (the parameters of a run in
  progress, so a rerun after a crash resumes the *same* queries) and ``checkpoints/`` (one
  JSON Lines file per paged query: one line per complete page, appended and fsynced).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

STATE_DIR = "_extract"


def id_sort_key(value: Any) -> tuple[int, int, str]:
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def dumps(record: Any) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def json_page(envelope_key: str, records: Sequence[dict[str, Any]], trailer: dict[str, Any] | None = None) -> bytes:
    """One API-shaped page ``{"<key>": [...], ...}`` holding every record, one per line."""
    ordered = sorted(records, key=lambda r: id_sort_key(r.get("id")))
    body = ",\n".join(dumps(r) for r in ordered)
    tail = "".join(f",{json.dumps(k)}:{dumps(v)}" for k, v in sorted((trailer or {}).items()))
    return (f'{{"{envelope_key}":[\n{body}\n]{tail}}}\n' if ordered else f'{{"{envelope_key}":[]{tail}}}\n').encode()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, as the vendors export
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def atomic_write(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; False when the file already holds these bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return True


def iso_z(moment: datetime) -> str:
    """An aware instant as ``2026-01-31T23:30:00Z`` (naive = already UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def record_extracted(
    folder: Path,
    names: Iterable[str],
    extracted_at: datetime,
    covers: Mapping[str, tuple[date, date]] | None = None,
    *,
    stated: bool = False,
) -> None:
    """Set ``extracted_at`` of ``names`` in ``folder/_extracts.json``, keeping other entries.

    ``covers``: file name -> the first and last local date the file is complete for
    (timesheets: ``covers_from`` / ``covers_to``, docs/landing.md).
    ``stated``: the time was stated by the person who dropped the file (``roi landed``), not
    recorded by an extractor; the entry says so (``"stated": true``).
    """
    path = folder / "_extracts.json"
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8-sig"))
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            data = {}
    for name in names:
        data[name] = {"extracted_at": iso_z(extracted_at)} | ({"stated": True} if stated else {})
        if covers and name in covers:
            first, last = covers[name]
            data[name].update(covers_from=first.isoformat(), covers_to=last.isoformat())
    atomic_write(path, (json.dumps(data, sort_keys=True, indent=2) + "\n").encode())


class SourceState:
    """Watermark, run-in-progress and checkpoints of one client's source."""

    def __init__(self, client_dir: Path, source: str):
        self.dir = client_dir / STATE_DIR
        self.source = source
        self.state_path = self.dir / f"{source}.state.json"
        self.run_path = self.dir / f"{source}.run.json"
        self.checkpoint_dir = self.dir / "checkpoints"

    def _read(self, path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def watermark(self) -> str | None:
        """Start of the last successful run that covered everything since the backfill start."""
        return self._read(self.state_path).get("watermark")

    def set_watermark(self, value: str) -> None:
        self._set(watermark=value)

    def last_extract(self) -> str | None:
        """Start of the last successful run of any kind (a one-month run included).

        Every run refreshes what changed since the previous one, so every landed record is
        current as of this instant; one-month runs read it for their ``refresh`` window.
        """
        state = self._read(self.state_path)
        return state.get("last_extract") or state.get("watermark")

    def set_last_extract(self, value: str) -> None:
        self._set(last_extract=value)

    def _set(self, **values: str) -> None:
        state = {**self._read(self.state_path), **values}
        atomic_write(self.state_path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())

    def pending_run(self) -> dict[str, Any]:
        return self._read(self.run_path)

    def start_run(self, params: dict[str, Any]) -> None:
        atomic_write(self.run_path, (json.dumps(params, sort_keys=True, indent=2) + "\n").encode())

    def finish_run(self) -> None:
        self.discard_checkpoints()
        if self.run_path.exists():
            self.run_path.unlink()

    def discard_checkpoints(self) -> None:
        if self.checkpoint_dir.is_dir():
            for path in self.checkpoint_dir.glob(f"{self.source}-*.jsonl"):
                path.unlink()

    def checkpoint(self, query: dict[str, Any]) -> Checkpoint:
        key = hashlib.sha256(dumps(query).encode()).hexdigest()[:16]
        return Checkpoint(self.checkpoint_dir / f"{self.source}-{key}.jsonl", query)


class Checkpoint:
    """The complete pages of one paged query, so a failed run resumes after the last of them."""

    def __init__(self, path: Path, query: dict[str, Any]):
        self.path = path
        self.query = query

    def load(self) -> tuple[list[Any], Any, bool, int]:
        """``(records, next cursor, finished, pages)`` saved so far (nothing if the query differs)."""
        if not self.path.is_file():
            return [], None, False, 0
        records: list[Any] = []
        cursor, done, pages = None, False, 0
        lines = self.path.read_text(encoding="utf-8").split("\n")
        try:
            header = json.loads(lines[0])
        except ValueError:
            return [], None, False, 0
        if header.get("query") != json.loads(dumps(self.query)):
            return [], None, False, 0
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                page = json.loads(line)
            except ValueError:  # a line cut short by a crash: the page is fetched again
                break
            records.extend(page["records"])
            cursor, done = page["cursor"], page["done"]
            pages += 1
        return records, cursor, done, pages

    def append(self, records: list[Any], cursor: Any, done: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file()
        with self.path.open("a", encoding="utf-8") as handle:
            if new:
                handle.write(dumps({"query": self.query}) + "\n")
            handle.write(dumps({"records": records, "cursor": cursor, "done": done}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _existing_record(folder: Path) -> dict[str, Any]:
    path = folder / "_extracts.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8-sig")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def state_exported(
    landing_dir: Path, client_id: str, source: str, names: Sequence[str], exported_at: datetime
) -> list[str]:
    """Record that files dropped by hand into ``<client>/<source>/`` were exported at ``exported_at``.

    ``names``: the files (default: every data file of the folder without an extraction record
    yet). Returns the names recorded; raises ``ValueError`` naming what is wrong (unknown
    folder, no such file, nothing to record).
    """
    from roi_pipeline.formats import FORMATS

    if source not in FORMATS:
        raise ValueError(f"unknown source {source!r}: a landing folder, one of {', '.join(FORMATS)}")
    folder = Path(landing_dir) / client_id / source
    fmt = FORMATS[source]
    data_files = sorted(
        p.name
        for p in (folder.iterdir() if folder.is_dir() else [])
        if p.is_file() and p.suffix.lower() in fmt.suffixes and not p.name.startswith(("_", "."))
    )
    if not data_files:
        raise ValueError(f"{folder}: no data files to record an export time for")
    if names:
        unknown = [n for n in names if n not in data_files]
        if unknown:
            raise ValueError(f"{folder}: no such data file: {', '.join(unknown)} (files: {', '.join(data_files)})")
        chosen = list(dict.fromkeys(names))
    else:
        recorded = _existing_record(folder)
        chosen = [n for n in data_files if n not in recorded]
        if not chosen:
            raise ValueError(
                f"{folder}: every file already has an extraction record; name the files to state a new time for"
            )
    record_extracted(folder, chosen, exported_at, stated=True)
    return chosen
