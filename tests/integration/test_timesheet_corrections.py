"""Corrected timesheet exports replace the earlier rows on the dates they cover (docs/method.md).

Scenario, as a consultancy meets it: a month is landed and reported; then a corrected export of
the whole month is dropped under a new name (one entry's hours changed, one entry removed), and
a narrower correction covering three days only. ``roi run --month`` must report the residual
and consultancy hours of the corrected data alone: the narrow file's rows on its three days, the
full correction's rows on every other day, nothing from the first export. The expected figures
are computed here from the CSV rows and the client file, independently of the models.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate

MONTH = "2026-03"
NARROW = (date(2026, 3, 10), date(2026, 3, 12))
# the column each configured field name reads, per export
COLUMNS = {
    "harvest": {"client": "Client", "project": "Project", "task": "Task", "notes": "Notes"},
    "toggl": {"client": "Client", "project": "Project", "task": "Task", "tags": "Tags", "description": "Description"},
}
FOLDERS = {"harvest": "harvest_time_entries", "toggl": "toggl_time_entries"}
NAMES = {  # the vendors' own export names, with the range they cover
    "harvest": ("acme_time_report_from20260301_to20260331.csv", "acme_time_report_from20260310_to20260312.csv"),
    "toggl": ("Toggl_Track_time_entries_2026-03-01_to_2026-03-31.csv", "Toggl_Track_time_entries_2026-03-10_2026-03-12.csv"),
}  # fmt: skip


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def day(row: dict[str, str], fmt: str) -> date:
    return date.fromisoformat(row["Date"] if fmt == "harvest" else row["Start date"])


def hours(row: dict[str, str], fmt: str) -> float:
    if fmt == "harvest":
        return float(row["Hours"])
    h, m, s = (int(p) for p in row["Duration"].split(":"))
    return h + m / 60 + s / 3600


def set_hours(row: dict[str, str], fmt: str, value: float) -> dict[str, str]:
    if fmt == "harvest":
        return {**row, "Hours": f"{value:.2f}"}
    seconds = round(value * 3600)
    return {**row, "Duration": f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"}


class Client:
    """What the client file says about its timesheets and workflows (read from the YAML)."""

    def __init__(self, path: Path):
        data = yaml.safe_load(path.read_text())
        self.id = data["client_id"]
        sheets = data["timesheets"]
        self.fmt = sheets["format"]
        cols = COLUMNS[self.fmt]
        self.process_col = cols[sheets["process_field"]]
        self.consultancy_col = cols[sheets["consultancy_rows"]["field"]]
        self.consultancy_values = {v.strip().lower() for v in sheets["consultancy_rows"]["values"]}
        self.workflows = [
            (w["key"], w["process"].strip().lower(), w["go_live"], w.get("retired_on")) for w in data["workflows"]
        ]

    def is_consultancy(self, row: dict[str, str]) -> bool:
        return row[self.consultancy_col].strip().lower() in self.consultancy_values

    def workflow_of(self, row: dict[str, str]) -> str | None:
        """The workflow whose process the staff row is on, live on the row's date (else None)."""
        if self.is_consultancy(row):
            return None
        process, when = " ".join(row[self.process_col].split()).lower(), day(row, self.fmt)
        for key, wf_process, go_live, retired in self.workflows:
            if wf_process == process and go_live <= when and (retired is None or when < retired):
                return key
        return None

    def expected(self, rows: list[dict[str, str]]) -> tuple[dict[str, float], float]:
        """Residual hours per workflow and consultancy hours of March, from the rows."""
        residual = {key: 0.0 for key, *_ in self.workflows}
        consultancy = 0.0
        for row in rows:
            if day(row, self.fmt).strftime("%Y-%m") != MONTH:
                continue
            if self.is_consultancy(row):
                consultancy += hours(row, self.fmt)
            elif (key := self.workflow_of(row)) is not None:
                residual[key] += hours(row, self.fmt)
        return residual, consultancy


def corrections(client: Client, rows: list[dict[str, str]]):
    """A full-month correction (one process entry +1 h, one consultancy entry removed) and a
    narrow one for NARROW (one process entry +0.5 h, one entry removed)."""

    def inside(row):
        return NARROW[0] <= day(row, client.fmt) <= NARROW[1]

    full = list(rows)
    changed = next(i for i, r in enumerate(full) if not inside(r) and client.workflow_of(r))
    full[changed] = set_hours(full[changed], client.fmt, hours(full[changed], client.fmt) + 1.0)
    del full[next(i for i, r in enumerate(full) if not inside(r) and client.is_consultancy(r))]

    narrow = [r for r in full if inside(r)]
    changed = next(i for i, r in enumerate(narrow) if client.workflow_of(r))
    narrow[changed] = set_hours(narrow[changed], client.fmt, hours(narrow[changed], client.fmt) + 0.5)
    removed = next((i for i, r in enumerate(narrow) if client.is_consultancy(r)), len(narrow) - 1)
    del narrow[removed]
    return full, narrow


def run_month(base: Path, monkeypatch) -> None:
    for name, sub in (("LANDING", "landing"), ("CLIENTS", "clients"), ("REPORTS", "reports")):
        monkeypatch.setenv(f"ROI_{name}_DIR", str(base / sub))
    monkeypatch.setenv("ROI_WAREHOUSE", str(base / "warehouse.duckdb"))
    assert main(["run", "--month", MONTH]) == 0


def report(base: Path, client_id: str) -> dict:
    return json.loads((base / "reports" / client_id / MONTH / "report.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_corrected_exports_replace_earlier_rows_on_the_dates_they_cover(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    clients = [Client(p) for p in sorted((tmp_path / "clients").glob("*.yaml")) if not p.name.startswith("_")]
    assert {c.fmt for c in clients} == {"harvest", "toggl"}
    run_month(tmp_path, monkeypatch)  # the month as first exported

    expected = {}
    for client in clients:
        folder = tmp_path / "landing" / client.id / FOLDERS[client.fmt]
        header, rows = read_csv(folder / f"{MONTH}.csv")
        full, narrow = corrections(client, rows)
        full_name, narrow_name = NAMES[client.fmt]
        write_csv(folder / full_name, header, full)
        write_csv(folder / narrow_name, header, narrow)
        # the person who dropped them stated when they were exported (after the first export)
        stamps = json.loads((folder / "_extracts.json").read_text())
        stamps[full_name] = {"extracted_at": "2026-04-06T09:00:00Z"}
        stamps[narrow_name] = {"extracted_at": "2026-04-07T09:00:00Z"}
        (folder / "_extracts.json").write_text(json.dumps(stamps, indent=2))
        current = [r for r in full if not NARROW[0] <= day(r, client.fmt) <= NARROW[1]] + narrow
        expected[client.id] = client.expected(current)
        assert expected[client.id] != client.expected(rows)  # the corrections change the figures

    run_month(tmp_path, monkeypatch)
    for client in clients:
        residual, consultancy = expected[client.id]
        got = report(tmp_path, client.id)
        by_workflow = {w["key"]: w["residual_manual_hours"] for w in got["workflows"]}
        assert by_workflow == pytest.approx({k: v for k, v in residual.items() if k in by_workflow}, abs=1e-6)
        assert got["delivery"]["total_hours"] == pytest.approx(consultancy, abs=1e-6), client.id
        known = {w["key"] for w in got["workflows"] if not w["is_hours_unknown"]}
        assert got["headline"]["residual_manual_hours"] == pytest.approx(
            sum(v for k, v in residual.items() if k in known), abs=1e-6
        )
