"""The interface every landing format implements, and the readers they share.

A format owns one landing folder (``landing/<client>/<folder>/``) and one raw table
(``raw.<table>``). It turns a file into *records* (:meth:`LandingFormat.records`) and each
record into a typed row (:meth:`LandingFormat.parse`), or rejects it with a reason that
lands in the quarantine table. Adding a vendor format = one module with one subclass,
registered in :mod:`roi_pipeline.formats`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.config import ClientConfig
from roi_pipeline.timeutil import BadTimestamp, parse_instant


class Rejected(ValueError):
    """A record that cannot be loaded; the message is the quarantine reason."""


class UnreadableFile(ValueError):
    """A file whose structure cannot be read at all (bad JSON, missing CSV columns)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB SQL type
    description: str = ""


@dataclass
class Parsed:
    """One loaded record: its row for the format's table, plus rows for child tables."""

    row: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Coverage:
    """The local dates a file speaks for (both ends included) and where that was read."""

    first: date
    last: date
    basis: str  # "file name" / "extraction record" / "entries"


@dataclass(frozen=True)
class ParseContext:
    client: ClientConfig
    source_file: str  # path relative to the landing dir: lineage that does not depend on the machine
    #: The file's extraction time (naive UTC) from its extraction record, None without one.
    extracted_at: datetime | None = None
    #: The moment of ingestion (naive UTC; ``ingest(now=...)``): the bound for records of a file
    #: without an extraction record. None (parsing outside ingestion): no future check.
    ingested_at: datetime | None = None

    @property
    def tz(self) -> str:
        return self.client.timezone


class LandingFormat:
    """Base class: subclasses set the class attributes and implement ``parse``."""

    folder: ClassVar[str]
    table: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    columns: ClassVar[tuple[Column, ...]]
    #: Child tables a record may also produce (e.g. HubSpot associations): name -> columns.
    child_tables: ClassVar[dict[str, tuple[Column, ...]]] = {}
    description: ClassVar[str] = ""
    #: Bump when parsing of already-landed files changes (new column, different key):
    #: ingestion then re-parses every file of the format instead of skipping it as unchanged.
    version: ClassVar[int] = 1
    #: True when a file speaks for a date range (timesheet exports): see :meth:`coverage`.
    covers_dates: ClassVar[bool] = False
    #: Columns of the main table holding when something had already happened by the time of
    #: the export (a run's start/stop, a CRM object's creation/update, a time entry's day):
    #: their latest value is the file's "as of" when no extraction record exists (a lower
    #: bound; never scheduled times such as a meeting's start or a deal's expected close).
    #: A ``date`` column counts as the local midnight starting that day.
    record_time_columns: ClassVar[tuple[str, ...]] = ()

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        """Yield ``(row_number, record)`` for every record in the file, numbered from 1.

        Raises :class:`UnreadableFile` when the file's structure cannot be read at all.
        A format instance reads one file: per-file state (occurrence counters) lives on it.
        """
        raise NotImplementedError

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        """Type one record, or raise :class:`Rejected`."""
        raise NotImplementedError

    def stated_coverage(self, path: Path, stated: Coverage | None) -> Coverage | None:
        """The dates a file covers as far as known before reading it; formats without the notion: None.

        ``stated`` is the range the file's extraction record gives (``_extracts.json``).
        """
        return None

    def coverage(self, path: Path, stated: Coverage | None, rows: Sequence[dict[str, Any]]) -> Coverage | None:
        """The dates a loaded file covers (``rows``: its parsed rows); None = covers nothing."""
        return None

    def tables(self) -> dict[str, tuple[Column, ...]]:
        return {self.table: self.columns, **self.child_tables}


# --------------------------------------------------------------------------- readers


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text: {exc}") from exc


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text.

    Split on ``\n`` only (``read_text`` has already turned ``\r\n`` into it): JSON lets
    U+2028, U+2029 and U+0085 stand unescaped inside strings, and ``str.splitlines`` would
    cut a record in two at them.
    """
    return text.split("\n")


def iter_json_objects(path: Path, envelope_key: str) -> Iterator[tuple[int, Any]]:
    """Records from a JSON file holding API pages or objects.

    Accepts one page ``{envelope_key: [...], ...}``, a JSON array of pages, a JSON array of
    objects, or JSON Lines (one object or page per line). An empty file holds no records.
    """
    text = read_text(path)
    if not text.strip():
        return
    try:
        documents = [json.loads(text)]
    except ValueError as whole_error:  # JSONDecodeError, or e.g. an integer too long to convert
        documents = []
        for line_no, line in enumerate(json_lines(text), start=1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except ValueError:
                where = (
                    f"{whole_error.msg} at line {whole_error.lineno} column {whole_error.colno}"
                    if isinstance(whole_error, json.JSONDecodeError)
                    else str(whole_error)
                )
                raise UnreadableFile(
                    f"malformed JSON: {where}"
                    + (f" (and line {line_no} is not a JSON Lines record)" if line_no > 1 else "")
                ) from whole_error
    number = 0
    for doc in documents:
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            if isinstance(item, dict) and envelope_key in item and isinstance(item[envelope_key], list):
                for record in item[envelope_key]:
                    number += 1
                    yield number, record
            else:
                number += 1
                yield number, item


def snake(header: str) -> str:
    """``"Billable?"`` -> ``billable``, ``"Start date"`` -> ``start_date``, ``"Amount (GBP)"`` -> ``amount``."""
    header = re.sub(r"\(.*?\)", "", header)
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def iter_csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV export as dicts keyed by snake-cased header, numbered from 1.

    Raises :class:`UnreadableFile` when a required column is missing (schema drift: a
    vendor renamed a column) so that no row is loaded with a silently empty field.
    """
    text = read_text(path)
    if not text.strip():
        return
    # strict: an unterminated quote raises instead of swallowing the rest of the file into
    # one field (which silently drops every later row when the field count happens to fit).
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UnreadableFile(f"cannot read the CSV header: {exc}") from exc
    keys = [snake(h) for h in header]
    missing = [c for c in required if c not in keys]
    if missing:
        raise UnreadableFile(
            f"schema drift: column(s) {', '.join(missing)} missing from the header ({', '.join(header)})"
        )
    try:
        for number, values in enumerate(reader, start=1):
            if not any(v.strip() for v in values):
                continue  # a blank line is not a record
            if len(values) != len(keys):
                yield number, {"__malformed__": values, "__header__": keys}
                continue
            yield number, dict(zip(keys, values, strict=True))
    except csv.Error as exc:
        raise UnreadableFile(f"malformed CSV at line {reader.line_num}: {exc}") from exc


# --------------------------------------------------------------------------- field helpers


def require(record: dict[str, Any], key: str, what: str | None = None) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Rejected(f"missing {what or key}")
    return str(value).strip()


def optional_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def instant(value: Any, ctx: ParseContext, what: str, *, required: bool = True) -> tuple[datetime | None, bool]:
    """A timestamp field as (naive UTC, tz_assumed); a bad one rejects the record."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Rejected(f"missing {what}")
        return None, False
    try:
        return parse_instant(str(value), ctx.tz)
    except BadTimestamp as exc:
        raise Rejected(f"bad {what}: {exc}") from exc


_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def number(value: Any, what: str, *, integer: bool = False, minimum: float | None = 0) -> float | int | None:
    """A numeric field; empty = None; unparseable or below ``minimum`` rejects the record.

    Text must be a plain decimal number (``1500.00``, ``-3``, ``1e3``). A comma is rejected,
    not guessed at: ``7,5`` is 7.5 hours in a decimal-comma locale and ``1,500`` may be
    either 1500 or 1.5, and a wrong guess is off by a factor of 10 to 1000.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise Rejected(f"bad {what}: {value!r} is not a number")
    if isinstance(value, int | float):
        try:
            parsed = float(value)
        except OverflowError as exc:  # a JSON integer with hundreds of digits
            raise Rejected(f"bad {what}: {value!r} is out of range") from exc
    else:
        text = str(value).strip()
        if not _DECIMAL.match(text):
            raise Rejected(f"bad {what}: {value!r} is not a number (expected digits with a '.' decimal point)")
        parsed = float(text)
    if parsed != parsed or parsed in (float("inf"), float("-inf")):
        raise Rejected(f"bad {what}: {value!r}")
    if minimum is not None and parsed < minimum:
        raise Rejected(f"negative {what}: {value!r}")
    if integer:
        if parsed != int(parsed):
            raise Rejected(f"bad {what}: {value!r} is not a whole number")
        return int(parsed)
    return parsed


def local_date(value: Any, what: str) -> date:
    text = optional_str(value)
    if text is None:
        raise Rejected(f"missing {what}")
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Rejected(f"bad {what}: {text!r} is not a YYYY-MM-DD date")


def boolean(value: Any) -> bool | None:
    text = optional_str(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in {"true", "yes", "y", "1"}:
        return True
    if lowered in {"false", "no", "n", "0"}:
        return False
    return None


def record_json(record: Any) -> str:
    """The landed record as canonical JSON text, kept in ``_record`` so nothing is lost."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_key(parts: Sequence[Any]) -> str:
    """A stable hash of the fields that identify a record without an id (timesheet CSV rows)."""
    return hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:16]


def reject_malformed(record: Any) -> None:
    if isinstance(record, dict) and "__malformed__" in record:
        raise Rejected(f"row has {len(record['__malformed__'])} fields, the header has {len(record['__header__'])}")
    if not isinstance(record, dict):
        raise Rejected(f"expected an object, got {type(record).__name__}")
