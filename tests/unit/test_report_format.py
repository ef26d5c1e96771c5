"""Display formatting (Babel) and the deterministic SVG charts of the client report."""

from __future__ import annotations

import datetime as dt

import pytest

from roi_pipeline.report import charts
from roi_pipeline.report.client_html import describe_change
from roi_pipeline.report.fmt import MISSING, Formatter


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("en_GB", "GBP", "£1,234.50"),
        ("en_US", "USD", "$1,234.50"),
        ("de_DE", "EUR", "1.234,50\xa0€"),
        ("en_AU", "AUD", "A$1,234.50"),  # never a bare "$" for a non-US dollar
    ],
)
def test_money_is_formatted_per_client(locale, currency, expected):
    assert Formatter(locale, currency).money(1234.5) == expected


def test_numbers_dates_and_missing_values():
    de, gb = Formatter("de_DE", "EUR", "Europe/Berlin"), Formatter("en_GB", "GBP", "Europe/London")
    assert de.hours(54.3133) == "54,3 h" and gb.hours(-2.04, signed=False) == "-2.0 h"
    assert gb.hours(14.77, signed=True) == "+14.8 h"
    assert gb.hours_whole(40.0) == "40 h"
    assert de.month(dt.date(2026, 10, 1)) == "Oktober 2026"
    assert gb.percent(-0.2846) == "-28%" and de.percent(0.0475, 1) == "4,8\xa0%"
    assert gb.minutes(20.2) == "20 min" and gb.minutes(150.3) == "2 h 30 min" and gb.minutes(3000) == "2 d 2 h"
    assert gb.as_of(dt.datetime(2026, 11, 4, 3, 0)) == "4 Nov 2026, 03:00 (Europe/London)"
    for fn in (gb.money, gb.hours, gb.percent, gb.minutes, gb.month, gb.number):
        assert fn(None) == MISSING  # a missing figure is never shown as zero


def _history(n=12, verdicts=None, name="x"):
    out = []
    for i in range(n):
        month = dt.date(2025 + (10 + i) // 12, (10 + i) % 12 + 1, 1)
        out.append(
            {
                "month": f"{month:%Y-%m}",
                "status": "ok",
                "guarantee_verdict": (verdicts or ["met"] * n)[i],
                "hours_saved": 30.0 + i * 2.5,
                "guarantee_hours": 40.0,
                "value_created": 1000.0 + i,
                "total_cost": 2500.0,
                "cumulative_value": 1000.0 * (i + 1),
                "cumulative_cost_with_build_fee": 6000 + 2500.0 * (i + 1),
                "cumulative_net": -1500.0 * (i + 1),
                "leads_created": 10,
                "response_minutes_median": 20.0 + i,
                "response_minutes_p90": 90.0 + i,
                "is_response_provisional": i == n - 1,
            }
        )
    return out


def test_charts_are_deterministic_accessible_svg():
    f = Formatter("en_GB", "GBP")
    doc = {
        "history": _history(),
        "headline": {"payback": {"build_fee": 6000.0}},
        "kpis": {"baseline_response_minutes_median": 150.0},
    }
    first = charts.client_charts(doc, f)
    second = charts.client_charts(doc, f)
    assert [c.svg for c in first] == [c.svg for c in second]
    for chart in first:
        svg = str(chart.svg)
        assert svg.startswith("<svg") and 'role="img"' in svg
        assert f'<title id="{chart.key}-title">' in svg and f'<desc id="{chart.key}-desc">' in svg
        assert chart.summary and chart.rows and len(chart.rows) == 12  # the text fallback
        assert "nan" not in svg and "inf" not in svg


def test_chart_labels_are_escaped_and_missing_months_are_not_zero():
    f = Formatter("en_GB", "GBP")
    history = _history(3)
    history[1] = {"month": history[1]["month"], "status": "no_data"}
    chart = charts.hours_chart(history, f)
    assert "no data" in str(chart.svg)
    assert chart.rows[1][1] == "no data"
    empty = charts.response_chart([{"month": "2026-01", "status": "no_data"}], f, None)
    assert "no lead data" in str(empty.svg)
    weird = charts._svg("k", "<b>&</b>", "d", [], [("box", "#000", "<i>")])
    assert "<b>" not in weird and "&lt;b&gt;&amp;&lt;/b&gt;" in weird and "&lt;i&gt;" in weird


@pytest.mark.parametrize(("lo", "hi"), [(0, 54.8), (-3.2, 41), (0, 0), (0, 38993), (0, 0.4)])
def test_nice_ticks_cover_the_range(lo, hi):
    ticks = charts.nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi and 2 <= len(ticks) <= 7
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1


def test_counts_beside_a_rate_follow_the_locale():
    assert Formatter("en_GB", "GBP").counts(41, 1250, "leads") == "41 of 1,250 leads"
    assert Formatter("de_DE", "EUR").counts(1041, 2050, "runs failed") == "1.041 of 2.050 runs failed"
    assert Formatter("en_GB", "GBP").counts(None, 50, "leads") == MISSING


def test_restated_figures_keep_their_acronyms():
    f = Formatter("en_GB", "GBP")
    multiple = describe_change({"field": "headline.roi_multiple", "previous": 1.234, "current": 1.5}, f, {})
    assert multiple == {"label": "ROI multiple", "previous": "1.23×", "current": "1.50×"}
    llm = describe_change({"field": "workflows[lead-triage].llm_cost", "previous": 12.3, "current": 12.346}, f, {})
    assert llm["label"] == "Lead-triage: AI usage cost" and llm["current"] == "£12.35"
