"""The monthly client report on the sample warehouse: figures, safety, determinism, states."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import subprocess
from contextlib import closing
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest

from roi_pipeline.config import value_for_month
from roi_pipeline.report import (
    FILES,
    Consultancy,
    QualityStatus,
    UnknownClientError,
    render_client_month,
    validate,
)
from roi_pipeline.report import publish as publish_module
from roi_pipeline.report.document import RATE_COUNTS
from roi_pipeline.report.fmt import Formatter
from roi_pipeline.report.schema import schema
from tests.integration import roi_reference
from tests.integration.cents import page_text, shown, to_cents

MONTH = "2026-10"
CONSULTANCY = Consultancy("Northbeam AI Ops", "hello@northbeam.example")
CLIENTS = ("bondi-physio", "harbour-legal", "hudson-roofing", "rheinwerk-logistik")


def render(warehouse: Path, client: str, month: str, out: Path, **kwargs):
    kwargs.setdefault("consultancy", CONSULTANCY)
    return render_client_month(warehouse, client, month, out, **kwargs)


def read_json(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


def mutable_copy(sample_pipeline, tmp_path: Path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_pipeline.warehouse, target)
    return target


def execute(warehouse: Path, sql: str, params: list | None = None) -> None:
    with closing(duckdb.connect(str(warehouse))) as con:
        con.execute(sql, params or [])


@pytest.fixture(scope="module")
def published(sample_pipeline, tmp_path_factory):
    """Every sample client's report for the last month, rendered once."""
    out = tmp_path_factory.mktemp("reports")
    results = {c: render(sample_pipeline.warehouse, c, MONTH, out) for c in CLIENTS}
    return out, results


# -- figures ---------------------------------------------------------------------------------


def test_every_file_is_written(published):
    out, results = published
    for client, result in results.items():
        assert result.status == "published" and not result.no_data
        assert result.directory == out / client / MONTH
        assert sorted(p.name for p in result.directory.iterdir()) == sorted(FILES)
        assert (result.directory / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_report_json_figures_equal_the_marts(sample_pipeline, published):
    out, _ = published
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        for client in CLIENTS:
            doc = read_json(out / client / MONTH)
            (hours, tasks, value, cost, roi, verdict, fee, run_cost, payback, median, unanswered) = con.execute(
                "select hours_saved, tasks_automated, value_created, total_cost, roi, guarantee_verdict, fee_charged, "
                "run_cost, payback_status, response_minutes_median, leads_unanswered from marts.fct_client_months "
                "where client_id = ? and strftime(report_month, '%Y-%m') = ?",
                [client, MONTH],
            ).fetchone()
            h = doc["headline"]
            assert h["hours_saved"] == pytest.approx(hours, abs=0, rel=1e-12)
            assert h["tasks_automated"] == tasks
            assert h["value_created"] == pytest.approx(value, abs=0, rel=1e-12)
            assert h["total_cost"] == pytest.approx(cost, abs=0, rel=1e-12)
            assert h["run_cost"] == pytest.approx(run_cost, abs=0, rel=1e-12)
            assert h["fee_charged"] == fee
            assert h["roi"] == pytest.approx(roi, abs=0, rel=1e-12)
            assert h["guarantee_verdict"] == verdict
            assert h["payback"]["status"] == payback
            assert doc["kpis"]["response_minutes_median"] == pytest.approx(median)
            assert doc["kpis"]["leads_unanswered"] == unanswered
            workflows = con.execute(
                "select workflow_key, tasks_automated, hours_saved, net_value, recommendation, failed_runs "
                "from marts.fct_workflow_months where client_id = ? and strftime(report_month, '%Y-%m') = ? "
                "order by workflow_key",
                [client, MONTH],
            ).fetchall()
            shown = sorted(
                (
                    w["key"],
                    w["tasks_automated"],
                    w["hours_saved"],
                    w["net_value"],
                    w["recommendation"],
                    w["failed_runs"],
                )
                for w in doc["workflows"]
            )
            assert shown == [tuple(row) for row in workflows]
            credit = con.execute(
                "select credit_amount from marts.fct_billing_credits where client_id = ? "
                "and strftime(missed_month, '%Y-%m') = ?",
                [client, MONTH],
            ).fetchone()
            assert h["next_invoice"]["fee_credited"] == (credit is not None)
            files = con.execute("select count(*) from raw._landed_files where client_id = ?", [client]).fetchone()[0]
            assert len(doc["lineage"]["input_files"]) == files


def test_tasks_csv_reconciles_and_holds_no_customer_data(sample_pipeline, published):
    out, _ = published
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        for client in CLIENTS:
            rows = list(csv.DictReader(io.StringIO((out / client / MONTH / "tasks.csv").read_text(encoding="utf-8"))))
            doc = read_json(out / client / MONTH)
            assert sum(int(r["tasks_counted"]) for r in rows) == doc["headline"]["tasks_automated"]
            runs = con.execute(
                "select count(*) from marts.fct_automation_runs where client_id = ? "
                "and strftime(run_month, '%Y-%m') = ?",
                [client, MONTH],
            ).fetchone()[0]
            assert len(rows) == runs == doc["lineage"]["tasks_csv"]["rows"]
            llm = sum(float(r["llm_cost"] or 0) for r in rows if r["counted_in_run_cost"] == "true")
            tooling = sum(w["tooling_cost"] for w in doc["workflows"])
            assert llm + tooling == pytest.approx(doc["headline"]["run_cost"], rel=1e-9)
            header = set(rows[0]) if rows else set()
            assert not header & {"error_message", "email", "phone", "name", "contact_id"}


def test_in_a_go_live_month_tasks_csv_still_adds_up_and_tests_before_go_live_are_no_incidents(
    sample_pipeline, tmp_path
):
    """The month a workflow goes live holds its last test runs too (before go-live): they
    count neither as tasks nor as incidents (docs/method.md section 2), so tasks.csv must still
    add up to the report's tasks, and every incident must fall on a live day of its workflow
    (go-live dates read from the client files, not the marts)."""
    checked = 0
    for config in sample_pipeline.clients:
        go_lives = {wf.key: wf.go_live for wf in config.workflows}
        for month in sorted({d.strftime("%Y-%m") for d in go_lives.values() if d.strftime("%Y-%m") <= MONTH}):
            result = render(sample_pipeline.warehouse, config.client_id, month, tmp_path / "out")
            if result.status != "published":
                continue
            folder = tmp_path / "out" / config.client_id / month
            rows = list(csv.DictReader(io.StringIO((folder / "tasks.csv").read_text(encoding="utf-8"))))
            doc = read_json(folder)
            tests_before = [r for r in rows if r["started_local_date"] < str(go_lives[r["workflow_key"]])]
            checked += len(tests_before)
            assert sum(int(r["tasks_counted"]) for r in rows) == doc["headline"]["tasks_automated"], month
            for incident in doc["reliability"]["incidents"]:
                assert incident["date"] >= str(go_lives[incident["workflow_key"]]), (config.client_id, incident)
    assert checked  # the sample's go-live months do hold runs from before go-live


def _rates(doc: dict) -> list[tuple[str, dict, str]]:
    """(section, object, rate field) for every ``*_rate`` field of the figure sections."""
    objects = [("kpis", doc["kpis"])] + [("workflows", w) for w in doc["workflows"]]
    return [(section, obj, name) for section, obj in objects for name in obj if name.endswith("_rate")]


def _independent_counts(con, client_config, landing: Path) -> dict[str, int]:
    """The counts behind the rates, counted afresh: leads from the landing files (the plain-
    Python reference); meetings, won deals and automated first responses lead by lead, and runs
    run by run, from the marts' row-level facts (not the monthly aggregates the rates use)."""
    month = date.fromisoformat(MONTH + "-01")
    cm = roi_reference.compute_client(client_config, landing, [month]).client_months[month]
    crm = {o: roi_reference.load_crm(client_config, landing, o) for o in ("contacts", "calls", "emails", "meetings")}
    leads = con.execute(
        "select count(*) filter (has_meeting_in_window), count(*) filter (has_won_deal_in_window), "
        "count(*) filter (is_answered and is_first_response_automated) from marts.fct_lead_responses "
        "where client_id = ? and strftime(created_month, '%Y-%m') = ?",
        [client_config.client_id, MONTH],
    ).fetchone()
    baseline = con.execute(
        "select count(*) filter (has_meeting_in_window), count(*) filter (has_won_deal_in_window) "
        "from marts.fct_lead_responses where client_id = ? and is_kpi_baseline_lead",
        [client_config.client_id],
    ).fetchone()
    counts = {
        "leads_created": cm.leads_created,
        "leads_answered": cm.leads_created - cm.leads_unanswered,
        "baseline_leads": roi_reference.kpi_baseline_leads(client_config, crm),
        "leads_with_meeting": leads[0],
        "leads_won": leads[1],
        "leads_first_response_automated": leads[2],
        "baseline_leads_with_meeting": baseline[0],
        "baseline_leads_won": baseline[1],
    }
    for key, ok, failed in con.execute(
        "select workflow_key, count(*) filter (status_class = 'success'), count(*) filter (status_class = 'failed') "
        "from marts.fct_automation_runs where client_id = ? and strftime(run_month, '%Y-%m') = ? "
        "and workflow_key is not null and is_on_live_day and is_production group by workflow_key",
        [client_config.client_id, MONTH],
    ).fetchall():
        counts |= {
            f"{key}.successful_runs": ok,
            f"{key}.failed_runs": failed,
            f"{key}.successful_or_failed_runs": ok + failed,
        }
    return counts


def test_every_rate_has_the_counts_it_was_computed_from(sample_pipeline, published):
    """An auditor recomputes every rate of report.json from the counts beside it, and those
    counts are the leads and runs counted independently; the HTML shows them beside the rate."""
    out, _ = published
    configs = {c.client_id: c for c in sample_pipeline.clients}
    properties = schema()["properties"]
    checked = set()
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        for client in CLIENTS:
            doc = read_json(out / client / MONTH)
            html = (out / client / MONTH / "report.html").read_text(encoding="utf-8")
            f = Formatter(doc["client"]["locale"], doc["client"]["currency"])
            expected = _independent_counts(con, configs[client], sample_pipeline.landing_dir)
            for section, obj, rate in _rates(doc):
                assert rate in RATE_COUNTS[section], f"{client}: {section}.{rate} has no counts beside it"
                numerator, denominator = RATE_COUNTS[section][rate]
                num, den = obj[numerator], obj[denominator]
                where = f"{client} {section}.{rate}"
                prefix = f"{obj['key']}." if section == "workflows" else ""
                assert num == expected.get(prefix + numerator, 0), f"{where}: {numerator}"  # no runs: none
                assert den == expected.get(prefix + denominator, 0), f"{where}: {denominator}"
                if den == 0:
                    assert obj[rate] is None, where
                    continue
                assert obj[rate] == pytest.approx(num / den, rel=1e-12, abs=0), where
                assert f.counts(num, den, "") in html, f"{where}: counts not shown"
                checked.add((section, rate))
    assert checked == {(s, r) for s, rates in RATE_COUNTS.items() for r in rates}  # every rate met once
    # the schema tells a reader of report.json the same pairs
    items = {"kpis": properties["kpis"]["properties"], "workflows": properties["workflows"]["items"]["properties"]}
    for section, rates in RATE_COUNTS.items():
        for rate, (numerator, denominator) in rates.items():
            assert items[section][rate]["description"].startswith(f"{numerator} / {denominator};")
            assert items[section][numerator]["type"] == items[section][denominator]["type"] == "integer"


def test_report_json_validates_against_the_schema(published):
    out, _ = published
    for client in CLIENTS:
        validate(read_json(out / client / MONTH))


def test_a_broken_report_json_fails_the_schema(published):
    out, _ = published
    doc = read_json(out / "harbour-legal" / MONTH)
    for breakage in (
        lambda d: d["headline"].pop("hours_saved"),
        lambda d: d["headline"].__setitem__("roi", "-28%"),
        lambda d: d.__setitem__("status", "fine"),
        lambda d: d["lineage"].__setitem__("mart_snapshot_sha256", "not-a-hash"),
        lambda d: d["workflows"][0].__setitem__("recommendation", "panic"),
        lambda d: d.__setitem__("unexpected", 1),
    ):
        broken = copy.deepcopy(doc)
        breakage(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_the_guarantee_verdict_and_its_invoice_consequence_are_stated(published, sample_pipeline):
    out, _ = published
    html = (out / "harbour-legal" / MONTH / "report.html").read_text(encoding="utf-8")
    assert "Guarantee met" in html and "November 2026 invoice is charged as normal" in html
    rheinwerk = (out / "rheinwerk-logistik" / MONTH / "report.html").read_text(encoding="utf-8")
    assert "No hours guarantee" in rheinwerk
    config = next(c for c in sample_pipeline.clients if c.client_id == "rheinwerk-logistik")
    month = date.fromisoformat(MONTH + "-01")  # the hours, from the landing files by the reference
    hours = roi_reference.compute_client(config, sample_pipeline.landing_dir, [month]).client_months[month].hours_saved
    assert f"{hours:.1f} h".replace(".", ",") in rheinwerk and "€" in rheinwerk  # de_DE numbers, euro
    bondi = (out / "bondi-physio" / MONTH / "report.html").read_text(encoding="utf-8")
    assert "A$" in bondi


def test_a_missed_month_says_the_next_fee_is_credited(sample_pipeline, tmp_path):
    result = render(sample_pipeline.warehouse, "harbour-legal", "2026-08", tmp_path)
    html = (result.directory / "report.html").read_text(encoding="utf-8")
    doc = read_json(result.directory)
    assert doc["headline"]["guarantee_verdict"] == "missed"
    config = next(c for c in sample_pipeline.clients if c.client_id == "harbour-legal")
    september_fee = value_for_month(config.monthly_fee, date(2026, 9, 1))  # the fee the credit waives
    august = date(2026, 8, 1)  # the shortfall, from the landing files by the plain-Python reference
    hours = roi_reference.compute_client(config, sample_pipeline.landing_dir, [august]).client_months[august]
    assert doc["headline"]["next_invoice"] == {
        "month": "2026-09",
        "fee_credited": True,
        "credit_amount": september_fee,
        "shortfall_hours": pytest.approx(config.guarantee_hours - hours.hours_saved, abs=1e-6),
    }
    assert "Guarantee missed" in html and "September 2026 fee" in html and f"£{september_fee:,.2f}" in html


# -- money to the cent (docs/method.md: "money is shown to the cent") -------------------------


def _money(doc: dict):
    client = doc["client"]
    return lambda value, **kw: to_cents(value, client["locale"], client["currency"], **kw)


def test_the_payback_chart_shows_money_to_the_cent(published):
    """Its caption and its data table: cumulative value, cost with the build fee, the gap."""
    out, _ = published
    for client in CLIENTS:
        doc = read_json(out / client / MONTH)
        money = _money(doc)
        text = page_text((out / client / MONTH / "report.html").read_text(encoding="utf-8"))
        history = [h for h in doc["history"] if h["status"] == "ok"]
        last = history[-1]
        value, cost = last["cumulative_value"], last["cumulative_cost_with_build_fee"]
        build_fee = doc["headline"]["payback"]["build_fee"]
        if value >= cost:
            caption = "Cumulative value ({value}) is above cumulative cost including the build fee ({cost})"
            assert shown(text, caption, value=money(value), cost=money(cost)), client
        else:
            caption = (
                "Cumulative value ({value}) is {gap} below cumulative cost including the {fee} build fee ({cost})."
            )
            assert shown(
                text, caption, value=money(value), gap=money(cost - value), fee=money(build_fee), cost=money(cost)
            ), client
        for h in history:  # the chart's data table, one row a month
            row = "{value} {cost} {gap}"
            gap = h["cumulative_value"] - h["cumulative_cost_with_build_fee"]
            texts = dict(value=money(h["cumulative_value"]), cost=money(h["cumulative_cost_with_build_fee"]))
            assert shown(text, row, **texts, gap=money(gap, signed=True)), f"{client} {h['month']}"


def test_the_payback_tiles_show_money_to_the_cent(sample_pipeline, published, tmp_path):
    """The payback tiles: "Not paying back" (Rheinwerk, October), "Not yet" (Harbour, November
    2025: build phase with a workflow live), "Cumulative net so far" (Bondi, November 2025)."""
    out, _ = published
    cases = [
        (out / "rheinwerk-logistik" / MONTH, "Not paying back"),
        (render(sample_pipeline.warehouse, "harbour-legal", "2025-11", tmp_path).directory, "Not yet"),
        (render(sample_pipeline.warehouse, "bondi-physio", "2025-11", tmp_path).directory, "Cumulative net so far"),
    ]
    for directory, tile in cases:
        doc = read_json(directory)
        money, payback = _money(doc), doc["headline"]["payback"]
        text = page_text((directory / "report.html").read_text(encoding="utf-8"))
        assert tile in text, directory
        net, fee = money(payback["cumulative_net"]), money(payback["build_fee"])
        if tile == "Cumulative net so far":
            assert shown(text, "Cumulative net so far {net} value − cost since the engagement started", net=net), (
                directory
            )
        else:
            assert shown(text, "cumulative net {net} against a {fee} build fee", net=net, fee=fee), directory
    # the cases are worth having: a figure with cents to lose
    assert read_json(out / "rheinwerk-logistik" / MONTH)["headline"]["payback"]["cumulative_net"] % 1


# -- states ----------------------------------------------------------------------------------


def test_a_month_without_data_says_so_instead_of_zeros(sample_pipeline, tmp_path):
    result = render(sample_pipeline.warehouse, "hudson-roofing", "2026-11", tmp_path)
    assert result.no_data
    doc = read_json(result.directory)
    assert doc["status"] == "no_data" and doc["headline"] is None and doc["kpis"] is None
    assert doc["workflows"] == []
    html = (result.directory / "report.html").read_text(encoding="utf-8")
    assert "No data for November 2026" in html
    assert "Hours saved</div>" not in html and "$0.00" not in html and "0.0 h" not in html
    assert (result.directory / "tasks.csv").read_text(encoding="utf-8").count("\n") == 1  # header only
    validate(doc)


def test_a_build_phase_month_says_so(sample_pipeline, tmp_path):
    result = render(sample_pipeline.warehouse, "bondi-physio", "2025-11", tmp_path)
    doc = read_json(result.directory)
    assert doc["headline"]["guarantee_verdict"] == "build phase"
    html = (result.directory / "report.html").read_text(encoding="utf-8")
    assert "Build phase" in html and "No automation live yet" in html and "January 2026" in html


def test_an_unknown_client_is_an_error(sample_pipeline, tmp_path):
    with pytest.raises(UnknownClientError):
        render(sample_pipeline.warehouse, "nobody", MONTH, tmp_path)
    assert not (tmp_path / "nobody").exists()


def test_quality_not_run_is_stated_and_warnings_are_shown(sample_pipeline, published, tmp_path):
    out, _ = published
    assert "Quality checks not run" in (out / "harbour-legal" / MONTH / "report.html").read_text(encoding="utf-8")
    status = QualityStatus(publishable=True, checked=True, warnings=["3 runs without a stop time"])
    result = render(sample_pipeline.warehouse, "harbour-legal", MONTH, tmp_path, quality=status)
    html = (result.directory / "report.html").read_text(encoding="utf-8")
    assert "3 runs without a stop time" in html and "Quality checks not run" not in html
    assert read_json(result.directory)["data_quality"]["quality"]["status"] == "passed with warnings"


def test_a_held_back_report_writes_nothing_and_keeps_the_earlier_one(sample_pipeline, tmp_path):
    first = render(sample_pipeline.warehouse, "harbour-legal", MONTH, tmp_path)
    before = {p.name: p.read_bytes() for p in first.directory.iterdir()}
    held = render(
        sample_pipeline.warehouse,
        "harbour-legal",
        MONTH,
        tmp_path,
        quality=QualityStatus(publishable=False, checked=True, blocking=["runs file failed to load"]),
    )
    assert held.status == "held_back" and held.reasons == ["runs file failed to load"]
    assert held.earlier_report_kept and held.directory is None
    assert {p.name: p.read_bytes() for p in first.directory.iterdir()} == before
    nothing = render(
        sample_pipeline.warehouse,
        "hudson-roofing",
        MONTH,
        tmp_path,
        quality=QualityStatus(publishable=False, checked=True, blocking=["x"]),
    )
    assert nothing.status == "held_back" and not (tmp_path / "hudson-roofing" / MONTH).exists()


# -- determinism -----------------------------------------------------------------------------


def test_a_rerender_is_byte_identical(sample_pipeline, published, tmp_path):
    out, _ = published
    for client in ("harbour-legal", "rheinwerk-logistik"):
        again = render(sample_pipeline.warehouse, client, MONTH, tmp_path)
        for name in ("report.html", "report.json", "tasks.csv", "inventory.csv", "report.pdf"):
            assert (again.directory / name).read_bytes() == (out / client / MONTH / name).read_bytes(), name
        # re-rendering in place (a previous report.json exists, same figures): no restatement, same bytes
        in_place = render(sample_pipeline.warehouse, client, MONTH, tmp_path)
        assert not in_place.restated
        assert (in_place.directory / "report.json").read_bytes() == (out / client / MONTH / "report.json").read_bytes()


# -- AI inventory and roadmap (docs/method.md section 8) ---------------------------------------


def _inventory_rows(directory: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((directory / "inventory.csv").read_text(encoding="utf-8"))))


def test_inventory_csv_lists_the_register_as_configured(sample_pipeline, published):
    """One row per register entry, each field as the client file says, for every client."""
    out, _ = published
    clients = {c.client_id: c for c in sample_pipeline.clients}
    approval = {True: "yes", False: "no", None: "not stated"}
    for client_id in CLIENTS:
        directory = out / client_id / MONTH
        rows = {r["workflow_key"]: r for r in _inventory_rows(directory)}
        register = clients[client_id].workflows
        assert set(rows) == {wf.key for wf in register}, client_id
        doc = read_json(directory)
        assert doc["lineage"]["inventory_csv"]["rows"] == len(register)
        live_cost = {w["key"]: w["run_cost"] for w in doc["workflows"]}
        for wf in register:
            row = rows[wf.key]
            assert row["month"] == MONTH and row["currency"] == clients[client_id].currency
            assert (
                row["workflow_name"],
                row["platform"],
                row["owner"],
                row["risk_class"],
                row["process_replaced"],
            ) == (
                wf.name,
                wf.platform,
                wf.owner,
                wf.risk_class,
                wf.process,
            )
            assert row["data_touched"] == "; ".join(sorted(wf.data_touched))
            assert row["human_approval"] == approval[wf.human_approval]
            assert (row["llm_vendor"], row["llm_model"]) == (wf.llm_vendor or "", wf.llm_model or "")
            assert row["go_live_date"] == wf.go_live.isoformat()
            assert row["retired_on"] == (wf.retired_on.isoformat() if wf.retired_on else "")
            assert row["last_review_date"] == (wf.last_review.isoformat() if wf.last_review else "")
            # cost this month: the workflow's run cost in the report, 0 when it was not live
            assert float(row["run_cost_this_month"]) == live_cost.get(wf.key, 0.0)
            assert row["live_in_month"] == ("true" if wf.key in live_cost else "false")


def test_a_high_risk_automation_without_checkpoint_and_overdue_review_is_flagged(published):
    """Hudson's callback agent: high risk, human_approval false, last reviewed 10 Jan 2026 with a
    6-month cycle: due 10 Jul 2026, overdue in October. Hand-computed from the sample's client file."""
    out, _ = published
    rows = {r["workflow_key"]: r for r in _inventory_rows(out / "hudson-roofing" / MONTH)}
    agent = rows["callback-agent"]
    assert (agent["risk_class"], agent["human_approval"]) == ("high", "no")
    assert (agent["last_review_date"], agent["review_due_date"]) == ("2026-01-10", "2026-07-10")
    assert (agent["review_overdue"], agent["high_risk_without_human_checkpoint"]) == ("true", "true")
    # retired in June (retired_on 2026-06-15): not live, costs nothing, never overdue
    crew = rows["crew-scheduling"]
    assert (crew["state_at_month_end"], crew["run_cost_this_month"], crew["review_overdue"]) == (
        "retired",
        "0.0",
        "false",
    )
    doc = read_json(out / "hudson-roofing" / MONTH)
    assert doc["inventory"]["high_risk_without_checkpoint"] == ["callback-agent"]
    assert doc["inventory"]["review_overdue"] == ["callback-agent"]
    html = (out / "hudson-roofing" / MONTH / "report.html").read_text(encoding="utf-8")
    assert "<strong>AI callback agent</strong>: high risk, and no person approves its output" in html
    assert "<strong>AI callback agent</strong>: review overdue (due" in html
    # Rheinwerk's customs paperwork is high risk too, but a person approves it: not flagged
    rheinwerk = {r["workflow_key"]: r for r in _inventory_rows(out / "rheinwerk-logistik" / MONTH)}
    assert rheinwerk["customs-paperwork"]["high_risk_without_human_checkpoint"] == "false"


def test_what_changed_in_a_month_is_listed(sample_pipeline, tmp_path):
    """Hudson, June 2026: crew scheduling retired on the 15th (still live and costing that month)."""
    result = render(sample_pipeline.warehouse, "hudson-roofing", "2026-06", tmp_path)
    inventory = read_json(result.directory)["inventory"]
    assert (inventory["new"], inventory["retired"], inventory["paused"]) == ([], ["crew-scheduling"], [])
    rows = {r["workflow_key"]: r for r in _inventory_rows(result.directory)}
    assert rows["crew-scheduling"]["changed_this_month"] == "retired"
    assert rows["crew-scheduling"]["live_in_month"] == "true"
    assert float(rows["crew-scheduling"]["run_cost_this_month"]) > 0


def test_the_roadmap_is_ranked_by_payback_and_shows_estimate_against_actual(published):
    """Hudson (hourly cost $44), hand-computed from the sample's candidates:
    invoice reminders 200 × 4 min = 13.33 h → 13.33 × 44 − 30 = $556.67 a month, build 20 × 44 = $880,
    payback 1.58 months; supplier orders 60 × 10 min = 10 h → 440 − 50 = $390, build $1,760, 4.51 months;
    warranty claims 5 × 6 min = 0.5 h → 22 − 40 = −$18: does not pay back, ranked last."""
    out, _ = published
    roadmap = read_json(out / "hudson-roofing" / MONTH)["roadmap"]
    ranked = [(c["key"], c["payback_rank"]) for c in roadmap["candidates"]]
    assert ranked == [("invoice-reminders", 1), ("supplier-orders", 2), ("warranty-claims", 3)]
    first, second, last = roadmap["candidates"]
    assert first["est_net_value"] == pytest.approx(200 * 4 / 60 * 44 - 30)
    assert first["est_payback_months"] == pytest.approx(880 / (200 * 4 / 60 * 44 - 30))
    assert second["est_payback_months"] == pytest.approx(1760 / 390)
    assert last["est_net_value"] == pytest.approx(-18) and last["est_payback_months"] is None
    # quote chasing became quote-followup (live since Nov 2025): estimate against actual
    [delivered] = roadmap["delivered"]
    assert (delivered["key"], delivered["workflow_key"], delivered["state"]) == (
        "quote-chasing",
        "quote-followup",
        "live",
    )
    actual = next(w for w in read_json(out / "hudson-roofing" / MONTH)["workflows"] if w["key"] == "quote-followup")
    assert delivered["actual_tasks_automated"] == actual["tasks_automated"]
    assert delivered["actual_net_value"] == pytest.approx(actual["net_value"])
    assert delivered["est_net_value"] == pytest.approx(150 * 3 / 60 * 44 - 25)
    html = (out / "hudson-roofing" / MONTH / "report.html").read_text(encoding="utf-8")
    assert (
        "Roadmap: what to automate next" in html and "does not pay back" in html and "Estimate against actual" in html
    )


# -- safety ----------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


def test_user_controlled_names_are_escaped(sample_pipeline, tmp_path):
    warehouse = mutable_copy(sample_pipeline, tmp_path)
    for table in ("dim_workflows", "fct_workflow_months", "fct_inventory_months"):
        execute(
            warehouse,
            f"update marts.{table} set workflow_name = ? where client_id = ? and workflow_key = ?",
            [SCRIPT, "harbour-legal", "lead-triage"],
        )
        execute(
            warehouse,
            f"update marts.{table} set workflow_name = ? where client_id = ? and workflow_key = ?",
            ['=HYPERLINK("http://x")', "harbour-legal", "intake-docs"],
        )
    execute(
        warehouse,
        "update marts.dim_clients set client_name = ? where client_id = ?",
        ['Harbour "Legal" <b>LLP</b>', "harbour-legal"],
    )
    result = render(warehouse, "harbour-legal", MONTH, tmp_path / "out")
    html = (result.directory / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in html and "<b>LLP</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Harbour &#34;Legal&#34; &lt;b&gt;LLP&lt;/b&gt;" in html
    tasks = (result.directory / "tasks.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in tasks and ",=HYPERLINK" not in tasks  # no spreadsheet formula
    inventory = (result.directory / "inventory.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in inventory and ",=HYPERLINK" not in inventory
    assert SCRIPT in {w["name"] for w in read_json(result.directory)["workflows"]}  # data stays data in JSON


CANARY = "CanaryQzx9"
CANARY_HEX = "deadbeef" * 8


def _pdf_text(path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_one_clients_data_appears_in_no_other_clients_report(sample_pipeline, tmp_path):
    warehouse = mutable_copy(sample_pipeline, tmp_path)
    planted = "harbour-legal"
    for table in ("dim_workflows", "fct_workflow_months", "fct_inventory_months"):
        execute(
            warehouse,
            f"update marts.{table} set workflow_name = ? where client_id = ? and workflow_key = ?",
            [CANARY + " triage", planted, "lead-triage"],
        )
    execute(
        warehouse,
        "update marts.fct_automation_runs set platform_workflow_id = ? where client_id = ?",
        [CANARY, planted],
    )
    execute(warehouse, "update raw._landed_files set file_sha256 = ? where client_id = ?", [CANARY_HEX, planted])
    out = tmp_path / "out"
    results = {c: render(warehouse, c, MONTH, out) for c in CLIENTS}
    for client, result in results.items():
        for name in FILES:
            path = result.directory / name
            if name == "report.pdf":
                text = _pdf_text(path)  # the PDF is rendered from the HTML checked below
                if text is None:
                    continue
            else:
                text = path.read_text(encoding="utf-8")
            assert (CANARY in text) == (client == planted), (client, name)
        assert (CANARY_HEX in (result.directory / "report.json").read_text(encoding="utf-8")) == (client == planted)


def test_every_client_query_is_scoped_to_one_client():
    from roi_pipeline.report.data import CLIENT_QUERIES, LANDED_FILES_QUERY

    for sql in [*CLIENT_QUERIES.values(), LANDED_FILES_QUERY]:
        assert "where client_id = ?" in sql, sql
        assert "{" not in sql and "%" not in sql  # parameters only, nothing interpolated


# -- restatement -----------------------------------------------------------------------------


def test_changed_figures_are_restated_with_the_earlier_values(sample_pipeline, tmp_path):
    warehouse = mutable_copy(sample_pipeline, tmp_path)
    out = tmp_path / "out"
    first = render(warehouse, "hudson-roofing", MONTH, out)
    published = (first.directory / "report.json").read_bytes()
    execute(
        warehouse,
        "update marts.fct_client_months set hours_saved = hours_saved + 2.5, "
        "tasks_automated = tasks_automated + 40 where client_id = ? and report_month = date '2026-10-01'",
        ["hudson-roofing"],
    )
    second = render(warehouse, "hudson-roofing", MONTH, out)
    assert second.restated
    doc = read_json(second.directory)
    fields = {c["field"]: c for c in doc["restatement"]["changes"]}
    old = json.loads(published)
    assert fields["headline.hours_saved"]["previous"] == old["headline"]["hours_saved"]
    assert fields["headline.hours_saved"]["current"] == pytest.approx(old["headline"]["hours_saved"] + 2.5)
    assert fields["headline.tasks_automated"]["current"] == old["headline"]["tasks_automated"] + 40
    assert (second.directory / "report.previous.json").read_bytes() == published
    html = (second.directory / "report.html").read_text(encoding="utf-8")
    assert "Restated" in html and "Published earlier" in html
    # the same marts again: the restatement stays, byte for byte
    third = render(warehouse, "hudson-roofing", MONTH, out)
    for name in ("report.html", "report.json", "tasks.csv", "report.previous.json"):
        assert (third.directory / name).read_bytes() == (second.directory / name).read_bytes()
    validate(doc)


def test_every_earlier_version_of_a_restated_month_is_kept(sample_pipeline, tmp_path):
    """The published history is kept, never overwritten (docs/method.md): three restatements
    keep the three versions published before, oldest first, and a re-run changes nothing."""
    warehouse = mutable_copy(sample_pipeline, tmp_path)
    out = tmp_path / "out"
    versions = []
    for extra in (0.0, 1.5, 3.0, 4.5):
        execute(
            warehouse,
            "update marts.fct_client_months set hours_saved = hours_saved + ? "
            "where client_id = ? and report_month = date '2026-10-01'",
            [extra and 1.5, "hudson-roofing"],
        )
        result = render(warehouse, "hudson-roofing", MONTH, out)
        versions.append((result.directory / "report.json").read_bytes())
    folder = out / "hudson-roofing" / MONTH
    assert len(set(versions)) == 4
    kept = {p.name: p.read_bytes() for p in folder.glob("report.previous*.json")}
    assert kept == {
        "report.previous.1.json": versions[0],
        "report.previous.2.json": versions[1],
        "report.previous.json": versions[2],
    }
    before = _snapshot(folder)
    render(warehouse, "hudson-roofing", MONTH, out)
    assert _snapshot(folder) == before


# -- atomic writes ---------------------------------------------------------------------------


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_crash_mid_write_leaves_the_published_report_intact(sample_pipeline, tmp_path, monkeypatch):
    warehouse = mutable_copy(sample_pipeline, tmp_path)
    out = tmp_path / "out"
    first = render(warehouse, "harbour-legal", MONTH, out)
    before = _snapshot(first.directory)
    execute(warehouse, "update marts.fct_client_months set hours_saved = 1.0 where client_id = 'harbour-legal'")
    real_write, calls = publish_module.write_synced, []

    def crash_after_two(path, content):
        calls.append(path.name)
        if len(calls) == 3:
            real_write(path, content[: len(content) // 2])  # a half-written file...
            raise OSError("disk full")  # ...then the crash
        real_write(path, content)

    monkeypatch.setattr(publish_module, "write_synced", crash_after_two)
    with pytest.raises(OSError, match="disk full"):
        render(warehouse, "harbour-legal", MONTH, out)
    assert _snapshot(first.directory) == before
    assert sorted(p.name for p in first.directory.parent.iterdir() if not p.name.endswith(".lock")) == [MONTH]


def test_a_crash_between_the_renames_is_recovered(sample_pipeline, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = render(sample_pipeline.warehouse, "harbour-legal", MONTH, out)
    before = _snapshot(first.directory)
    monkeypatch.setattr(publish_module, "_exchange", lambda a, b: False)  # no renameat2: two renames
    real_rename, calls = publish_module.os.rename, []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("power cut")
        real_rename(src, dst)

    monkeypatch.setattr(publish_module.os, "rename", crash_on_second)
    with pytest.raises(OSError, match="power cut"):
        render(sample_pipeline.warehouse, "harbour-legal", MONTH, out, consultancy=Consultancy("Other name"))
    monkeypatch.setattr(publish_module.os, "rename", real_rename)
    assert not first.directory.exists()  # never half-written: absent until the next run
    publish_module.recover(first.directory)
    assert _snapshot(first.directory) == before
    again = render(sample_pipeline.warehouse, "harbour-legal", MONTH, out)
    assert _snapshot(again.directory) == before
    assert [p.name for p in out.joinpath("harbour-legal").iterdir() if not p.name.startswith(".")] == [MONTH]
