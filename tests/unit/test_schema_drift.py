"""Schema drift against a source's own history, and a collapse in the share of runs reporting a field.

A vendor that renames an optional column (``items`` -> ``item_count``) makes every run count
1 task and cost 0 without any required column missing. Ingestion records the fields each
landed file carried; the raw gate compares the month's files with the client's earlier files
of the same source. Small landing folders are built here, ingested, and checked through the
committed GX suites (no dbt build).
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.cli import main
from roi_pipeline.ingest import ingest
from roi_pipeline.quality import run_raw_gate
from roi_pipeline.quality.frames import raw_frames
from roi_pipeline.quality.gate import check_frame
from roi_pipeline.quality.suites import EXPECTATIONS_DIR, suites_for
from tests.unit.test_ingest import execution, make_client, write_json

CLIENT = "northwind-dental"
NOW = datetime(2026, 5, 10, 12, 0)  # ingestion time: the data's as-of (no extraction records)
ZAP = "zap_88231"  # the example client's on-demand Zapier workflow
GENERIC_HEADER = ["run_id", "platform", "workflow_id", "started_at", "finished_at", "status", "triggered_by"]
HISTORY = ("2026-01", "2026-02", "2026-03")


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory):
    """A copy of the committed context: the tests' results and docs stay out of the repository."""
    root = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    return root


def generic_csv(landing: Path, month: str, optional: dict[str, str], runs: int = 25, reported: int | None = None):
    """``<client>/generic_runs/<month>.csv``: ``runs`` Zapier runs at noon UTC on days 1.. of the month.

    ``optional`` holds the optional columns and their value; the first ``reported`` runs (all
    by default) carry the value, the others leave the cell empty.
    """
    reported = runs if reported is None else reported
    rows = [[*GENERIC_HEADER, *optional]]
    for n in range(runs):
        day = f"{month}-{n % 28 + 1:02d}"
        fixed = [f"{month}-{n}", "zapier", ZAP, f"{day}T12:00:00Z", f"{day}T12:00:05Z", "success", "event"]
        rows.append([*fixed, *(value if n < reported else "" for value in optional.values())])
    path = landing / CLIENT / "generic_runs" / f"{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def n8n_month(landing: Path, month: str, runs: dict[str, tuple[int, dict]]):
    """``<client>/n8n_executions/<month>.json``: per workflow id, (number of runs, customData)."""
    records = []
    for workflow, (count, custom) in runs.items():
        for n in range(count):
            day = f"{month}-{n % 28 + 1:02d}"
            records.append(
                execution(
                    f"{workflow}-{month}-{n}",
                    workflow=workflow,
                    start=f"{day}T09:00:00.000Z",
                    stop=f"{day}T09:00:04.000Z",
                    customData=custom,
                )
            )
    write_json(landing / CLIENT / "n8n_executions" / f"{month}.json", {"data": records, "nextCursor": None})


def load(tmp_path: Path):
    client = make_client(tmp_path / "clients")
    warehouse = tmp_path / "wh.duckdb"
    report = ingest(tmp_path / "landing", warehouse, [client], now=NOW)
    assert not report.failed and not report.client_errors
    return client, warehouse


def frames(warehouse: Path, client, month: str):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return raw_frames(con, client, month).frames
    finally:
        con.close()


def findings(gx_root, warehouse: Path, client, month: str, suite: str):
    frame = frames(warehouse, client, month)[suite]
    return check_frame(suite, frame, client_id=CLIENT, month=month, context_root=gx_root)


COLUMNS = {"items": "3", "llm_cost": "0.02", "error_message": ""}


# --------------------------------------------------------------------------- what ingestion records


def test_each_landed_file_records_the_fields_its_records_carried(tmp_path):
    landing = tmp_path / "landing"
    generic_csv(landing, "2026-03", {"items": "3", "llm_cost": "0.02"})
    n8n_month(landing, "2026-03", {"1012": (2, {"items": 4}), "7777": (1, {"llm_cost": 0.5, "llm_tokens": 900})})
    _client, warehouse = load(tmp_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute("select source_file, fields_present, fields_by_workflow from raw._landed_files").fetchall()
    rows = {source_file: (present, by_workflow) for source_file, present, by_workflow in found}
    generic_fields, generic_by_workflow = rows[f"{CLIENT}/generic_runs/2026-03.csv"]
    assert generic_fields == sorted([*GENERIC_HEADER, "items", "llm_cost"])
    assert json.loads(generic_by_workflow) == {ZAP: generic_fields}
    n8n_fields, n8n_by_workflow = rows[f"{CLIENT}/n8n_executions/2026-03.json"]
    top = ["finished", "id", "mode", "retryOf", "retrySuccessId", "startedAt", "status", "stoppedAt", "workflowId"]
    assert n8n_fields == sorted(
        [*top, "customData", "customData.items", "customData.llm_cost", "customData.llm_tokens"]
    )
    assert json.loads(n8n_by_workflow) == {
        "1012": sorted([*top, "customData", "customData.items"]),
        "7777": sorted([*top, "customData", "customData.llm_cost", "customData.llm_tokens"]),
    }


# --------------------------------------------------------------------------- dropped fields


def test_a_renamed_figure_column_is_blocking_drift_naming_both_columns(tmp_path, gx_root):
    landing = tmp_path / "landing"
    for month in HISTORY:
        generic_csv(landing, month, COLUMNS)
    generic_csv(landing, "2026-04", {"item_count": "3", "llm_cost": "0.02", "error_message": ""})
    client, warehouse = load(tmp_path)

    found = findings(gx_root, warehouse, client, "2026-04", "raw_fields")
    assert [(f.defect, f.severity) for f in found] == [("dropped_figure_field", "blocking")]
    assert (
        f"items is missing since {CLIENT}/generic_runs/2026-04.csv (last in {CLIENT}/generic_runs/2026-03.csv); "
        "the file has a new column item_count"
    ) in found[0].message
    assert "1 of " in found[0].message  # items alone: llm_cost and error_message are still there
    # the months before the rename are clean
    assert findings(gx_root, warehouse, client, "2026-03", "raw_fields") == []


def test_a_renamed_cost_column_holds_too_and_a_dropped_other_column_is_a_warning(tmp_path, gx_root):
    landing = tmp_path / "landing"
    for month in HISTORY:
        generic_csv(landing, month, COLUMNS)
    generic_csv(landing, "2026-04", {"items": "3", "cost": "0.02"})  # llm_cost renamed, error_message gone
    client, warehouse = load(tmp_path)

    found = {f.defect: f for f in findings(gx_root, warehouse, client, "2026-04", "raw_fields")}
    assert sorted(found) == ["dropped_field", "dropped_figure_field"]
    assert found["dropped_figure_field"].severity == "blocking"
    assert "llm_cost is missing since" in found["dropped_figure_field"].message
    assert "new column cost" in found["dropped_figure_field"].message
    assert found["dropped_field"].severity == "warning"
    assert "error_message is missing since" in found["dropped_field"].message


def test_a_renamed_n8n_custom_data_key_is_blocking_drift(tmp_path, gx_root):
    landing = tmp_path / "landing"
    for month in HISTORY:
        n8n_month(landing, month, {"1012": (25, {"items": 4})})
    n8n_month(landing, "2026-04", {"1012": (25, {"itemCount": 4})})
    client, warehouse = load(tmp_path)

    found = findings(gx_root, warehouse, client, "2026-04", "raw_fields")
    assert [(f.defect, f.severity) for f in found] == [("dropped_figure_field", "blocking")]
    assert (
        f"customData.items is missing since {CLIENT}/n8n_executions/2026-04.json "
        f"(last in {CLIENT}/n8n_executions/2026-03.json); the file has a new field customData.itemCount"
    ) in found[0].message


def test_a_key_only_a_workflow_without_runs_this_month_reported_is_not_drift(tmp_path, gx_root):
    """An on-demand workflow that did not run: its customData.llm_cost is absent, and nothing changed."""
    landing = tmp_path / "landing"
    for month in HISTORY:
        n8n_month(landing, month, {"1012": (25, {"items": 4}), "7777": (3, {"llm_cost": 0.5})})
    n8n_month(landing, "2026-04", {"1012": (25, {"items": 4})})
    client, warehouse = load(tmp_path)
    assert findings(gx_root, warehouse, client, "2026-04", "raw_fields") == []

    # the same workflow running without it is drift
    n8n_month(landing, "2026-04", {"1012": (25, {"items": 4}), "7777": (3, {"cost": 0.5})})
    client, warehouse = load(tmp_path)
    found = findings(gx_root, warehouse, client, "2026-04", "raw_fields")
    assert [f.defect for f in found] == ["dropped_figure_field"]
    assert "customData.llm_cost is missing since" in found[0].message


# --------------------------------------------------------------------------- share of runs reporting a field


def test_a_collapse_in_the_share_of_runs_reporting_items_is_a_warning_naming_the_field(tmp_path, gx_root):
    landing = tmp_path / "landing"
    generic_csv(landing, "2026-03", COLUMNS, runs=25)  # 100 % report items
    generic_csv(landing, "2026-04", COLUMNS, runs=25, reported=10)  # 40 %: 0.4 of the previous share
    client, warehouse = load(tmp_path)

    found = findings(gx_root, warehouse, client, "2026-04", "raw_field_shares")
    # items and llm_cost both: the first 10 runs carry both values
    assert [(f.defect, f.severity) for f in found] == [("field_share_collapse", "warning")]
    message = found[0].message
    assert "2 of 2 row(s)" in message
    assert f"workflow_ref=zapier:{ZAP}, field=items, share_previous_month=1.0, share_this_month=0.4" in message
    # the column is still there: no drift
    assert findings(gx_root, warehouse, client, "2026-04", "raw_fields") == []


@pytest.mark.parametrize(
    ("before", "now", "reported_now"),
    [
        (25, 25, 13),  # 52 % of the previous share: not a collapse
        (19, 25, 1),  # too few runs the month before
        (25, 19, 1),  # too few runs this month
    ],
)
def test_no_share_warning_at_half_the_share_or_on_thin_volume(tmp_path, gx_root, before, now, reported_now):
    landing = tmp_path / "landing"
    generic_csv(landing, "2026-03", COLUMNS, runs=before)
    generic_csv(landing, "2026-04", COLUMNS, runs=now, reported=reported_now)
    client, warehouse = load(tmp_path)
    assert findings(gx_root, warehouse, client, "2026-04", "raw_field_shares") == []


# --------------------------------------------------------------------------- as a user meets it


def test_roi_ingest_then_the_raw_gate_holds_the_month_of_the_rename(tmp_path, monkeypatch, gx_root, capsys):
    landing = tmp_path / "landing"
    for month in HISTORY:
        generic_csv(landing, month, COLUMNS)
    generic_csv(landing, "2026-04", {"item_count": "3", "llm_cost": "0.02", "error_message": ""})
    client = make_client(tmp_path / "clients")
    monkeypatch.setenv("ROI_LANDING_DIR", str(landing))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    assert main(["ingest"]) == 0

    (april,) = run_raw_gate(tmp_path / "wh.duckdb", [client], "2026-04", context_root=gx_root, build_docs=False)
    assert not april.publishable
    assert april.evaluated == sum(len(spec.checks) for spec in suites_for("raw"))  # every raw check ran
    assert [f.defect for f in april.blocking_failures] == ["dropped_figure_field"]
    assert "items is missing since" in april.reasons[0] and "new column item_count" in april.reasons[0]
    (march,) = run_raw_gate(tmp_path / "wh.duckdb", [client], "2026-03", context_root=gx_root, build_docs=False)
    assert not [f for f in march.blocking_failures + march.warnings if f.suite in ("raw_fields", "raw_field_shares")]

    # the vendor's column renamed back in a re-delivered file: the month passes the check again
    generic_csv(landing, "2026-04", COLUMNS)
    assert main(["ingest"]) == 0
    (again,) = run_raw_gate(tmp_path / "wh.duckdb", [client], "2026-04", context_root=gx_root, build_docs=False)
    assert "dropped_figure_field" not in [f.defect for f in again.blocking_failures]
