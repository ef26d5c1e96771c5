"""A correction to a month already published is restated before a later month builds on it.

Scenario, as a consultancy meets it: February is published. Then a corrected February run log
lands (half of one client's successful runs had in fact failed), and the routine run of March
goes ahead. The build takes the correction into the marts, so February's hours, verdict and
the fee credit March reads from it change; February's published report still says the old
figures. Publishing March then would contradict February's report (a fee credited, or not,
against a month published otherwise), as it did: March is held, the reason naming February and
the command that restates it; the other client is published. Once February is run again (its
report restated, the earlier version kept), March is published.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi


def run(base: Path, monkeypatch, *args: str) -> int:
    return roi(base, monkeypatch, "run", *args)


def headline(base: Path, client_id: str, month: str) -> dict:
    return json.loads((base / "reports" / client_id / month / "report.json").read_text(encoding="utf-8"))["headline"]


@pytest.mark.slow
def test_a_month_is_held_while_an_earlier_published_month_it_builds_on_is_not_restated(tmp_path, monkeypatch, capsys):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    victim, other = sorted(p.stem for p in (tmp_path / "clients").glob("*.yaml") if not p.name.startswith("_"))
    assert run(tmp_path, monkeypatch, "--month", "2026-02") == 0
    february = headline(tmp_path, victim, "2026-02")
    published = (tmp_path / "reports" / victim / "2026-02" / "report.json").read_bytes()

    path = tmp_path / "landing" / victim / "n8n_executions" / "2026-02.json"
    page = json.loads(path.read_text(encoding="utf-8"))
    successes = [r for r in page["data"] if r["status"] == "success" and r["mode"] == "trigger"]
    for record in successes[::2]:
        record["status"] = "error"
    path.write_text(json.dumps(page), encoding="utf-8")

    assert run(tmp_path, monkeypatch, "--month", "2026-03") == 1
    assert not (tmp_path / "reports" / victim / "2026-03").exists()
    assert (tmp_path / "reports" / other / "2026-03" / "report.json").is_file()
    assert (tmp_path / "reports" / victim / "2026-02" / "report.json").read_bytes() == published
    portfolio = json.loads((tmp_path / "reports" / "_portfolio" / "2026-03" / "portfolio.json").read_text("utf-8"))
    (held,) = portfolio["held_back"]  # the page says why, not "not rendered"
    assert held["client_id"] == victim and "earlier_month_restated" in held["reasons"][-1]
    assert f"roi run --month 2026-02 {victim}" in held["reasons"][-1]
    # roi status tells the same: the gates passed, the renderer holds it
    capsys.readouterr()
    assert roi(tmp_path, monkeypatch, "status", "--month", "2026-03") == 1
    said = capsys.readouterr().out
    assert re.search(rf"^{re.escape(victim)}\s+HELD$", said, re.M), said
    assert re.search(rf"^{re.escape(other)}\s+publishable$", said, re.M), said
    assert "earlier_month_restated (blocking, render)" in said and f"roi run --month 2026-02 {victim}" in said

    assert run(tmp_path, monkeypatch, "--month", "2026-02", victim) == 0
    restated = headline(tmp_path, victim, "2026-02")
    assert restated["tasks_automated"] < february["tasks_automated"]
    assert (tmp_path / "reports" / victim / "2026-02" / "report.previous.json").read_bytes() == published
    assert run(tmp_path, monkeypatch, "--month", "2026-03") == 0
    capsys.readouterr()
    assert roi(tmp_path, monkeypatch, "status", "--month", "2026-03") == 0
    assert re.search(rf"^{re.escape(victim)}\s+publishable$", capsys.readouterr().out, re.M)
    march = headline(tmp_path, victim, "2026-03")
    assert march["is_fee_credited"] == restated["next_invoice"]["fee_credited"]


@pytest.mark.slow
def test_a_backfill_of_one_client_keeps_the_other_clients_status_on_the_portfolio(tmp_path, monkeypatch):
    """The monthly DAG run for one client (a backfill) renders the month's portfolio page
    again: the clients it did not plan keep the gate status recorded for them earlier in
    the month (not "checks not run"), and a report the renderer held is listed with why."""
    from roi_pipeline.orchestration.steps import render_portfolio_page
    from roi_pipeline.settings import Locations

    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    one, other = sorted(p.stem for p in (tmp_path / "clients").glob("*.yaml") if not p.name.startswith("_"))
    assert run(tmp_path, monkeypatch, "--month", "2026-03") == 0
    page = tmp_path / "reports" / "_portfolio" / "2026-03" / "portfolio.json"

    def entries() -> dict[str, dict]:
        doc = json.loads(page.read_text(encoding="utf-8"))
        return {c["client_id"]: c for group in doc["currencies"] for c in group["clients"]}

    before = entries()
    assert before[other]["quality"]["status"] == "passed"
    held = {"client_id": one, "status": "held_back", "reasons": [f"{one} 2026-03: earlier_month_restated ..."]}
    render_portfolio_page("2026-03", [one], [held], Locations.from_env())
    after = entries()
    assert after[other] == before[other]
    assert after[one]["report_status"] == "held_back"
    assert after[one]["quality"]["blocking"][-1] == held["reasons"][0]


@pytest.mark.slow
def test_a_client_whose_file_breaks_is_listed_as_held_with_why(tmp_path, monkeypatch, capsys):
    """A client file that no longer loads (a key written twice) stops that client only; the
    portfolio page and roi status list it as held with the config error, not as published."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    broken, fine = sorted(p.stem for p in (tmp_path / "clients").glob("*.yaml") if not p.name.startswith("_"))
    assert run(tmp_path, monkeypatch, "--month", "2026-03") == 0
    path = tmp_path / "clients" / f"{broken}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "guarantee_hours: 1\n", encoding="utf-8")

    assert run(tmp_path, monkeypatch, "--month", "2026-03") == 1
    doc = json.loads((tmp_path / "reports" / "_portfolio" / "2026-03" / "portfolio.json").read_text("utf-8"))
    (held,) = doc["held_back"]
    assert (
        held["client_id"] == broken and "config error" in held["reasons"][0] and "guarantee_hours" in held["reasons"][0]
    )
    capsys.readouterr()
    assert main(["status", "--month", "2026-03"]) == 1
    said = capsys.readouterr().out
    lines = [line.split() for line in said.splitlines()]
    assert [broken, "HELD"] in lines and [fine, "publishable"] in lines, said
