"""A corpus of bad inputs: one defect in one client each, and what the pipeline must make of it.

Every case is one entry of :data:`CASES` (``Case(name, kind, victim, inject, expect)``): the
injection edits a copy of the victim's landing files (or its client file), and the expected
outcome is one of

- ``quarantine``: the record lands in ``raw._quarantine`` with a reason matching a pattern,
  and the raw gate publishes the month with a warning note (a check name);
- ``hold``: the raw gate holds the month, naming a blocking check;
- ``note``: the raw gate publishes the month with a warning note, nothing quarantined;
- ``file failed``: the file is marked failed with a message, the raw gate holds the month;
- ``config error``: ``roi ingest`` names the client file and the field, and loads nothing;
- ``same figures``: nothing is lost, nothing is noted: the data is what the clean run had.

Invariants checked for every case: no traceback in any output (command output, file errors,
quarantine reasons, gate messages); for every landed file ``rows_read = rows_loaded +
rows_quarantined``, and those counts are what the raw tables hold; every other client's raw
layer is untouched; where the defect must not change the victim's figures (an injected copy
that is quarantined, a semicolon delimiter, a byte-order mark...), the victim's loaded rows
equal the clean run's.

Speed: one small sample is built once (3 generated clients + 5 copies, 4 months). A cheap
case copies the warehouse and the victim's landing folder, runs ``roi ingest VICTIM`` and the
raw gate for the victim only. The cases marked ``marts=True`` each have a victim of their own
(a copy of a generated client) and share one incremental dbt build: there the victim's
``marts.fct_client_months`` row must equal the clean run's, and the generated clients'
published report files must be byte-identical to the clean run's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.config import load_clients
from roi_pipeline.formats import FORMATS
from roi_pipeline.quality import run_mart_gate, run_raw_gate
from roi_pipeline.quality.suites import EXPECTATIONS_DIR
from roi_pipeline.sample.generator import generate
from tests.conftest import SUMMARY_TABLE

MONTH = "2026-10"
HARBOUR, HUDSON, RHEIN = "harbour-legal", "hudson-roofing", "rheinwerk-logistik"
GENERATED = (HARBOUR, HUDSON, RHEIN)
#: Copies of generated clients, one victim each for the cases that need the marts.
CLONES = {
    "corpus-semicolon": HUDSON,
    "corpus-bom": HARBOUR,
    "corpus-jsonl": HARBOUR,
    "corpus-copy": HUDSON,
    "corpus-truncated": HARBOUR,
}
ENV = ("ROI_LANDING_DIR", "ROI_CLIENTS_DIR", "ROI_WAREHOUSE", "ROI_REPORTS_DIR")


# --------------------------------------------------------------------------- the case table


@dataclass(frozen=True)
class Expect:
    outcome: str  # quarantine / hold / note / file failed / config error / same figures
    reason: str | None = None  # regex: quarantine reason, file error, or config message
    check: str | None = None  # the raw gate's check (blocking for hold, warning for note/quarantine)
    field: str | None = None  # config error: the field named
    same_figures: bool = False  # the victim's loaded rows (and, in the marts group, figures) equal the clean run's

    def label(self) -> str:
        parts = [self.outcome]
        if self.check:
            parts.append(self.check)
        if self.field:
            parts.append(f"field {self.field}")
        if self.same_figures and self.outcome not in ("same figures", "config error"):
            parts.append("same figures")
        return ", ".join(parts)


@dataclass(frozen=True)
class Victim:
    client_id: str
    landing: Path  # the client's landing folder (a copy)
    client_file: Path  # the client's YAML (a copy)


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # files / rows / config
    victim: str
    inject: Callable[[Victim], None]
    expect: Expect
    marts: bool = False  # needs the dbt build (shared by every such case; the victim is a clone)


def quarantined(reason: str, check: str, *, same: bool = True) -> Expect:
    return Expect("quarantine", reason=reason, check=check, same_figures=same)


def failed(reason: str, check: str = "unreadable_file") -> Expect:
    return Expect("file failed", reason=reason, check=check)


def config_error(field_: str, reason: str) -> Expect:
    return Expect("config error", reason=reason, field=field_, same_figures=True)


SAME = Expect("same figures", same_figures=True)


# --------------------------------------------------------------------------- editing landing files


def _write_json(path: Path, doc) -> None:
    path.write_text(json.dumps(doc), encoding="utf-8")


def _page(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def n8n_copy(month: str = MONTH, **changes) -> Callable[[Victim], None]:
    """Append a copy of the month's first execution under a new id, with ``changes`` (None removes)."""

    def inject(v: Victim) -> None:
        path = v.landing / "n8n_executions" / f"{month}.json"
        doc = _page(path)
        extra = json.loads(json.dumps(doc["data"][0]))
        extra["id"] = f"{extra['id']}-corpus"
        for key, value in changes.items():
            if key == "customData":
                extra["customData"] = {**(extra.get("customData") or {}), **value}
            elif value is None:
                extra.pop(key, None)
            else:
                extra[key] = value
        doc["data"].append(extra)
        _write_json(path, doc)

    return inject


def platform_copy(folder: str, envelope: str, id_key: str, **changes) -> Callable[[Victim], None]:
    """Append a copy of the month's first Make log / Zap run under a new id, with ``changes``."""

    def inject(v: Victim) -> None:
        path = v.landing / folder / f"{MONTH}.json"
        doc = _page(path)
        extra = {**doc[envelope][0], **changes}
        extra[id_key] = f"{extra[id_key]}-corpus"
        doc[envelope].append(extra)
        _write_json(path, doc)

    return inject


def truncate_make(v: Victim) -> None:
    path = v.landing / "make_scenario_logs" / f"{MONTH}.json"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def hubspot_copy(folder: str, **properties) -> Callable[[Victim], None]:
    def inject(v: Victim) -> None:
        path = v.landing / folder / f"{MONTH}.json"
        doc = _page(path)
        extra = json.loads(json.dumps(doc["results"][0]))
        extra["id"] = f"{extra['id']}99"
        extra["properties"].update(properties)
        doc["results"].append(extra)
        _write_json(path, doc)

    return inject


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def _csv_text(rows: list[list[str]], delimiter: str = ",", terminator: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    return out.getvalue()


def csv_copy(folder: str, *, id_column: str | None = None, **changes: str) -> Callable[[Victim], None]:
    """Append a copy of the first row with ``changes`` (header name -> value), under a new id."""

    def inject(v: Victim) -> None:
        path = v.landing / folder / f"{MONTH}.csv"
        header, body = _rows(path)
        extra = list(body[0])
        if id_column:
            extra[header.index(id_column)] += "-corpus"
        for column, value in changes.items():
            extra[header.index(column.replace("_", " ") if column not in header else column)] = value
        path.write_text(_csv_text([header, *body, extra]), encoding="utf-8")

    return inject


def generic_copy(**changes: str) -> Callable[[Victim], None]:
    return csv_copy("generic_runs", id_column="run_id", **changes)


def generic_raw_line(make_line: Callable[[list[str], list[str]], bytes]) -> Callable[[Victim], None]:
    """Append one line of bytes to the generic run log (``make_line(header, first_row)``)."""

    def inject(v: Victim) -> None:
        path = v.landing / "generic_runs" / f"{MONTH}.csv"
        header, body = _rows(path)
        data = path.read_bytes()
        path.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + make_line(header, body[0]) + b"\n")

    return inject


def _line(values: list[str]) -> bytes:
    return _csv_text([values]).rstrip("\n").encode("utf-8")


def _with(header: list[str], row: list[str], **changes: str) -> list[str]:
    out = list(row)
    out[header.index("run_id")] += "-corpus"
    for column, value in changes.items():
        out[header.index(column)] = value
    return out


def non_utf8_row(header, row) -> bytes:
    return _line(_with(header, row, error_message="PLACEHOLDER")).replace(b"PLACEHOLDER", b"caf\xe9 timeout")


def oversized_row(header, row) -> bytes:
    return _line(_with(header, row, error_message="x" * (200 * 1024)))


def ragged_row(header, row) -> bytes:
    return _line([*_with(header, row), "one field too many"])


def rewrite_csv(folder: str, *, delimiter: str = ",", bom: bool = False, flip_line_ends: bool = False):
    """The same rows written again: another delimiter, a byte-order mark, or the other line ends
    (``\r\n`` <-> ``\n`` between records; a quoted field keeps its own)."""

    def inject(v: Victim) -> None:
        path = v.landing / folder / f"{MONTH}.csv"
        header, body = _rows(path)
        crlf = path.read_bytes().split(b"\n", 1)[0].endswith(b"\r")
        text = _csv_text([header, *body], delimiter, "\n" if crlf == flip_line_ends else "\r\n")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))

    return inject


def drop_column(folder: str, column: str):
    def inject(v: Victim) -> None:
        path = v.landing / folder / f"{MONTH}.csv"
        header, body = _rows(path)
        i = header.index(column)
        path.write_text(_csv_text([[*r[:i], *r[i + 1 :]] for r in [header, *body]]), encoding="utf-8")

    return inject


def colliding_hours(v: Victim) -> None:
    path = v.landing / "harvest_time_entries" / f"{MONTH}.csv"
    header, body = _rows(path)
    i = header.index("Hours")
    rows = [[*header, "Hours (decimal)"], *[[*r, r[i]] for r in body]]
    path.write_text(_csv_text(rows), encoding="utf-8")


def windows_1252(v: Victim) -> None:
    path = v.landing / "harvest_time_entries" / f"{MONTH}.csv"
    header, body = _rows(path)
    notes = header.index("Notes")
    for row in body[:3]:
        row[notes] = "Réunion café"
    path.write_bytes(_csv_text([header, *body]).encode("cp1252"))


def unterminated_quote(v: Victim) -> None:
    path = v.landing / "generic_runs" / f"{MONTH}.csv"
    header, body = _rows(path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(",".join(_with(header, body[0])[:-1]) + ',"never closed\n')


def truncate_json(v: Victim) -> None:
    path = v.landing / "n8n_executions" / f"{MONTH}.json"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty_runs_file(v: Victim) -> None:
    (v.landing / "n8n_executions" / f"{MONTH}.json").write_bytes(b"")


def empty_extra_file(v: Victim) -> None:
    (v.landing / "hubspot_calls" / f"{MONTH}-extra.json").write_bytes(b"")


def header_only_extra_file(v: Victim) -> None:
    header, _body = _rows(v.landing / "generic_runs" / f"{MONTH}.csv")
    (v.landing / "generic_runs" / f"{MONTH}-extra.csv").write_text(",".join(header) + "\n", encoding="utf-8")


def n8n_bad_byte(v: Victim) -> None:
    path = v.landing / "n8n_executions" / f"{MONTH}.json"
    doc = _page(path)
    doc["data"][0]["workflowId"] = "PLACEHOLDER"
    path.write_bytes(json.dumps(doc).encode("utf-8").replace(b"PLACEHOLDER", b"caf\xe9"))


def n8n_as_json_lines(v: Victim) -> None:
    path = v.landing / "n8n_executions" / f"{MONTH}.json"
    records = _page(path)["data"]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


def n8n_with_bom(v: Victim) -> None:
    path = v.landing / "n8n_executions" / f"{MONTH}.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def n8n_not_an_execution(v: Victim) -> None:
    path = v.landing / "n8n_executions" / f"{MONTH}.json"
    doc = _page(path)
    doc["data"].append(["not", "an", "execution"])
    _write_json(path, doc)


def toggl_long_day(v: Victim) -> None:
    """Two more entries of 12.5 h on a day the person already worked: each entry possible, the day not."""
    path = v.landing / "toggl_time_entries" / f"{MONTH}.csv"
    header, body = _rows(path)
    extra = list(body[0])
    extra[header.index("Duration")] = "12:30:00"
    extra[header.index("Description")] = "corpus long day"
    path.write_text(_csv_text([header, *body, extra, extra]), encoding="utf-8")


def toggl_duplicate_entry_id(v: Victim) -> None:
    path = v.landing / "toggl_time_entries" / f"{MONTH}.csv"
    header, body = _rows(path)
    rows = [[*header, "Entry ID"], *[[*r, str(9_000_000 + i)] for i, r in enumerate(body)]]
    rows.append([*body[1][:], "9000000"])  # another entry with the first one's id
    path.write_text(_csv_text(rows), encoding="utf-8")


def duplicate_run_id(v: Victim) -> None:
    path = v.landing / "generic_runs" / f"{MONTH}.csv"
    header, body = _rows(path)
    extra = list(body[0])
    extra[header.index("items")] = "7"  # same run id, other content
    path.write_text(_csv_text([header, *body, extra]), encoding="utf-8")


# --------------------------------------------------------------------------- editing client files


def yaml_edit(change: Callable[[dict], None]) -> Callable[[Victim], None]:
    def inject(v: Victim) -> None:
        data = yaml.safe_load(v.client_file.read_text(encoding="utf-8"))
        change(data)
        v.client_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    return inject


def text_edit(change: Callable[[str], str]) -> Callable[[Victim], None]:
    def inject(v: Victim) -> None:
        v.client_file.write_text(change(v.client_file.read_text(encoding="utf-8")), encoding="utf-8")

    return inject


def claim_twice(data: dict) -> None:
    """A second workflow of the same platform claims the first one's platform workflow id."""
    workflows = data["workflows"]
    second = next(w for w in workflows[1:] if w["platform"] == workflows[0]["platform"])
    second["platform_workflow_ids"].append(workflows[0]["platform_workflow_ids"][0])


# A run starting mid-day on 1 October (UTC) is in October in every sample zone.
OCT_NOON = "2026-10-01T12:00:00.000Z"

CASES: list[Case] = [
    # ------------------------------------------------------------------ files
    Case("truncated_json", "files", RHEIN, truncate_json, failed(r"^malformed JSON")),
    # an export that came back empty withdraws no run: the runs landed from it before are kept
    # (ingest says so), the month's figures stay the clean run's
    Case("empty_runs_file", "files", RHEIN, empty_runs_file, SAME),
    Case("empty_extra_file", "files", HARBOUR, empty_extra_file, SAME),
    Case("header_only_csv", "files", HUDSON, header_only_extra_file, SAME),
    Case(
        "missing_required_column",
        "files",
        HUDSON,
        drop_column("generic_runs", "triggered_by"),
        failed(r"^schema drift: column\(s\) triggered_by missing", "schema_drift"),
    ),
    Case(
        "missing_harvest_hours",
        "files",
        HARBOUR,
        drop_column("harvest_time_entries", "Hours"),
        failed(r"^schema drift: column\(s\) hours missing", "schema_drift"),
    ),
    Case(
        "colliding_csv_headers",
        "files",
        HARBOUR,
        colliding_hours,
        failed(r"columns 'Hours' and 'Hours \(decimal\)' both read as 'hours'"),
    ),
    Case("semicolon_generic_runs", "files", HUDSON, rewrite_csv("generic_runs", delimiter=";"), SAME),
    Case("tab_delimited_harvest", "files", HARBOUR, rewrite_csv("harvest_time_entries", delimiter="\t"), SAME),
    Case("pipe_delimited_toggl", "files", HUDSON, rewrite_csv("toggl_time_entries", delimiter="|"), SAME),
    Case("line_ends_flipped", "files", HUDSON, rewrite_csv("generic_runs", flip_line_ends=True), SAME),
    Case("bom_generic_runs", "files", HUDSON, rewrite_csv("generic_runs", bom=True), SAME),
    Case("bom_n8n_json", "files", RHEIN, n8n_with_bom, SAME),
    Case("n8n_json_lines", "files", RHEIN, n8n_as_json_lines, SAME),
    Case("windows_1252_file", "files", HARBOUR, windows_1252, failed(r"^not UTF-8: 3 rows .*Windows-1252")),
    Case("non_utf8_byte_in_json", "files", RHEIN, n8n_bad_byte, failed(r"^not UTF-8: byte 0xE9 .* at line \d+")),
    Case("unterminated_quote", "files", HUDSON, unterminated_quote, failed(r"^malformed CSV at line \d+")),
    # ------------------------------------------------------------------ rows (injected copies: the figures stay)
    Case(
        "bad_timestamp",
        "rows",
        HARBOUR,
        n8n_copy(startedAt="yesterday"),
        quarantined(r"^bad startedAt", "bad_timestamp"),
    ),
    Case(
        "missing_timestamp",
        "rows",
        RHEIN,
        n8n_copy(startedAt=None),
        quarantined(r"^missing startedAt", "bad_timestamp"),
    ),
    Case(
        "negative_duration",
        "rows",
        HARBOUR,
        n8n_copy(startedAt=OCT_NOON, stoppedAt="2026-10-01T11:59:00.000Z"),
        quarantined(r"^negative duration", "run_ends_before_start"),
    ),
    Case(
        "run_dated_2099",
        "rows",
        HARBOUR,
        n8n_copy(startedAt="2099-10-01T10:00:00.000Z", stoppedAt="2099-10-01T10:00:30.000Z"),
        quarantined(r"^future timestamp: startedAt 2099-10-01", "future_record"),
    ),
    Case(
        "run_lasting_40_days",
        "rows",
        RHEIN,
        n8n_copy(startedAt="2026-09-25T12:00:00.000Z", stoppedAt="2026-11-03T12:00:00.000Z"),
        quarantined(r"^implausible duration: .* 39\.0 days", "implausible_value"),
    ),  # its month is September (its start): the September gate notes it (see CASE_MONTH)
    Case(
        "negative_items",
        "rows",
        HUDSON,
        generic_copy(items="-5"),
        quarantined(r"^negative items: -5", "implausible_value"),
    ),
    Case(
        "absurd_items",
        "rows",
        HARBOUR,
        n8n_copy(customData={"items": "5000000"}),
        quarantined(r"^implausible customData\.items: 5,000,000", "implausible_value"),
    ),
    Case(
        "absurd_cost",
        "rows",
        HUDSON,
        generic_copy(llm_cost="25000"),
        quarantined(r"^implausible llm_cost: 25,000\.0 is above the cap of 10,000 USD", "implausible_value"),
    ),
    Case(
        "negative_cost",
        "rows",
        HARBOUR,
        n8n_copy(customData={"llm_cost": "-0.5"}),
        quarantined(r"^negative customData\.llm_cost", "implausible_value"),
    ),
    Case(
        "foreign_cost_currency",
        "rows",
        HARBOUR,
        n8n_copy(customData={"llm_cost": "0.42", "cost_currency": "USD"}),
        quarantined(
            r"^foreign currency: customData\.cost_currency 'USD' is not the client's currency GBP", "foreign_currency"
        ),
    ),
    Case(
        "toggl_entry_30h",
        "rows",
        HUDSON,
        csv_copy("toggl_time_entries", Duration="30:00:00"),
        quarantined(r"^implausible Duration: 30\.00 h in one entry", "implausible_value"),
    ),
    Case(
        "harvest_entry_30h",
        "rows",
        HARBOUR,
        csv_copy("harvest_time_entries", Hours="30.00"),
        quarantined(r"^implausible Hours: 30\.00 h", "implausible_value"),
    ),
    Case(
        "harvest_negative_hours",
        "rows",
        RHEIN,
        csv_copy("harvest_time_entries", Hours="-1.50"),
        quarantined(r"^negative Hours", "negative_hours"),
    ),
    Case(
        "harvest_bad_date",
        "rows",
        HARBOUR,
        csv_copy("harvest_time_entries", Date="31/10/2026"),
        quarantined(r"^bad Date: '31/10/2026'", "bad_timestamp"),
    ),
    Case(
        "hubspot_call_bad_timestamp",
        "rows",
        HUDSON,
        hubspot_copy("hubspot_calls", hs_timestamp="last tuesday"),
        quarantined(r"^bad hs_timestamp", "bad_timestamp"),
    ),
    Case(
        "non_utf8_byte_in_row",
        "rows",
        HUDSON,
        generic_raw_line(non_utf8_row),
        quarantined(r"^not UTF-8: byte 0xE9 \('é' in Windows-1252\) in column 'error_message'", "other_quarantined"),
    ),
    Case(
        "oversized_field",
        "rows",
        HUDSON,
        generic_raw_line(oversized_row),
        quarantined(r"^field too long: column 'error_message' has 204,800 characters", "other_quarantined"),
    ),
    Case(
        "ragged_csv_line",
        "rows",
        HUDSON,
        generic_raw_line(ragged_row),
        quarantined(r"^row has 14 fields, the header has 13", "other_quarantined"),
    ),
    Case(
        "duplicate_entry_id",
        "rows",
        HUDSON,
        toggl_duplicate_entry_id,
        quarantined(r"^duplicate Entry ID '9000000' in this file", "other_quarantined", same=False),
    ),  # the Entry ID column gives every row a new key: the rows are not the clean run's
    Case("duplicate_run_id", "rows", HUDSON, duplicate_run_id, Expect("hold", check="copies_undecided")),
    Case(
        "unknown_n8n_status",
        "rows",
        RHEIN,
        n8n_copy(status="exploded"),
        quarantined(r"^unknown n8n status 'exploded'", "other_quarantined"),
    ),
    Case(
        "unknown_n8n_mode",
        "rows",
        RHEIN,
        n8n_copy(mode="telepathy"),
        quarantined(r"^unknown n8n mode 'telepathy'", "other_quarantined"),
    ),
    Case(
        "unknown_platform",
        "rows",
        HUDSON,
        generic_copy(platform="n8n"),
        quarantined(r"^unknown platform 'n8n' for the generic run log", "other_quarantined"),
    ),
    Case(
        "unknown_trigger",
        "rows",
        HUDSON,
        generic_copy(triggered_by="gravity"),
        quarantined(r"^unknown triggered_by 'gravity'", "other_quarantined"),
    ),
    Case(
        "comma_decimal_items",
        "rows",
        HUDSON,
        generic_copy(items="1,5"),
        quarantined(r"^bad items: '1,5' is not a number", "other_quarantined"),
    ),
    Case(
        "missing_execution_id",
        "rows",
        RHEIN,
        n8n_copy(id=None),
        quarantined(r"^missing execution id", "other_quarantined"),
    ),
    Case(
        "not_an_object",
        "rows",
        RHEIN,
        n8n_not_an_execution,
        quarantined(r"^expected an object, got list", "other_quarantined"),
    ),
    Case("timesheet_day_over_24h", "rows", HUDSON, toggl_long_day, Expect("hold", check="timesheet_day_over_24h")),
    # ------------------------------------------------------------------ configuration
    Case(
        "duplicate_yaml_key",
        "config",
        HARBOUR,
        text_edit(lambda t: t + "guarantee_hours: 10\n"),
        config_error("guarantee_hours", r"key written twice \(first on line \d+\)"),
    ),
    Case(
        "unknown_time_zone",
        "config",
        HUDSON,
        yaml_edit(lambda d: d.update(timezone="Mars/Olympus_Mons")),
        config_error("timezone", r"unknown IANA time zone 'Mars/Olympus_Mons'"),
    ),
    Case(
        "host_only_time_zone",
        "config",
        HUDSON,
        yaml_edit(lambda d: d.update(timezone="localtime")),
        config_error("timezone", r"(not an IANA zone the warehouse knows|unknown IANA time zone)"),
    ),
    Case(
        "bad_currency",
        "config",
        RHEIN,
        yaml_edit(lambda d: d.update(currency="XYZ")),
        config_error("currency", r"unknown ISO 4217 currency 'XYZ'"),
    ),
    Case(
        "missing_required_field",
        "config",
        HARBOUR,
        yaml_edit(lambda d: d.pop("monthly_fee")),
        config_error("monthly_fee", r"required field is missing"),
    ),
    Case(
        "workflow_id_claimed_twice",
        "config",
        RHEIN,
        yaml_edit(claim_twice),
        config_error("workflows[1] (meeting-prep).platform_workflow_ids", r"claimed by both"),
    ),
    Case(
        "misspelt_field",
        "config",
        HUDSON,
        yaml_edit(lambda d: d.update(guarante_hours=d.pop("guarantee_hours", 40))),
        config_error("guarante_hours", r"unknown field"),
    ),
    # ------------------------------------------------------------------ Make scenario logs, Zapier Zap runs
    Case(
        "make_unknown_status",
        "rows",
        RHEIN,
        platform_copy("make_scenario_logs", "scenarioLogs", "imtId", status=9),
        quarantined(r"^unknown Make status 9", "other_quarantined"),
    ),
    Case(
        "make_run_in_2099",
        "rows",
        RHEIN,
        platform_copy("make_scenario_logs", "scenarioLogs", "imtId", timestamp="2099-10-01T10:00:00Z"),
        quarantined(r"^future timestamp: started_at 2099-10-01", "future_record"),
    ),
    Case(
        "make_log_without_scenario",
        "rows",
        RHEIN,
        platform_copy("make_scenario_logs", "scenarioLogs", "imtId", scenarioId=None),
        quarantined(r"^missing scenarioId", "other_quarantined"),
    ),
    Case("truncated_make_json", "files", RHEIN, truncate_make, failed(r"^malformed JSON")),
    Case(
        "zap_run_ends_before_start",
        "rows",
        HARBOUR,
        platform_copy(
            "zapier_zap_runs", "data", "id", end_time="2026-10-01T00:00:00Z", start_time="2026-10-02T00:00:00Z"
        ),
        quarantined(r"^negative duration", "run_ends_before_start"),
    ),
    Case(
        "zap_run_unknown_status",
        "rows",
        HARBOUR,
        platform_copy("zapier_zap_runs", "data", "id", status="exploded"),
        quarantined(r"^unknown Zapier status 'exploded'", "other_quarantined"),
    ),
    # ------------------------------------------------------------------ in the dbt build: figures and reports
    Case("semicolon_toggl", "files", "corpus-semicolon", rewrite_csv("toggl_time_entries", delimiter=";"), SAME, True),
    Case("bom_harvest", "files", "corpus-bom", rewrite_csv("harvest_time_entries", bom=True), SAME, True),
    Case("n8n_json_lines_built", "files", "corpus-jsonl", n8n_as_json_lines, SAME, True),
    Case(
        "injected_copy_2099",
        "rows",
        "corpus-copy",
        generic_copy(started_at="2099-10-01T10:00:00Z", finished_at="2099-10-01T10:01:00Z"),
        quarantined(r"^future timestamp: started_at 2099-10-01", "future_record"),
        True,
    ),
    Case(
        "truncated_json_keeps_earlier_rows",
        "files",
        "corpus-truncated",
        truncate_json,
        Expect("file failed", reason=r"^malformed JSON", check="unreadable_file", same_figures=True),
        True,
    ),
]
#: The month whose raw gate a case's outcome shows in, when it is not MONTH.
CASE_MONTH = {"run_lasting_40_days": "2026-09"}
SUMMARY: dict[str, tuple[str, str, str]] = {}


# --------------------------------------------------------------------------- the clean run


@dataclass
class Run:
    base: Path
    outputs: list[str] = field(default_factory=list)  # everything the commands printed

    @property
    def landing(self) -> Path:
        return self.base / "landing"

    @property
    def clients(self) -> Path:
        return self.base / "clients"

    @property
    def warehouse(self) -> Path:
        return self.base / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        return self.base / "reports"

    def roi(self, monkeypatch, capsys, *argv: str) -> int:
        for var, path in zip(ENV, (self.landing, self.clients, self.warehouse, self.reports), strict=True):
            monkeypatch.setenv(var, str(path))
        code = main(list(argv))
        captured = capsys.readouterr()
        self.outputs.append(captured.out + captured.err)
        return code


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory) -> Path:
    """A copy of the committed GX context: results stay out of the repository."""
    root = tmp_path_factory.mktemp("corpus-gx") / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    return root


def clone_client(base: Path, new_id: str, template: str) -> None:
    data = yaml.safe_load((base / "clients" / f"{template}.yaml").read_text(encoding="utf-8"))
    data.update(client_id=new_id, name=new_id.replace("-", " ").title())
    (base / "clients" / f"{new_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(base / "landing" / template, base / "landing" / new_id)


def gates(run: Run, gx_root: Path, client_ids, month: str = MONTH, *, mart: bool = True) -> dict:
    configs = load_clients(run.clients, only=client_ids).by_id()
    chosen = [configs[c] for c in client_ids]
    out = {r.client_id: r for r in run_raw_gate(run.warehouse, chosen, month, context_root=gx_root, build_docs=False)}
    if mart:
        run_mart_gate(run.warehouse, chosen, month, context_root=gx_root, build_docs=False)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory, gx_root):
    started = time.monotonic()
    run = Run(tmp_path_factory.mktemp("corpus-clean"))
    generate(run.landing, run.clients, clients=len(GENERATED), months=4, end_month=MONTH)
    for new_id, template in CLONES.items():
        clone_client(run.base, new_id, template)
    with pytest.MonkeyPatch.context() as mp, _capture() as capsys:
        assert run.roi(mp, capsys, "ingest") == 0, run.outputs[-1]
        assert run.roi(mp, capsys, "build") == 0, run.outputs[-1]
        raw = gates(run, gx_root, [*GENERATED, *CLONES])
        assert all(r.publishable and not r.warnings for r in raw.values()), {c: r.notes for c, r in raw.items()}
        assert run.roi(mp, capsys, "report", "--month", MONTH, *GENERATED, "--no-portfolio") == 0, run.outputs[-1]
    print(f"\nclean corpus sample built in {time.monotonic() - started:.1f}s")
    return run


class _capture:
    """capsys for a module fixture: stdout/stderr of the commands, read after each one."""

    def __enter__(self):
        import contextlib

        self._out, self._err = io.StringIO(), io.StringIO()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(self._out))
        self._stack.enter_context(contextlib.redirect_stderr(self._err))
        return self

    def readouterr(self):
        out, err = self._out.getvalue(), self._err.getvalue()
        self._out.seek(0), self._out.truncate()
        self._err.seek(0), self._err.truncate()
        return type("Captured", (), {"out": out, "err": err})()

    def __exit__(self, *exc):
        self._stack.close()


# --------------------------------------------------------------------------- reading the warehouse


def _tables(con, column: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.columns where table_schema = 'raw' and column_name = ? "
        "order by table_name",
        [column],
    ).fetchall()
    return [r[0] for r in rows]


def raw_digests(warehouse: Path, client_ids, *, loaded_rows_only: bool = False) -> dict[str, dict[str, tuple]]:
    """Per client and raw table, the count and an order-free hash of the client's rows.

    ``loaded_rows_only``: the format tables' content without the name, checksum and load time of
    the file version (what the figures are made of: runs kept from an earlier version of a file
    are the same rows under that version's name); else every raw table, bookkeeping included,
    exactly.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [(t, "_client_id") for t in _tables(con, "_client_id")]
        if not loaded_rows_only:
            tables += [(t, "client_id") for t in _tables(con, "client_id")]
        exclude = " exclude (_source_file, _file_sha256, _loaded_at)" if loaded_rows_only else ""
        out: dict[str, dict[str, tuple]] = {c: {} for c in client_ids}
        for table, column in tables:
            rows = con.execute(
                f"select {column}, count(*), sum(hash(t)::hugeint) "
                f"from (select *{exclude} from raw.{table} where list_contains(?, {column})) t group by all",
                [list(client_ids)],
            ).fetchall()
            found = {r[0]: (r[1], r[2]) for r in rows}
            for client_id in client_ids:
                out[client_id][table] = found.get(client_id, (0, None))
        return out


_CLEAN_DIGESTS: dict[tuple[Path, bool], dict[str, dict[str, tuple]]] = {}


def clean_digests(clean: Run, *, loaded_rows_only: bool = False) -> dict[str, dict[str, tuple]]:
    key = (clean.warehouse, loaded_rows_only)
    if key not in _CLEAN_DIGESTS:
        _CLEAN_DIGESTS[key] = raw_digests(clean.warehouse, [*GENERATED, *CLONES], loaded_rows_only=loaded_rows_only)
    return _CLEAN_DIGESTS[key]


def landed_files(warehouse: Path, client_id: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select source_file, format, status, error, rows_read, rows_loaded, rows_quarantined "
            "from raw._landed_files where client_id = ? order by source_file",
            [client_id],
        ).fetchall()


def check_reconciliation(warehouse: Path, client_id: str) -> None:
    """rows_read = rows_loaded + rows_quarantined for every file, and the tables hold exactly that."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for source_file, fmt, status, _error, read, loaded, quarantined_ in landed_files(warehouse, client_id):
            assert read == loaded + quarantined_, (source_file, read, loaded, quarantined_)
            if status != "loaded":
                continue
            held = con.execute(
                # Make and Zapier files land in the generic run log's table
                f"select count(*) from raw.{FORMATS[fmt].table} where _client_id = ? and _source_file = ?",
                [client_id, source_file],
            ).fetchall()[0][0]
            refused = con.execute(
                "select count(*) from raw._quarantine where client_id = ? and source_file = ?",
                [client_id, source_file],
            ).fetchall()[0][0]
            assert (held, refused) == (loaded, quarantined_), source_file


def quarantine_reasons(warehouse: Path, client_id: str) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select reason from raw._quarantine where client_id = ? order by all", [client_id])
        return [r[0] for r in rows.fetchall()]


def client_month(warehouse: Path, client_id: str) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select * from marts.fct_client_months where client_id = ? and report_month = ?",
            [client_id, f"{MONTH}-01"],
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def report_files(reports: Path, client_id: str) -> dict[str, bytes]:
    folder = reports / client_id / MONTH
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def tree(path: Path) -> dict[str, str]:
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in path.rglob("*")
        if p.is_file()
    }


# --------------------------------------------------------------------------- judging a case


def inject(case: Case, run: Run) -> None:
    victim = Victim(case.victim, run.landing / case.victim, run.clients / f"{case.victim}.yaml")
    target = victim.client_file if case.kind == "config" else victim.landing
    before = tree(target)
    case.inject(victim)
    assert tree(target) != before, f"{case.name}: the defect was not injected"


def observed_label(files: list[tuple], reasons: list[str], gate, config: list[str]) -> str:
    if config:
        return "config error: " + config[0].split(": ", 1)[1][:60]
    parts = []
    failed_files = [f for f in files if f[2] == "failed"]
    if failed_files:
        parts.append(f"file failed: {failed_files[0][3][:50]}")
    if reasons:
        parts.append(f"{len(reasons)} quarantined: {reasons[0][:40]}")
    if gate is not None:
        if gate.blocking_failures:
            parts.append("hold " + ",".join(sorted({f.defect for f in gate.blocking_failures})))
        if gate.warnings:
            parts.append("note " + ",".join(sorted({f.defect for f in gate.warnings})))
    return "; ".join(parts) or "nothing failed, quarantined or noted"


def judge(case: Case, clean: Run, run: Run, gate, extra_text: list[str]) -> str:
    """Check the expected outcome and the invariants; returns what was observed."""
    exp, victim = case.expect, case.victim
    config_lines = [line for out in run.outputs for line in out.splitlines() if line.startswith("CONFIG ERROR")]
    files = landed_files(run.warehouse, victim)
    reasons = quarantine_reasons(run.warehouse, victim)
    new_reasons = list(reasons)
    for old in quarantine_reasons(clean.warehouse, victim):
        new_reasons.remove(old)
    others = [c for c in [*GENERATED, *CLONES] if c != victim and not (case.marts and c in CLONES)]
    now = raw_digests(run.warehouse, [victim, *others])
    same_rows = (
        raw_digests(run.warehouse, [victim], loaded_rows_only=True)[victim]
        == clean_digests(clean, loaded_rows_only=True)[victim]
    )
    observed = observed_label(files, new_reasons, gate, config_lines)
    if not config_lines:
        observed += "; same rows as clean" if same_rows else "; rows changed"
    SUMMARY[case.name] = (case.kind, exp.label(), observed)

    # --- invariants
    texts = [*run.outputs, *extra_text, *reasons, *(f[3] or "" for f in files)]
    if gate is not None:
        texts += [f.message for f in gate.blocking_failures + gate.warnings]
    assert not [t for t in texts if "Traceback" in t], f"{case.name}: a traceback in the output"
    check_reconciliation(run.warehouse, victim)
    for other in others:
        assert now[other] == clean_digests(clean)[other], f"{case.name}: {other}'s raw layer changed"
    if exp.same_figures:
        assert same_rows, f"{case.name}: the victim's loaded rows changed"

    # --- the expected outcome
    failed_files = [f for f in files if f[2] == "failed"]
    if exp.outcome == "config error":
        path = run.clients / f"{victim}.yaml"
        assert len(config_lines) >= 1, run.outputs
        assert re.match(
            rf"CONFIG ERROR {re.escape(str(path))}:( line \d+:)? field {re.escape(exp.field)}: ", config_lines[0]
        ), config_lines
        assert re.search(exp.reason, config_lines[0]), config_lines
        assert now[victim] == clean_digests(clean)[victim]  # nothing loaded
        return observed
    assert not config_lines, config_lines
    assert gate is not None
    if exp.outcome == "file failed":
        assert len(failed_files) == 1, files
        assert re.search(exp.reason, failed_files[0][3]), failed_files[0][3]
        assert any(f"FAILED {failed_files[0][0]}: " in out for out in run.outputs)
    else:
        assert not failed_files, failed_files
    if exp.outcome == "quarantine":
        assert len(new_reasons) == 1 and re.search(exp.reason, new_reasons[0]), new_reasons
    else:
        assert not new_reasons, new_reasons
    blocking = {f.defect for f in gate.blocking_failures}
    warnings = {f.defect for f in gate.warnings}
    if exp.outcome in ("hold", "file failed"):
        assert not gate.publishable and blocking == {exp.check}, gate.reasons
        assert all(r.startswith(f"{victim} {gate.month}: {exp.check} (blocking, raw gate)") for r in gate.reasons)
    elif exp.outcome in ("quarantine", "note"):
        assert gate.publishable and warnings == {exp.check}, gate.notes
    else:
        assert gate.publishable and not warnings, gate.notes
    return observed


# --------------------------------------------------------------------------- the cases


CHEAP = [c for c in CASES if not c.marts]
BUILT = [c for c in CASES if c.marts]


def test_the_corpus_is_large_and_each_victim_stands_alone():
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)
    assert {c.kind for c in CASES} == {"files", "rows", "config"}
    assert {c.victim for c in BUILT} == set(CLONES) and len(BUILT) == len(CLONES)  # one defect per built victim


@pytest.mark.parametrize("case", CHEAP, ids=[c.name for c in CHEAP])
def test_case(case: Case, clean: Run, gx_root, tmp_path, monkeypatch, capsys):
    run = Run(tmp_path)
    shutil.copytree(clean.landing / case.victim, run.landing / case.victim)
    shutil.copytree(clean.clients, run.clients)
    shutil.copy2(clean.warehouse, run.warehouse)
    inject(case, run)
    code = run.roi(monkeypatch, capsys, "ingest", case.victim)
    gate = None
    if case.expect.outcome != "config error":
        month = CASE_MONTH.get(case.name, MONTH)
        gate = gates(run, gx_root, [case.victim], month, mart=False)[case.victim]
        assert code == (1 if case.expect.outcome == "file failed" else 0), run.outputs
    else:
        assert code == 1, run.outputs
    judge(case, clean, run, gate, [])


@pytest.fixture(scope="module")
def built(clean, gx_root, tmp_path_factory):
    """Every marts case injected into its own victim, then one ingest, one incremental build, gates, reports."""
    run = Run(tmp_path_factory.mktemp("corpus-built"))
    for name in ("landing", "clients"):
        shutil.copytree(clean.base / name, run.base / name)
    shutil.copy2(clean.warehouse, run.warehouse)
    for case in BUILT:
        inject(case, run)
    with pytest.MonkeyPatch.context() as mp, _capture() as capsys:
        assert run.roi(mp, capsys, "ingest", *CLONES) == 1, run.outputs[-1]  # the truncated file fails
        assert run.roi(mp, capsys, "build", "--month", MONTH) == 0, run.outputs[-1]
        raw = gates(run, gx_root, [*GENERATED, *CLONES])
        assert run.roi(mp, capsys, "report", "--month", MONTH, *GENERATED, "--no-portfolio") == 0, run.outputs[-1]
    return run, raw


@pytest.mark.parametrize("case", BUILT, ids=[c.name for c in BUILT])
def test_case_through_the_build(case: Case, clean: Run, built):
    run, raw = built
    judge(case, clean, run, raw[case.victim], [])
    if case.expect.same_figures:
        assert client_month(run.warehouse, case.victim) == client_month(clean.warehouse, case.victim)
    for other in GENERATED:  # never a victim: their published reports are byte-identical
        assert report_files(run.reports, other) == report_files(clean.reports, other), other


def test_zz_summary(record_property):
    """The table CI shows (last in the module): case -> expected -> observed.

    Attached to the test's report (tests/conftest.py prints it in the run's summary), so it
    reaches the terminal also when the module ran in a pytest-xdist worker."""
    width = max(len(c.name) for c in CASES)
    lines = [f"bad-input corpus: {len(SUMMARY)} of {len(CASES)} cases judged", ""]
    lines.append(f"{'case':<{width}}  {'kind':<6}  {'expected':<48}  observed")
    for case in CASES:
        kind, expected, observed = SUMMARY.get(case.name, (case.kind, case.expect.label(), "NOT RUN"))
        lines.append(f"{case.name:<{width}}  {kind:<6}  {expected:<48}  {observed}")
    record_property(SUMMARY_TABLE, "\n".join(lines))
