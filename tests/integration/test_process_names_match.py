"""Process names match trimmed and case-insensitively (docs/method.md, Timesheets), whatever
their letters: the register's name and the timesheet rows' are keyed by one function.

Scenario: a client's process is called "Sendungsverfolgung Straße" in the register, and its
staff log it as "sendungsverfolgung<no-break space> straße" (another case, a no-break space
and a double space, as exports and hand typing give). Its residual hours in the report must be
the hours of those rows, computed here from the CSV. (Keyed by Python's casefold on one side
and the database's lower on the other, "Straße" became "strasse" and "straße": no row matched,
residual 0, hours saved overstated.)
"""

from __future__ import annotations

import pytest
import yaml

from roi_pipeline.sample.generator import generate
from tests.integration.test_timesheet_corrections import FOLDERS, MONTH, Client, read_csv, report, run_month, write_csv

NAME = "Sendungsverfolgung Straße"
TYPED = "sendungsverfolgung\u00a0 straße "


@pytest.mark.slow
def test_a_process_name_with_any_letters_matches_its_timesheet_rows(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    path = next(p for p in sorted((tmp_path / "clients").glob("*.yaml")) if not p.name.startswith("_"))
    client = Client(path)
    folder = tmp_path / "landing" / client.id / FOLDERS[client.fmt]
    files = sorted(folder.glob("*.csv"))
    residual, _ = client.expected([row for f in files for row in read_csv(f)[1]])
    key = max(residual, key=residual.get)
    assert residual[key] > 0
    old = next(process for k, process, *_ in client.workflows if k == key)

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(w for w in data["workflows"] if w["key"] == key)["process"] = NAME
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    renamed = Client(path)
    for f in files:
        header, rows = read_csv(f)
        for row in rows:
            if " ".join(row[client.process_col].split()).lower() == old:
                row[client.process_col] = TYPED
        write_csv(f, header, rows)
    expected, _ = renamed.expected([row for f in files for row in read_csv(f)[1]])
    assert expected[key] == pytest.approx(residual[key])  # the same rows, under the new name

    run_month(tmp_path, monkeypatch)
    got = {w["key"]: w["residual_manual_hours"] for w in report(tmp_path, client.id)["workflows"]}
    assert got[key] == pytest.approx(expected[key], abs=1e-6)
