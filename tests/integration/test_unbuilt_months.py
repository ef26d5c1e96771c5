"""Everyday operations keep every bill right: months whose runs are not built yet.

A monthly run (``roi run --month M``) builds the incremental runs models for M only. These
scenarios go from landing files through the command to the published report.json:

- a client onboarded into a warehouse that already holds other clients: its earlier months
  are built as a from-scratch build builds them (not left at 0 tasks, "missed", credited);
- an export of an earlier month that lands late (after that month was built) is built;
- a month with no runs at all (a total outage) has a row: 0 tasks, judged and credited.

Figures are checked against the from-scratch build and against the independent reference
computation (tests/integration/roi_reference.py) or arithmetic from the client file.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.cli import main as roi
from roi_pipeline.config import load_clients
from roi_pipeline.formats import RUN_FOLDERS
from tests.dags.harness import Sample, environment, make_sample
from tests.integration.roi_reference import compute_client, month_range

pytestmark = pytest.mark.slow

MONTH = "2026-10"
MONTHS = month_range(date(2026, 7, 1), date(2026, 10, 1))
NEWCOMER = "hudson-roofing"  # guarantee 40 h: its verdicts and credits matter
LATE = "harbour-legal"
OUTAGE = "harbour-legal"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Sample:
    """Three sample clients, July to October 2026 (read-only: each test copies what it needs)."""
    return make_sample(tmp_path_factory.mktemp("unbuilt-sample"), clients=3, months=4, end_month=MONTH)


def copy_sample(generated: Sample, base: Path, clients: list[str] | None = None) -> Sample:
    """A private copy of the client files and landing data (only ``clients`` when given)."""
    sample = Sample(base, base / "landing", base / "clients", base / "wh" / "warehouse.duckdb", base / "reports")
    sample.clients.mkdir(parents=True)
    sample.landing.mkdir(parents=True)
    shutil.copy(generated.clients / "_consultancy.yaml", sample.clients)
    for path in sorted(generated.clients.glob("*.yaml")):
        if not path.name.startswith("_") and (clients is None or path.stem in clients):
            add_client(generated, sample, path.stem)
    return sample


def add_client(generated: Sample, sample: Sample, client_id: str) -> None:
    shutil.copy(generated.clients / f"{client_id}.yaml", sample.clients)
    shutil.copytree(generated.landing / client_id, sample.landing / client_id)


def run(sample: Sample, *args: str) -> int:
    with environment(sample.env()):
        return roi(["run", *args])


def client_rows(sample: Sample, client_id: str) -> dict[str, list[tuple]]:
    queries = {
        "fct_client_months": "select * from marts.fct_client_months where client_id = ? order by report_month",
        "fct_workflow_months": (
            "select * from marts.fct_workflow_months where client_id = ? order by report_month, workflow_key"
        ),
        "fct_billing_credits": "select * from marts.fct_billing_credits where client_id = ? order by missed_month",
        "fct_automation_runs": "select * from marts.fct_automation_runs where client_id = ? order by run_key",
    }
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        return {name: con.execute(sql, [client_id]).fetchall() for name, sql in queries.items()}


def report(sample: Sample, client_id: str, month: str = MONTH) -> dict:
    return json.loads((sample.reports / client_id / month / "report.json").read_text())


def figures(doc: dict) -> dict:
    """What the report says to the client, without the lineage of the build it came from."""
    return {key: value for key, value in doc.items() if key != "lineage"}


def assert_months_match_reference(sample: Sample, client_id: str, landing: Path) -> None:
    """Every month of the client in the marts against the independent computation."""
    client = next(c for c in load_clients(sample.clients).clients if c.client_id == client_id)
    ref = compute_client(client, landing, MONTHS)
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        rows = con.execute(
            "select report_month, tasks_automated, hours_saved, fee_charged, guarantee_verdict "
            "from marts.fct_client_months where client_id = ? order by report_month",
            [client_id],
        ).fetchall()
    assert [r[0] for r in rows] == MONTHS
    for month, tasks, hours, fee, verdict in rows:
        expected = ref.client_months[month]
        where = f"{client_id} {month:%Y-%m}"
        assert fee == pytest.approx(expected.fee_charged), where
        assert verdict == expected.guarantee_verdict, where
        assert hours == pytest.approx(expected.hours_saved, abs=1e-9), where
        expected_tasks = sum(wm.tasks_automated for (_key, m), wm in ref.workflow_months.items() if m == month)
        assert tasks == expected_tasks, where


@pytest.fixture(scope="module")
def from_scratch(generated, tmp_path_factory) -> Sample:
    """All three clients built from an empty warehouse by the same monthly command."""
    sample = copy_sample(generated, tmp_path_factory.mktemp("from-scratch"))
    assert run(sample, "--month", MONTH) in (0, 1)
    return sample


def test_a_client_onboarded_into_a_populated_warehouse_gets_every_earlier_month(generated, from_scratch, tmp_path):
    sample = copy_sample(generated, tmp_path, clients=[c for c in ("harbour-legal", "rheinwerk-logistik")])
    assert run(sample) in (0, 1)  # the other clients' full build: the warehouse is populated
    add_client(generated, sample, NEWCOMER)
    assert run(sample, "--month", MONTH) in (0, 1)

    got, expected = client_rows(sample, NEWCOMER), client_rows(from_scratch, NEWCOMER)
    for mart in expected:
        assert got[mart] == expected[mart], mart
    assert len(got["fct_client_months"]) == len(MONTHS)
    assert_months_match_reference(sample, NEWCOMER, sample.landing)
    assert figures(report(sample, NEWCOMER)) == figures(report(from_scratch, NEWCOMER))
    # the clients already there are untouched by the newcomer's backfill
    for other in ("harbour-legal", "rheinwerk-logistik"):
        assert client_rows(sample, other) == client_rows(from_scratch, other), other


def test_an_earlier_month_that_lands_late_is_built(generated, from_scratch, tmp_path):
    sample = copy_sample(generated, tmp_path)
    held_back = tmp_path / "held-back"
    held_back.mkdir()
    late_files = [p for p in sorted((sample.landing / LATE).glob("*/2026-09.*")) if p.parent.name in RUN_FOLDERS]
    assert len({p.parent.name for p in late_files}) >= 2, late_files  # n8n and another platform's run log
    for path in late_files:
        path.rename(held_back / f"{path.parent.name}-{path.name}")
    assert run(sample) in (0, 1)  # September built without its run logs
    for path in late_files:  # the hand-dropped exports of September arrive with October's run
        (held_back / f"{path.parent.name}-{path.name}").rename(path)
    assert run(sample, "--month", MONTH) in (0, 1)

    got, expected = client_rows(sample, LATE), client_rows(from_scratch, LATE)
    for mart in expected:
        assert got[mart] == expected[mart], mart
    assert_months_match_reference(sample, LATE, sample.landing)
    # October was published first without September's runs (its fee, cumulative net and
    # payback then rested on an empty September): the re-run says "restated"
    late, scratch = report(sample, LATE), report(from_scratch, LATE)
    assert late["restatement"] is not None and scratch["restatement"] is None
    assert {k: v for k, v in figures(late).items() if k != "restatement"} == {
        k: v for k, v in figures(scratch).items() if k != "restatement"
    }


def fee_in_effect(client_file: Path, day: date) -> float:
    """The monthly fee the client file puts in effect on ``day`` (read from the YAML itself)."""
    import yaml

    entries = yaml.safe_load(client_file.read_text())["monthly_fee"]
    in_effect = [e for e in entries if date.fromisoformat(str(e["effective_from"])) <= day]
    return float(max(in_effect, key=lambda e: str(e["effective_from"]))["value"])


def test_a_month_without_any_run_is_judged_and_credited(generated, tmp_path):
    sample = copy_sample(generated, tmp_path)
    removed = [p for p in sorted((sample.landing / OUTAGE).glob("*/2026-10.*")) if p.parent.name in RUN_FOLDERS]
    assert len({p.parent.name for p in removed}) >= 2, removed  # n8n and another platform's run log
    for path in removed:  # a total outage: October's exports arrive (extracted, so the month closes) and hold no run
        if path.suffix == ".json":  # the file's own page, its list of records emptied
            page = json.loads(path.read_text(encoding="utf-8-sig"))
            page = {key: [] if isinstance(value, list) else value for key, value in page.items()}
            path.write_text(json.dumps(page) + "\n", encoding="utf-8")
        else:  # a CSV run log: its header alone
            path.write_text(path.read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
    run(sample, "--month", MONTH)

    client_file = sample.clients / f"{OUTAGE}.yaml"
    client = next(c for c in load_clients(sample.clients).clients if c.client_id == OUTAGE)
    assert client.guarantee_hours > 0
    october, november = date(2026, 10, 1), date(2026, 11, 1)
    ref = compute_client(client, sample.landing, MONTHS).client_months[october]
    assert ref.guarantee_verdict == "missed"  # the independent reading: zero tasks miss the guarantee
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        month = con.execute(
            "select tasks_automated, production_runs, hours_saved, guarantee_verdict, fee_charged, is_month_closed "
            "from marts.fct_client_months where client_id = ? and report_month = ?",
            [OUTAGE, october],
        ).fetchall()
        credits = con.execute(
            "select credited_month, credit_amount from marts.fct_billing_credits where client_id = ? and missed_month = ?",
            [OUTAGE, october],
        ).fetchall()
    assert len(month) == 1, "October has a row although no run arrived"
    tasks, runs, hours, verdict, fee, closed = month[0]
    assert (tasks, runs, verdict, closed) == (0, 0, "missed", True)
    assert hours == pytest.approx(ref.hours_saved, abs=1e-9)  # minus the manual hours still logged
    assert fee == pytest.approx(ref.fee_charged)
    assert credits == [(november, pytest.approx(fee_in_effect(client_file, november)))]

    doc_path = sample.reports / OUTAGE / MONTH / "report.json"
    if doc_path.exists():  # published unless a gate holds it (the gates' rules are theirs)
        doc = json.loads(doc_path.read_text())
        assert doc["status"] == "ok"
        head = doc["headline"]
        assert head["tasks_automated"] == 0 and head["guarantee_verdict"] == "missed"
        assert head["next_invoice"]["fee_credited"] is True
        assert head["next_invoice"]["credit_amount"] == pytest.approx(fee_in_effect(client_file, november))
