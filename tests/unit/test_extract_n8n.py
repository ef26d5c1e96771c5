"""n8n extraction against the fake n8n API: paging, retries, resume, idempotency, ingestion."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roi_pipeline.extract import extract_clients
from tests.fakes import FakeN8n, Fault
from tests.fakes.clients import (
    connection_env,
    fast_policy,
    ingest_counts,
    landed_files,
    make_client,
    watermark,
    within,
    write_settings,
)

NOW = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
KEY = "n8n-api-key-PLANTED-5a1f"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def executions(n: int, first_id: int = 1000, start=datetime(2025, 12, 1, tzinfo=UTC), workflow="1012"):
    out = []
    for i in range(n):
        began = start + timedelta(minutes=40 * i)
        out.append({
            "id": str(first_id + i), "finished": True, "mode": "retry" if i % 17 == 0 else "trigger",
            "retryOf": None, "retrySuccessId": None, "status": "error" if i % 10 == 0 else "success",
            "startedAt": iso(began), "stoppedAt": iso(began + timedelta(seconds=4)), "workflowId": workflow,
            "waitTill": None, "customData": {"items": str(i % 5 + 1), "llm_tokens": "120"},
        })  # fmt: skip
    return out


@pytest.fixture
def setup(tmp_path: Path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "northwind-dental")
    data = executions(1300) + executions(3, first_id=9000, workflow="not-registered")
    fake = FakeN8n(data, {"1012": "Lead triage agent", "not-registered": "Sandbox"}, KEY)
    with fake:
        write_settings(clients_dir, client.client_id, {"n8n": {"mode": "api", "base_url": fake.url, "page_size": 100}})
        yield client, clients_dir, landing, fake


def run(setup, sleeps=None, attempts=4, **kwargs):
    client, clients_dir, landing, _fake = setup
    kwargs.setdefault("now", NOW)
    return extract_clients(
        landing, [client], sources=["n8n"], clients_dir=clients_dir,
        policy=fast_policy(sleeps, attempts), environ=connection_env(client.client_id, "n8n", KEY), **kwargs,
    )  # fmt: skip


def test_more_than_ten_pages_land_every_execution_and_ingest_without_quarantine(setup, tmp_path):
    client, _, landing, fake = setup
    report = run(setup)
    assert report.ok, report.failed
    folder = landing / client.client_id / "n8n_executions"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2025-08.json", "2025-09.json", "2025-10.json", "2025-11.json", "2025-12.json", "2026-01.json", "_extracts.json",
    ]  # fmt: skip
    pages = [r for r in fake.calls("/executions")]
    assert len(pages) > 10
    assert all(r.query["workflowId"] == "1012" and r.query["includeData"] == "true" for r in pages)
    text = (folder / "2025-12.json").read_text()
    assert "person@example.com" not in text and '"workflowData"' not in text  # heavy data dropped
    assert '"customData":{"items"' in text
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "n8n_executions", "id")
    assert counts == {"rows": 1300, "distinct": 1300, "quarantined": 0, "reasons": []}


def test_overlap_reextract_adds_no_duplicates_and_same_window_same_bytes(setup, tmp_path):
    client, _, landing, fake = setup
    assert run(setup).ok
    folder = landing / client.client_id / "n8n_executions"
    first = {p.name: p.read_bytes() for p in folder.glob("2*.json")}
    # a day later: new runs, and a late change inside the overlap window (a retry succeeded)
    fake.executions.extend(executions(30, first_id=5000, start=datetime(2026, 1, 7, 7, tzinfo=UTC)))
    latest = max(fake.executions[:1300], key=lambda e: int(e["id"]))
    latest["retrySuccessId"] = "5001"
    report = run(setup, now=NOW + timedelta(days=1))
    assert report.ok and "changes since" in report.outcomes[0].window
    assert len(fake.calls("/executions")) < 40  # incremental: stopped paging at the overlap
    assert (folder / "2025-12.json").read_bytes() == first["2025-12.json"]  # untouched month, same bytes
    assert '"retrySuccessId":"5001"' in (folder / "2026-01.json").read_text()
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "n8n_executions", "id")
    assert counts["rows"] == counts["distinct"] == 1330 and counts["quarantined"] == 0
    # a full re-extract of one month, twice: the same bytes both times, still no duplicates
    assert run(setup, month="2026-01", full=True, now=NOW + timedelta(days=2)).ok
    again = (folder / "2026-01.json").read_bytes()
    assert run(setup, month="2026-01", full=True, now=NOW + timedelta(days=3)).ok
    assert (folder / "2026-01.json").read_bytes() == again
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "n8n_executions", "id")
    assert counts["rows"] == counts["distinct"] == 1330 and counts["quarantined"] == 0


def test_429_storm_then_success_honours_retry_after(setup):
    _, _, landing, fake = setup
    fake.faults.append(Fault(lambda r: "cursor" in r.query, 429, {"Retry-After": "0.25"}, times=5))
    sleeps: list[float] = []
    report = run(setup, sleeps, attempts=7)
    assert report.ok, report.failed
    assert sleeps == [0.25] * 5 and fake.fault_hits == 5


def test_500_then_success(setup):
    _, _, _, fake = setup
    fake.faults.append(Fault(lambda r: r.path.endswith("/executions"), 500, times=1))
    sleeps: list[float] = []
    assert run(setup, sleeps).ok
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.002  # exponential backoff, no Retry-After


def test_malformed_page_leaves_no_partial_file_and_the_rerun_resumes(setup, tmp_path):
    client, _, landing, fake = setup
    third_page = lambda r: r.path.endswith("/executions") and len(fake.calls("/executions")) >= 3  # noqa: E731
    fake.faults.append(Fault(third_page, 200, body=b'{"data": [{"id": "1"', times=10))
    report = run(setup)
    assert not report.ok
    assert "malformed JSON" in report.failed[0].error and "roi_northwind_dental_n8n" in report.failed[0].error
    folder = landing / client.client_id / "n8n_executions"
    assert not folder.exists() or not any(folder.iterdir())  # nothing half-written where ingestion reads
    first_pages = [r for r in fake.calls("/executions") if "cursor" not in r.query]
    fake.faults.clear()
    rerun = run(setup, now=NOW + timedelta(hours=1))
    assert rerun.ok, rerun.failed
    # resumed after the last complete page: the first page was not asked again
    assert len([r for r in fake.calls("/executions") if "cursor" not in r.query]) == len(first_pages) == 1
    assert not list((landing / client.client_id / "_extract" / "checkpoints").glob("*"))
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "n8n_executions", "id")
    assert counts["distinct"] == 1300 and counts["quarantined"] == 0


def test_a_repeated_cursor_stops_the_run_lands_nothing_and_keeps_the_watermark(setup):
    client, clients_dir, landing, fake = setup
    assert run(setup).ok
    client_dir = landing / client.client_id
    before = landed_files(client_dir)
    assert watermark(client_dir, "n8n") == "2026-01-07T06:00:00Z"  # the first run's start (NOW)
    fake.repeat_cursor = True  # n8n answers the first page again, with the same nextCursor
    write_settings(clients_dir, client.client_id, {"n8n": {"mode": "api", "base_url": fake.url, "page_size": 5}})
    asked = len(fake.calls("/executions"))
    report = within(30, lambda: run(setup, full=True, now=NOW + timedelta(days=1)))
    assert not report.ok
    error = report.failed[0].error
    # the first page (newest first) ends with execution 2295 of workflow 1012's ids 1000..2299
    cursor = base64.b64encode(json.dumps({"lastId": "2295", "limit": 5}).encode()).decode()
    assert f"n8n returned the paging cursor {cursor!r} of GET /executions of workflow 1012 twice" in error
    assert "roi_northwind_dental_n8n" in error and "watermark stays" in error
    assert len(fake.calls("/executions")) - asked == 2  # stopped at the first repeat
    assert landed_files(client_dir) == before  # no file written, no extraction record stamped
    assert watermark(client_dir, "n8n") == "2026-01-07T06:00:00Z"
    # once n8n pages again, the rerun resumes the same run after its one saved page and succeeds
    fake.repeat_cursor = False
    rerun = run(setup, full=True, now=NOW + timedelta(days=1, hours=1))
    assert rerun.ok, rerun.failed
    first_pages = [r for r in fake.calls("/executions") if "cursor" not in r.query]
    assert len(first_pages) == 2  # the first run's and the failed run's: the rerun did not ask again
    assert watermark(client_dir, "n8n") == "2026-01-08T06:00:00Z"  # the resumed run's start


@pytest.mark.parametrize("max_pages, ok", [(14, True), (13, False)])
def test_the_page_budget_stops_a_run_that_needs_more_pages(setup, max_pages, ok):
    client, clients_dir, landing, fake = setup
    settings = {"mode": "api", "base_url": fake.url, "page_size": 100, "max_pages": max_pages}
    write_settings(clients_dir, client.client_id, {"n8n": settings})
    report = within(30, lambda: run(setup))
    # the run needs 14 pages: one of GET /workflows and 1300 executions of workflow 1012, 100 a page
    assert report.ok is ok
    if ok:
        return
    error = report.failed[0].error
    assert "n8n still had more pages of GET /executions of workflow 1012 after the run's page budget of 13" in error
    assert "raise n8n.max_pages in extract/northwind-dental.yaml" in error
    assert len(fake.calls("/executions")) == 12
    assert landed_files(landing / client.client_id) == {}
    assert watermark(landing / client.client_id, "n8n") is None
