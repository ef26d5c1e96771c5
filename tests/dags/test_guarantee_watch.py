"""The daily guarantee watch: month-to-date hours, the projection, and who is at risk.

The projection itself (hours so far at the pace of the live time so far, over the month's live
days; at risk when below the guarantee; docs/method.md) is a dbt unit test with hand-computed numbers
(fct_client_months_at_risk_projection). Here: what the watch writes from the mart, and the
DAG that feeds it, on sample data.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime

import duckdb
import pendulum
import pytest

from roi_pipeline.orchestration.watch import guarantee_watch
from roi_pipeline.settings import Locations
from tests.dags.harness import make_sample, run_dag


def _mart(tmp_path, rows: list[tuple]) -> Locations:
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_client_months (client_id varchar, report_month date, guarantee_hours double,"
            " hours_saved double, projected_month_hours double, is_guarantee_at_risk boolean,"
            " guarantee_verdict varchar)"
        )
        con.executemany("insert into marts.fct_client_months values (?, ?, ?, ?, ?, ?, ?)", rows)
    return Locations(tmp_path, tmp_path, warehouse, tmp_path / "reports")


def test_the_watch_writes_the_months_figures_and_flags_who_is_at_risk(tmp_path):
    loc = _mart(
        tmp_path,
        [
            ("acme", "2026-04-01", 40.0, 10.0, 30.0, True, "in progress"),
            ("bolt", "2026-04-01", 40.0, 20.0, 60.0, False, "in progress"),
            ("acme", "2026-03-01", 40.0, 62.0, 62.0, False, "met"),  # another month: not read
            ("other", "2026-04-01", 40.0, 1.0, 3.0, True, "in progress"),  # not asked for
        ],
    )
    result = guarantee_watch("2026-04", ["bolt", "acme", "newco"], day=date(2026, 4, 10), locations=loc)
    assert result["at_risk"] == ["acme"]
    assert result["no_data"] == ["newco"]
    acme = next(c for c in result["clients"] if c["client_id"] == "acme")
    assert acme == {"client_id": "acme", "guarantee_hours": 40.0, "hours_saved_to_date": 10.0,
                    "projected_month_hours": 30.0, "at_risk": True, "verdict": "in progress"}  # fmt: skip
    assert "other" not in json.dumps(result)  # one client's figures never appear for another's run
    path = tmp_path / "reports" / "_watch" / "2026-04" / "2026-04-10.json"
    assert result["path"] == str(path)
    written = json.loads(path.read_text())
    assert written == {k: v for k, v in result.items() if k != "path"}


def test_a_rerun_of_the_same_day_replaces_its_file_and_the_day_comes_from_the_run(tmp_path):
    loc = _mart(tmp_path, [("acme", "2026-04-01", 40.0, 10.0, 30.0, True, "in progress")])
    first = guarantee_watch("2026-04", ["acme"], day=date(2026, 4, 10), locations=loc)
    again = guarantee_watch("2026-04", ["acme"], day=date(2026, 4, 10), locations=loc)
    assert again["path"] == first["path"]
    assert sorted(p.name for p in (tmp_path / "reports" / "_watch" / "2026-04").iterdir()) == ["2026-04-10.json"]


def _automations_stop(sample, client_id: str, stopped: datetime, extracted: datetime) -> None:
    """October as it looks mid-month when the client's automations stopped running on
    ``stopped``: no runs after it, and every October extract taken at ``extracted``."""
    n8n = sample.landing / client_id / "n8n_executions" / "2026-10.json"
    page = json.loads(n8n.read_text())
    page["data"] = [e for e in page["data"] if datetime.fromisoformat(e["startedAt"]) < stopped]
    n8n.write_text(json.dumps(page))
    generic = sample.landing / client_id / "generic_runs" / "2026-10.csv"
    with generic.open(newline="") as f:
        rows = list(csv.DictReader(f))
    with generic.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if datetime.fromisoformat(r["started_at"]) < stopped)
    for extracts in (sample.landing / client_id).glob("*/_extracts.json"):
        marks = json.loads(extracts.read_text())
        for name in marks:
            if name.startswith("2026-10"):
                marks[name]["extracted_at"] = extracted.isoformat().replace("+00:00", "Z")
        extracts.write_text(json.dumps(marks, indent=2))


@pytest.mark.slow
def test_the_watch_dag_flags_a_client_whose_automations_stopped_mid_month(tmp_path):
    sample = make_sample(tmp_path / "sample", clients=2, months=6)
    # hudson-roofing (New York): runs stop on 5 October, data extracted on the 12th at 12:00
    # UTC (08:00 local, day 12 of 31); harbour-legal's October is complete.
    _automations_stop(
        sample, "hudson-roofing", datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 12, 12, tzinfo=UTC)
    )
    # 13 October 07:00 UTC: October is the month in progress in every client's zone
    run, states, _ = run_dag("roi_guarantee_watch", sample, logical_date=pendulum.datetime(2026, 10, 13, 7, tz="UTC"))
    assert str(run.state) == "success", states
    written = json.loads((sample.reports / "_watch" / "2026-10" / "2026-10-13.json").read_text())
    clients = {c["client_id"]: c for c in written["clients"]}
    assert sorted(clients) == ["harbour-legal", "hudson-roofing"]

    hudson = clients["hudson-roofing"]
    # docs/method.md: projected at the pace of the live time so far; hudson's workflows live in
    # October went live in February, so each is live all 31 days and 11 days and 8 hours of it
    # have elapsed (the as-of day counts by its part, not whole: not / 12 x 31)
    assert hudson["projected_month_hours"] == pytest.approx(
        hudson["hours_saved_to_date"] / (11 + 8 / 24) * 31, abs=0.02
    )
    assert hudson["projected_month_hours"] < hudson["guarantee_hours"] == 40.0
    assert hudson["at_risk"] is True and written["at_risk"] == ["hudson-roofing"]

    # the complete month projects to its actual hours and is not at risk
    harbour = clients["harbour-legal"]
    assert harbour["at_risk"] is False
    assert harbour["projected_month_hours"] == harbour["hours_saved_to_date"]
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        mart = dict(con.execute(
            "select client_id, round(hours_saved, 2) from marts.fct_client_months "
            "where report_month = date '2026-10-01'").fetchall())  # fmt: skip
    assert {cid: c["hours_saved_to_date"] for cid, c in clients.items()} == mart
    # the readers' copy (analysts, the hourly alerts) holds the day's build, not last month's
    snapshot = Locations.from_env(sample.env()).marts_snapshot
    with duckdb.connect(str(snapshot), read_only=True) as con:
        copied = dict(con.execute(
            "select client_id, round(hours_saved, 2) from marts.fct_client_months "
            "where report_month = date '2026-10-01'").fetchall())  # fmt: skip
    assert copied == mart
