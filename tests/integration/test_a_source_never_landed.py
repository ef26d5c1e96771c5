"""A source the client's configuration reads but that never landed holds the month (docs/method.md,
"Your 'as of'"): the client's "as of" is the earliest of its configured sources', and a source
with no file vouches for no time at all.

Scenario, as a consultancy meets it: a client's timesheet export was never set up (its folder
is empty), while its run logs and CRM exports arrive as usual. Without its timesheets the
report would show no residual hours (hours saved overstated) and a measured baseline with no
staff hours; the month must be held with a reason that names the missing source, and the
other client published. Once the timesheets land, the month is published.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import gate, roi

MONTH = "2026-03"


def run_month(base: Path, monkeypatch) -> int:
    return roi(base, monkeypatch, "run", "--month", MONTH)


@pytest.mark.slow
def test_a_configured_source_with_no_file_holds_the_month_until_it_lands(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    victim, other = sorted(p.stem for p in (tmp_path / "clients").glob("*.yaml") if not p.name.startswith("_"))
    sheets = yaml.safe_load((tmp_path / "clients" / f"{victim}.yaml").read_text(encoding="utf-8"))["timesheets"]
    folder = tmp_path / "landing" / victim / f"{sheets['format']}_time_entries"
    kept = tmp_path / "kept"
    shutil.move(folder, kept)

    assert run_month(tmp_path, monkeypatch) == 1
    publishable, reasons = gate(tmp_path, victim, MONTH)
    assert not publishable
    assert any("month_not_closed" in r and f"{folder.name} (no file landed yet" in r for r in reasons), reasons
    assert not (tmp_path / "reports" / victim / MONTH / "report.json").exists()
    assert gate(tmp_path, other, MONTH) == (True, [])
    assert (tmp_path / "reports" / other / MONTH / "report.json").is_file()

    shutil.move(kept, folder)  # the export is set up: the month closes
    assert run_month(tmp_path, monkeypatch) == 0
    assert gate(tmp_path, victim, MONTH) == (True, [])
    assert (tmp_path / "reports" / victim / MONTH / "report.json").is_file()
