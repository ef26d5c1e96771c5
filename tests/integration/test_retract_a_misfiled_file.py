"""A file landed in the wrong client's folder is taken back with ``roi retract``.

Scenario, as a consultancy meets it: March is published; then another client's HubSpot
contacts export is dropped into this client's folder by mistake and March is run again: the
client's leads now include the other client's contacts. Deleting the file changes nothing
(the raw layer keeps what was landed), so the data engineer retracts it: its rows leave the
raw layer, the retraction is logged, the file is moved aside, and running March again gives
the client's figures without it, those of the first report. The other client never changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

MONTH = "2026-03"
MISFILED = "2026-03-other.json"


def figures(base: Path, client_id: str) -> dict:
    doc = json.loads((base / "reports" / client_id / MONTH / "report.json").read_text(encoding="utf-8"))
    return {"headline": doc["headline"], "kpis": doc["kpis"], "workflows": doc["workflows"]}


@pytest.mark.slow
def test_a_file_landed_in_the_wrong_folder_is_retracted_and_the_month_restated(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    victim, other = sorted(p.stem for p in (tmp_path / "clients").glob("*.yaml") if not p.name.startswith("_"))
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    clean, other_clean = figures(tmp_path, victim), figures(tmp_path, other)

    folder = tmp_path / "landing" / victim / "hubspot_contacts"
    shutil.copy(tmp_path / "landing" / other / "hubspot_contacts" / f"{MONTH}.json", folder / MISFILED)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    mixed = figures(tmp_path, victim)
    assert mixed["kpis"]["leads_created"] > clean["kpis"]["leads_created"]  # the other client's contacts

    (folder / MISFILED).unlink()  # deleting the file is not enough: the raw layer keeps its rows
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    assert figures(tmp_path, victim)["kpis"] == mixed["kpis"]
    shutil.copy(tmp_path / "landing" / other / "hubspot_contacts" / f"{MONTH}.json", folder / MISFILED)

    assert roi(tmp_path, monkeypatch, "retract", victim, "hubspot_contacts", "nope.json", "--reason", "x") == 1
    reason = f"the export of {other}, dropped here by mistake"
    assert roi(tmp_path, monkeypatch, "retract", victim, "hubspot_contacts", MISFILED, "--reason", reason) == 0
    assert not (folder / MISFILED).exists()
    assert (tmp_path / "landing" / "_retracted" / victim / "hubspot_contacts" / MISFILED).is_file()
    key = f"{victim}/hubspot_contacts/{MISFILED}"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        left = con.execute("select count(*) from raw.hubspot_contacts where _source_file = ?", [key]).fetchone()
        landed = con.execute("select count(*) from raw._landed_files where source_file = ?", [key]).fetchone()
        logged = con.execute(
            "select action, error from raw._ingest_log where source_file = ? and action = 'retracted'", [key]
        ).fetchall()
    finally:
        con.close()
    assert left == (0,) and landed == (0,) and logged == [("retracted", f"retracted: {reason}")]

    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    assert figures(tmp_path, victim) == clean
    assert figures(tmp_path, other) == other_clean
