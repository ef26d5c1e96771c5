"""A hand-dropped timesheet with one mistyped year holds the month instead of erasing a year.

Scenario, as a consultancy meets it: harbour-legal's March Harvest export is dropped by hand
with one entry typed as 2025 instead of 2026. The file has no range in its name or its
extraction record, so it covers its first to last entry date (docs/landing.md): from March
2025 to March 2026, and, as the latest file, it would replace every other Harvest file's rows
on those dates. A reviewer saw a guarantee flip from met to missed and a fee credited, with
only a warning. Now the raw gate holds the month (``timesheet_coverage_gap``), naming the
entry; the other client is published; once the date is fixed the month is published with the
figures of the clean file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import gate, roi

CLIENT, MONTH = "harbour-legal", "2026-03"


def harvest_dates(path: Path) -> list[str]:
    return [row["Date"] for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))]


@pytest.mark.slow
def test_one_entry_a_year_early_holds_the_month(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    other = next(p.stem for p in sorted((tmp_path / "clients").glob("[!_]*.yaml")) if p.stem != CLIENT)
    path = tmp_path / "landing" / CLIENT / "harvest_time_entries" / f"{MONTH}.csv"
    clean = path.read_text(encoding="utf-8")
    lines = clean.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    first = next(csv.reader([lines[1]]))
    date_column = header.index("Date")
    assert first[date_column].startswith("2026-03-")  # the sample's own date format
    typo = list(first)
    typo[date_column] = "2025" + first[date_column][4:]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(typo)
    path.write_text(clean + buffer.getvalue(), encoding="utf-8")

    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 1
    publishable, reasons = gate(tmp_path, CLIENT, MONTH)
    assert not publishable
    assert any("timesheet_coverage_gap" in r and "blocking" in r for r in reasons), reasons
    assert not (tmp_path / "reports" / CLIENT / MONTH).exists()
    assert (tmp_path / "reports" / other / MONTH / "report.json").is_file()

    # fixed: the month is published with what the clean file gives
    path.write_text(clean, encoding="utf-8")
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    fixed = json.loads((tmp_path / "reports" / CLIENT / MONTH / "report.json").read_text(encoding="utf-8"))

    reference = tmp_path / "reference"
    generate(reference / "landing", reference / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(reference, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    expected = json.loads((reference / "reports" / CLIENT / MONTH / "report.json").read_text(encoding="utf-8"))
    assert fixed["headline"] == expected["headline"]
