"""The HTML report and the portfolio page read well on a phone; the PDF is as it was.

Owners read the report on their phone. Each page is opened in headless Chromium (tests/browser.py)
at a phone's 375 px and at a desktop's 1280 px: the page never scrolls sideways, every KPI card
lies inside the screen, every chart fits, and a table wider than the screen scrolls inside its
own box. The screenshots are written to ``test-artefacts/layout/`` (``ROI_TEST_ARTEFACTS``
moves it) for a person to look at. The phone rules (report_templates/report.screen.css) are
screen-only: the PDF's bytes do not depend on them at all.
"""

from __future__ import annotations

import re

import pytest

from roi_pipeline.report import Consultancy, html_to_pdf, render_client_month, render_portfolio
from tests import browser

pytestmark = pytest.mark.slow

MONTH = "2026-10"
CONSULTANCY = Consultancy("Northbeam AI Ops", "hello@northbeam.example")
CLIENT = "harbour-legal"
SCREEN_STYLE = re.compile(r'<style media="screen">\n.*?</style>\n', flags=re.S)


@pytest.fixture(scope="module")
def pages(sample_pipeline, tmp_path_factory):
    browser.chromium()  # skip (or fail in CI) before rendering anything
    out = tmp_path_factory.mktemp("layout")
    report = render_client_month(sample_pipeline.warehouse, CLIENT, MONTH, out, consultancy=CONSULTANCY)
    portfolio = render_portfolio(sample_pipeline.warehouse, MONTH, out, {}, consultancy=CONSULTANCY)
    return {"report": report.files["report.html"], "portfolio": portfolio, "pdf": report.files["report.pdf"]}


@pytest.fixture(scope="module")
def chrome():
    browser.chromium()
    with browser.Browser() as b:
        yield b


@pytest.mark.parametrize("width", [browser.PHONE, browser.DESKTOP])
@pytest.mark.parametrize("name", ["report", "portfolio"])
def test_the_page_fits_the_screen(pages, chrome, name, width):
    chrome.open(pages[name], width=width)
    m = chrome.measure()
    chrome.screenshot(browser.ARTEFACTS / "layout" / f"{name}-{width}px.png")
    assert m["viewport"] == width
    assert browser.overflow_problems(m) == []
    if name == "report":
        assert len(m["tiles"]) >= 6 and m["figures"], "the report lost its KPI cards or charts"
    if width == browser.PHONE:
        # The check has teeth: some tables are wider than a phone and scroll inside their box.
        assert any(t["scrollWidth"] > t["clientWidth"] for t in m["tables"] if not t["hidden"])
        # Cards stack: one per row on a phone.
        lefts = {round(t["left"]) for t in m["tiles"]}
        assert len(lefts) == 1, f"KPI cards side by side on a phone: {sorted(lefts)}"


def test_the_pdf_does_not_depend_on_the_screen_rules(pages):
    html = pages["report"].read_text(encoding="utf-8")
    assert len(SCREEN_STYLE.findall(html)) == 1
    other = SCREEN_STYLE.sub('<style media="screen">\nbody { display: none; }\n</style>\n', html)
    without = SCREEN_STYLE.sub("", html)
    published = pages["pdf"].read_bytes()
    assert html_to_pdf(other) == published
    assert html_to_pdf(without) == published
