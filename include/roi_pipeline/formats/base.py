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
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from roi_pipeline.config import ClientConfig
from roi_pipeline.timeutil import BadTimestamp, parse_instant

if TYPE_CHECKING:
    import pyarrow as pa


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


class FieldTally:
    """The fields a file's records carry, whatever their values, gathered set-wise while reading.

    Top-level keys, plus ``<field>.<key>`` for the keys of the object-valued ``nested``
    fields (n8n ``customData``). The readers' own defect markers (``__defect__`` ...) are
    not fields. Quarantined records count too: they carried the field. With a ``scope``
    field (a run log's workflow id) the fields are also kept per value of it: a field only
    some workflows report is missed only where those workflows ran.
    """

    def __init__(self, nested: Sequence[str] = (), scope: str | None = None) -> None:
        self.nested = tuple(nested)
        self.scope = scope
        self.top: dict[Any, set[Any]] = {}
        self.inner: dict[Any, dict[str, set[Any]]] = {}

    def add(self, record: Any) -> None:
        if not isinstance(record, dict):
            return
        key = record.get(self.scope) if self.scope else None
        if not isinstance(key, str | int | float | type(None)):
            key = None
        top = self.top.get(key)
        if top is None:
            top = self.top[key] = set()
            self.inner[key] = {name: set() for name in self.nested}
        top.update(record)  # a CSV row's keys are its header: one C-level update
        for name, keys in self.inner[key].items():
            inner = record.get(name)
            if isinstance(inner, dict):
                keys.update(inner)

    def _names(self, key: Any) -> set[str]:
        out = {str(k) for k in self.top[key] if not str(k).startswith("__")}
        for name, keys in self.inner[key].items():
            out.update(f"{name}.{k}" for k in keys)
        return out

    def fields(self) -> list[str]:
        return sorted(set().union(*(self._names(k) for k in self.top)))

    def by_scope(self) -> dict[str, list[str]] | None:
        """Scope value (as text) -> its fields; None without a scope."""
        if not self.scope:
            return None
        return {("" if k is None else str(k)): sorted(self._names(k)) for k in self.top}


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
    #: Object-valued fields whose keys are fields of their own (n8n ``customData``, HubSpot
    #: ``properties``): recorded per landed file as ``<field>.<key>`` (see :meth:`fields_of`).
    nested_fields: ClassVar[tuple[str, ...]] = ()
    #: The one list of landed fields (as :meth:`fields_of` names them) that feed a figure of
    #: the marts: one present in a client's earlier files and absent from a month's files
    #: holds the report (raw gate, ``dropped_figure_field``); any other such field is a note.
    figure_fields: ClassVar[tuple[str, ...]] = ()
    #: Run logs: raw column -> landed field whose share of reporting runs is watched month
    #: on month (raw gate, ``field_share_collapse``).
    reported_fields: ClassVar[dict[str, str]] = {}
    #: Run logs: the landed field naming the workflow. A dropped field counts only where the
    #: workflows that carried it before ran in the month (an on-demand workflow may not run).
    field_scope: ClassVar[str | None] = None

    def field_tally(self) -> FieldTally:
        return FieldTally(self.nested_fields, self.field_scope)

    def fields_of(self, records: Iterable[Any]) -> list[str]:
        """The fields ``records`` carry, sorted (see :class:`FieldTally`)."""
        tally = self.field_tally()
        for record in records:
            tally.add(record)
        return tally.fields()

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        """Yield ``(row_number, record)`` for every record in the file, numbered from 1.

        Raises :class:`UnreadableFile` when the file's structure cannot be read at all.
        A format instance reads one file: per-file state (occurrence counters) lives on it.
        """
        raise NotImplementedError

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        """Type one record, or raise :class:`Rejected`."""
        raise NotImplementedError

    def parse_columns(self, records: Sequence[Any], ctx: ParseContext) -> dict[str, pa.Array] | None:
        """``records`` (of one file) typed at once: the main table's columns, ``_record`` included.

        The columnar twin of :meth:`parse` (see :mod:`roi_pipeline.formats.columnar`), for the
        formats that have one (the rest return None). It gives columns only when every record is
        one :meth:`parse` loads, with exactly the values it gives, and no child rows; where it
        cannot vouch for a value it raises :class:`~roi_pipeline.formats.columnar.Unusual`, and
        the records are parsed one at a time.
        """
        return None

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


#: A CSV field longer than this makes its row a defect (the csv module's default limit).
FIELD_LIMIT = 128 * 1024
#: The delimiters a CSV header is sniffed for (comma, semicolon, tab, pipe); comma by default.
CSV_DELIMITERS = ",;\t|"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_UTF8_TEXT = re.compile("[^\x00-\x7f\udc80-\udcff]")  # non-ASCII text that decoded as UTF-8


def _byte(byte: int) -> str:
    """``0xE9 ('é' in Windows-1252)``: the byte, and what it was meant to be in the likeliest other encoding."""
    try:
        return f"0x{byte:02X} ({bytes([byte]).decode('cp1252')!r} in Windows-1252)"
    except UnicodeDecodeError:
        return f"0x{byte:02X}"


def _not_utf8(byte: int, where: str) -> str:
    """What is wrong with a byte that is not UTF-8, and what to do about it, in one line."""
    return f"not UTF-8: byte {_byte(byte)} {where}; re-export or save the file as UTF-8"


def _printable(text: str) -> str:
    """``text`` with bytes that were not UTF-8 spelled ``\\xe9``: storable, and shows the byte."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Utf8Check:
    """Tells a UTF-8 file with a few damaged rows from a file saved in another encoding.

    Files are decoded with ``surrogateescape``: a byte that is not UTF-8 stays in the text as
    a lone surrogate, so a damaged row costs that row alone. But when two or more rows are
    not UTF-8 and nothing in the file is UTF-8 beyond ASCII (no byte-order mark, no accented
    letter that decoded), the file was saved in another encoding (Windows-1252, Latin-1):
    reading on would quarantine exactly the rows with accented names, so it is unreadable.
    One such row alone is taken as damage (the two cannot be told apart; its reason says
    what to do either way). Not decoded as Windows-1252 instead: Latin-1, Windows-1250 and
    others read the same bytes as other letters, and names are identity here.
    """

    def __init__(self, bom: bool) -> None:
        self.utf8_seen = bom
        self.bad = 0
        self.first_bad = ""

    def check(self, text: str) -> int | None:
        """The first byte of one record's text that is not UTF-8 (None: it is all UTF-8)."""
        if text.isascii():
            return None
        escaped = _ESCAPED_BYTE.search(text)
        if _UTF8_TEXT.search(text):
            self.utf8_seen = True
        if escaped is None:
            return None
        self.bad += 1
        return ord(escaped.group()) - 0xDC00

    def reason(self, byte: int, where: str) -> str:
        """The quarantine reason for a record with ``byte``; the first one also explains the file."""
        self.first_bad = self.first_bad or f"byte {_byte(byte)} {where}"
        return _not_utf8(byte, where)

    def finish(self) -> None:
        if self.bad >= 2 and not self.utf8_seen:
            raise UnreadableFile(
                f"not UTF-8: {self.bad} rows have bytes that are not UTF-8 (the first: {self.first_bad}) and no "
                "text in the file is UTF-8 beyond ASCII, so it was saved in another encoding such as "
                "Windows-1252 or Latin-1; re-export or save the file as UTF-8"
            )


def read_text(path: Path) -> str:
    """A whole text file (UTF-8, byte-order mark accepted); not UTF-8 is :class:`UnreadableFile`."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UnreadableFile(_not_utf8(data[exc.start], f"at line {line}, column {column}")) from exc
    # what text-mode reading did: \r\n and a lone \r end a line as \n does
    return text.replace("\r\n", "\n").replace("\r", "\n")


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text.

    Split on ``\n`` only (``read_text`` has already turned ``\r\n`` into it): JSON lets
    U+2028, U+2029 and U+0085 stand unescaped inside strings, and ``str.splitlines`` would
    cut a record in two at them.
    """
    return text.split("\n")


def iter_text_lines(path: Path) -> Iterator[tuple[int, str | dict[str, str]]]:
    """The lines of a JSON Lines file, streamed, numbered from 1, without their line ends.

    A line with bytes that are not UTF-8 comes as a defect record ``{"__defect__": reason,
    "__line__": text}`` (rejected by :func:`reject_malformed`); a file saved in another
    encoding raises :class:`UnreadableFile` (see :class:`_Utf8Check`). Lines end at ``\n``,
    ``\r\n`` or ``\r`` only, never at U+2028, U+2029 or U+0085 (JSON lets them stand in strings).
    """
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        check: _Utf8Check | None = None
        for number, line in enumerate(handle, start=1):
            if check is None:
                check = _Utf8Check(bom=line.startswith("\ufeff"))
                line = line.removeprefix("\ufeff")
            line = line.rstrip("\r\n")
            byte = check.check(line)
            if byte is None:
                yield number, line
            else:
                yield number, {"__defect__": check.reason(byte, f"at line {number}"), "__line__": _printable(line)}
        if check is not None:
            check.finish()


def iter_json_objects(path: Path, envelope_key: str) -> Iterator[tuple[int, Any]]:
    """Records from a JSON file holding API pages or objects.

    Accepts one page ``{envelope_key: [...], ...}``, a JSON array of pages, a JSON array of
    objects, or JSON Lines (one object or page per line). An empty file holds no records.
    JSON Lines are streamed, a line at a time, so an export of any size fits in memory; so is
    one JSON document larger than :data:`STREAM_JSON_BYTES` (an extract written as one API page
    holding every record): its records are decoded one at a time (:func:`_json_document_stream`).
    A smaller document is read whole.
    """
    streamed = _json_lines_stream(path)
    if streamed is not None:
        documents: Iterable[Any] = streamed
    elif path.stat().st_size > STREAM_JSON_BYTES:
        documents = _json_document_stream(path, envelope_key)
    else:
        documents = _json_documents(read_text(path))
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


#: A JSON document larger than this is decoded a record at a time instead of whole: parsed whole,
#: a document takes several times its size in memory (a 1 GiB extract, several GiB).
STREAM_JSON_BYTES = 64 * 2**20
_WHITESPACE = " \t\n\r"


class _JsonReader:
    """A JSON text read in chunks, with a cursor: values are decoded one at a time."""

    CHUNK = 1 << 20
    #: The longest value (a record, or a page of an array of pages) read in characters.
    MAX_VALUE = 64 * 2**20

    def __init__(self, handle) -> None:
        self.handle, self.buffer, self.pos, self.eof, self.consumed = handle, "", 0, False, 0
        self.decoder = json.JSONDecoder(parse_constant=NonFinite)  # as load_json decodes

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), the cursor on it."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or not self._more():
                return self.buffer[self.pos : self.pos + 1]

    def closes(self, closing: str) -> bool:
        """After a member of an array or object: True at its ``closing`` character, False at a
        comma; anything else is malformed. The cursor moves past it."""
        separator = self.peek()
        self.pos += 1
        if separator not in (closing, ","):
            self.fail("Expecting ',' delimiter")
        return separator == closing

    def expect(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"Expecting '{char}'")
        self.pos += 1

    def value(self) -> Any:
        """The JSON value at the cursor; a value ending at the buffer's end is read again with more
        text (a number or a literal could go on in the next chunk)."""
        self.peek()
        while True:
            try:
                decoded, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # not all here yet, or malformed: read on, but never hold more than one value's worth
                if len(self.buffer) - self.pos < self.MAX_VALUE and self._more():
                    continue
                self.fail(exc.msg)
            if end == len(self.buffer) and self._more():
                continue
            self.pos = end
            return decoded

    def fail(self, what: str) -> None:
        raise UnreadableFile(f"malformed JSON: {what} at character {self.consumed + self.pos + 1}")


def _json_document_stream(path: Path, envelope_key: str) -> Iterator[Any]:
    """The items of one JSON document, decoded a record at a time (a file of any size).

    Gives what :func:`iter_json_objects` takes from :func:`_json_documents`, without holding the
    document: a page ``{envelope_key: [...], ...}`` comes as one page per record (the other keys
    of the page are read and dropped), a top-level array as one list per element. A document that is
    malformed anywhere, or followed by anything, raises :class:`UnreadableFile` where it is
    found (records before it have been given: the file fails as a whole). If a page names
    ``envelope_key`` twice, each list's records come (parsed whole, the last list alone would).
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = _JsonReader(handle)
        try:
            first = reader.peek()
            if first == "[":  # a document that is a list: each element is an item of it
                reader.pos += 1
                yield from ([element] for element in _json_array_items(reader))
            elif first == "{":
                reader.pos += 1
                yield from _json_page_items(reader, envelope_key)
            elif first:
                yield reader.value()
            if reader.peek():
                reader.fail("Extra data")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(_not_utf8(exc.object[exc.start], "in the file")) from exc


def _json_array_items(reader: _JsonReader) -> Iterator[Any]:
    """The elements of an array whose "[" has been read, one at a time, through its "]"."""
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        if reader.closes("]"):
            return


def _json_page_items(reader: _JsonReader, envelope_key: str) -> Iterator[Any]:
    """An object whose "{" has been read: its ``envelope_key`` list's records, as one-record
    pages, or, when it has no such list, the whole object (it is a record itself)."""
    members: dict[str, Any] = {}
    streamed = False
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            if reader.peek() != '"':
                reader.fail("Expecting property name enclosed in double quotes")
            key = reader.value()
            reader.expect(":")
            if key == envelope_key and reader.peek() == "[":
                reader.pos += 1
                yield from ({envelope_key: [record]} for record in _json_array_items(reader))
                members.pop(key, None)
                streamed = True
            else:
                members[key] = reader.value()
            if reader.closes("}"):
                break
    if not streamed:
        yield members


def _json_documents(text: str) -> list[Any]:
    """The documents of a whole JSON text: one document, else one per JSON Lines line."""
    if not text.strip():
        return []
    try:
        return [load_json(text)]
    except ValueError as whole_error:  # JSONDecodeError, or e.g. an integer too long to convert
        documents = []
        for line_no, line in enumerate(json_lines(text), start=1):
            if not line.strip():
                continue
            try:
                documents.append(load_json(line))
            except ValueError:
                where = (
                    f"{whole_error.msg} at line {whole_error.lineno} column {whole_error.colno}"
                    if isinstance(whole_error, json.JSONDecodeError)
                    else str(whole_error)
                )
                raise UnreadableFile(_malformed(where, line_no)) from whole_error
        return documents


def _malformed(where: str, line_no: int) -> str:
    """Why a JSON file is unreadable: where parsing it whole failed, and its first bad line."""
    return f"malformed JSON: {where}" + (f" (and line {line_no} is not a JSON Lines record)" if line_no > 1 else "")


def _physical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """A text file's lines as :func:`read_text` and :func:`json_lines` number them, streamed.

    Ends of line are ``\n``, ``\r\n`` and a lone ``\r``; a leading byte-order mark is
    dropped; bytes that are not UTF-8 raise :class:`UnreadableFile` with where they are.
    """
    number = 0
    with path.open("rb") as handle:
        for index, chunk in enumerate(handle):  # split at b"\n" only
            if index == 0:
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                where = f"at line {index + 1}, column {exc.start + 1}"
                raise UnreadableFile(_not_utf8(chunk[exc.start], where)) from exc
            text = text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text
            for piece in text.split("\r"):
                number += 1
                yield number, piece


def _json_lines_stream(path: Path) -> Iterator[Any] | None:
    """The documents of a JSON Lines file, streamed; None when the file is not JSON Lines.

    JSON Lines here: the first line that is not blank is a JSON value by itself, and another
    line that is not blank follows (the whole file, then, is not one document). The result is
    :func:`_json_documents`' exactly, the error for a bad line included, without holding the
    file.
    """
    lines = _physical_lines(path)
    first = next(((n, line) for n, line in lines if line.strip()), None)
    if first is None:
        return None
    try:
        head = load_json(first[1])
    except ValueError:
        return None  # a document over several lines (or a broken file): read whole
    second = next(((n, line) for n, line in lines if line.strip()), None)
    if second is None:
        return None  # one line: one document

    def documents() -> Iterator[Any]:
        # parsed whole, the text stops being one document at the second line's first character
        column = len(second[1]) - len(second[1].lstrip(" \t")) + 1
        whole_error = f"Extra data at line {second[0]} column {column}"
        yield head
        for line_no, line in itertools.chain([second], lines):
            if not line.strip():
                continue
            try:
                yield load_json(line)
            except ValueError:
                raise UnreadableFile(_malformed(whole_error, line_no)) from None

    return documents()


def snake(header: str) -> str:
    """``"Billable?"`` -> ``billable``, ``"Start date"`` -> ``start_date``, ``"Amount (GBP)"`` -> ``amount``."""
    header = re.sub(r"\(.*?\)", "", header)
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, sniffed from its header line among :data:`CSV_DELIMITERS`."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # one column, or nothing to tell by: the RFC 4180 comma
        return ","


def _next_row(reader: Iterator[list[str]]) -> list[str]:
    """The next CSV record, whatever the length of its fields (:data:`FIELD_LIMIT` is checked per row).

    The csv module's limit is process-wide and would make the whole file unreadable at one
    long field: lift it for this one read only.
    """
    limit = csv.field_size_limit(2**31 - 1)
    try:
        return next(reader)
    finally:
        csv.field_size_limit(limit)


def iter_csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV export as dicts keyed by snake-cased header, numbered from 1 (streamed).

    The delimiter is sniffed from the header line (``,`` ``;`` tab ``|``). Raises
    :class:`UnreadableFile` when a required column is missing (schema drift: a vendor renamed
    a column) so that no row is loaded with a silently empty field, when two columns read as
    the same name, or when the file is not UTF-8 at all. A defect of one row costs that row:
    a wrong number of fields, bytes that are not UTF-8 or a field over :data:`FIELD_LIMIT`
    characters come as a record that :func:`reject_malformed` rejects with the reason.
    """
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        skipped = 0
        first = handle.readline()
        check = _Utf8Check(bom=first.startswith("\ufeff"))
        first = first.removeprefix("\ufeff")
        while first and not first.strip():  # blank lines before the header
            skipped += 1
            first = handle.readline()
        if not first:
            return  # an empty file holds no records
        # strict: an unterminated quote raises instead of swallowing the rest of the file into
        # one field (which silently drops every later row when the field count happens to fit).
        reader = csv.reader(itertools.chain([first], handle), delimiter=sniff_delimiter(first), strict=True)
        try:
            header = _next_row(reader)
        except csv.Error as exc:
            raise UnreadableFile(f"cannot read the CSV header: {exc}") from exc
        header_line = skipped + 1
        byte = check.check("".join(header))
        if byte is not None:
            raise UnreadableFile(check.reason(byte, f"in the header (line {header_line})"))
        keys = [snake(h) for h in header]
        _reject_colliding(header, keys)
        missing = [c for c in required if c not in keys]
        if missing:
            raise UnreadableFile(
                f"schema drift: column(s) {', '.join(missing)} missing from the header ({', '.join(header)})"
            )
        number = 0
        line = skipped + reader.line_num  # physical lines read so far
        while True:
            try:
                values = _next_row(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise UnreadableFile(f"malformed CSV at line {skipped + reader.line_num}: {exc}") from exc
            number += 1
            start, line = line + 1, skipped + reader.line_num
            if not any(v.strip() for v in values):
                continue  # a blank line is not a record
            defect = _row_defect(check, header, values, start)
            if defect is not None:
                yield number, defect
            elif len(values) != len(keys):
                yield number, {"__malformed__": values, "__header__": keys}
            else:
                yield number, dict(zip(keys, values, strict=True))
        check.finish()


def _reject_colliding(header: Sequence[str], keys: Sequence[str]) -> None:
    """Two columns read as one name (``Hours`` and ``Hours (decimal)``): one would silently win."""
    seen: dict[str, str] = {}
    for original, key in zip(header, keys, strict=True):
        if key and key in seen:
            raise UnreadableFile(
                f"columns {seen[key]!r} and {original!r} both read as {key!r}: rename or remove one of them"
            )
        seen.setdefault(key, original)


def _row_defect(check: _Utf8Check, header: Sequence[str], values: list[str], line: int) -> dict[str, Any] | None:
    """A record for a row whose bytes are not UTF-8 or that has a field over :data:`FIELD_LIMIT`."""

    def column(index: int) -> str:
        return repr(header[index]) if index < len(header) else f"{index + 1}"

    reason = None
    byte = check.check("".join(values))
    if byte is not None:
        index = next(i for i, v in enumerate(values) if _ESCAPED_BYTE.search(v))
        reason = check.reason(byte, f"in column {column(index)}, row at line {line}")
    if reason is None and sum(map(len, values)) > FIELD_LIMIT:
        for index, value in enumerate(values):
            if len(value) > FIELD_LIMIT:
                reason = (
                    f"field too long: column {column(index)} has {len(value):,} characters, "
                    f"over the limit of {FIELD_LIMIT:,} (row at line {line})"
                )
                break
    if reason is None:
        return None
    return {"__defect__": reason, "__values__": [_printable(v) for v in values]}


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


#: ``YYYY-MM-DD``, the exports' usual date: read by ``date.fromisoformat`` (a tenth of
#: ``strptime``'s cost, the same date; a day the calendar lacks takes the general path).
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def local_date(value: Any, what: str) -> date:
    text = optional_str(value)
    if text is None:
        raise Rejected(f"missing {what}")
    if _ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # the general path says why
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


class NonFinite(float):
    """``NaN`` / ``Infinity`` / ``-Infinity`` in a JSON file (not JSON, but Python reads them).

    A float in every way, except that :func:`record_json` sees it and writes it as read.
    """


def load_json(text: str) -> Any:
    """A JSON document; its non-finite numbers come as :class:`NonFinite`."""
    return json.loads(text, parse_constant=NonFinite)


#: orjson spells some floats differently from Python: ``1e16`` and ``0.00001`` for ``1e+16``
#: and ``1e-05``. A record whose orjson text has a digit before an ``e``, or ``0.0000``, takes
#: the standard library's encoder (text such as ``"v2e"`` does too: slower, never wrong).
#: Digits are mapped to ``0`` first: two substring searches cost less than a regex.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def record_json(record: Any) -> str:
    """The landed record as canonical JSON text, kept in ``_record`` so nothing is lost.

    Keys sorted, no spaces, text as UTF-8: the standard library's
    ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)``,
    byte for byte, written by orjson (five to ten times faster) where the two agree. They do
    not for integers beyond 64 bits, non-finite numbers, lone surrogates and the float spellings
    above: those records take ``json.dumps``.
    """
    try:
        text = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        pass
    else:
        if b"0.0000" not in text and b"0e" not in text.translate(_DIGITS_AS_ZERO):
            return text.decode()
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_key(parts: Sequence[Any]) -> str:
    """A stable hash of the fields that identify a record without an id (timesheet CSV rows)."""
    return hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:16]


def reject_malformed(record: Any) -> None:
    """Reject the records a reader yields for a defect of its own (see :func:`iter_csv_rows`)."""
    if isinstance(record, dict) and "__defect__" in record:
        raise Rejected(record["__defect__"])
    if isinstance(record, dict) and "__malformed__" in record:
        raise Rejected(f"row has {len(record['__malformed__'])} fields, the header has {len(record['__header__'])}")
    if not isinstance(record, dict):
        raise Rejected(f"expected an object, got {type(record).__name__}")
