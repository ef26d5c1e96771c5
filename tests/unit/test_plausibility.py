"""Plausibility at ingest: a record that parses but cannot be true is quarantined, the rest loads.

Each test lands one small file in the vendor's format with one (or a few) implausible records
among good ones, ingests it with a pinned "now", and checks which records were loaded and
which were quarantined with which reason; for every file rows read = loaded + quarantined.
The last test runs `roi ingest` and the raw gate: a run dated 2099 is a warning note on the
month of its file, never a hold.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.formats import plausibility
from roi_pipeline.ingest import ingest
from roi_pipeline.quality.suites import EXPECTATIONS_DIR
from tests.unit.test_ingest import execution, harvest_row, make_client, write_harvest, write_json

#: The moment of ingestion, pinned: files without an extraction record are bounded by it.
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
EXTRACTED = "2026-01-03T03:00:00Z"

RUN_HEADER = "run_id,platform,workflow_id,started_at,finished_at,status,triggered_by,items,llm_cost"


@pytest.fixture
def setup(tmp_path):
    landing = tmp_path / "landing"
    warehouse = tmp_path / "wh.duckdb"
    client = make_client(tmp_path / "clients")  # GBP, Europe/London
    return landing, warehouse, client


def outcome(landing: Path, warehouse: Path, client, folder: str, table: str | None = None):
    """(ids loaded, {row_number: reason}) of the client's one file in ``folder``; checks read = loaded + quarantined."""
    table = table or folder
    key = {"n8n_executions": "id", "generic_runs": "run_id", "hubspot_calls": "id"}.get(table, "_row_number")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = [r[0] for r in con.execute(f"select {key} from raw.{table} order by _row_number").fetchall()]
        reasons = dict(
            con.execute("select row_number, reason from raw._quarantine where format = ?", [folder]).fetchall()
        )
        read, rows_loaded, rows_quarantined = con.execute(
            "select rows_read, rows_loaded, rows_quarantined from raw._landed_files where format = ?", [folder]
        ).fetchall()[0]
    assert (rows_loaded, rows_quarantined) == (len(loaded), len(reasons))
    assert read == rows_loaded + rows_quarantined
    return loaded, reasons


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_run_after_its_files_extraction_is_quarantined_not_loaded(setup):
    landing, warehouse, client = setup
    folder = landing / client.client_id / "n8n_executions"
    runs = [
        execution("1"),
        execution("2", start="2099-12-01T09:00:00.000Z", stop="2099-12-01T09:00:04.000Z"),  # a typed year
        execution("3", start="2026-01-03T02:59:00.000Z", stop="2026-01-03T03:00:00.000Z"),  # stops at the export
        execution("4", start="2026-01-03T02:59:00.000Z", stop="2026-01-03T03:00:01.000Z"),  # one second after it
    ]
    write_json(folder / "dec.json", {"data": runs})
    write_json(folder / "_extracts.json", {"dec.json": {"extracted_at": EXTRACTED}})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "n8n_executions")
    assert loaded == ["1", "3"]
    assert reasons == {
        2: "future timestamp: startedAt 2099-12-01T09:00:00Z is after the file's extraction time 2026-01-03T03:00:00Z",
        4: "future timestamp: stoppedAt 2026-01-03T03:00:01Z is after the file's extraction time 2026-01-03T03:00:00Z",
    }


def test_without_an_extraction_record_the_bound_is_a_day_after_ingestion(setup):
    landing, warehouse, client = setup
    runs = [
        execution("1"),
        execution("2", start="2026-01-02T11:59:00Z", stop="2026-01-02T12:00:00Z"),  # NOW + 1 day: loaded
        execution("3", start="2026-01-02T12:00:00Z", stop="2026-01-02T12:00:01Z"),  # a second more: the future
    ]
    write_json(landing / client.client_id / "n8n_executions" / "dec.json", {"data": runs})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "n8n_executions")
    assert loaded == ["1", "2"]
    assert reasons == {3: "future timestamp: stoppedAt 2026-01-02T12:00:01Z is more than 1 day after ingestion"}


def test_the_bound_without_an_extraction_record_comes_from_ingests_now(setup):
    """The same file a day later: nothing is in the future any more (the wall clock plays no part)."""
    landing, warehouse, client = setup
    write_json(
        landing / client.client_id / "n8n_executions" / "dec.json",
        {"data": [execution("1", start="2026-01-02T12:00:00Z", stop="2026-01-02T12:00:01Z")]},
    )
    ingest(landing, warehouse, [client], now=datetime(2026, 1, 2, 0, 0, tzinfo=UTC))
    assert outcome(landing, warehouse, client, "n8n_executions")[0] == ["1"]


def test_a_run_longer_than_the_longest_possible_is_quarantined(setup):
    landing, warehouse, client = setup
    runs = [
        execution("1"),
        # waits (an n8n Wait node) for 30 days: possible
        execution("2", start="2025-11-01T09:00:00Z", stop="2025-12-01T09:00:00Z"),
        execution("3", start="2025-11-01T09:00:00Z", stop="2025-12-02T09:00:01Z"),  # 31 days and a second
    ]
    write_json(landing / client.client_id / "n8n_executions" / "dec.json", {"data": runs})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "n8n_executions")
    assert loaded == ["1", "2"]
    assert reasons == {
        3: "implausible duration: startedAt to stoppedAt span 31.0 days, more than the longest possible run (31 days)"
    }


def test_generic_run_items_and_costs_beyond_their_limits_are_quarantined(setup):
    landing, warehouse, client = setup
    start = "2025-12-02T09:00:00Z,2025-12-02T09:00:01Z,success,schedule"
    write_csv(
        landing / client.client_id / "generic_runs" / "dec.csv",
        f"{RUN_HEADER}\n"
        f"r1,zapier,zap_88231,{start},4,0.02\n"
        f"r2,zapier,zap_88231,{start},-4,\n"
        f"r3,zapier,zap_88231,{start},100000,\n"  # the cap itself: loaded
        f"r4,zapier,zap_88231,{start},100001,\n"
        f"r5,zapier,zap_88231,{start},,-0.01\n"
        f"r6,zapier,zap_88231,{start},,10000\n"  # the cap itself: loaded
        f"r7,zapier,zap_88231,{start},,10000.5\n"
        # a run that finished in 45 days: a date error in finished_at
        "r8,make,scn_4410,2025-11-01T09:00:00Z,2025-12-16T09:00:00Z,success,event,1,\n",
    )
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "generic_runs")
    assert loaded == ["r1", "r3", "r6"]
    assert reasons == {
        2: "negative items: -4",
        4: "implausible items: 100,001 is above the cap of 100,000 per run",
        5: "negative llm_cost: -0.01",
        7: "implausible llm_cost: 10,000.5 is above the cap of 10,000 GBP per run",
        8: "implausible duration: started_at to finished_at span 45.0 days, "
        "more than the longest possible run (31 days)",
    }


def test_n8n_custom_data_beyond_the_limits_is_quarantined(setup):
    landing, warehouse, client = setup
    runs = [
        execution("1", customData={"items": 12, "llm_cost": 0.4}),
        execution("2", customData={"items": 2_000_000}),
        execution("3", customData={"llm_cost": "25000"}),
        execution("4", customData={"llm_cost": -1}),
    ]
    write_json(landing / client.client_id / "n8n_executions" / "dec.json", {"data": runs})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "n8n_executions")
    assert loaded == ["1"]
    assert reasons == {
        2: "implausible customData.items: 2,000,000 is above the cap of 100,000 per run",
        3: "implausible customData.llm_cost: 25,000.0 is above the cap of 10,000 GBP per run",
        4: "negative customData.llm_cost: -1.0",
    }


FOREIGN = "foreign currency: {what} 'USD' is not the client's currency GBP (costs are never converted)"


def test_a_generic_run_cost_in_another_currency_is_quarantined_csv(setup):
    landing, warehouse, client = setup
    start = "2025-12-02T09:00:00Z,2025-12-02T09:00:01Z,success,schedule"
    write_csv(
        landing / client.client_id / "generic_runs" / "dec.csv",
        f"{RUN_HEADER},cost_currency\n"
        f"r1,zapier,zap_88231,{start},1,0.50,GBP\n"
        f"r2,zapier,zap_88231,{start},1,0.50,USD\n"
        f"r3,zapier,zap_88231,{start},1,0.50,gbp\n"  # the client's, in lower case
        f"r4,zapier,zap_88231,{start},1,0.50,\n"  # not stated: the client's
        f"r5,zapier,zap_88231,{start},1,,USD\n",  # no cost: nothing to convert, the run counts
    )
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "generic_runs")
    assert loaded == ["r1", "r3", "r4", "r5"]
    assert reasons == {2: FOREIGN.format(what="cost_currency")}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select sum(llm_cost) from raw.generic_runs").fetchone()[0] == pytest.approx(1.5)


def test_a_generic_run_cost_in_another_currency_is_quarantined_jsonl(setup):
    landing, warehouse, client = setup
    base = {
        "platform": "custom_agent",
        "workflow_id": "agent-1",
        "started_at": "2025-12-02T09:00:00Z",
        "finished_at": "2025-12-02T09:00:05Z",
        "status": "success",
        "triggered_by": "event",
        "llm_cost": 0.3,
    }
    lines = [{**base, "run_id": "a1"}, {**base, "run_id": "a2", "cost_currency": "USD"}]
    path = landing / client.client_id / "generic_runs" / "dec.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    ingest(landing, warehouse, [client], now=NOW)
    assert outcome(landing, warehouse, client, "generic_runs") == (["a1"], {2: FOREIGN.format(what="cost_currency")})


def test_an_n8n_cost_in_another_currency_is_quarantined(setup):
    landing, warehouse, client = setup
    runs = [
        execution("1", customData={"llm_cost": 0.4, "cost_currency": "GBP"}),
        execution("2", customData={"llm_cost": 0.4, "cost_currency": "USD"}),
    ]
    write_json(landing / client.client_id / "n8n_executions" / "dec.json", {"data": runs})
    ingest(landing, warehouse, [client], now=NOW)
    assert outcome(landing, warehouse, client, "n8n_executions") == (
        ["1"],
        {2: FOREIGN.format(what="customData.cost_currency")},
    )


def test_harvest_entries_over_24_hours_or_after_the_export_are_quarantined(setup):
    landing, warehouse, client = setup
    folder = landing / client.client_id / "harvest_time_entries"
    write_harvest(
        folder / "dec.csv",
        [
            harvest_row(hours="8"),
            harvest_row(hours="24", notes="a whole day"),  # the limit itself: loaded
            harvest_row(hours="24.5"),
            harvest_row(hours="80:00"),  # 8:00 typed as 80:00
            harvest_row(hours="-1"),  # already refused: negative
            harvest_row(date="2026-01-03", hours="1"),  # the export's own day: loaded
            harvest_row(date="2026-01-04", hours="1"),  # the day after the export
        ],
    )
    write_json(folder / "_extracts.json", {"dec.csv": {"extracted_at": EXTRACTED}})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "harvest_time_entries")
    assert loaded == [1, 2, 6]
    assert reasons == {
        3: "implausible Hours: 24.50 h in one entry, a day has 24",
        4: "implausible Hours: 80.00 h in one entry, a day has 24",
        5: "negative Hours: '-1'",
        7: "future timestamp: Date 2026-01-04 is after the file's extraction time 2026-01-03T03:00:00Z",
    }


def test_a_toggl_entry_longer_than_a_day_is_quarantined(setup):
    landing, warehouse, client = setup
    header = ["User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
              "End date", "End time", "Duration", "Tags", "Amount (GBP)"]  # fmt: skip

    def row(duration, day="2025-12-02"):
        return ["Ann Lee", "", "Northwind", "Front desk", "Lead triage", "", "No", day, "09:00:00", day, "",
                duration, "", "0.00"]  # fmt: skip

    path = landing / client.client_id / "toggl_time_entries" / "dec.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, row("01:00:00"), row("49:30:00"), row("02:00:00", "2026-01-05")])
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "toggl_time_entries")
    assert loaded == [1]
    assert reasons == {
        2: "implausible Duration: 49.50 h in one entry, a day has 24",
        3: "future timestamp: Start date/time 2026-01-05T09:00:00Z is more than 1 day after ingestion",
    }


def test_a_crm_activity_after_the_export_is_quarantined(setup):
    landing, warehouse, client = setup
    folder = landing / client.client_id / "hubspot_calls"

    def call(id_, at):
        return {"id": id_, "createdAt": at, "updatedAt": at, "properties": {"hs_timestamp": at}}

    write_json(folder / "dec.json", {"results": [call("1", "2025-12-01T10:00:00Z"), call("2", "2099-12-01T10:00:00Z")]})
    write_json(folder / "_extracts.json", {"dec.json": {"extracted_at": EXTRACTED}})
    ingest(landing, warehouse, [client], now=NOW)
    loaded, reasons = outcome(landing, warehouse, client, "hubspot_calls")
    assert loaded == ["1"]
    assert reasons[2].startswith("future timestamp: createdAt 2099-12-01T10:00:00Z is after")


def test_the_limits_are_stated_in_one_place():
    """The values the docs list (README, docs/method.md) are the module's constants."""
    assert plausibility.MAX_RUN_DURATION.days == 31
    assert plausibility.MAX_ENTRY_HOURS == 24
    assert plausibility.MAX_ITEMS_PER_RUN == 100_000
    assert plausibility.MAX_RUN_COST == 10_000
    assert plausibility.FUTURE_TOLERANCE.days == 1
    root = Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/method.md"):
        text = (root / doc).read_text(encoding="utf-8")
        for stated in ("31 days", "24 h", "100,000 items", "10,000", "1 day"):
            assert stated in text, (doc, stated)


# --------------------------------------------------------------------------- end to end


def test_roi_ingest_then_the_raw_gate_a_run_dated_2099_is_a_note_not_a_hold(setup, tmp_path, monkeypatch, capsys):
    from roi_pipeline.cli import main as roi
    from roi_pipeline.quality import run_raw_gate

    landing, warehouse, client = setup
    folder = landing / client.client_id / "n8n_executions"
    runs = [execution(str(i), start=f"2025-12-{i:02d}T09:00:00Z", stop=f"2025-12-{i:02d}T09:00:04Z") for i in (1, 2)]
    runs.insert(1, execution("QfTypedYear", start="2099-12-01T09:00:00Z", stop="2099-12-01T09:00:04Z"))
    write_json(folder / "2025-12.json", {"data": runs})
    write_json(folder / "_extracts.json", {"2025-12.json": {"extracted_at": EXTRACTED}})
    monkeypatch.setenv("ROI_LANDING_DIR", str(landing))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(warehouse))
    assert roi(["ingest"]) == 0
    said = capsys.readouterr()
    assert "1 quarantined" in said.out + said.err
    assert outcome(landing, warehouse, client, "n8n_executions")[0] == ["1", "2"]

    gx_root = tmp_path / "gx" / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, gx_root, ignore=shutil.ignore_patterns("uncommitted"))
    (result,) = run_raw_gate(warehouse, [client], "2025-12", context_root=gx_root, build_docs=False)
    assert result.publishable, result.reasons
    assert not result.blocking_failures
    assert [f.defect for f in result.warnings] == ["future_record"]
    (note,) = result.notes
    assert note.startswith(f"{client.client_id} 2025-12: future_record (warning, raw gate)")
    assert "2099-12-01" in note
