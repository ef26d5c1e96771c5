"""A corrected timesheet dropped by hand without its export time is named, not silently lost.

Scenario, as a consultancy meets it: harbour-legal's March Harvest export was extracted on
4 April. An analyst fixes two hours of the consultancy's own time in Harvest, exports March
again and drops it beside the first as ``2026-03-corrected.csv``, without stating when it was
exported. Such a file sorts before every file with an export time (docs/landing.md), so the
extractor's file keeps counting on every date: the correction changed nothing, and nothing
said so. Now the month's report carries a note naming the file, the dates and the file that
replaces it; once its export time is stated (``roi landed``), it counts, and the note goes.

Expected hours come from the CSV files (the consultancy's rows, Client = Northbeam AI Ops).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

CLIENT, MONTH = "harbour-legal", "2026-03"
CONSULTANCY = "Northbeam AI Ops"


def consultancy_hours(path: Path) -> float:
    with path.open(encoding="utf-8", newline="") as handle:
        return round(sum(float(r["Hours"]) for r in csv.DictReader(handle) if r["Client"] == CONSULTANCY), 2)


def report(base: Path) -> dict:
    return json.loads((base / "reports" / CLIENT / MONTH / "report.json").read_text(encoding="utf-8"))


def replaced_notes(doc: dict) -> list[str]:
    return [n for n in doc["data_quality"]["quality"]["warnings"] if "timesheet_file_replaced" in n]


@pytest.mark.slow
def test_a_correction_without_its_export_time_is_named_then_counts_once_stated(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    folder = tmp_path / "landing" / CLIENT / "harvest_time_entries"
    extracted = folder / f"{MONTH}.csv"
    with extracted.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    first = next(r for r in rows if r["Client"] == CONSULTANCY)
    first["Hours"] = f"{float(first['Hours']) + 2.0:.2f}"
    first["Hours Rounded"] = first["Hours"]
    corrected = folder / f"{MONTH}-corrected.csv"
    with corrected.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    assert consultancy_hours(corrected) == round(consultancy_hours(extracted) + 2.0, 2)

    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0  # a note: the reports publish
    doc = report(tmp_path)
    assert doc["delivery"]["total_hours"] == consultancy_hours(extracted)  # the correction does not count
    (note,) = replaced_notes(doc)
    assert note.startswith(f"{CLIENT} {MONTH}: timesheet_file_replaced (warning")
    assert f"source_file={CLIENT}/harvest_time_entries/{MONTH}-corrected.csv" in note
    assert f"by {CLIENT}/harvest_time_entries/{MONTH}.csv (exported 2026-04-04 12:00 UTC)" in note

    assert (
        roi(
            tmp_path,
            monkeypatch,
            "landed",
            CLIENT,
            "harvest_time_entries",
            corrected.name,
            "--exported-at",
            "2026-04-05T09:00Z",
        )
        == 0
    )
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    doc = report(tmp_path)
    assert doc["delivery"]["total_hours"] == consultancy_hours(corrected)
    assert replaced_notes(doc) == []


@pytest.mark.slow
def test_a_file_that_covers_no_date_is_not_named(tmp_path, monkeypatch):
    """A header-only export dropped by hand covers no date: it replaces nothing and loses
    nothing (int_time_entries_classified), so no month's report names it."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    folder = tmp_path / "landing" / CLIENT / "harvest_time_entries"
    header = (folder / f"{MONTH}.csv").read_text(encoding="utf-8").splitlines()[0]
    (folder / "onboarding-empty.csv").write_text(header + "\n", encoding="utf-8")
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    assert replaced_notes(report(tmp_path)) == []
