"""Analysts browse the dbt docs: one static page beside the reports after every build.

``roi build`` publishes ``<reports>/_docs/index.html`` (roi_pipeline.docs_site): dbt's docs
page with the manifest and catalog inlined, opened here from the file system in headless
Chromium, which must render the project's models. The same build twice gives the same bytes.
The exposures (dbt_project/models/marts/_exposures.yml) must name exactly the relations the
code of each reader queries.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from roi_pipeline.cli import main as roi
from roi_pipeline.docs_site import SWITCH, docs_inputs, docs_site_enabled, docs_site_path, docs_stamp_path
from roi_pipeline.orchestration import watch
from roi_pipeline.report import data
from roi_pipeline.settings import PROJECT_DIR
from tests import browser
from tests.dags.harness import Sample, environment, make_sample

MONTH = "2026-10"
EXPOSURES = PROJECT_DIR / "dbt_project" / "models" / "marts" / "_exposures.yml"


def _relations(*queries: str) -> set[str]:
    """The marts and raw relations a set of SQL statements reads, as dbt refs / sources."""
    found = set()
    for sql in queries:
        found |= {f"ref('{name}')" for name in re.findall(r"\bmarts\.(\w+)", sql)}
        found |= {f"source('pipeline', '{name}')" for name in re.findall(r"\braw\.(_\w+)", sql)}
    return found


def test_each_exposure_depends_on_exactly_what_its_code_queries():
    declared = {e["name"]: set(e["depends_on"]) for e in yaml.safe_load(EXPOSURES.read_text())["exposures"]}
    assert declared == {
        "monthly_client_report": _relations(*data.CLIENT_QUERIES.values(), data.LANDED_FILES_QUERY),
        "portfolio_page": _relations(*data.PORTFOLIO_QUERIES.values()),
        "guarantee_watch": _relations(watch._QUERY),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Sample:
    """Two sample clients, two months, through `roi ingest` and `roi build` (as a user runs them)."""
    base = tmp_path_factory.mktemp("docs-site")
    sample = make_sample(base, clients=2, months=2, end_month=MONTH)
    with environment({**sample.env(), SWITCH: "on"}):
        assert roi(["ingest"]) == 0
        assert roi(["build"]) == 0
    return sample


@pytest.mark.slow
def test_the_build_publishes_the_docs_beside_the_reports_the_same_bytes_every_time(built, capsys):
    page = docs_site_path(built.reports)
    assert page == built.reports / "_docs" / "index.html"
    first = page.read_bytes()
    text = first.decode("utf-8")
    assert "MANIFEST.JSON INLINE DATA" not in text and "CATALOG.JSON INLINE DATA" not in text
    for name in ("model.roi.fct_client_months", "exposure.roi.portfolio_page", "exposure.roi.guarantee_watch"):
        assert f'"{name}"' in text, name
    assert str(built.base) not in text and str(PROJECT_DIR) not in text  # no machine path
    stamp = docs_stamp_path(built.warehouse)
    assert not (page.parent / "site.json").exists()  # the record is not among the published files
    with environment({**built.env(), SWITCH: "on"}):
        assert roi(["build"]) == 0  # same project, same relations: the page is left as it is
        assert re.search(r"dbt docs site: done in [^(]*\(unchanged: ", capsys.readouterr().out)
        assert page.read_bytes() == first
        stamp.unlink()  # without the record of its inputs, the page is generated again
        assert roi(["build"]) == 0
    assert page.read_bytes() == first
    assert stamp.is_file()


@pytest.mark.slow
def test_the_docs_open_from_the_file_system_and_show_the_models(built):
    browser.chromium()
    page = docs_site_path(built.reports)
    with browser.Browser() as chrome:
        chrome.open(page.resolve().as_uri() + "#!/model/model.roi.fct_client_months", width=browser.DESKTOP, settle=2)
        shown = chrome.evaluate("document.body.innerText")
        chrome.screenshot(browser.ARTEFACTS / "docs" / "fct_client_months.png", full_page=False)
        chrome.open(page.resolve().as_uri() + "#!/exposure/exposure.roi.monthly_client_report", width=1280, settle=2)
        exposure = chrome.evaluate("document.body.innerText")
        chrome.screenshot(browser.ARTEFACTS / "docs" / "monthly_client_report.png", full_page=False)
    for model in ("fct_client_months", "fct_workflow_months", "dim_clients", "rpt_portfolio_months"):
        assert model in shown, model  # the page rendered the project, not an empty shell
    assert "client_id" in shown and "report_month" in shown  # the model's columns, from the catalog
    assert "Monthly automation-ROI client report" in exposure and "fct_automation_runs" in exposure


def test_docs_site_path_is_under_the_reports_dir():
    assert docs_site_path(Path("r")) == Path("r") / "_docs" / "index.html"


def test_the_docs_inputs_follow_the_warehouse_relations_and_the_switch(tmp_path):
    import duckdb

    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.t (a integer)")
    before = docs_inputs(warehouse)
    assert docs_inputs(warehouse) == before
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table marts.t add column b varchar")
    assert docs_inputs(warehouse) != before
    assert docs_site_enabled({}) and docs_site_enabled({SWITCH: "on"})
    assert not docs_site_enabled({SWITCH: "off"}) and not docs_site_enabled({SWITCH: "0"})
