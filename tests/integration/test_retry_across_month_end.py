"""A failed run late in one month whose retry succeeded in the next is recovered in every build.

Scenario, as a consultancy meets it: harbour-legal's lead-triage fails at 22:00 on Friday
27 February; someone retries it on Monday 2 March at 09:00 and the retry succeeds. The February export
was taken before the retry, so only March's export holds it (with ``retryOf``), and the
February record has no ``retrySuccessId``.

- February is run before March's file lands; when March lands and March is run, February's
  recovered count must follow (the retry is in the data now), as a full build gives it.
- Re-running February when March is already landed must not lose it either: the monthly build
  of February reads runs only around February, and used not to see the retry.

The expected count is computed from the n8n files themselves (every failed production run of
the workflow on a live day of the month with a successful direct retry anywhere), not by the
project's code.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from roi_pipeline.sample.generator import generate
from tests.integration.scenarios import roi

CLIENT, WORKFLOW = "harbour-legal", "lead-triage"
PRODUCTION = ("trigger", "webhook")


def add_executions(path: Path, *executions: dict) -> None:
    page = json.loads(path.read_text(encoding="utf-8"))
    page["data"] = list(executions) + page["data"]  # newest first, as the API lists them
    path.write_text(json.dumps(page), encoding="utf-8")


def expected_recovered(landing: Path, clients: Path, month: str) -> int:
    """Failed production runs of the workflow on its live days of ``month`` whose direct retry succeeded."""
    config = yaml.safe_load((clients / f"{CLIENT}.yaml").read_text(encoding="utf-8"))
    tz = ZoneInfo(config["timezone"])
    wf = next(w for w in config["workflows"] if w["key"] == WORKFLOW)
    ids, go_live = set(wf["platform_workflow_ids"]), wf["go_live"]
    runs: dict[str, dict] = {}
    for path in sorted((landing / CLIENT / "n8n_executions").glob("2*.json")):
        for ex in json.loads(path.read_text(encoding="utf-8"))["data"]:
            runs[ex["id"]] = ex

    def production(ex: dict) -> bool:
        while ex["mode"] == "retry" and ex["retryOf"] in runs:
            ex = runs[ex["retryOf"]]
        return ex["mode"] in PRODUCTION or ex["mode"] == "retry"

    succeeded_retries = {ex["retryOf"] for ex in runs.values() if ex["retryOf"] and ex["status"] == "success"}
    count = 0
    for ex in runs.values():
        local = datetime.fromisoformat(ex["startedAt"].replace("Z", "+00:00")).astimezone(tz).date()
        if (
            ex["workflowId"] in ids
            and f"{local:%Y-%m}" == month
            and local >= go_live
            and ex["status"] in ("error", "crashed")
            and production(ex)
            and (ex["retrySuccessId"] or ex["id"] in succeeded_retries)
        ):
            count += 1
    return count


def recovered(base: Path, month: str) -> int:
    con = duckdb.connect(str(base / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "select recovered_runs from marts.fct_workflow_months "
            "where client_id = ? and workflow_key = ? and report_month = ?",
            [CLIENT, WORKFLOW, date.fromisoformat(month + "-01")],
        ).fetchone()[0]
    finally:
        con.close()


def reported(base: Path, month: str) -> int:
    doc = json.loads((base / "reports" / CLIENT / month / "report.json").read_text(encoding="utf-8"))
    return next(w["recovered_runs"] for w in doc["workflows"] if w["key"] == WORKFLOW)


@pytest.fixture
def landed(tmp_path: Path) -> Path:
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=3, end_month="2026-03")
    n8n = tmp_path / "landing" / CLIENT / "n8n_executions"
    failure = {
        "id": "9000001", "finished": False, "mode": "trigger", "retryOf": None, "retrySuccessId": None,
        "status": "error", "startedAt": "2026-02-27T22:00:00.000Z", "stoppedAt": "2026-02-27T22:00:09.000Z",
        "workflowId": "hLt7QaN8nTr1ag3A", "waitTill": None, "customData": {"items": "0"},
    }  # fmt: skip
    retry = {
        "id": "9000002", "finished": True, "mode": "retry", "retryOf": "9000001", "retrySuccessId": None,
        "status": "success", "startedAt": "2026-03-02T09:00:00.000Z", "stoppedAt": "2026-03-02T09:00:12.000Z",
        "workflowId": "hLt7QaN8nTr1ag3A", "waitTill": None, "customData": {"items": "1"},
    }  # fmt: skip
    add_executions(n8n / "2026-02.json", failure)
    add_executions(n8n / "2026-03.json", retry)
    return tmp_path


@pytest.mark.slow
def test_a_retry_in_the_next_month_file_recovers_the_published_month(landed, monkeypatch):
    base = landed
    later = base / "later"
    later.mkdir()
    for path in sorted(base.glob("landing/*/*/2026-03.*")):  # March's exports land after February's run
        target = later / path.relative_to(base / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    assert roi(base, monkeypatch, "run", "--month", "2026-02") == 0
    without_retry = expected_recovered(base / "landing", base / "clients", "2026-02")
    assert reported(base, "2026-02") == recovered(base, "2026-02") == without_retry

    for path in sorted(later.rglob("2026-03.*")):
        shutil.move(path, base / "landing" / path.relative_to(later))
    with_retry = expected_recovered(base / "landing", base / "clients", "2026-02")
    assert with_retry == without_retry + 1  # the scenario's own premise

    roi(base, monkeypatch, "run", "--month", "2026-03")
    assert recovered(base, "2026-02") == with_retry  # the monthly build of March rebuilt February's count
    assert roi(base, monkeypatch, "run", "--month", "2026-02", CLIENT) == 0
    assert reported(base, "2026-02") == with_retry


@pytest.mark.slow
def test_rerunning_a_month_keeps_a_recovery_from_the_next_months_file(landed, monkeypatch):
    base = landed
    assert roi(base, monkeypatch, "ingest") == 0
    assert roi(base, monkeypatch, "build") == 0  # a full build: every month
    with_retry = expected_recovered(base / "landing", base / "clients", "2026-02")
    assert recovered(base, "2026-02") == with_retry
    assert roi(base, monkeypatch, "run", "--month", "2026-02", CLIENT) == 0
    assert recovered(base, "2026-02") == reported(base, "2026-02") == with_retry
