"""Harvest and Toggl extraction against the fakes: the vendors' CSV exports, loaded with zero quarantine."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.extract import extract_clients
from tests.fakes import FakeHarvest, FakeToggl, Fault
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

NOW = datetime(2026, 1, 12, 4, 0, tzinfo=UTC)
HARVEST_TOKEN, TOGGL_TOKEN = "harvest-PLANTED-2b9d", "toggl-PLANTED-c0ffee"


def harvest_entry(i: int, day: date, task: str, client: str = "Northwind", updated="2026-01-02T10:00:00Z") -> dict:
    return {
        "id": 9_000_000 + i, "spent_date": day.isoformat(), "hours": 1.25 if i % 2 else 0.5, "rounded_hours": 1.25,
        "notes": "Chased, \"urgent\" one\nsecond line" if i == 3 else None, "is_locked": False, "is_closed": i % 3 == 0,
        "is_billed": False, "is_running": False, "billable": client != "Northwind", "billable_rate": 120.0,
        "cost_rate": 32.0, "created_at": updated, "updated_at": updated,
        "user": {"id": 7 if i % 2 else 8, "name": "Ann Lee"}, "client": {"id": 1, "name": client, "currency": "GBP"},
        "project": {"id": 2, "name": "Front desk", "code": "FD"}, "task": {"id": 3, "name": task},
        "external_reference": None,
    }  # fmt: skip


USERS = [
    {"id": 7, "first_name": "Ann", "last_name": "Lee", "roles": ["Reception"], "is_contractor": False},
    {"id": 8, "first_name": "Mary Ann", "last_name": "de Vries", "roles": [], "is_contractor": True},
]


@pytest.fixture
def harvest(tmp_path: Path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "northwind-dental")
    entries = [harvest_entry(i, date(2025, 12, 1) + timedelta(days=i % 40), "Lead triage") for i in range(60)]
    entries += [harvest_entry(100, date(2025, 12, 3), "build", client="Northbeam AI Ops")]
    fake = FakeHarvest(entries, USERS, HARVEST_TOKEN, "424242")
    with fake:
        write_settings(clients_dir, client.client_id, {"harvest": {
            "mode": "api", "base_url": fake.url, "account_id": 424242, "page_size": 7,
            "user_agent": "roi-pipeline tests (ops@example.com)"}})  # fmt: skip
        yield client, clients_dir, landing, fake


def test_harvest_detailed_time_report_csv_loads_with_zero_quarantine(harvest, tmp_path):
    client, clients_dir, landing, fake = harvest
    env = connection_env(client.client_id, "harvest", HARVEST_TOKEN)
    report = extract_clients(landing, [client], ["harvest"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
                             environ=env)  # fmt: skip
    assert report.ok, report.failed
    path = landing / client.client_id / "harvest_time_entries" / "2025-12.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    assert list(rows[0])[:7] == ["Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours"]
    assert {(r["First Name"], r["Last Name"], r["Employee?"]) for r in rows} == {
        ("Ann", "Lee", "Yes"),
        ("Mary Ann", "de Vries", "No"),
    }
    assert all(req.headers["user-agent"].startswith("roi-pipeline tests") for req in fake.requests)
    assert len([r for r in fake.calls("/v2/time_entries")]) > 10  # paged, 7 per page
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "harvest_time_entries", "entry_key")
    assert counts == {"rows": 61, "distinct": 61, "quarantined": 0, "reasons": []}
    # a late edit inside the overlap window: the month is re-exported whole, nothing doubles
    fake.entries[5]["hours"] = 3.0
    fake.entries[5]["updated_at"] = "2026-01-12T09:00:00Z"
    again = extract_clients(landing, [client], ["harvest"], clients_dir=clients_dir, now=NOW + timedelta(days=1),
                            policy=fast_policy(), environ=env)  # fmt: skip
    assert again.ok and "changes since" in again.outcomes[0].window
    assert [f.name for f in again.outcomes[0].files if f.written] == ["2025-12.csv"]
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "harvest_time_entries", "entry_key")
    assert counts["rows"] == counts["distinct"] == 61 and counts["quarantined"] == 0


def toggl_row(i: int, start: datetime, project_id: int, tags: list[int], task_id=None, seconds=1800) -> dict:
    stop = start + timedelta(seconds=seconds)
    return {"user_id": 11, "username": "Dana Cole", "project_id": project_id, "task_id": task_id, "billable": True,
            "description": "Intake, first call", "tag_ids": tags, "billable_amount_in_cents": 2750,
            "hourly_rate_in_cents": 5500, "currency": "USD", "row_number": 0,
            "time_entries": [{"id": 4_000_000 + i, "seconds": seconds, "start": start.isoformat(),
                              "stop": stop.isoformat(), "at": stop.isoformat()}]}  # fmt: skip


TOGGL_LOOKUPS = {
    "projects": [
        {"id": 21, "name": "Client intake", "client_id": 5},
        {"id": 22, "name": "Automation", "client_id": 6},
    ],
    "clients": [{"id": 5, "name": "Harbor Legal"}, {"id": 6, "name": "Northbeam AI Ops"}],
    "tags": [{"id": 31, "name": "operate"}, {"id": 32, "name": "build"}],
    "users": [{"id": 11, "email": "dana@harbor.example", "fullname": "Dana Cole"}],
}


def test_toggl_detailed_csv_in_the_clients_zone_loads_with_zero_quarantine(tmp_path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "harbor-legal", example="harbor-legal")  # America/New_York, Toggl
    rows = [toggl_row(i, datetime(2025, 12, 1, 14, tzinfo=UTC) + timedelta(hours=9 * i), 21, [31]) for i in range(80)]
    # 02:30 UTC on Jan 1st is still December 31st in New York: it belongs to December's file
    rows.append(toggl_row(999, datetime(2026, 1, 1, 2, 30, tzinfo=UTC), 22, [32, 31], task_id=41))
    rows.append({**toggl_row(1000, datetime(2026, 1, 11, 14, tzinfo=UTC), 21, []),
                 "time_entries": [{"id": 4_001_000, "seconds": -1, "start": "2026-01-11T14:00:00+00:00",
                                   "stop": None, "at": "2026-01-11T14:00:00+00:00"}]})  # running  # fmt: skip
    fake = FakeToggl(777, rows, TOGGL_LOOKUPS, {22: [{"id": 41, "name": "Agent tuning"}]}, TOGGL_TOKEN)
    with fake:
        write_settings(clients_dir, client.client_id, {"toggl": {"mode": "api", "base_url": fake.url,
                                                                 "workspace_id": 777, "page_size": 7}})  # fmt: skip
        report = extract_clients(landing, [client], ["toggl"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
                                 environ=connection_env(client.client_id, "toggl", TOGGL_TOKEN))  # fmt: skip
    assert report.ok, report.failed
    assert any("running" in w for w in report.outcomes[0].warnings)
    text = (landing / client.client_id / "toggl_time_entries" / "2025-12.csv").read_text()
    assert text.splitlines()[0].endswith("Tags,Amount (USD),Entry ID")
    assert '2025-12-31,21:30:00,2025-12-31,22:00:00,00:30:00,"build, operate",27.50' in text
    assert "Harbor Legal,Client intake" in text and "Agent tuning" in text
    assert len(fake.calls("/search/time_entries")) > 10
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "toggl_time_entries", "entry_key")
    assert counts == {"rows": 81, "distinct": 81, "quarantined": 0, "reasons": []}


def test_an_api_entry_re_extracted_with_a_change_counts_once_with_its_new_value(harvest, tmp_path):
    """Entries pulled from the API are identified by their ids (docs/method.md): an entry
    edited after its month was extracted (hours changed, moved into the next month) lands
    in the next month's file while the old month's file, outside the incremental window,
    still holds the old version; the models count it once, with the new values."""
    from roi_pipeline.ingest import ingest
    from roi_pipeline.transform import run_dbt

    client, clients_dir, landing, fake = harvest
    env = connection_env(client.client_id, "harvest", HARVEST_TOKEN)

    def extract(now):
        report = extract_clients(landing, [client], ["harvest"], clients_dir=clients_dir, now=now,
                                 policy=fast_policy(), environ=env)  # fmt: skip
        assert report.ok, report.failed

    extract(NOW)
    moved = next(e for e in fake.entries if e["spent_date"] == "2025-12-20")
    moved.update(spent_date="2026-01-03", hours=2.75, updated_at="2026-02-24T00:00:00Z")
    extract(datetime(2026, 2, 25, 4, 0, tzinfo=UTC))
    folder = landing / client.client_id / "harvest_time_entries"
    old = list(csv.DictReader(io.StringIO((folder / "2025-12.csv").read_text(), newline="")))
    new = list(csv.DictReader(io.StringIO((folder / "2026-01.csv").read_text(), newline="")))
    assert [r["Hours"] for r in old if r["Entry ID"] == str(moved["id"])] == ["1.25"]  # not re-exported
    assert [r["Hours"] for r in new if r["Entry ID"] == str(moved["id"])] == ["2.75"]

    warehouse = tmp_path / "w.duckdb"
    assert not ingest(landing, warehouse, [client]).failed
    result = run_dbt(["run", "--select", "+int_time_entries_classified"], warehouse, quiet=True)
    assert result.success, result.failures
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select work_date, hours_logged from intermediate.int_time_entries_classified where entry_key = ?",
            [f"id:{moved['id']}"],
        ).fetchall()
        total = con.execute("select sum(hours_logged) from intermediate.int_time_entries_classified").fetchone()[0]
    assert rows == [(date(2026, 1, 3), 2.75)]
    assert total == pytest.approx(sum(e["hours"] for e in fake.entries))


def test_harvest_page_links_that_do_not_advance_stop_the_run_and_keep_the_watermark(harvest):
    client, clients_dir, landing, fake = harvest
    env = connection_env(client.client_id, "harvest", HARVEST_TOKEN)

    def extract(now, **kwargs):
        return extract_clients(landing, [client], ["harvest"], clients_dir=clients_dir, now=now,
                               policy=fast_policy(), environ=env, **kwargs)  # fmt: skip

    assert extract(NOW).ok
    client_dir = landing / client.client_id
    before = landed_files(client_dir)
    assert watermark(client_dir, "harvest") == "2026-01-12T04:00:00Z"  # the first run's start (NOW)
    fake.repeat_cursor = True  # every page is page 1 again, whose links.next is page 2
    asked = len(fake.calls("/v2/time_entries"))
    report = within(30, lambda: extract(NOW + timedelta(days=1), full=True))
    assert not report.ok
    error = report.failed[0].error
    assert "Harvest returned the paging cursor" in error and "of GET /v2/time_entries twice" in error
    assert "roi_northwind_dental_harvest" in error and "watermark stays" in error
    # December (61 entries, 7 a page) is the first month with a second page: page 1, page 1 again
    assert [r.query.get("page") for r in fake.calls("/v2/time_entries")[asked:] if r.query["from"] == "2025-12-01"] == [
        None,
        "2",
    ]
    assert landed_files(client_dir) == before  # no file written, no extraction record stamped
    assert watermark(client_dir, "harvest") == "2026-01-12T04:00:00Z"


def test_toggl_next_row_headers_that_do_not_advance_stop_the_run(tmp_path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "harbor-legal", example="harbor-legal")
    rows = [toggl_row(i, datetime(2025, 12, 1, 14, tzinfo=UTC) + timedelta(hours=9 * i), 21, [31]) for i in range(20)]
    fake = FakeToggl(777, rows, TOGGL_LOOKUPS, {}, TOGGL_TOKEN)
    fake.repeat_cursor = True  # every page is the first again, with the same X-Next-ID / X-Next-Row-Number
    with fake:
        write_settings(clients_dir, client.client_id, {"toggl": {"mode": "api", "base_url": fake.url,
                                                                 "workspace_id": 777, "page_size": 7}})  # fmt: skip
        report = within(30, lambda: extract_clients(
            landing, [client], ["toggl"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
            environ=connection_env(client.client_id, "toggl", TOGGL_TOKEN)))  # fmt: skip
        searches = fake.calls("/search/time_entries")
    assert not report.ok
    error = report.failed[0].error
    # the second page starts at the 8th row: entry 4_000_007
    assert ("Toggl returned the paging cursor '{\"first_id\":4000007,\"first_row_number\":8}' of "
            "POST /reports/api/v3/workspace/777/search/time_entries twice") in error  # fmt: skip
    assert "roi_harbor_legal_toggl" in error and "watermark stays" in error
    assert [s.body.get("first_row_number") for s in searches if s.body["start_date"] == "2025-11-30"] == [None, 8]
    assert landed_files(landing / client.client_id) == {}  # not even the months before December
    assert watermark(landing / client.client_id, "toggl") is None


def test_a_page_number_the_vendor_ignores_stops_the_run_at_the_same_page(tmp_path):
    """Toggl's project list pages by number: the number advances, but a vendor that ignores it
    answers the same full page again (bounded here, so the old code ends instead of hanging)."""
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "harbor-legal", example="harbor-legal")
    fake = FakeToggl(777, [], TOGGL_LOOKUPS, {}, TOGGL_TOKEN)
    full_page = json.dumps([{"id": 100 + i, "name": f"P{i}", "client_id": 5} for i in range(200)]).encode()
    fake.faults.append(Fault(lambda r: r.path.endswith("/projects"), 200, body=full_page, times=50))
    with fake:
        write_settings(clients_dir, client.client_id, {"toggl": {"mode": "api", "base_url": fake.url,
                                                                 "workspace_id": 777}})  # fmt: skip
        report = within(30, lambda: extract_clients(
            landing, [client], ["toggl"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
            environ=connection_env(client.client_id, "toggl", TOGGL_TOKEN)))  # fmt: skip
    assert not report.ok
    assert ("Toggl returned the same page of 200 record(s) of GET /api/v9/workspaces/777/projects again (page 2)"
            in report.failed[0].error)  # fmt: skip
    assert [r.query["page"] for r in fake.calls("/projects")] == ["1", "2"]
    assert landed_files(landing / client.client_id) == {}
