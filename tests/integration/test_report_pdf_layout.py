"""Every figure of the PDF report lies inside the printable area of its A4 page.

The PDF is laid out by WeasyPrint from the report's HTML (without the screen-only rules, as
``html_to_pdf`` does). A table whose columns' narrowest widths add up to more than the page's
content width runs into the right margin, and the PDF viewer cuts it at the page edge: clients
read "S", "K" or "SCAL" for the recommendation badge. The boxes of the laid-out pages are
walked and every box that holds text must end at or before the page's right content edge
(page width less the right margin), for the sample clients' reports and for a worst case built
from one of them: long workflow names and reasons, every recommendation, five-digit figures.
"""

from __future__ import annotations

import copy
import re

import pytest
import weasyprint

from roi_pipeline.report import Consultancy, render_client_month
from roi_pipeline.report.client_html import render_html

MONTH = "2026-10"
CONSULTANCY = Consultancy("Northbeam AI Ops", "hello@northbeam.example")
CLIENTS = ("bondi-physio", "harbour-legal", "hudson-roofing", "rheinwerk-logistik")
SCREEN_STYLE = re.compile(r'<style media="screen">\n.*?</style>\n', flags=re.S)
PT = 0.75  # WeasyPrint lays out in CSS px; 1 px = 0.75 pt
TOLERANCE = 0.5  # px: rounding, not a visible overflow


@pytest.fixture(scope="module")
def documents(sample_pipeline, tmp_path_factory):
    """Each sample client's report.json for the month (its HTML is rendered from it alone)."""
    import json

    out = tmp_path_factory.mktemp("pdf-layout")
    docs = {}
    for client in CLIENTS:
        result = render_client_month(sample_pipeline.warehouse, client, MONTH, out, consultancy=CONSULTANCY)
        docs[client] = json.loads((result.directory / "report.json").read_text(encoding="utf-8"))
    return docs


def _boxes(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _boxes(child)


def overflows(html: str) -> list[str]:
    """The text boxes that end right of their page's content area, as 'page N: <x> pt: text'."""
    document = weasyprint.HTML(string=SCREEN_STYLE.sub("", html), base_url=None).render()
    assert document.pages
    found = []
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        right_edge = page.width - page_box.margin_right
        for box in _boxes(page_box):
            text = getattr(box, "text", None)
            if not text or not text.strip():
                continue
            end = box.position_x + box.margin_width()
            if end > right_edge + TOLERANCE:
                found.append(f"page {number}: ends at {end * PT:.1f} pt > {right_edge * PT:.1f} pt: {text!r}")
    return found


def worst_case(doc: dict) -> dict:
    """The document with its workflows made as wide as a real register allows."""
    doc = copy.deepcopy(doc)
    reasons = {
        "scale": "top third of net value with a low error rate",
        "keep": "no rule applies",
        "fix": "error rate at or above 10%",
        "cut": "net value at or below zero two months running after 60 days live",
    }
    template = doc["workflows"][0]
    workflows = []
    for i, (kind, reason) in enumerate(reasons.items()):
        w = copy.deepcopy(template)
        w.update(
            key=f"wf-{i}",
            name=f"Inbound lead triage, enrichment and CRM routing for the regional offices ({kind})",
            process="Reading every inbound enquiry, qualifying it and assigning it to a partner",
            platform="Make",
            tasks_automated=48_765,
            tasks_change=-12_345,
            hours_saved=-1_234.56 if kind == "cut" else 12_345.67,
            hours_change=-4_321.09,
            is_hours_unknown=False,
            value_created=-61_728.01 if kind == "cut" else 98_765.43,
            run_cost=43_210.98,
            net_value=-104_938.99 if kind == "cut" else 55_554.45,
            error_rate=0.1234,
            failed_runs=12_345,
            successful_or_failed_runs=99_999,
            recommendation=kind,
            recommendation_reason=reason,
        )
        workflows.append(w)
    doc["workflows"] = workflows
    h = doc["headline"]
    h.update(tasks_automated=195_060, hours_saved=35_802.45, value_created=234_568.28, run_cost=172_843.92)
    return doc


@pytest.mark.parametrize("client", CLIENTS)
def test_every_figure_of_a_sample_report_fits_the_printed_page(documents, client):
    assert overflows(render_html(documents[client])) == []


def test_the_widest_workflows_table_fits_the_printed_page(documents):
    doc = worst_case(documents["hudson-roofing"])
    html = render_html(doc)
    assert all(f">{kind}<" in html for kind in ("scale", "keep", "fix", "cut"))  # every badge is there
    assert overflows(html) == []


def test_the_check_sees_an_overflow():
    """A line wider than the page, which cannot wrap, is reported: the check has teeth."""
    html = (
        '<!doctype html><html><head><meta charset="utf-8"><style>@page { size: A4; margin: 14mm }</style></head>'
        '<body><p style="white-space: nowrap">' + "overflowing " * 40 + "</p></body></html>"
    )
    assert overflows(html)
