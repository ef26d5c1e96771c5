"""The consultancy's portfolio page: every client of a month, grouped by currency."""

from __future__ import annotations

import json
from contextlib import closing

import duckdb
import jsonschema
import pytest

from roi_pipeline.report import Consultancy, QualityStatus, render_client_month, render_portfolio, validate
from tests.integration.cents import page_text, shown, to_cents

MONTH = "2026-10"
CONSULTANCY = Consultancy("Northbeam AI Ops", "hello@northbeam.example")


@pytest.fixture(scope="module")
def portfolio(sample_pipeline, tmp_path_factory):
    out = tmp_path_factory.mktemp("portfolio")
    statuses = {
        "harbour-legal": QualityStatus(publishable=True, checked=True),
        "hudson-roofing": QualityStatus(publishable=False, checked=True, blocking=["n8n file 2026-10 failed to load"]),
        "bondi-physio": QualityStatus(publishable=True, checked=True, warnings=["late timesheet"]),
    }
    for client in ("harbour-legal", "bondi-physio", "rheinwerk-logistik"):
        render_client_month(
            sample_pipeline.warehouse, client, MONTH, out, quality=statuses.get(client), consultancy=CONSULTANCY
        )
    path = render_portfolio(sample_pipeline.warehouse, MONTH, out, statuses, consultancy=CONSULTANCY)
    return out, path, json.loads((path.parent / "portfolio.json").read_text(encoding="utf-8"))


def test_portfolio_files_are_written(portfolio):
    out, path, doc = portfolio
    assert path == out / "_portfolio" / MONTH / "portfolio.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["portfolio.html", "portfolio.json"]
    validate(doc, "portfolio.schema.json")
    broken = dict(doc, summary={**doc["summary"], "clients": "four"})
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, "portfolio.schema.json")


def test_money_is_grouped_by_currency_never_converted(sample_pipeline, portfolio):
    _, _, doc = portfolio
    assert [g["currency"] for g in doc["currencies"]] == ["AUD", "EUR", "GBP", "USD"]
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        for group in doc["currencies"]:
            value, cost, hours = con.execute(
                "select sum(value_created), sum(total_cost), sum(hours_saved) from marts.rpt_portfolio_months "
                "where currency = ? and strftime(report_month, '%Y-%m') = ?",
                [group["currency"], MONTH],
            ).fetchone()
            assert group["totals"]["value_created"] == pytest.approx(value)
            assert group["totals"]["total_cost"] == pytest.approx(cost)
            assert group["totals"]["hours_saved"] == pytest.approx(hours)


def test_held_back_reports_are_listed_with_their_reasons(portfolio):
    _, path, doc = portfolio
    assert doc["held_back"] == [
        {
            "client_id": "hudson-roofing",
            "client_name": "Hudson Roofing Co.",
            "reasons": ["n8n file 2026-10 failed to load"],
            "earlier_report_published": False,
        }
    ]
    status = {c["client_id"]: c["report_status"] for g in doc["currencies"] for c in g["clients"]}
    assert status == {
        "harbour-legal": "published",
        "bondi-physio": "published",
        "rheinwerk-logistik": "published",
        "hudson-roofing": "held_back",
    }
    html = path.read_text(encoding="utf-8")
    assert "Held back" in html and "n8n file 2026-10 failed to load" in html
    assert doc["summary"]["quality_not_run"] == 1  # rheinwerk: no status given


def test_workflows_to_fix_come_from_the_marts(sample_pipeline, tmp_path):
    path = render_portfolio(sample_pipeline.warehouse, "2026-04", tmp_path, {}, consultancy=CONSULTANCY)
    doc = json.loads((path.parent / "portfolio.json").read_text(encoding="utf-8"))
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        expected = con.execute(
            "select client_id, workflow_key, recommendation from marts.fct_workflow_months "
            "where strftime(report_month, '%Y-%m') = '2026-04' and recommendation in ('fix', 'cut') order by all"
        ).fetchall()
    assert sorted((w["client_id"], w["workflow_key"], w["recommendation"]) for w in doc["workflows_to_fix"]) == expected
    assert expected  # the sample has a workflow to fix in April 2026
    assert doc["summary"]["published"] == 0 and doc["summary"]["not_rendered"] == 4


def test_the_portfolio_is_byte_identical_on_rerun(sample_pipeline, portfolio, tmp_path):
    out, path, _ = portfolio
    statuses = {
        "harbour-legal": QualityStatus(publishable=True, checked=True),
        "hudson-roofing": QualityStatus(publishable=False, checked=True, blocking=["n8n file 2026-10 failed to load"]),
        "bondi-physio": QualityStatus(publishable=True, checked=True, warnings=["late timesheet"]),
    }
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    render_portfolio(sample_pipeline.warehouse, MONTH, out, statuses, consultancy=CONSULTANCY)
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_the_consultancys_hours_against_its_fees_are_ordered_by_what_needs_attention(sample_pipeline, portfolio):
    """docs/method.md section 8. October 2026 of the sample: hudson held back; bondi and rheinwerk
    earned less an hour than in September; harbour nothing to flag (its September fee was credited,
    so September's rate was 0 and October's rises)."""
    _, path, doc = portfolio
    economics = {e["client_id"]: e for e in doc["economics"]}
    assert [e["client_id"] for e in doc["economics"]] == [
        "hudson-roofing",  # report held back outranks a falling rate
        "bondi-physio",  # falling rate, then by name
        "rheinwerk-logistik",
        "harbour-legal",
    ]
    assert economics["hudson-roofing"]["attention"] == ["report held back"]
    assert economics["harbour-legal"]["attention"] == []
    with closing(duckdb.connect(str(sample_pipeline.warehouse), read_only=True)) as con:
        rows = con.execute(
            "select client_id, report_month, fee_charged, consultancy_build_hours + consultancy_operate_hours "
            "+ consultancy_expand_hours + consultancy_other_hours from marts.fct_client_months "
            "where strftime(report_month, '%Y-%m') in ('2026-09', '2026-10') order by all"
        ).fetchall()
    rate = {(cid, f"{m:%Y-%m}"): fee / hours for cid, m, fee, hours in rows if hours}
    for cid, e in economics.items():
        assert e["effective_hourly_rate"] == pytest.approx(rate[(cid, "2026-10")])
        assert e["previous_effective_hourly_rate"] == pytest.approx(rate[(cid, "2026-09")])
        assert e["is_hourly_rate_falling"] == (rate[(cid, "2026-10")] < rate[(cid, "2026-09")])
    assert economics["harbour-legal"]["previous_effective_hourly_rate"] == 0  # credited September
    html = path.read_text(encoding="utf-8")
    assert "Our economics: hours against fees" in html and "hourly rate falling" in html


def test_money_is_shown_to_the_cent_as_in_the_clients_reports(portfolio):
    """docs/method.md: money is shown to the cent; the page showed A$2,991 where the report
    showed A$2,991.07. Each client's value and total cost, and each currency's totals."""
    _, path, doc = portfolio
    text = page_text(path.read_text(encoding="utf-8"))
    checked = 0
    for group in doc["currencies"]:
        money = lambda value, currency=group["currency"]: to_cents(value, "en_GB", currency)  # noqa: E731
        for c in group["clients"]:
            if c.get("has_data"):
                assert shown(text, "{value} {cost}", value=money(c["value_created"]), cost=money(c["total_cost"]))
                checked += 1
        totals = group["totals"]
        assert shown(text, "{value} {cost}", value=money(totals["value_created"]), cost=money(totals["total_cost"]))
    assert checked >= 3
