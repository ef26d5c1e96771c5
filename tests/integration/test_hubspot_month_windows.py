"""The monthly extract of HubSpot fetches what the month's figures read (issue: CRM windows).

A lead created in M is answered up to the settle cutoff, and its meeting / closed-won deal
counts within 30 days of its creation: records created *after* M. And a record changed since
the last extract must be re-landed whatever month it was created in. The scenario: a sample
client's CRM is served by the fake HubSpot; the monthly DAG's extract (one month, ``full``)
runs for January and February, some records change, then March is extracted after its cohort
windows have closed and ``roi run --month 2026-03`` publishes the report. Its lead response,
meeting rate and conversion must equal those computed independently
(tests/integration/roi_reference.py, plus the cohort arithmetic below) from a full export of
the same CRM.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from roi_pipeline.cli import main
from roi_pipeline.config import load_client_file
from roi_pipeline.extract import extract_clients
from roi_pipeline.sample.generator import generate
from tests.fakes import FakeHubSpot
from tests.fakes.clients import connection_env, fast_policy, write_settings
from tests.integration import roi_reference as ref

TOKEN = "pat-eu1-PLANTED-hubspot-month-windows"
OBJECTS = ("contacts", "calls", "emails", "meetings", "deals")
MONTH = "2026-03"
CLIENT = "harbour-legal"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def landed(folder: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")):
        if not path.name.startswith("_"):
            for record in ref.read_json_objects(path, "results"):
                out[str(record["id"])] = record
    return out


def record(obj: str, i: int, created: datetime, contact: str | None, **props: str) -> dict:
    """A HubSpot object as the search API holds it (the fake filters on its properties)."""
    stamp = iso(created)
    created_prop = {"createdate": stamp} if obj in ("contacts", "deals") else {"hs_createdate": stamp}
    modified = "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"
    out = {"id": str(i), "createdAt": stamp, "updatedAt": stamp, "archived": False,
           "properties": {**created_prop, modified: stamp, "hs_object_id": str(i), **props}}  # fmt: skip
    if contact is not None:
        out["associations"] = {"contacts": {"results": [{"id": contact, "type": f"{obj[:-1]}_to_contact"}]}}
    return out


def crm_from_sample(landing: Path) -> dict[str, list[dict]]:
    """The generated CRM as a HubSpot account holds it (every record, with its modification time)."""
    objects = {}
    for obj in OBJECTS:
        records = landed(landing / CLIENT / f"hubspot_{obj}")
        modified = "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"
        for rec in records.values():
            rec["properties"].setdefault(modified, rec["updatedAt"])
            if obj not in ("contacts", "deals"):
                rec["properties"].setdefault("hs_createdate", rec["createdAt"])
        objects[obj] = sorted(records.values(), key=lambda r: int(r["id"]))
    return objects


def associations(objects: dict[str, list[dict]]) -> dict[tuple[str, str], dict[str, list[str]]]:
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for obj in OBJECTS[1:]:
        for rec in objects[obj]:
            ids = [a["id"] for a in ((rec.get("associations") or {}).get("contacts") or {}).get("results") or []]
            if ids:
                out.setdefault((obj, "contacts"), {})[rec["id"]] = ids
    return out


def write_full_export(objects: dict[str, list[dict]], landing: Path) -> None:
    for obj in OBJECTS:
        folder = landing / CLIENT / f"hubspot_{obj}"
        folder.mkdir(parents=True)
        (folder / "export.json").write_text(json.dumps({"results": objects[obj]}))


def cohorts(client, crm: dict[str, dict[str, ref.CrmRecord]], start: datetime, end: datetime) -> dict[str, float]:
    """Meeting rate and conversion of the leads created in [start, end): a meeting (any outcome)
    or a closed-won deal (by close date) associated with the lead within cohort_window_days of
    its creation, both ends included (docs/method.md)."""
    window = timedelta(days=client.cohort_window_days)
    leads = {c.id: c.created for c in crm["contacts"].values() if c.created and start <= c.created < end}
    met, won = set(), set()
    for rec in crm["meetings"].values():
        for cid in rec.contact_ids:
            if cid in leads and rec.timestamp and leads[cid] <= rec.timestamp <= leads[cid] + window:
                met.add(cid)
    for rec in crm["deals"].values():
        is_won = str(rec.props.get("hs_is_closed_won") or "").lower() == "true" or (
            str(rec.props.get("dealstage") or "").lower() == "closedwon"
        )
        closed = ref.parse_instant(rec.props.get("closedate"), ZoneInfo("UTC"))
        for cid in rec.contact_ids:
            if is_won and cid in leads and closed and leads[cid] <= closed <= leads[cid] + window:
                won.add(cid)
    return {"meeting_rate": len(met) / len(leads), "conversion_rate": len(won) / len(leads)}


@pytest.mark.slow
def test_the_monthly_extract_lands_what_the_months_figures_read(tmp_path, monkeypatch):
    sample, landing, clients_dir = tmp_path / "sample", tmp_path / "landing", tmp_path / "clients"
    generate(sample, clients_dir, clients=1, months=3, end_month=MONTH)
    client = load_client_file(clients_dir / f"{CLIENT}.yaml")
    tz = ZoneInfo(client.timezone)
    objects = crm_from_sample(sample)

    # March leads whose outcome arrives after March: an answer within the settle period, a
    # meeting and a closed-won deal (created and closed in April) within their 30 days.
    late_answer = record("contacts", 990001, datetime(2026, 3, 31, 21, 0, tzinfo=UTC), None)
    met_later = record("contacts", 990002, datetime(2026, 3, 25, 10, 0, tzinfo=UTC), None)
    won_later = record("contacts", 990003, datetime(2026, 3, 20, 10, 0, tzinfo=UTC), None)
    email = record("emails", 990101, datetime(2026, 4, 2, 8, 0, tzinfo=UTC), "990001",
                   hs_timestamp=iso(datetime(2026, 4, 2, 8, 0, tzinfo=UTC)), hs_email_direction="EMAIL",
                   hs_email_status="SENT", hubspot_owner_id="70101")  # fmt: skip
    meeting = record("meetings", 990201, datetime(2026, 4, 19, 9, 0, tzinfo=UTC), "990002",
                     hs_timestamp=iso(datetime(2026, 4, 20, 9, 0, tzinfo=UTC)), hs_meeting_outcome="COMPLETED",
                     hubspot_owner_id="70101")  # fmt: skip
    deal = record("deals", 990301, datetime(2026, 4, 10, 9, 0, tzinfo=UTC), "990003", dealstage="closedwon",
                  hs_is_closed_won="true", closedate=iso(datetime(2026, 4, 15, 9, 0, tzinfo=UTC)), amount="900.00",
                  pipeline="default", dealname="Late win", hubspot_owner_id="70101")  # fmt: skip
    for obj, rec in (("contacts", late_answer), ("contacts", met_later), ("contacts", won_later),
                     ("emails", email), ("meetings", meeting), ("deals", deal)):  # fmt: skip
        objects[obj].append(rec)
    fake = FakeHubSpot(objects, associations(objects), TOKEN)

    # the client's other sources are the sample's drop folders; HubSpot is read by API
    for folder in (sample / CLIENT).iterdir():
        if not folder.name.startswith("hubspot_"):
            shutil.copytree(folder, landing / CLIENT / folder.name)
    env = connection_env(CLIENT, "hubspot", TOKEN)

    def extract(month: str, now: datetime) -> None:
        report = extract_clients(landing, [client], ["hubspot"], month=month, full=True, clients_dir=clients_dir,
                                 now=now, policy=fast_policy(), environ=env)  # fmt: skip
        assert report.ok, report.failed

    with fake:
        write_settings(clients_dir, CLIENT, {"hubspot": {"mode": "api", "base_url": fake.url, "page_size": 200}})
        extract("2026-01", datetime(2026, 2, 5, 3, 0, tzinfo=UTC))
        last_extract = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
        extract("2026-02", last_extract)
        # after February's extract, a February call is corrected in the CRM
        call = next(c for c in objects["calls"] if c["createdAt"].startswith("2026-02"))
        call["properties"].update(
            hs_call_direction="INBOUND", hs_lastmodifieddate=iso(datetime(2026, 4, 1, tzinfo=UTC))
        )
        before = len(fake.requests)
        extract(MONTH, datetime(2026, 5, 6, 3, 0, tzinfo=UTC))
        searches = [(r.path.split("/")[-2], r.body) for r in fake.requests[before:] if r.path.endswith("/search")]

    # the windows docs/method.md defines: event times from the start of March to the end of the last cohort window
    # (later than the settle cutoff), and every change since the last extract minus the 72 h overlap
    start = datetime(2026, 3, 1, tzinfo=tz)
    horizon = datetime(2026, 4, 1, tzinfo=tz).astimezone(UTC) + timedelta(days=30)  # 30 x 24 h
    asked = {(obj, f["propertyName"], f["operator"], int(f["value"]))
             for obj, body in searches for f in body["filterGroups"][0]["filters"]}  # fmt: skip
    for obj, prop in (("calls", "hs_timestamp"), ("emails", "hs_timestamp"), ("meetings", "hs_timestamp"),
                      ("deals", "closedate")):  # fmt: skip
        assert {(obj, prop, "GTE", ms(start)), (obj, prop, "LT", ms(horizon))} <= asked, obj
    for obj in OBJECTS:
        modified = "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"
        assert (obj, modified, "GTE", ms(last_extract - timedelta(hours=72))) in asked, obj

    # what was landed: the late answer, meeting and deal (in April's files), the corrected call
    assert "990101" in landed(landing / CLIENT / "hubspot_emails")
    assert "990201" in landed(landing / CLIENT / "hubspot_meetings")
    assert "990301" in landed(landing / CLIENT / "hubspot_deals")
    assert landed(landing / CLIENT / "hubspot_calls")[call["id"]]["properties"]["hs_call_direction"] == "INBOUND"

    for name, sub in (("LANDING", "landing"), ("CLIENTS", "clients"), ("REPORTS", "reports")):
        monkeypatch.setenv(f"ROI_{name}_DIR", str(tmp_path / sub))
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    assert main(["run", "--month", MONTH]) == 0
    kpis = json.loads((tmp_path / "reports" / CLIENT / MONTH / "report.json").read_text(encoding="utf-8"))["kpis"]

    # the same figures from a full export of the CRM, computed independently
    full = tmp_path / "full-export"
    write_full_export(objects, full)
    crm = {obj: ref.load_crm(client, full, obj) for obj in OBJECTS}
    month = datetime(2026, 3, 1).date()
    expected = ref.lead_response(client, crm, month)
    expected |= cohorts(client, crm, start.astimezone(UTC), datetime(2026, 4, 1, tzinfo=tz).astimezone(UTC))
    assert kpis["leads_created"] == expected["leads_created"]
    assert kpis["leads_unanswered"] == expected["leads_unanswered"]
    for figure in ("response_minutes_median", "response_minutes_p90", "meeting_rate", "conversion_rate"):
        assert kpis[figure] == pytest.approx(expected[figure], rel=1e-9), figure
