"""Only closed months are published; "as of" per source; drafts (docs/method.md).

Scenario: the sample's landing files are dropped by hand (no ``_extracts.json``), so each
source's "as of" is the latest record it holds: the October data ends around the month end,
before October's cutoff (the local midnight that starts day settle_days + 1 of November),
so October is held, with the reason in words in the client's zone. The person who dropped
the files then states when they were exported (``roi landed``): October closes and is
published, and report.json's "as of" is the stated time. ``roi report --draft`` renders the
held month as a DRAFT apart from the published tree.

The cutoffs are computed here by hand (not by the code under test): America/New_York left
daylight time on Sunday 1 November 2026, so its midnight of 4 November is 05:00 UTC;
Europe/London is on GMT in November (00:00 UTC).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pendulum
import pytest

from roi_pipeline.cli import main as roi
from roi_pipeline.config import load_clients
from roi_pipeline.report.pdf import html_to_pdf
from tests.dags.harness import Sample, environment, make_sample, run_dag, tree_digest

pytestmark = pytest.mark.slow

MONTH = "2026-10"
NOVEMBER = pendulum.datetime(2026, 11, 1, tz="UTC")
#: Hours from local to UTC in early November 2026 (independent of the code: see module doc).
UTC_OFFSET_HOURS = {"Europe/London": 0, "America/New_York": 5}
#: What the dropper states: 5 November 2026 09:00 on the client's wall clock.
STATED_LOCAL = "2026-11-05T09:00"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    # Two clients: harbour-legal (Europe/London) and hudson-roofing (America/New_York, west of UTC).
    return make_sample(tmp_path_factory.mktemp("asof-sample"), clients=2, months=4)


def hand_dropped_copy(generated: Sample, base: Path) -> Sample:
    """The same landing files without any extraction record: every file dropped by hand."""
    landing = base / "landing"
    shutil.copytree(generated.landing, landing)
    for record in landing.rglob("_extracts.json"):
        record.unlink()
    return Sample(base, landing, generated.clients, base / "wh" / "warehouse.duckdb", base / "reports")


def clients(sample: Sample):
    return {c.client_id: c for c in load_clients(sample.clients).clients}


def cutoff_utc(client) -> datetime:
    """October's cutoff by hand: local midnight of 1 Nov + settle_days, shifted to UTC."""
    local = datetime.combine(date(2026, 11, 1) + timedelta(days=client.settle_days), datetime.min.time())
    return local + timedelta(hours=UTC_OFFSET_HOURS[client.timezone])


def stated_utc_iso(client) -> str:
    local = datetime.fromisoformat(STATED_LOCAL)
    return (local + timedelta(hours=UTC_OFFSET_HOURS[client.timezone])).strftime("%Y-%m-%dT%H:%M:%SZ")


def cutoff_words(client) -> str:
    day = 1 + client.settle_days
    return f"the month settles on {day} Nov 2026 00:00 ({client.timezone})"


def state_export_times(sample: Sample) -> None:
    for cid in clients(sample):
        for folder in sorted(p.name for p in (sample.landing / cid).iterdir() if p.is_dir() and p.name[0] != "_"):
            with environment(sample.env()):
                assert roi(["landed", cid, folder, "--exported-at", STATED_LOCAL]) == 0


def gate_rows(sample: Sample) -> dict[str, tuple]:
    con = duckdb.connect(str(sample.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select g.client_id, g.publishable, g.reasons, m.settle_cutoff_at, m.is_month_closed "
            "from quality.gate_status g join marts.fct_client_months m on m.client_id = g.client_id "
            "and strftime(m.report_month, '%Y-%m') = g.month where g.month = ?",
            [MONTH],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def assert_held_in_words(sample: Sample) -> None:
    rows = gate_rows(sample)
    for cid, client in clients(sample).items():
        publishable, reasons, cutoff, closed = rows[cid]
        assert cutoff == cutoff_utc(client)  # the cutoff instant, by hand
        assert not closed and not publishable
        text = " ".join(reasons)
        assert "month_not_closed" in text and "data as of " in text, text
        assert cutoff_words(client) in text, text
        assert "no extraction record" in text and f"roi landed {cid} <source> --exported-at" in text, text
        assert not (sample.reports / cid / MONTH).exists()  # nothing published


def assert_published_as_stated(sample: Sample) -> None:
    rows = gate_rows(sample)
    for cid, client in clients(sample).items():
        publishable, reasons, _cutoff, closed = rows[cid]
        assert closed and publishable, reasons
        doc = json.loads((sample.reports / cid / MONTH / "report.json").read_text(encoding="utf-8"))
        assert doc["as_of"] == stated_utc_iso(client)
        assert doc["month_closed"] is True and "draft" not in doc


def test_roi_run_holds_hand_dropped_files_until_their_export_time_is_stated(generated, tmp_path):
    sample = hand_dropped_copy(generated, tmp_path / "run")
    with environment(sample.env()):
        assert roi(["run", "--month", MONTH]) == 1  # held: not a success
    assert_held_in_words(sample)

    # A draft on request: marked DRAFT, apart from the published tree, publishes nothing. A
    # client past its build phase gets no verdict yet, and its draft says so (not "Build phase").
    with environment(sample.env()):
        assert roi(["report", "--month", MONTH, "--draft"]) == 0
    in_progress = 0
    for cid in clients(sample):
        folder = sample.reports / "_drafts" / cid / MONTH
        assert sorted(p.name for p in folder.iterdir()) == [
            "report.draft.html",
            "report.draft.json",
            "report.draft.pdf",
        ]
        doc = json.loads((folder / "report.draft.json").read_text(encoding="utf-8"))
        assert doc["draft"] is True and doc["month_closed"] is False
        assert doc["data_quality"]["quality"]["publishable"] is False
        assert_draft_on_every_page(folder)
        assert not (sample.reports / cid / MONTH).exists()
        if doc["headline"]["guarantee_verdict"] == "in progress":
            in_progress += 1
            html = (folder / "report.draft.html").read_text(encoding="utf-8")
            assert "no verdict until the month closes" in html and "Build phase" not in html, cid
    assert in_progress

    state_export_times(sample)
    records = json.loads((sample.landing / "harbour-legal" / "harvest_time_entries" / "_extracts.json").read_text())
    assert all(r == {"extracted_at": "2026-11-05T09:00:00Z", "stated": True} for r in records.values())
    with environment(sample.env()):
        assert roi(["run", "--month", MONTH]) == 0
    assert_published_as_stated(sample)

    # A draft afterwards never touches the published report.
    published = tree_digest(sample.reports / "harbour-legal" / MONTH)
    with environment(sample.env()):
        assert roi(["report", "harbour-legal", "--month", MONTH, "--draft"]) == 0
    assert tree_digest(sample.reports / "harbour-legal" / MONTH) == published


def test_monthly_dag_holds_then_publishes_once_the_export_time_is_stated(generated, tmp_path):
    sample = hand_dropped_copy(generated, tmp_path / "dag")
    run, states, _ = run_dag("roi_monthly", sample, logical_date=NOVEMBER)
    assert str(run.state) == "success", states  # a hold is an outcome, not a failure
    assert_held_in_words(sample)

    state_export_times(sample)
    run, states, _ = run_dag("roi_monthly", sample, logical_date=NOVEMBER.add(days=1))
    assert str(run.state) == "success", states
    assert_published_as_stated(sample)


def assert_draft_on_every_page(folder: Path) -> None:
    """Every page of the draft carries DRAFT (the rendered pages; pdftotext when installed)."""
    import subprocess

    import weasyprint

    html = (folder / "report.draft.html").read_text(encoding="utf-8")
    assert html.count("DRAFT") >= 3  # title, banner, page reference
    document = weasyprint.HTML(string=html).render()
    assert len(document.pages) >= 1
    for number, page in enumerate(document.pages, start=1):
        assert "DRAFT" in _page_text(page._page_box), f"page {number} has no DRAFT mark"
    # The PDF is that rendering (rendering is deterministic: same HTML, same bytes).
    assert html_to_pdf(html) == (folder / "report.draft.pdf").read_bytes()
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(folder / "report.draft.pdf"), "-"], capture_output=True, text=True
        ).stdout
        pages = text.split("\f")[: len(document.pages)]
        assert all("DRAFT" in p for p in pages)


def _page_text(box) -> str:
    text = getattr(box, "text", "") or ""
    for child in getattr(box, "children", []) or []:
        text += " " + _page_text(child)
    return text
