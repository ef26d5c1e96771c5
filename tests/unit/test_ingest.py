"""The raw layer: idempotent, replaces changed files, quarantines bad rows, isolates failures."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.config import load_client_file
from roi_pipeline.formats import FORMATS, LandingFormat
from roi_pipeline.ingest import ingest
from tests.raw_layer import raw_tables

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clients" / "northwind-dental.yaml"
T0 = datetime(2026, 1, 1, 12, 0, 0)


def make_client(clients_dir: Path, client_id: str = "northwind-dental", **changes):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["client_id"] = client_id
    data.update(changes)
    clients_dir.mkdir(parents=True, exist_ok=True)
    path = clients_dir / f"{client_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_client_file(path)


def execution(id_, workflow="1012", start="2025-12-01T09:00:00.000Z", stop="2025-12-01T09:00:04.000Z", **extra):
    return {
        "id": id_,
        "workflowId": workflow,
        "status": "success",
        "mode": "trigger",
        "finished": True,
        "startedAt": start,
        "stoppedAt": stop,
        "retryOf": None,
        "retrySuccessId": None,
        **extra,
    }


def write_json(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


HARVEST_HEADER = [
    "Date",
    "Client",
    "Project",
    "Project Code",
    "Task",
    "Notes",
    "Hours",
    "Hours Rounded",
    "Billable?",
    "Invoiced?",
    "Approved?",
    "First Name",
    "Last Name",
    "Roles",
    "Employee?",
]


def write_harvest(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HARVEST_HEADER)
        writer.writerows(rows)
    return path


def harvest_row(date="2025-12-01", task="Lead triage", hours="1.5", person=("Ann", "Lee"), notes=""):
    return [date, "Northwind", "Front desk", "", task, notes, hours, hours, "No", "No", "Yes", *person, "", "Yes"]


def count(warehouse: Path, sql: str, params=()):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()[0][0]


@pytest.fixture
def setup(tmp_path):
    landing = tmp_path / "landing"
    warehouse = tmp_path / "wh.duckdb"
    client = make_client(tmp_path / "clients")
    return landing, warehouse, client


def test_same_files_twice_adds_nothing(setup):
    landing, warehouse, client = setup
    write_json(
        landing / client.client_id / "n8n_executions" / "a.json",
        {"data": [execution("1"), execution("2")], "nextCursor": None},
    )
    write_harvest(landing / client.client_id / "harvest_time_entries" / "2025-12.csv", [harvest_row(), harvest_row()])
    first = ingest(landing, warehouse, [client], now=T0)
    assert {f.action for f in first.files} == {"loaded"}
    second = ingest(landing, warehouse, [client], now=T0)
    assert {f.action for f in second.files} == {"unchanged"}
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2
    assert count(warehouse, "select count(*) from raw.harvest_time_entries") == 2
    assert count(warehouse, "select count(*) from raw._ingest_log where action = 'unchanged'") == 2


def test_the_landed_records_text_is_stored_with_zstd(setup):
    # ingest.STORAGE: the _record column of a new raw table is zstd-compressed in the file
    landing, warehouse, client = setup
    write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1"), execution("2")]})
    ingest(landing, warehouse, [client], now=T0)
    sql = (
        "select list(distinct compression) from pragma_storage_info('raw.n8n_executions') "
        "where column_name = '_record' and segment_type = 'VARCHAR'"
    )
    assert count(warehouse, sql) == ["ZSTD"]


def test_changed_file_replaces_its_rows_and_only_its_rows(setup):
    landing, warehouse, client = setup
    a = write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1"), execution("2")]})
    write_json(landing / client.client_id / "n8n_executions" / "b.json", {"data": [execution("3")]})
    ingest(landing, warehouse, [client], now=T0)
    earlier = hashlib.sha256(a.read_bytes()).hexdigest()
    write_json(a, {"data": [execution("2", stop="2025-12-01T09:00:09.000Z"), execution("5")]})
    report = ingest(landing, warehouse, [client], now=T0)
    assert sorted((f.source_file.split("/")[-1], f.action) for f in report.files) == [
        ("a.json", "replaced"),
        ("b.json", "unchanged"),
    ]
    kept = f"northwind-dental/n8n_executions/a.json#earlier-{earlier[:12]}"
    assert [(k.source_file, k.kept_file, k.runs) for k in report.kept] == [
        ("northwind-dental/n8n_executions/a.json", kept, 1)
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ids = con.execute("select id, stopped_at, _source_file from raw.n8n_executions order by id").fetchall()
        sha = con.execute("select distinct _file_sha256 from raw.n8n_executions where id = '5'").fetchall()
        landed = con.execute(
            "select rows_read, rows_loaded, rows_quarantined, file_sha256 from raw._landed_files where source_file = ?",
            [kept],
        ).fetchall()
    # run 2 is replaced by its new record; run 1, which the new version no longer holds, is kept
    # under the earlier version's name (a run landed once stays: vendors prune their history)
    assert [(i, s.second, f.split("/")[-1]) for i, s, f in ids] == [
        ("1", 4, kept.split("/")[-1]),
        ("2", 9, "a.json"),
        ("3", 4, "b.json"),
        ("5", 4, "a.json"),
    ]
    assert sha == [(hashlib.sha256(a.read_bytes()).hexdigest(),)]
    assert landed == [(1, 1, 0, earlier)]


def test_every_record_is_either_loaded_or_quarantined(setup):
    """raw rows = loaded + quarantined, against a count made straight from the files."""
    landing, warehouse, client = setup
    runs = [
        execution("1"),
        execution("2", workflow="9999"),  # unregistered workflow: loaded, counted nowhere by the models
        execution("3", start="not a time"),  # bad timestamp
        execution("4", stop="2025-12-01T08:00:00.000Z"),  # negative duration
        {"workflowId": "1012", "status": "success", "mode": "trigger", "startedAt": "2025-12-01T09:00:00Z"},  # no id
        execution("6", mode="webhook"),
    ]
    write_json(landing / client.client_id / "n8n_executions" / "dec.json", {"data": runs})
    write_harvest(
        landing / client.client_id / "harvest_time_entries" / "dec.csv",
        [harvest_row(), harvest_row(hours="-1"), harvest_row(date="01/12/2025"), harvest_row(hours="0:45")],
    )
    generic = landing / client.client_id / "generic_runs" / "dec.csv"
    generic.parent.mkdir(parents=True)
    generic.write_text(
        "run_id,platform,workflow_id,started_at,finished_at,status,triggered_by,items\n"
        "r1,zapier,zap_88231,2025-12-02T09:00:00Z,2025-12-02T09:00:01Z,success,schedule,4\n"
        "r2,zapier,zap_88231,2025-12-02T09:00:00Z,2025-12-02T09:00:01Z,success,schedule,-4\n"
        "r3,make,scn_4410,2025-12-02 10:00,,running,event,\n"
    )
    ingest(landing, warehouse, [client], now=T0)

    # The independent count: records in each file, read with json / csv directly.
    expected = {
        "n8n_executions": len(
            json.loads((landing / client.client_id / "n8n_executions" / "dec.json").read_text())["data"]
        ),
        "harvest_time_entries": sum(
            1 for _ in csv.DictReader((landing / client.client_id / "harvest_time_entries" / "dec.csv").open())
        ),
        "generic_runs": sum(1 for _ in csv.DictReader(generic.open())),
    }
    for table, records in expected.items():
        loaded = count(warehouse, f"select count(*) from raw.{table}")
        quarantined = count(warehouse, "select count(*) from raw._quarantine where format = ?", [table])
        assert loaded + quarantined == records, table
        manifest = count(warehouse, "select rows_read from raw._landed_files where format = ?", [table])
        assert manifest == records
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 3
    assert count(warehouse, "select count(*) from raw.harvest_time_entries") == 2
    assert count(warehouse, "select count(*) from raw.generic_runs") == 2
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reasons = dict(
            con.execute("select row_number, reason from raw._quarantine where format = 'n8n_executions'").fetchall()
        )
        hours = sorted(r[0] for r in con.execute("select hours from raw.harvest_time_entries").fetchall())
    assert 2 not in reasons
    assert "startedAt" in reasons[3]
    assert "negative duration" in reasons[4]
    assert "missing execution id" in reasons[5]
    assert hours == [0.75, 1.5]


def test_naive_timestamps_are_read_in_the_client_zone_and_flagged(setup):
    landing, warehouse, client = setup  # Europe/London
    generic = landing / client.client_id / "generic_runs" / "jul.csv"
    generic.parent.mkdir(parents=True)
    generic.write_text(
        "run_id,platform,workflow_id,started_at,finished_at,status,triggered_by\n"
        "r1,zapier,zap_88231,2026-07-31 23:30:00,2026-07-31T22:31:00Z,success,schedule\n"
    )
    ingest(landing, warehouse, [client], now=datetime(2026, 8, 3, 9, 0, tzinfo=UTC))  # loaded after the run, as in life
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "select started_at, started_tz_assumed, finished_at, finished_tz_assumed from raw.generic_runs"
        ).fetchall()[0]
    # 23:30 BST = 22:30 UTC; the offset-bearing finish is not an assumption.
    assert row == (datetime(2026, 7, 31, 22, 30), True, datetime(2026, 7, 31, 22, 31), False)


def test_a_broken_file_blocks_neither_its_siblings_nor_other_clients(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    good = make_client(tmp_path / "clients", "good-co")
    broken = make_client(tmp_path / "clients", "broken-co")
    write_json(landing / "good-co" / "n8n_executions" / "a.json", {"data": [execution("1")]})
    bad = landing / "broken-co" / "n8n_executions" / "a.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"data": [{"id": "1", ')  # truncated download
    write_json(landing / "broken-co" / "n8n_executions" / "b.json", {"data": [execution("2")]})
    write_harvest(landing / "broken-co" / "harvest_time_entries" / "x.csv", [harvest_row()])
    report = ingest(landing, warehouse, [broken, good], now=T0)
    failed = report.failed
    assert [(f.client_id, f.source_file) for f in failed] == [("broken-co", "broken-co/n8n_executions/a.json")]
    assert "malformed JSON" in failed[0].error
    with duckdb.connect(str(warehouse), read_only=True) as con:
        per_client = dict(con.execute("select _client_id, count(*) from raw.n8n_executions group by all").fetchall())
        status = con.execute(
            "select status, error from raw._landed_files where source_file like '%broken-co/n8n_executions/a.json'"
        ).fetchall()
    assert per_client == {"good-co": 1, "broken-co": 1}
    assert status[0][0] == "failed" and "malformed JSON" in status[0][1]


def test_a_broken_redelivery_keeps_the_earlier_good_rows(setup):
    landing, warehouse, client = setup
    path = write_json(
        landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1"), execution("2")]}
    )
    ingest(landing, warehouse, [client], now=T0)
    path.write_text("<html>502 Bad Gateway</html>")
    report = ingest(landing, warehouse, [client], now=T0)
    assert [f.action for f in report.files] == ["failed"]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2


def test_runs_of_an_unregistered_workflow_are_kept_and_registering_it_reloads_nothing(tmp_path):
    """docs/method.md: they count nowhere (the models' rule), but are never lost."""
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    client = make_client(tmp_path / "clients")
    write_json(
        landing / client.client_id / "n8n_executions" / "a.json",
        {"data": [execution("1"), execution("2", workflow="2001")]},
    )
    ingest(landing, warehouse, [client], now=T0)
    assert count(warehouse, "select count(*) from raw._quarantine") == 0
    assert count(warehouse, "select count(*) from raw.n8n_executions where workflow_id = '2001'") == 1

    data = yaml.safe_load((tmp_path / "clients" / "northwind-dental.yaml").read_text())
    data["workflows"][0]["platform_workflow_ids"].append("2001")
    (tmp_path / "clients" / "northwind-dental.yaml").write_text(yaml.safe_dump(data))
    updated = load_client_file(tmp_path / "clients" / "northwind-dental.yaml")
    report = ingest(landing, warehouse, [updated], now=T0)
    assert [f.action for f in report.files] == ["unchanged"]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2


def test_a_client_without_landing_data_is_reported_not_fatal(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    present = make_client(tmp_path / "clients", "present-co")
    absent = make_client(tmp_path / "clients", "absent-co")
    write_json(landing / "present-co" / "n8n_executions" / "a.json", {"data": [execution("1")]})
    report = ingest(landing, warehouse, [absent, present], now=T0)
    assert "absent-co" in report.client_errors
    assert count(warehouse, "select count(*) from raw.n8n_executions where _client_id = 'present-co'") == 1


def test_hubspot_associations_land_in_their_own_table_with_lineage(setup):
    landing, warehouse, client = setup
    call = {
        "id": "901",
        "createdAt": "2025-12-01T10:00:00.000Z",
        "updatedAt": "2025-12-01T10:00:00.000Z",
        "archived": False,
        "properties": {
            "hs_timestamp": "2025-12-01T10:00:00.000Z",
            "hs_call_direction": "OUTBOUND",
            "hubspot_owner_id": "90001",
        },
        "associations": {
            "contacts": {"results": [{"id": "51", "type": "call_to_contact"}, {"id": "52", "type": "call_to_contact"}]}
        },
    }
    write_json(
        landing / client.client_id / "hubspot_calls" / "dec.json",
        {"results": [call], "paging": {"next": {"after": "2"}}},
    )
    ingest(landing, warehouse, [client], now=T0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select object_type, object_id, to_object_type, to_object_id, _row_number from raw.hubspot_associations order by to_object_id"
        ).fetchall()
    assert rows == [("calls", "901", "contacts", "51", 1), ("calls", "901", "contacts", "52", 1)]


def test_extraction_time_comes_from_the_folder_manifest(setup):
    landing, warehouse, client = setup
    folder = landing / client.client_id / "n8n_executions"
    write_json(folder / "a.json", {"data": [execution("1")]})
    write_json(folder / "_extracts.json", {"a.json": {"extracted_at": "2026-01-03T03:00:00Z"}})
    ingest(landing, warehouse, [client], now=T0)
    assert count(warehouse, "select extracted_at from raw._landed_files") == datetime(2026, 1, 3, 3, 0)
    assert count(warehouse, "select count(*) from raw._landed_files") == 1, "_extracts.json is not data"


def test_a_parser_version_bump_reparses_unchanged_files(setup, monkeypatch):
    from roi_pipeline.formats.runs import N8nExecutions

    landing, warehouse, client = setup
    write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1")]})
    ingest(landing, warehouse, [client], now=T0)
    monkeypatch.setattr(N8nExecutions, "version", N8nExecutions.version + 1)
    report = ingest(landing, warehouse, [client], now=T0)
    assert [f.action for f in report.files] == ["replaced"]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 1


def test_configuration_lands_in_the_warehouse_with_its_history(setup):
    landing, warehouse, client = setup
    (landing / client.client_id).mkdir(parents=True)
    ingest(landing, warehouse, [client], now=T0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        fees = con.execute(
            "select effective_from, value from raw.config_effective_values "
            "where item = 'monthly_fee' order by effective_from"
        ).fetchall()
        workflows = con.execute("select workflow_key, process_key from raw.config_workflows order by 1").fetchall()
        ids = con.execute("select platform, platform_workflow_id from raw.config_workflow_ids order by 1").fetchall()
    # from examples/clients/northwind-dental.yaml
    assert [(d.isoformat(), v) for d, v in fees] == [("2025-08-01", 2500.0), ("2026-04-01", 2750.0)]
    assert workflows == [
        ("invoice-chasing", "invoice chasing"),
        ("lead-triage", "lead triage"),
        ("recall-reminders", "recall reminders"),
    ]
    assert ids == [("make", "scn_4410"), ("n8n", "1012"), ("zapier", "zap_88231")]


def covers(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select source_file, covers_from, covers_to, covers_basis from raw._landed_files order by 1"
        ).fetchall()
    return {r[0].rsplit("/", 1)[-1]: (r[1].isoformat() if r[1] else None, r[2].isoformat() if r[2] else None, r[3])
            for r in rows}  # fmt: skip


def test_a_timesheet_file_records_the_dates_it_covers(setup):
    """docs/method.md: the vendor's file name, else the extraction record, else first to last entry."""
    landing, warehouse, client = setup
    folder = landing / client.client_id / "harvest_time_entries"
    rows = [harvest_row(date="2025-12-05"), harvest_row(date="2025-12-09")]
    write_harvest(folder / "northwind_time_report_from20251201_to20251215.csv", rows)
    write_harvest(folder / "2025-12.csv", rows)
    write_harvest(folder / "dropped.csv", rows)
    write_harvest(folder / "empty.csv", [])
    write_json(folder / "_extracts.json", {
        "2025-12.csv": {"extracted_at": "2026-01-03T03:00:00Z", "covers_from": "2025-12-01", "covers_to": "2025-12-31"},
        # the name's range wins over a stated one
        "northwind_time_report_from20251201_to20251215.csv": {"covers_from": "2025-11-01", "covers_to": "2025-11-30"},
    })  # fmt: skip
    ingest(landing, warehouse, [client], now=T0)
    assert covers(warehouse) == {
        "2025-12.csv": ("2025-12-01", "2025-12-31", "extraction record"),
        "dropped.csv": ("2025-12-05", "2025-12-09", "entries"),
        "empty.csv": (None, None, None),
        "northwind_time_report_from20251201_to20251215.csv": ("2025-12-01", "2025-12-15", "file name"),
    }
    report = ingest(landing, warehouse, [client], now=T0)
    assert {f.action for f in report.files} == {"unchanged"}
    # a re-extraction that wrote the same bytes still moves the file's place in the order
    write_json(folder / "_extracts.json", {
        "2025-12.csv": {"extracted_at": "2026-02-03T03:00:00Z", "covers_from": "2025-12-01", "covers_to": "2025-12-31"},
    })  # fmt: skip
    report = ingest(landing, warehouse, [client], now=T0)
    assert {f.source_file.rsplit("/", 1)[-1] for f in report.files if f.action == "replaced"} == {"2025-12.csv"}
    assert count(warehouse, "select max(extracted_at) from raw._landed_files") == datetime(2026, 2, 3, 3, 0)


def test_toggl_export_names_state_their_range(setup):
    landing, warehouse, client = setup
    header = ["User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
              "End date", "End time", "Duration", "Tags", "Amount (USD)"]  # fmt: skip
    row = ["Ann Lee", "", "Northwind", "Front desk", "Lead triage", "", "No", "2025-12-02", "09:00:00",
           "2025-12-02", "10:00:00", "01:00:00", "", "0.00"]  # fmt: skip
    for name in ("Toggl_Track_time_entries_2025-12-01_to_2025-12-31.csv", "export_2025-12-01_2025-12-07.csv"):
        path = landing / client.client_id / "toggl_time_entries" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, row])
    ingest(landing, warehouse, [client], now=T0)
    assert covers(warehouse) == {
        "Toggl_Track_time_entries_2025-12-01_to_2025-12-31.csv": ("2025-12-01", "2025-12-31", "file name"),
        "export_2025-12-01_2025-12-07.csv": ("2025-12-01", "2025-12-07", "file name"),
    }


def test_an_api_entry_is_keyed_by_its_id_and_a_repeated_id_is_quarantined(setup):
    landing, warehouse, client = setup
    path = landing / client.client_id / "harvest_time_entries" / "2025-12.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HARVEST_HEADER, "Entry ID"])
        writer.writerows([[*harvest_row(), "9001"], [*harvest_row(), "9002"], [*harvest_row(hours="2"), "9001"]])
    report = ingest(landing, warehouse, [client], now=T0)
    assert (report.files[0].rows_read, report.files[0].rows_loaded, report.files[0].rows_quarantined) == (3, 2, 1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        keys = con.execute("select entry_key, entry_id from raw.harvest_time_entries order by 1").fetchall()
        reason = con.execute("select reason from raw._quarantine").fetchone()[0]
    assert keys == [("id:9001", "9001"), ("id:9002", "9002")]
    assert reason == "duplicate Entry ID '9001' in this file"


def test_a_hand_dropped_file_vouches_for_its_latest_record_and_a_stated_time_replaces_it(setup, capsys, monkeypatch):
    """docs/method.md: no extraction record -> the latest record time (never the load time);
    `roi landed` then writes the record, and re-ingesting the unchanged file picks it up."""
    from roi_pipeline.cli import main as roi

    landing, warehouse, client = setup
    write_json(
        landing / client.client_id / "n8n_executions" / "a.json",
        {"data": [execution("1", stop="2025-12-31T23:59:00Z"), execution("2", start="2025-12-02T08:00:00Z")]},
    )
    # Harvest holds a date: its local midnight (Europe/London in winter = UTC).
    write_harvest(landing / client.client_id / "harvest_time_entries" / "dec.csv", [harvest_row(date="2025-12-30")])
    ingest(landing, warehouse, [client], now=T0)
    sql = "select latest_record_at, extracted_at from raw._landed_files where format = ?"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(sql, ["n8n_executions"]).fetchall() == [(datetime(2025, 12, 31, 23, 59), None)]
        assert con.execute(sql, ["harvest_time_entries"]).fetchall() == [(datetime(2025, 12, 30), None)]

    monkeypatch.setenv("ROI_LANDING_DIR", str(landing))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(landing.parent / "clients"))
    assert roi(["landed", client.client_id, "harvest_time_entries", "--exported-at", "2026-01-04T09:30"]) == 0
    assert roi(["landed", client.client_id, "harvest_time_entries", "--exported-at", "2026-01-04"]) == 1
    assert roi(["landed", client.client_id, "nope", "--exported-at", "2026-01-04T09:30"]) == 1
    assert roi(["landed", client.client_id, "n8n_executions", "b.json", "--exported-at", "2026-01-04"]) == 1
    out = capsys.readouterr().out
    assert "every file already has an extraction record" in out and "unknown source 'nope'" in out
    assert "no such data file: b.json" in out
    record = json.loads((landing / client.client_id / "harvest_time_entries" / "_extracts.json").read_text())
    assert record == {"dec.csv": {"extracted_at": "2026-01-04T09:30:00Z", "stated": True}}

    again = ingest(landing, warehouse, [client], now=T0)
    # the same bytes: the run log is unchanged; a timesheet file is re-read, since its
    # extraction time decides which file wins on the dates it covers
    assert {f.format: f.action for f in again.files} == {
        "n8n_executions": "unchanged",
        "harvest_time_entries": "replaced",
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(sql, ["harvest_time_entries"]).fetchall() == [
            (datetime(2025, 12, 30), datetime(2026, 1, 4, 9, 30))
        ]


def test_a_stated_time_without_offset_is_read_in_the_clients_zone(tmp_path, monkeypatch):
    from roi_pipeline.cli import main as roi

    client = make_client(tmp_path / "clients", "west-client", timezone="America/New_York")
    write_json(tmp_path / "landing" / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1")]})
    monkeypatch.setenv("ROI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    assert roi(["landed", "west-client", "n8n_executions", "--exported-at", "2026-11-04T09:00"]) == 0
    record = json.loads((tmp_path / "landing" / "west-client" / "n8n_executions" / "_extracts.json").read_text())
    # 09:00 in New York on 4 Nov 2026 (EST, UTC-5: daylight time ended on 1 Nov) = 14:00 UTC.
    assert record == {"a.json": {"extracted_at": "2026-11-04T14:00:00Z", "stated": True}}


def test_a_rows_defect_costs_that_row_and_the_file_still_balances(setup):
    """Bytes that are not UTF-8, an oversized field, a ragged line: each quarantines its own row."""
    landing, warehouse, client = setup
    header = "run_id,platform,workflow_id,started_at,status,triggered_by,error_message"

    def run(n: int, message: str = "") -> str:
        return f"r{n},zapier,zap_88231,2025-12-02T0{n}:00:00Z,success,schedule,{message}"

    generic = landing / client.client_id / "generic_runs" / "dec.csv"
    generic.parent.mkdir(parents=True)
    generic.write_bytes(
        b"\n".join(
            [
                header.encode(),
                run(1).encode(),
                run(2, "Z\xfcrich timeout").encode("latin-1"),  # byte 0xFC is not UTF-8
                run(3, '"' + "e" * 200_000 + '"').encode(),  # over the csv module's 128 KiB
                b"r4,zapier,zap_88231",  # 3 fields, the header has 7
                run(5, "Z\u00fcrich ok").encode(),
            ]
        )
        + b"\n"
    )
    # Windows-1252 export of a timesheet: the file fails, with the fix; its sibling loads.
    cp1252 = landing / client.client_id / "harvest_time_entries" / "cp1252.csv"
    write_harvest(cp1252, [harvest_row(person=("Jos\u00e9", "Le\u00f3n")), harvest_row(notes="caf\u00e9")])
    cp1252.write_bytes(cp1252.read_text(encoding="utf-8").encode("cp1252"))
    write_harvest(landing / client.client_id / "harvest_time_entries" / "utf8.csv", [harvest_row()])

    report = ingest(landing, warehouse, [client], now=T0)

    outcomes = {f.source_file.rsplit("/", 1)[-1]: f for f in report.files}
    runs = outcomes["dec.csv"]
    assert (runs.action, runs.rows_read, runs.rows_loaded, runs.rows_quarantined) == ("loaded", 5, 2, 3)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = [r[0] for r in con.execute("select run_id from raw.generic_runs order by run_id").fetchall()]
        reasons = dict(
            con.execute("select row_number, reason from raw._quarantine where format = 'generic_runs'").fetchall()
        )
        landed = con.execute(
            "select source_file, status, error, rows_read, rows_loaded, rows_quarantined from raw._landed_files"
        ).fetchall()
        stored = con.execute("select record from raw._quarantine where row_number = 2").fetchall()[0][0]
    assert loaded == ["r1", "r5"]
    assert sorted(reasons) == [2, 3, 4]
    assert "not UTF-8" in reasons[2] and "0xFC" in reasons[2] and "'error_message'" in reasons[2]
    assert "too long" in reasons[3] and "200,000 characters" in reasons[3]
    assert "3 fields" in reasons[4] and "7" in reasons[4]
    assert "Z\\\\xfcrich" in stored  # the byte as landed, spelled out
    for source, status, _error, read, ok, quarantined in landed:
        if status == "loaded":
            assert read == ok + quarantined, source
    status = {source.rsplit("/", 1)[-1]: (status, error) for source, status, error, *_ in landed}
    assert status["utf8.csv"] == ("loaded", None)
    assert status["cp1252.csv"][0] == "failed"
    assert "not UTF-8" in status["cp1252.csv"][1] and "Windows-1252" in status["cp1252.csv"][1]
    assert "save the file as UTF-8" in status["cp1252.csv"][1]


def test_a_semicolon_export_loads_and_colliding_headers_fail_naming_both(setup):
    landing, warehouse, client = setup
    folder = landing / client.client_id / "harvest_time_entries"
    folder.mkdir(parents=True)
    (folder / "semicolon.csv").write_text(
        ";".join(HARVEST_HEADER) + "\n" + ";".join(harvest_row(hours="0.75", notes="a, b")) + "\n", encoding="utf-8"
    )
    write_harvest(folder / "twice.csv", [harvest_row() + ["2.5"]])
    twice = folder / "twice.csv"
    lines = twice.read_text(encoding="utf-8").splitlines()
    twice.write_text("\n".join([lines[0] + ",Hours (decimal)", *lines[1:]]) + "\n", encoding="utf-8")

    report = ingest(landing, warehouse, [client], now=T0)

    outcomes = {f.source_file.rsplit("/", 1)[-1]: f for f in report.files}
    assert (outcomes["semicolon.csv"].action, outcomes["semicolon.csv"].rows_loaded) == ("loaded", 1)
    assert outcomes["twice.csv"].action == "failed"
    assert "'Hours' and 'Hours (decimal)' both read as 'hours'" in outcomes["twice.csv"].error
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select hours, notes from raw.harvest_time_entries").fetchall() == [(0.75, "a, b")]


def test_files_are_written_in_batches_and_the_batch_size_changes_nothing(tmp_path, monkeypatch):
    """Parsed files are written together; whether one file or all of a client's files share a
    transaction, whether a file's rows become Arrow tables in one chunk or many, and whether
    they are parsed here or in worker processes, the raw layer holds the same rows (and the
    same covered dates), and a re-run with a changed file replaces exactly its rows."""
    import roi_pipeline.ingest as ingest_module

    results = []
    runs = ((1, "1", 50_000), (3, "1", 1), (1_000_000, "1", 2), (3, "2", 50_000), (1_000_000, "2", 1))
    for batch_rows, workers, chunk_rows in runs:
        monkeypatch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
        monkeypatch.setattr(ingest_module, "CHUNK_ROWS", chunk_rows)
        monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)  # any two files go to the pool
        monkeypatch.setenv("ROI_INGEST_WORKERS", workers)
        batch_rows = f"{batch_rows}-{workers}-{chunk_rows}"
        landing, warehouse = tmp_path / f"b{batch_rows}" / "landing", tmp_path / f"b{batch_rows}" / "wh.duckdb"
        client = make_client(tmp_path / f"b{batch_rows}" / "clients")
        folder = landing / client.client_id / "n8n_executions"
        for name, ids in (("a.json", "12"), ("b.json", "345"), ("c.json", "6")):
            write_json(folder / name, {"data": [execution(i) for i in ids] + [execution("")]})  # "": quarantined
        entries = [
            harvest_row("2025-12-03"),
            harvest_row("2025-12-01"),
            harvest_row(hours="x"),
            harvest_row("2025-12-09"),
        ]
        write_harvest(landing / client.client_id / "harvest_time_entries" / "export.csv", entries)
        ingest(landing, warehouse, [client], now=T0)
        kept = "b.json#earlier-" + hashlib.sha256((folder / "b.json").read_bytes()).hexdigest()[:12]
        write_json(folder / "b.json", {"data": [execution("3"), execution("7")]})
        report = ingest(landing, warehouse, [client], now=T0)
        assert sorted((f.source_file.rsplit("/", 1)[-1], f.action) for f in report.files) == [
            ("a.json", "unchanged"),
            ("b.json", "replaced"),
            ("c.json", "unchanged"),
            ("export.csv", "unchanged"),
        ]
        results.append(raw_tables(warehouse))
        assert covers(warehouse)["export.csv"] == ("2025-12-01", "2025-12-09", "entries")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            held = con.execute("select source_file, rows_read, rows_loaded, rows_quarantined from raw._landed_files")
            assert sorted((f.rsplit("/", 1)[-1], *n) for f, *n in held.fetchall()) == [
                ("a.json", 3, 2, 1),
                ("b.json", 2, 2, 0),
                (kept, 2, 2, 0),  # runs 4 and 5, which the new b.json no longer holds
                ("c.json", 2, 1, 1),
                ("export.csv", 4, 3, 1),
            ]
        with duckdb.connect(str(warehouse), read_only=True) as con:
            ids = [r[0] for r in con.execute("select id from raw.n8n_executions order by id").fetchall()]
            log = con.execute("select action, count(*) from raw._ingest_log group by all order by all").fetchall()
        assert ids == ["1", "2", "3", "4", "5", "6", "7"]
        assert log == [("kept", 1), ("loaded", 4), ("replaced", 1), ("unchanged", 3)]
    assert all(result == results[0] for result in results[1:])


def test_a_file_the_database_refuses_fails_alone_and_loads_once_fixed(setup, monkeypatch):
    """A batch the database refuses (here: a parser producing a value its column cannot hold)
    is written again file by file: that file fails with the database's message and nothing of
    it is recorded; its siblings load; the next run, with the parser fixed, loads it."""
    from roi_pipeline.formats.runs import N8nExecutions

    landing, warehouse, client = setup
    folder = landing / client.client_id / "n8n_executions"
    write_json(folder / "a.json", {"data": [execution("1")]})
    write_json(folder / "b.json", {"data": [execution("2"), execution("3")]})
    write_json(folder / "c.json", {"data": [execution("4")]})
    original = N8nExecutions.parse

    def faulty(self, record, ctx):
        parsed = original(self, record, ctx)
        if ctx.source_file.endswith("b.json"):
            parsed.row["items"] = "twelve"
        return parsed

    monkeypatch.setattr(N8nExecutions, "parse", faulty)
    # the fault is in the record-at-a-time parse: the columnar one (formats/columnar.py) stands aside
    monkeypatch.setattr(N8nExecutions, "parse_columns", LandingFormat.parse_columns)
    report = ingest(landing, warehouse, [client], now=T0)
    outcomes = {f.source_file.rsplit("/", 1)[-1]: f for f in report.files}
    assert {name: f.action for name, f in outcomes.items()} == {
        "a.json": "loaded",
        "b.json": "failed",
        "c.json": "loaded",
    }
    assert "Conversion Error" in outcomes["b.json"].error
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2
    assert count(warehouse, "select count(*) from raw._landed_files where source_file like '%b.json'") == 0
    monkeypatch.setattr(N8nExecutions, "parse", original)
    again = ingest(landing, warehouse, [client], now=T0)
    assert sorted((f.source_file.rsplit("/", 1)[-1], f.action) for f in again.files) == [
        ("a.json", "unchanged"),
        ("b.json", "loaded"),
        ("c.json", "unchanged"),
    ]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 4


def test_clients_share_a_batch_and_each_clients_line_says_what_was_written(tmp_path, monkeypatch):
    """A month of many clients with a few new files each is written in one transaction, not one
    per client (per-client commits cost more than the rows at 200 clients). A file the database
    refuses in the shared batch fails alone, and each client's progress line, said once its files
    are written, says so: the other clients' lines and rows are untouched."""
    import roi_pipeline.ingest as ingest_module
    from roi_pipeline.formats.runs import N8nExecutions

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental", "charlie-dental")]
    for n, client in enumerate(clients):
        folder = landing / client.client_id / "n8n_executions"
        write_json(folder / "a.json", {"data": [execution(f"{n}-1"), execution(f"{n}-2")]})
        write_json(folder / "b.json", {"data": [execution(f"{n}-3")]})
    original = N8nExecutions.parse

    def faulty(self, record, ctx):  # bravo's b.json holds a value its column cannot
        parsed = original(self, record, ctx)
        if ctx.client.client_id == "bravo-dental" and ctx.source_file.endswith("b.json"):
            parsed.row["items"] = "twelve"
        return parsed

    monkeypatch.setattr(N8nExecutions, "parse", faulty)
    monkeypatch.setattr(N8nExecutions, "parse_columns", LandingFormat.parse_columns)  # as above
    writes = []
    write = ingest_module._Loader._write

    def counted(self, staged, unchanged):
        writes.append(sorted({s.outcome.client_id for s in staged}))
        return write(self, staged, unchanged)

    monkeypatch.setattr(ingest_module._Loader, "_write", counted)
    lines: list[str] = []
    report = ingest(landing, warehouse, clients, now=T0, progress=lines.append)
    assert writes[0] == ["alpha-dental", "bravo-dental", "charlie-dental"]  # one batch, then file by file
    assert {(f.client_id, f.source_file.rsplit("/", 1)[-1]): f.action for f in report.files} == {
        ("alpha-dental", "a.json"): "loaded",
        ("alpha-dental", "b.json"): "loaded",
        ("bravo-dental", "a.json"): "loaded",
        ("bravo-dental", "b.json"): "failed",
        ("charlie-dental", "a.json"): "loaded",
        ("charlie-dental", "b.json"): "loaded",
    }
    said = [line for line in lines if line.startswith(("[", "    FAILED"))]
    assert said[0] == "[1/3] alpha-dental: 2 files, 2 (re)loaded, 0 unchanged, 0 failed; 3 rows loaded, 0 quarantined"
    assert said[1] == "[2/3] bravo-dental: 2 files, 1 (re)loaded, 0 unchanged, 1 failed; 2 rows loaded, 0 quarantined"
    assert said[2].startswith("    FAILED bravo-dental/n8n_executions/b.json: ConversionException")
    assert said[3] == "[3/3] charlie-dental: 2 files, 2 (re)loaded, 0 unchanged, 0 failed; 3 rows loaded, 0 quarantined"
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 8
    assert count(warehouse, "select count(*) from raw._landed_files") == 5


def test_unchanged_files_bookkeeping_refused_for_one_client_fails_that_clients_file_only(tmp_path, monkeypatch):
    """The unchanged files of every client share a batch's bookkeeping (their stamps and log
    lines). When the database refuses it for one client's file, that file alone is reported
    failed (its rows and record stand); the other clients' files stay unchanged, so their
    reports are not held for it."""
    import roi_pipeline.ingest as ingest_module

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental", "charlie-dental")]
    for n, client in enumerate(clients):
        write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution(f"{n}-1")]})
    assert {f.action for f in ingest(landing, warehouse, clients, now=T0).files} == {"loaded"}
    recorded = ingest_module._Loader._record_written

    def refusing(self, staged, unchanged):
        if any(outcome.client_id == "bravo-dental" for outcome, *_ in unchanged):
            raise duckdb.ConstraintException("refused for bravo-dental")
        return recorded(self, staged, unchanged)

    monkeypatch.setattr(ingest_module._Loader, "_record_written", refusing)
    report = ingest(landing, warehouse, clients, now=T0)
    actions = {f.client_id: (f.action, f.error) for f in report.files}
    assert actions["alpha-dental"] == ("unchanged", None)
    assert actions["charlie-dental"] == ("unchanged", None)
    assert actions["bravo-dental"][0] == "failed" and "refused for bravo-dental" in actions["bravo-dental"][1]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 3  # every client's rows stand
    assert count(warehouse, "select count(*) from raw._landed_files where status = 'loaded'") == 3
    logged = "select count(*) from raw._ingest_log where action = 'unchanged'"
    assert count(warehouse, logged) == 2  # alpha's and charlie's, written each alone


def test_client_lines_wait_only_for_parsed_files_and_come_in_order(tmp_path, monkeypatch):
    """A client's line waits for its parsed files' batch, not for the bookkeeping of unchanged
    files: a re-run with nothing changed says each line as it goes. Before a large file (written
    on its own), the clients before it are written and their lines said first."""
    import roi_pipeline.ingest as ingest_module

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental")]
    write_json(landing / "alpha-dental" / "n8n_executions" / "a.json", {"data": [execution("a1")]})
    big = write_json(
        landing / "bravo-dental" / "n8n_executions" / "big.json", {"data": [execution(f"b{i}") for i in range(40)]}
    )
    monkeypatch.setattr(ingest_module, "LARGE_FILE_BYTES", big.stat().st_size - 1)  # bravo's page only
    events: list[str] = []
    flush = ingest_module._Loader.flush

    def noted(self):
        if self.staged or self.unchanged:
            events.append(f"WRITE {len(self.staged)} parsed, {len(self.unchanged)} unchanged")
        return flush(self)

    monkeypatch.setattr(ingest_module._Loader, "flush", noted)
    ingest(landing, warehouse, clients, now=T0, progress=events.append)
    said = [e for e in events if e.startswith(("[", "WRITE", "    bravo"))]
    assert said == [
        "WRITE 1 parsed, 0 unchanged",
        "[1/2] alpha-dental: 1 files, 1 (re)loaded, 0 unchanged, 0 failed; 1 rows loaded, 0 quarantined",
        "    bravo-dental/n8n_executions/big.json: 0 MiB, written as it is parsed",
        "[2/2] bravo-dental: 1 files, 1 (re)loaded, 0 unchanged, 0 failed; 40 rows loaded, 0 quarantined",
    ]
    events.clear()
    ingest(landing, warehouse, clients, now=T0, progress=events.append)
    said = [e for e in events if e.startswith(("[", "WRITE"))]
    assert said == [
        "[1/2] alpha-dental: 1 files, 0 (re)loaded, 1 unchanged, 0 failed; 0 rows loaded, 0 quarantined",
        "[2/2] bravo-dental: 1 files, 0 (re)loaded, 1 unchanged, 0 failed; 0 rows loaded, 0 quarantined",
        "WRITE 0 parsed, 2 unchanged",
    ]


def test_a_batch_is_written_while_the_next_files_are_parsed_and_lines_wait_for_it(tmp_path, monkeypatch):
    """A batch is written behind, by one writer thread: the next client's file is parsed while
    the first client's batch is still being written (the write below waits until it is, and
    would time out if writing stopped the parsing), batches are written in order, and a
    client's line is said once its own rows are committed (not the next client's)."""
    import threading

    import roi_pipeline.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 1)  # every file is a batch of its own
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")  # parsed in this process, beside the writer
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental")]
    write_json(landing / "alpha-dental" / "n8n_executions" / "a.json", {"data": [execution("a1")]})
    write_json(landing / "bravo-dental" / "n8n_executions" / "b.json", {"data": [execution("b1"), execution("b2")]})
    events: list[str] = []
    b_parsed = threading.Event()
    parse_file, write = ingest_module.parse_file, ingest_module._Loader._write

    def parsing(job, sink=None):
        parsed = parse_file(job, sink)
        events.append(f"parsed {job.path.name}")
        if job.path.name == "b.json":
            b_parsed.set()
        return parsed

    def writing(self, staged, unchanged):
        names = [s.outcome.source_file.rsplit("/", 1)[-1] for s in staged]
        if names == ["a.json"] and not b_parsed.wait(timeout=20):
            raise AssertionError("b.json was not parsed while a.json's batch was being written")
        write(self, staged, unchanged)
        events.append(
            f"committed {names} ({self.con.execute('select count(*) from raw.n8n_executions').fetchone()[0]} rows)"
        )

    monkeypatch.setattr(ingest_module, "parse_file", parsing)
    monkeypatch.setattr(ingest_module._Loader, "_write", writing)
    ingest(landing, warehouse, clients, now=T0, progress=events.append)
    alpha = "[1/2] alpha-dental: 1 files, 1 (re)loaded, 0 unchanged, 0 failed; 1 rows loaded, 0 quarantined"
    bravo = "[2/2] bravo-dental: 1 files, 1 (re)loaded, 0 unchanged, 0 failed; 2 rows loaded, 0 quarantined"
    order = {event: n for n, event in enumerate(events)}
    assert order["parsed a.json"] < order["parsed b.json"] < order["committed ['a.json'] (1 rows)"]
    assert order["committed ['a.json'] (1 rows)"] < order[alpha] < order[bravo]  # each once its rows are in
    assert order["committed ['b.json'] (3 rows)"] < order[bravo]


def test_an_error_in_the_writer_stops_ingestion_and_is_not_said_as_written(tmp_path, monkeypatch):
    """An error that is not the database refusing a file (a bug, memory) stops ingestion with
    that error, raised from the writer thread; no client's line claims its files were
    written, and the next run loads them."""
    import roi_pipeline.ingest as ingest_module

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    client = make_client(tmp_path / "clients")
    write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1")]})
    write = ingest_module._Loader._write

    def broken(self, staged, unchanged):
        raise MemoryError("out of memory while writing")

    monkeypatch.setattr(ingest_module._Loader, "_write", broken)
    lines: list[str] = []
    with pytest.raises(MemoryError, match="out of memory while writing"):
        ingest(landing, warehouse, [client], now=T0, progress=lines.append)
    assert not [line for line in lines if line.startswith("[")]
    monkeypatch.setattr(ingest_module._Loader, "_write", write)
    report = ingest(landing, warehouse, [client], now=T0)
    assert [f.action for f in report.files] == ["loaded"]
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 1


def test_the_files_of_many_clients_are_one_stream_for_the_parsing_workers(tmp_path, monkeypatch):
    """A month of many clients with a file or two each is parsed by the worker processes (the
    files of all clients are one stream), not client by client in this process; a new file is
    hashed there too; the raw layer and every client's line are what one process gives."""
    import roi_pipeline.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)  # any two files are worth the pool
    parsed_by = tmp_path / "parsed_by"
    parsed_by.mkdir()
    parse_file = ingest_module.parse_file

    def noted(job, sink=None):  # runs in whichever process parses the file
        (parsed_by / f"{job.client.client_id}-{job.path.name}").write_text(str(os.getpid()))
        return parse_file(job, sink)

    monkeypatch.setattr(ingest_module, "parse_file", noted)
    results = []
    for workers in ("2", "1"):
        monkeypatch.setenv("ROI_INGEST_WORKERS", workers)
        landing, warehouse = tmp_path / workers / "landing", tmp_path / workers / "wh.duckdb"
        names = ("alpha-dental", "bravo-dental", "charlie-dental", "delta-dental")
        clients = [make_client(tmp_path / workers / "clients", name) for name in names]
        for n, client in enumerate(clients):
            ids = [f"{n}-{k}" for k in range(n + 1)] + [""]  # "": quarantined
            write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution(i) for i in ids]})
        lines: list[str] = []
        ingest(landing, warehouse, clients, now=T0, progress=lines.append)
        pids = {path.read_text() for path in parsed_by.iterdir()}
        if workers == "2":
            assert len(pids) >= 1 and str(os.getpid()) not in pids  # parsed by the pool, not here
        else:
            assert pids == {str(os.getpid())}
        for path in parsed_by.iterdir():
            path.unlink()
        with duckdb.connect(str(warehouse), read_only=True) as con:  # a new file is hashed where it is parsed
            recorded = con.execute(
                "select source_file, file_sha256, (select list(distinct _file_sha256) from raw.n8n_executions r "
                "where r._source_file = f.source_file) from raw._landed_files f"
            ).fetchall()
        assert len(recorded) == 4
        for source_file, sha, in_rows in recorded:
            assert sha == hashlib.sha256((landing / source_file).read_bytes()).hexdigest()
            assert in_rows == [sha]
        results.append((raw_tables(warehouse), [line for line in lines if line.startswith("[")]))
    assert results[0] == results[1]
    assert results[0][1][3] == (
        "[4/4] delta-dental: 1 files, 1 (re)loaded, 0 unchanged, 0 failed; 4 rows loaded, 1 quarantined"
    )


def _pool_ingest(tmp_path: Path, name: str):
    """Three clients' n8n files (one record of each quarantined), ingested by the parsing pool."""
    landing, warehouse = tmp_path / name / "landing", tmp_path / name / "wh.duckdb"
    clients = [make_client(tmp_path / name / "clients", f"{c}-dental") for c in ("alpha", "bravo", "charlie")]
    for n, client in enumerate(clients):
        for part in ("a", "b"):
            ids = [f"{n}-{part}-{k}" for k in range(n + 2)] + [""]  # "": quarantined
            write_json(
                landing / client.client_id / "n8n_executions" / f"{part}.json", {"data": [execution(i) for i in ids]}
            )
    return landing, warehouse, clients


def test_parsed_files_come_back_through_a_spool_file_or_the_pipe_with_the_same_rows(tmp_path, monkeypatch):
    """The parsing processes hand each parsed file back through a file in the spool folder,
    which is gone when ingestion ends; a file that cannot be spooled (a full /dev/shm) comes
    back through the pipe; either way the raw layer is what parsing in this process gives."""
    import roi_pipeline.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)  # any two files go to the pool
    spool_root = tmp_path / "spool-root"
    spool_root.mkdir()
    monkeypatch.setattr(ingest_module, "_spool_root", lambda: str(spool_root))
    came_back: list[str] = []
    unspool = ingest_module._unspool

    def noted(staged):  # in this process: how the parsed file came back
        came_back.append("spool file" if staged.spooled else "pipe")
        path = Path(staged.spooled[0]) if staged.spooled else None
        if path is not None:
            assert path.parent.parent == spool_root and path.parent.name.startswith(f"roi-ingest-{os.getpid()}-")
        unspool(staged)
        assert path is None or not path.exists()  # removed once mapped

    monkeypatch.setattr(ingest_module, "_unspool", noted)
    spool = ingest_module._spool

    def full(staged, folder):  # in a parsing process: the disk fills while the file is written
        monkeypatch.setattr(ingest_module.pa.ipc, "new_stream", _failing_stream)
        spool(staged, folder)
        assert list(folder.glob(f"{os.getpid()}-*")) == []  # the partial file is removed

    results = {}
    for how in ("in this process", "spooled", "spool full", "too little room"):
        came_back.clear()
        monkeypatch.setenv("ROI_INGEST_WORKERS", "1" if how == "in this process" else "2")
        if how == "spool full":
            monkeypatch.setattr(ingest_module, "_spool", full)
        if how == "too little room":
            monkeypatch.setattr(ingest_module, "_spool", spool)
            monkeypatch.setattr(ingest_module, "SPOOL_HEADROOM_BYTES", 1 << 62)  # never that much free
        landing, warehouse, clients = _pool_ingest(tmp_path, how.replace(" ", "-"))
        report = ingest(landing, warehouse, clients, now=T0)
        assert [f.action for f in report.files] == ["loaded"] * 6
        assert report.totals()["rows_loaded"] == 2 + 3 + 4 + 2 + 3 + 4  # ids per file: n + 2, one quarantined each
        results[how] = raw_tables(warehouse)
        expected = {"in this process": [], "spooled": ["spool file"] * 6}.get(how, ["pipe"] * 6)
        assert came_back == expected
        assert list(spool_root.iterdir()) == []  # the spool folder went with the ingestion
    assert results["spooled"] == results["in this process"]
    assert results["spool full"] == results["in this process"]
    assert results["too little room"] == results["in this process"]


def _failing_stream(*_args, **_kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("pool", [True, False], ids=["parsing pool", "parsed here"])
def test_the_spool_folders_of_killed_ingestions_are_removed(tmp_path, monkeypatch, pool):
    """An ingestion killed outright leaves its spool folder in /dev/shm: the next one removes
    the folders of processes no longer alive, whether it starts a parsing pool or not, and
    leaves those of live ones. /dev/shm may be shared with other PID namespaces (containers run
    with ``--ipc=host``), where a process id says nothing: their folders are left alone."""
    import subprocess

    import roi_pipeline.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0 if pool else 1 << 40)
    monkeypatch.setenv("ROI_INGEST_WORKERS", "2")
    spool_root = tmp_path / "spool-root"
    monkeypatch.setattr(ingest_module, "_spool_root", lambda: str(spool_root))
    ended = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    here = os.stat("/proc/self/ns/pid").st_ino
    dead = spool_root / f"roi-ingest-{ended}-ns{here}-x1"
    dead_earlier_version = spool_root / f"roi-ingest-{ended}-x3"  # named before namespaces were
    live = spool_root / f"roi-ingest-{os.getppid()}-ns{here}-x2"
    elsewhere = spool_root / f"roi-ingest-{ended}-ns{here + 1}-x4"  # another namespace's process
    other = spool_root / "someone-else"
    for folder in (dead, dead_earlier_version, live, elsewhere, other):
        folder.mkdir(parents=True)
        (folder / "1-0.arrow").write_bytes(b"x" * 100)
    landing, warehouse, clients = _pool_ingest(tmp_path, "stale")
    spooled: list[str] = []
    make_folder = ingest_module._spool_folder

    def made() -> Path:
        folder = make_folder()
        spooled.append(folder.name)
        return folder

    monkeypatch.setattr(ingest_module, "_spool_folder", made)
    ingest(landing, warehouse, clients, now=T0)
    assert bool(spooled) == pool
    assert all(name.startswith(f"roi-ingest-{os.getpid()}-ns{here}-") for name in spooled)
    assert sorted(p.name for p in spool_root.iterdir()) == sorted([live.name, elsewhere.name, other.name])


def test_a_parsed_file_whose_spool_file_vanished_fails_alone(tmp_path, monkeypatch):
    """A spool file removed before this process maps it (a temporary folder cleaned under a
    running ingestion) fails its landing file, with the reason; the others load, and the next
    run loads that file."""
    import roi_pipeline.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("ROI_INGEST_WORKERS", "2")
    unspool = ingest_module._unspool
    lost: list[str] = []

    def cleaned(staged):
        if staged.outcome.source_file.endswith("bravo-dental/n8n_executions/a.json"):
            Path(staged.spooled[0]).unlink()
            lost.append(staged.outcome.source_file)
        unspool(staged)

    monkeypatch.setattr(ingest_module, "_unspool", cleaned)
    landing, warehouse, clients = _pool_ingest(tmp_path, "vanished")
    report = ingest(landing, warehouse, clients, now=T0)
    assert lost == ["bravo-dental/n8n_executions/a.json"]
    failed = {f.source_file: f.error for f in report.files if f.action == "failed"}
    assert list(failed) == lost
    assert "No such file" in failed[lost[0]]
    assert count(warehouse, "select count(*) from raw.n8n_executions where _source_file = ?", lost) == 0
    # every file's rows but bravo's a.json (3 rows)
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2 + 3 + 4 + 2 + 4

    monkeypatch.setattr(ingest_module, "_unspool", unspool)
    again = ingest(landing, warehouse, clients, now=T0)
    assert {f.source_file: f.action for f in again.files if f.action != "unchanged"} == {lost[0]: "loaded"}
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 2 + 3 + 4 + 2 + 3 + 4


def test_ingestion_leaves_the_garbage_collector_as_it_found_it(setup, monkeypatch):
    """Ingestion keeps the objects loaded before it out of garbage collection while it parses
    (gc.freeze), and gives them back when it ends, however it ends."""
    import gc

    import roi_pipeline.ingest as ingest_module

    landing, warehouse, client = setup
    write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1")]})
    parse_file, frozen = ingest_module.parse_file, []

    def noted(job, sink=None):  # parsed in this process (one small file)
        frozen.append(gc.get_freeze_count())
        if job.path.name == "b.json":
            raise RuntimeError("a bug in a parser")
        return parse_file(job, sink)

    monkeypatch.setattr(ingest_module, "parse_file", noted)
    assert gc.get_freeze_count() == 0
    ingest(landing, warehouse, [client], now=T0)
    assert gc.get_freeze_count() == 0 and frozen[0] > 0
    write_json(landing / client.client_id / "n8n_executions" / "b.json", {"data": [execution("2")]})
    with pytest.raises(RuntimeError, match="a bug in a parser"):
        ingest(landing, warehouse, [client], now=T0)
    assert gc.get_freeze_count() == 0 and frozen[1] > 0

    def failing_close(self):
        raise RuntimeError("closing failed")

    write_json(landing / client.client_id / "n8n_executions" / "c.json", {"data": [execution("3")]})
    monkeypatch.setattr(ingest_module._Loader, "close", failing_close)
    with pytest.raises(RuntimeError, match="closing failed"):
        ingest(landing, warehouse, [client], now=T0)
    assert gc.get_freeze_count() == 0 and frozen[2] > 0
    monkeypatch.undo()

    gc.freeze()  # a process that froze its own heap (a server that forks) keeps it as it was
    try:
        # Neither frozen again nor unfrozen. (Not the freeze count itself: a frozen object freed
        # meanwhile, by ingestion or not, leaves the permanent generation and lowers it.)
        calls: list[str] = []
        for name in ("freeze", "unfreeze"):
            monkeypatch.setattr(gc, name, lambda name=name: calls.append(name))
        write_json(landing / client.client_id / "n8n_executions" / "d.json", {"data": [execution("4")]})
        ingest(landing, warehouse, [client], now=T0)
        monkeypatch.undo()
        assert calls == [] and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_duckdb_takes_the_cores_the_parsing_processes_leave(tmp_path, monkeypatch):
    import roi_pipeline.ingest as ingest_module
    import roi_pipeline.processes as processes

    for cores, workers, threads in ((2, "2", 1), (2, "1", 1), (8, "2", 6), (1, "1", 1), (4, "4", 1)):
        monkeypatch.setattr(processes, "cores", lambda cores=cores: cores)
        monkeypatch.setenv("ROI_INGEST_WORKERS", workers)
        assert ingest_module.duckdb_threads() == threads
        con = ingest_module.connect(tmp_path / f"w-{cores}-{workers}.duckdb")
        try:
            assert con.execute("select current_setting('threads')").fetchone()[0] == threads
        finally:
            con.close()


def test_a_line_that_waited_too_long_has_its_batch_written_early(tmp_path, monkeypatch):
    """Clients share a batch, but a client's line waits at most LINE_WAIT_SECONDS: then the
    batch holding its files is written early (behind, while the next client's files are
    parsed), and its line is said once that batch is written."""
    import roi_pipeline.ingest as ingest_module

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental")]
    for client in clients:
        write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution(client.client_id)]})
    writes: list[list[str]] = []
    write = ingest_module._Loader._write

    def counted(self, staged, unchanged):
        if staged:
            writes.append(sorted({s.outcome.client_id for s in staged}))
        return write(self, staged, unchanged)

    monkeypatch.setattr(ingest_module._Loader, "_write", counted)
    lines: list[str] = []
    for wait, expected in ((3600.0, [["alpha-dental", "bravo-dental"]]), (0.0, [["alpha-dental"], ["bravo-dental"]])):
        monkeypatch.setattr(ingest_module, "LINE_WAIT_SECONDS", wait)
        writes.clear()
        lines.clear()
        warehouse.unlink(missing_ok=True)
        ingest(landing, warehouse, clients, now=T0, progress=lines.append)
        assert writes == expected
        assert [line.split(":")[0] for line in lines if line.startswith("[")] == [
            "[1/2] alpha-dental",
            "[2/2] bravo-dental",
        ]


def test_a_landing_folder_that_cannot_be_listed_fails_its_client_only(tmp_path, monkeypatch):
    """A client's landing folder that cannot be listed (permissions) fails that client, named
    with the reason, and the other clients load: nothing of it is skipped silently either."""
    import roi_pipeline.ingest as ingest_module

    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    clients = [make_client(tmp_path / "clients", name) for name in ("alpha-dental", "bravo-dental")]
    for client in clients:
        write_json(landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution(client.client_id)]})
    locked = str(landing / "alpha-dental" / "n8n_executions")
    scandir = os.scandir

    def refusing(path="."):
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(ingest_module.os, "scandir", refusing)
    lines: list[str] = []
    report = ingest(landing, warehouse, clients, now=T0, progress=lines.append)
    assert [(f.client_id, f.action) for f in report.files] == [("bravo-dental", "loaded")]
    assert report.client_errors["alpha-dental"].startswith("cannot list its landing files: PermissionError")
    said = [line for line in lines if line.startswith("[")]
    assert said[0].startswith("[1/2] alpha-dental: cannot list its landing files: PermissionError")
    assert said[1].startswith("[2/2] bravo-dental: 1 files, 1 (re)loaded")
    assert count(warehouse, "select count(*) from raw.n8n_executions") == 1
    # `roi validate` says so too, and checks the other client
    from roi_pipeline.cli import main

    monkeypatch.setenv("ROI_LANDING_DIR", str(landing))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(warehouse))
    assert main(["validate"]) == 1


def test_the_rows_per_batch_are_checked():
    from roi_pipeline.ingest import BATCH_ROWS, ingest_batch_rows

    assert ingest_batch_rows({"ROI_INGEST_BATCH_ROWS": "1"}) == 1
    assert ingest_batch_rows({}) == BATCH_ROWS
    with pytest.raises(ValueError, match="ROI_INGEST_BATCH_ROWS must be a whole number of rows, not '1e5'"):
        ingest_batch_rows({"ROI_INGEST_BATCH_ROWS": "1e5"})
    with pytest.raises(ValueError, match="at least 1, not 0"):
        ingest_batch_rows({"ROI_INGEST_BATCH_ROWS": "0"})


def test_the_number_of_parsing_processes_is_checked():
    from roi_pipeline.ingest import ingest_workers
    from roi_pipeline.processes import cores

    assert ingest_workers({"ROI_INGEST_WORKERS": "3"}) == 3
    assert ingest_workers({"ROI_INGEST_WORKERS": "1"}) == 1
    assert ingest_workers({}) == (min(cores(), 2) if sys.platform == "linux" else 1)  # one per core, at most 2
    with pytest.raises(ValueError, match="whole number of processes, not 'two'"):
        ingest_workers({"ROI_INGEST_WORKERS": "two"})
    with pytest.raises(ValueError, match="at least 1, not 0"):
        ingest_workers({"ROI_INGEST_WORKERS": "0"})


def test_files_dropped_where_they_are_never_read_are_named(setup):
    """A file in a misspelt folder, with another extension, or under a client folder spelt in
    another case is never read: ingestion names each (IGNORED) instead of leaving the month
    silently short of it, and loads the rest as usual."""
    landing, warehouse, client = setup
    cid = client.client_id
    write_json(landing / cid / "n8n_executions" / "a.json", {"data": [execution("1")]})
    write_json(landing / cid / "n8n_execution" / "b.json", {"data": [execution("2")]})  # misspelt folder
    write_json(landing / cid / "n8n_executions" / "c.txt", {"data": [execution("3")]})  # not .json
    write_json(landing / cid / "n8n_executions" / "_extracts.json", {})  # the project's own: not listed
    write_json(landing / cid.upper() / "n8n_executions" / "d.json", {"data": [execution("4")]})
    (landing / cid / "notes.txt").write_text("loose file", encoding="utf-8")
    said: list[str] = []
    report = ingest(landing, warehouse, [client], now=T0, progress=said.append)
    ignored = [line.strip() for line in said if "IGNORED" in line]
    assert ignored == [
        f"IGNORED {cid.upper()}: not read: the client's landing folder is {cid}/ (case matters)",
        f"IGNORED {cid}/n8n_execution/: not read: not a landing folder (one of: {', '.join(FORMATS)})",
        f"IGNORED {cid}/n8n_executions/c.txt: not read: n8n_executions files end in .json or .jsonl",
        f"IGNORED {cid}/notes.txt: not read: files go in a landing folder (<client>/<folder>/<file>)",
    ]
    assert [f.source_file for f in report.files] == [f"{cid}/n8n_executions/a.json"]


def test_runs_kept_after_an_unreadable_re_delivery_are_a_loaded_file(setup):
    """Version A loads, version B cannot be read (A's rows stay, the file is marked failed),
    version C lacks one of A's runs: that run is kept as a loaded file of A's version, not
    as a failed one (which the raw gate would hold as unreadable for ever)."""
    landing, warehouse, client = setup
    path = write_json(
        landing / client.client_id / "n8n_executions" / "a.json", {"data": [execution("1"), execution("2")]}
    )
    ingest(landing, warehouse, [client], now=T0)
    version_a = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text('{"data": [', encoding="utf-8")
    assert [f.action for f in ingest(landing, warehouse, [client], now=T0).files] == ["failed"]
    write_json(path, {"data": [execution("2")]})
    report = ingest(landing, warehouse, [client], now=T0)
    kept = f"{client.client_id}/n8n_executions/a.json#earlier-{version_a[:12]}"
    assert [(k.kept_file, k.runs) for k in report.kept] == [(kept, 1)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        landed = con.execute(
            "select source_file, status, error, rows_read, rows_loaded, rows_quarantined from raw._landed_files "
            "order by source_file"
        ).fetchall()
    assert landed == [
        (f"{client.client_id}/n8n_executions/a.json", "loaded", None, 1, 1, 0),
        (kept, "loaded", None, 1, 1, 0),
    ]
