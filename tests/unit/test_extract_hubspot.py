"""HubSpot extraction against the fake CRM: the 10,000-result search cap, associations, merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.extract import extract_clients
from tests.fakes import FakeHubSpot, Fault
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

NOW = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
TOKEN = "pat-eu1-PLANTED-hubspot-77c1"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def contact(i: int, created: datetime) -> dict:
    stamp = iso(created)
    return {"id": str(i), "createdAt": stamp, "updatedAt": stamp, "archived": False,
            "properties": {"createdate": stamp, "lastmodifieddate": stamp, "hs_object_id": str(i),
                           "lifecyclestage": "lead", "hubspot_owner_id": "501", "email": f"p{i}@example.com"}}  # fmt: skip


def call(i: int, created: datetime) -> dict:
    stamp = iso(created)
    return {"id": str(i), "createdAt": stamp, "updatedAt": stamp, "archived": False,
            "properties": {"hs_createdate": stamp, "hs_lastmodifieddate": stamp, "hs_object_id": str(i),
                           "hs_timestamp": stamp, "hs_call_direction": "OUTBOUND", "hs_call_status": "COMPLETED",
                           "hs_call_duration": "93000", "hubspot_owner_id": "90001"}}  # fmt: skip


@pytest.fixture
def crm(tmp_path: Path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "northwind-dental")
    start = datetime(2025, 12, 1, tzinfo=UTC)
    # 10,500 contacts created in December alone: one search over the month would be truncated
    contacts = [contact(100_000 + i, start + timedelta(seconds=250 * i)) for i in range(10_500)]
    calls = [call(700 + i, start + timedelta(hours=5 * i)) for i in range(150)]
    links = {("calls", "contacts"): {c["id"]: [str(100_000 + int(c["id"]))] for c in calls},
             ("calls", "deals"): {calls[0]["id"]: ["55"]}}  # fmt: skip
    fake = FakeHubSpot({"contacts": contacts, "calls": calls}, links, TOKEN)
    with fake:
        write_settings(clients_dir, client.client_id, {"hubspot": {
            "mode": "api", "base_url": fake.url, "page_size": 200, "objects": ["contacts", "calls"]}})  # fmt: skip
        yield client, clients_dir, landing, fake


def run(crm, **kwargs):
    client, clients_dir, landing, _ = crm
    kwargs.setdefault("now", NOW)
    return extract_clients(landing, [client], sources=["hubspot"], clients_dir=clients_dir, policy=fast_policy(),
                           environ=connection_env(client.client_id, "hubspot", TOKEN), **kwargs)  # fmt: skip


def test_search_cap_is_windowed_so_the_file_holds_every_record(crm, tmp_path):
    client, _, landing, fake = crm
    lines: list[str] = []
    report = run(crm, progress=lines.append)
    assert report.ok, report.failed
    assert any("splitting" in line for line in lines)
    searches = [r.body for r in fake.calls("/contacts/search")]
    assert all(int(b.get("after") or 0) + b["limit"] <= 10_000 for b in searches)  # never asked past the cap
    assert "email" not in str(searches[0]["properties"])  # no personal data requested
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "hubspot_contacts", "id")
    assert counts == {"rows": 10_500, "distinct": 10_500, "quarantined": 0, "reasons": []}
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assocs = con.execute(
        "select to_object_type, count(*), min(association_type) from raw.hubspot_associations group by 1 order by 1"
    ).fetchall()
    assert assocs == [("contacts", 150, "call_to_contact"), ("deals", 1, "call_to_deal")]


def test_incremental_run_merges_modified_records_without_duplicates(crm, tmp_path):
    client, clients_dir, landing, fake = crm
    write_settings(
        clients_dir, client.client_id, {"hubspot": {"mode": "api", "base_url": fake.url, "objects": ["calls"]}}
    )
    assert run(crm).ok
    changed = fake.objects["calls"][-1]
    changed["properties"]["hs_call_status"] = "NO_ANSWER"
    changed["properties"]["hs_lastmodifieddate"] = iso(NOW + timedelta(hours=2))
    before = len(fake.requests)
    report = run(crm, now=NOW + timedelta(days=1))
    assert report.ok and "changes since" in report.outcomes[0].window
    assert len(fake.requests) - before < 10  # only what changed since the watermark minus overlap
    counts = ingest_counts(landing, tmp_path / "w.duckdb", [client], "hubspot_calls", "id")
    assert counts["rows"] == counts["distinct"] == 150 and counts["quarantined"] == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select hs_call_status from raw.hubspot_calls where id = ?", [changed["id"]]).fetchone() == (
        "NO_ANSWER",
    )


def test_a_repeated_after_cursor_stops_the_run_lands_nothing_and_keeps_the_watermark(crm):
    client, clients_dir, landing, fake = crm
    settings = {"mode": "api", "base_url": fake.url, "page_size": 40, "objects": ["calls"]}
    write_settings(clients_dir, client.client_id, {"hubspot": settings})
    assert run(crm).ok
    client_dir = landing / client.client_id
    before = landed_files(client_dir)
    assert watermark(client_dir, "hubspot") == "2026-01-10T03:00:00Z"  # the first run's start (NOW)
    fake.repeat_cursor = True  # the search answers its first page again, with the same paging.next.after
    asked = len(fake.calls("/calls/search"))
    report = within(30, lambda: run(crm, full=True, now=NOW + timedelta(days=1)))
    assert not report.ok
    error = report.failed[0].error
    assert "HubSpot returned the paging cursor '40' of the calls search twice" in error  # 40 = one page of 40
    assert "roi_northwind_dental_hubspot" in error and "watermark stays" in error
    assert len(fake.calls("/calls/search")) - asked == 3  # the cap probe, page one, page one again: stop
    assert landed_files(client_dir) == before
    assert watermark(client_dir, "hubspot") == "2026-01-10T03:00:00Z"


def test_association_paging_that_repeats_its_after_cursor_stops_the_run(crm):
    client, clients_dir, landing, fake = crm
    settings = {"mode": "api", "base_url": fake.url, "objects": ["calls"]}
    write_settings(clients_dir, client.client_id, {"hubspot": settings})
    stuck = b'{"results": [{"from": {"id": "700"}, "to": [], "paging": {"next": {"after": "abc"}}}]}'
    fake.faults.append(Fault(lambda r: r.path.endswith("/batch/read"), 200, body=stuck, times=1000))
    report = within(30, lambda: run(crm))
    assert not report.ok
    error = report.failed[0].error
    assert 'HubSpot returned the paging cursor \'[["700","abc"]]\' of the calls->contacts associations twice' in error
    assert fake.fault_hits == 2
    assert landed_files(landing / client.client_id) == {}
    assert watermark(landing / client.client_id, "hubspot") is None
