"""Re-running one client's month refreshes the month's portfolio page.

Scenario, as a consultancy meets it: October's run published every client's report and the
portfolio page. A re-export of harbour-legal's run log then lands with three more failed runs,
and the consultancy re-runs the month for that client alone (``roi run --month M CLIENT``). The
client's report is restated; the portfolio page, where the consultancy reads every client's
figures, used to keep the figures from before (it was rendered only by a run of all clients).

Expected figures come from the landing change (three failed production runs added to a live
workflow), not from the project's code: the portfolio's entry equals the restated report's,
which is the first report's plus three; the other client's entry is unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

CLIENT, OTHER, MONTH = "harbour-legal", "hudson-roofing", "2026-03"


def portfolio_entries(base: Path) -> dict[str, dict]:
    doc = json.loads((base / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text(encoding="utf-8"))
    return {c["client_id"]: c for group in doc["currencies"] for c in group["clients"]}


def report(base: Path, client_id: str) -> dict:
    return json.loads((base / "reports" / client_id / MONTH / "report.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_client_run_again_shows_its_new_figures_on_the_portfolio_page(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    before = portfolio_entries(tmp_path)
    first = report(tmp_path, CLIENT)
    assert before[CLIENT]["failed_runs"] == first["reliability"]["failed_runs"]

    page_path = tmp_path / "landing" / CLIENT / "n8n_executions" / f"{MONTH}.json"
    page = json.loads(page_path.read_text(encoding="utf-8"))
    failures = [
        {
            "id": f"980000{n}",
            "finished": False,
            "mode": "trigger",
            "retryOf": None,
            "retrySuccessId": None,
            "status": "error",
            "startedAt": f"2026-03-1{n}T10:00:00.000Z",
            "stoppedAt": f"2026-03-1{n}T10:00:05.000Z",
            "workflowId": "hLt7QaN8nTr1ag3A",
            "waitTill": None,
            "customData": {"items": "0"},
        }
        for n in (1, 2, 3)
    ]
    page["data"] = failures + page["data"]
    page_path.write_text(json.dumps(page), encoding="utf-8")

    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    after = portfolio_entries(tmp_path)
    restated = report(tmp_path, CLIENT)
    assert restated["reliability"]["failed_runs"] == first["reliability"]["failed_runs"] + 3
    assert after[CLIENT]["failed_runs"] == restated["reliability"]["failed_runs"]
    for figure in ("tasks_automated", "hours_saved", "value_created", "total_cost"):
        assert after[CLIENT][figure] == restated["headline"][figure], figure
    assert after[CLIENT]["report_status"] == "published"
    assert after[OTHER] == before[OTHER]


@pytest.mark.slow
def test_a_client_run_leaves_a_month_without_a_portfolio_page_without_one(tmp_path, monkeypatch):
    """A client's month run on its own (onboarding one client, say) does not start a portfolio
    page for the month: that comes with the run of every client."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH, CLIENT) == 0
    assert (tmp_path / "reports" / CLIENT / MONTH / "report.json").is_file()
    assert not (tmp_path / "reports" / "_portfolio" / MONTH).exists()


@pytest.mark.slow
def test_another_client_whose_data_changed_since_its_report_is_listed_as_out_of_date(tmp_path, monkeypatch):
    """hudson-roofing's hourly cost is corrected and built, but its month is not run again; a run
    of harbour-legal alone then refreshes the page. hudson-roofing's published report still says
    the old value: the page must not list it as published with figures its report does not have."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    published_value = report(tmp_path, OTHER)["headline"]["value_created"]

    config = tmp_path / "clients" / f"{OTHER}.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  value: 44.0\n" in text
    config.write_text(text.replace("  value: 44.0\n", "  value: 88.0\n", 1), encoding="utf-8")
    assert roi(tmp_path, monkeypatch, "ingest", OTHER) == 0
    assert roi(tmp_path, monkeypatch, "build", "--month", MONTH) == 0
    assert roi(tmp_path, monkeypatch, "report", "--month", MONTH, CLIENT) == 0

    doc = json.loads((tmp_path / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text(encoding="utf-8"))
    entry = portfolio_entries(tmp_path)[OTHER]
    assert entry["report_status"] == "held_back"
    (held,) = [h for h in doc["held_back"] if h["client_id"] == OTHER]
    assert held["earlier_report_published"] is True
    (reason,) = held["reasons"]
    assert reason.startswith(f"{OTHER} {MONTH}: report_out_of_date")
    assert f"value_created {published_value} -> " in reason
    assert report(tmp_path, OTHER)["headline"]["value_created"] == published_value  # not rendered again
    assert portfolio_entries(tmp_path)[CLIENT]["report_status"] == "published"


@pytest.mark.slow
def test_another_client_whose_published_report_cannot_be_read_is_not_listed_as_published(tmp_path, monkeypatch):
    """A published report.json that no longer reads (cut short on a full disk, edited by hand)
    says nothing the page could stand behind: the client is listed as held, with why."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month=MONTH)
    assert roi(tmp_path, monkeypatch, "run", "--month", MONTH) == 0
    (tmp_path / "reports" / OTHER / MONTH / "report.json").write_text('{"status": "ok", "head', encoding="utf-8")
    assert roi(tmp_path, monkeypatch, "report", "--month", MONTH, CLIENT) == 0

    doc = json.loads((tmp_path / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text(encoding="utf-8"))
    assert portfolio_entries(tmp_path)[OTHER]["report_status"] == "held_back"
    (held,) = [h for h in doc["held_back"] if h["client_id"] == OTHER]
    (reason,) = held["reasons"]
    assert reason.startswith(f"{OTHER} {MONTH}: report_out_of_date")
    assert "its published report could not be read" in reason
