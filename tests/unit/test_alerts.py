"""Alerts: the four conditions with hand-counted figures, the incident record (told once when
it opens, once when it clears), quiet hours, routing per client. Delivery here is a recording
fake; tests/dags/test_alerts.py delivers to a real SMTP server and webhook receiver."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

import duckdb
import pytest

from roi_pipeline.alerts import detect as d
from roi_pipeline.alerts.notify import NotifyFailed, quiet_until, route_for
from roi_pipeline.alerts.run import AlertsFailed, check_alerts
from roi_pipeline.config import ConfigFileError, load_client_file
from roi_pipeline.settings import Locations


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def client_yaml(client_id: str, alerts: str = "", tz: str = "Europe/Berlin") -> str:
    start = "2026-01-01"
    return textwrap.dedent(f"""
        client_id: {client_id}
        name: {client_id.title()} Ltd
        currency: EUR
        timezone: {tz}
        engagement_start: {start}
        monthly_fee: [{{effective_from: {start}, value: 1000}}]
        hourly_cost: [{{effective_from: {start}, value: 40}}]
        timesheets: {{format: harvest, consultancy_rows: {{field: client, values: [Northbeam]}}}}
        workflows:
          - {{key: triage, name: Triage, platform: n8n, platform_workflow_ids: ["1"], owner: ops, risk_class: low,
              process: triage, go_live: {start}, runs_daily: true,
              baseline: {{method: declared, declared_minutes: [{{effective_from: {start}, value: 5}}]}},
              tooling_cost: [{{effective_from: {start}, value: 10}}]}}
    """) + textwrap.dedent(alerts)


def write_client(tmp_path, client_id: str, alerts: str = "", tz: str = "Europe/Berlin"):
    folder = tmp_path / "clients"
    folder.mkdir(exist_ok=True)
    path = folder / f"{client_id}.yaml"
    path.write_text(client_yaml(client_id, alerts, tz))
    return load_client_file(path)


def locations(tmp_path) -> Locations:
    return Locations(
        tmp_path / "landing", tmp_path / "clients", tmp_path / "wh" / "warehouse.duckdb", tmp_path / "reports"
    )


def extracted(tmp_path, client_id: str, source: str, when: str) -> None:
    folder = tmp_path / "landing" / client_id / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_extracts.json").write_text(json.dumps({"2026-10.json": {"extracted_at": when}}))


# --------------------------------------------------------------------------- the conditions


def test_a_failure_spike_needs_enough_failures_and_a_high_enough_share(tmp_path):
    client = write_client(tmp_path, "acme")  # defaults: 24 h window, >= 3 failed, >= 50 %
    horizon = at("2026-10-12T12:00:00")

    def runs(failed: int, ok: int, hour: int = 10):
        return [
            {"workflow_key": "triage", "started_at": datetime(2026, 10, 12, hour), "status_class": "failed"}
        ] * failed + [
            {"workflow_key": "triage", "started_at": datetime(2026, 10, 12, hour), "status_class": "success"}
        ] * ok

    (spike,) = d.failure_spikes(client, runs(3, 3), horizon)  # 3 of 6 = 50 %
    assert (spike.kind, spike.subject) == ("failure_spike", "triage")
    assert spike.summary == "Triage: 3 of 6 production runs failed in the 24 h to 2026-10-12 12:00 UTC"
    assert d.failure_spikes(client, runs(3, 4), horizon) == []  # 3 of 7 < 50 %
    assert d.failure_spikes(client, runs(2, 0), horizon) == []  # only 2 failed
    # runs after the horizon (data not judged yet) and 24 h or more before it do not count
    assert d.failure_spikes(client, runs(3, 0, hour=13), horizon) == []
    old = [{**r, "started_at": datetime(2026, 10, 11, 12)} for r in runs(3, 0)]
    assert d.failure_spikes(client, old, horizon) == []


def test_a_daily_workflow_is_silent_after_36_hours_without_a_production_run(tmp_path):
    client = write_client(tmp_path, "acme")
    horizon = at("2026-10-12T12:00:00")
    assert d.silent_workflows(client, {"triage": datetime(2026, 10, 11, 0, 0)}, horizon) == []  # exactly 36 h
    (silent,) = d.silent_workflows(client, {"triage": datetime(2026, 10, 10, 23, 59)}, horizon)
    assert silent.subject == "triage" and "last production run 2026-10-10 23:59 UTC" in silent.summary
    (never,) = d.silent_workflows(client, {}, horizon)
    assert "no production run since go-live" in never.summary


def test_a_source_is_stale_48_hours_after_its_latest_extraction(tmp_path):
    client = write_client(tmp_path, "acme")
    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-10T12:00:00Z")
    extracted(tmp_path, "acme", "n8n_executions", "2026-10-10T11:59:00Z")
    times = d.extraction_times(tmp_path / "landing", "acme")
    assert times == {"hubspot_contacts": at("2026-10-10T12:00:00"), "n8n_executions": at("2026-10-10T11:59:00")}
    (stale,) = d.stale_sources(client, times, at("2026-10-12T12:00:00"))
    assert (stale.kind, stale.subject) == ("source_stale", "n8n_executions")


def test_guarantee_at_risk_is_the_watchs_verdict(tmp_path):
    from roi_pipeline.orchestration.watch import latest_watch

    client = write_client(tmp_path, "acme")
    folder = tmp_path / "reports" / "_watch" / "2026-10"
    folder.mkdir(parents=True)
    row = {"client_id": "acme", "guarantee_hours": 40.0, "hours_saved_to_date": 10.0, "projected_month_hours": 30.0,
           "at_risk": True, "verdict": "in progress"}  # fmt: skip
    (folder / "2026-10-11.json").write_text(json.dumps({"month": "2026-10", "day": "2026-10-11", "clients": [row]}))
    (folder / "2026-10-13.json").write_text(json.dumps({"month": "2026-10", "day": "2026-10-13", "clients": []}))
    watched = latest_watch(tmp_path / "reports", "2026-10", at("2026-10-12T09:00:00").date())  # not the 13th's
    (risk,) = d.guarantee_at_risk(client, watched)
    assert risk.subject == "2026-10"
    assert risk.summary == "2026-10: 10.0 h saved so far, projected 30.0 h of 40.0 h guaranteed (watch of 2026-10-11)"
    assert d.guarantee_at_risk(client, {**watched, "clients": [{**row, "at_risk": False}]}) == []


def test_runs_are_read_from_the_marts_snapshot_and_judged_at_the_data_horizon(tmp_path):
    client = write_client(tmp_path, "acme")
    loc = locations(tmp_path)
    loc.marts_snapshot.parent.mkdir(parents=True)
    with duckdb.connect(str(loc.marts_snapshot)) as con:
        con.execute("create table main.snapshot_info as select timestamp '2026-10-12 12:00' as taken_at_utc")
        con.execute("create schema marts")
        con.execute("create table marts.fct_automation_runs (client_id varchar, workflow_key varchar,"
                    " started_at timestamp, status_class varchar, is_production boolean)")  # fmt: skip
        rows = [("acme", "triage", f"2026-10-12 0{h}:00", "failed", True) for h in range(1, 5)]
        rows += [("acme", "triage", "2026-10-12 05:00", "success", False)]  # not production
        rows += [("other", "triage", "2026-10-12 05:00", "failed", True)] * 5  # another client
        con.executemany("insert into marts.fct_automation_runs values (?, ?, ?, ?, ?)", rows)
    # the snapshot is from 12:00; at 20:00 the run logs' extraction (13:00) is later, the snapshot is the horizon
    extracted(tmp_path, "acme", "n8n_executions", "2026-10-12T13:00:00Z")
    found = d.detect([client], now=at("2026-10-12T20:00:00"), locations=loc)
    assert [(f.kind, f.subject) for f in found.findings] == [("failure_spike", "triage")]
    assert "4 of 4 production runs failed in the 24 h to 2026-10-12 12:00 UTC" in found.findings[0].summary
    assert {k for c, k in found.evaluated if c == "acme"} == {"source_stale", "failure_spike", "workflow_silent"}


def test_a_month_file_extracted_after_its_month_covers_only_its_month(tmp_path):
    client = write_client(tmp_path, "acme")  # Berlin: October 2026 ends 2026-10-31 23:00 UTC
    assert d.run_log_horizon(tmp_path / "landing", client) is None  # nothing recorded
    extracted(tmp_path, "acme", "n8n_executions", "2026-11-04T12:00:00Z")  # the file is 2026-10.json
    assert d.run_log_horizon(tmp_path / "landing", client) == at("2026-10-31T23:00:00")
    folder = tmp_path / "landing" / "acme" / "generic_runs"
    folder.mkdir(parents=True)
    (folder / "_extracts.json").write_text(json.dumps({"export-by-hand.csv": {"extracted_at": "2026-10-20T08:00:00Z"}}))
    assert d.run_log_horizon(tmp_path / "landing", client) == at("2026-10-20T08:00:00")  # the earliest folder


def test_an_unreadable_snapshot_is_a_note_and_the_other_checks_still_run(tmp_path):
    client = write_client(tmp_path, "acme")
    loc = locations(tmp_path)
    loc.marts_snapshot.parent.mkdir(parents=True)
    loc.marts_snapshot.write_bytes(b"not a duckdb file")
    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-01T00:00:00Z")
    found = d.detect([client], now=at("2026-10-12T20:00:00"), locations=loc)
    assert [(f.kind, f.subject) for f in found.findings] == [("source_stale", "hubspot_contacts")]
    assert found.evaluated == {("acme", "source_stale")}
    assert len(found.notes) == 1 and "not readable" in found.notes[0]


# --------------------------------------------------------------------------- told once, cleared once


class Outbox(list):
    def __call__(self, message, channel, route):
        self.append((message.client_id, message.event, message.kind, message.subject, channel, route))


def state(tmp_path, client_id: str) -> dict:
    return json.loads((tmp_path / "reports" / "_alerts" / f"{client_id}.json").read_text())["incidents"]


def test_an_incident_is_told_once_while_open_and_once_when_it_clears(tmp_path):
    write_client(tmp_path, "acme", "alerts: {email: [ops@northbeam.example]}")
    loc = locations(tmp_path)
    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-10T12:00:00Z")
    out = Outbox()
    first = check_alerts(now=at("2026-10-12T13:00:00"), locations=loc, sender=out)
    assert first["clients"]["acme"]["opened"] == ["source_stale|hubspot_contacts"]
    assert [m[:5] for m in out] == [("acme", "opened", "source_stale", "hubspot_contacts", "email")]
    for hour in (14, 15, 16):  # still stale: nothing more
        again = check_alerts(now=at(f"2026-10-12T{hour}:00:00"), locations=loc, sender=out)
        assert again["clients"]["acme"] == {"opened": [], "resolved": [], "open": ["source_stale|hubspot_contacts"],
                                            "sent": [], "held_until": None}  # fmt: skip
    assert len(out) == 1
    assert state(tmp_path, "acme")["source_stale|hubspot_contacts"]["sent"]["opened"] == {
        "email": "2026-10-12T13:00:00Z"
    }

    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-12T16:30:00Z")  # extracted again
    cleared = check_alerts(now=at("2026-10-12T17:00:00"), locations=loc, sender=out)
    assert cleared["clients"]["acme"]["resolved"] == ["source_stale|hubspot_contacts"]
    assert [m[:5] for m in out[1:]] == [("acme", "resolved", "source_stale", "hubspot_contacts", "email")]
    assert state(tmp_path, "acme") == {}  # closed and told: moved to the history
    (closed,) = [
        json.loads(x) for x in (tmp_path / "reports" / "_alerts" / "acme.history.jsonl").read_text().splitlines()
    ]
    assert (closed["opened_at"], closed["resolved_at"]) == ("2026-10-12T13:00:00Z", "2026-10-12T17:00:00Z")
    check_alerts(now=at("2026-10-12T18:00:00"), locations=loc, sender=out)
    assert len(out) == 2

    # stale again later: a new incident, told again
    check_alerts(now=at("2026-10-15T18:00:00"), locations=loc, sender=out)
    assert [m[1] for m in out] == ["opened", "resolved", "opened"]


def test_an_incident_that_cannot_be_judged_stays_open(tmp_path):
    write_client(tmp_path, "acme", "alerts: {email: [ops@northbeam.example]}")
    loc = locations(tmp_path)
    folder = tmp_path / "reports" / "_watch" / "2026-10"
    folder.mkdir(parents=True)
    row = {"client_id": "acme", "guarantee_hours": 40.0, "hours_saved_to_date": 1.0, "projected_month_hours": 3.0,
           "at_risk": True, "verdict": "in progress"}  # fmt: skip
    (folder / "2026-10-12.json").write_text(json.dumps({"month": "2026-10", "day": "2026-10-12", "clients": [row]}))
    out = Outbox()
    check_alerts(now=at("2026-10-12T08:00:00"), locations=loc, sender=out)
    assert [m[1:4] for m in out] == [("opened", "guarantee_at_risk", "2026-10")]
    # November: no watch result yet for the month -> not judged, the October incident stays open
    nov = check_alerts(now=at("2026-11-01T05:00:00"), locations=loc, sender=out)
    assert nov["clients"]["acme"]["open"] == ["guarantee_at_risk|2026-10"] and len(out) == 1


def test_quiet_hours_hold_messages_until_they_end_and_drop_none(tmp_path):
    # Berlin, 22:00-07:00 local; in October 2026 Berlin is UTC+2 until the 25th
    write_client(
        tmp_path, "acme", "alerts: {email: [ops@northbeam.example], quiet_hours: {start: '22:00', end: '07:00'}}"
    )
    loc = locations(tmp_path)
    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-10T12:00:00Z")
    out = Outbox()
    night = check_alerts(now=at("2026-10-12T21:00:00"), locations=loc, sender=out)  # 23:00 Berlin
    assert night["clients"]["acme"]["opened"] == ["source_stale|hubspot_contacts"]
    assert night["clients"]["acme"]["held_until"] == "2026-10-13T05:00:00Z" and out == []
    extracted(tmp_path, "acme", "hubspot_contacts", "2026-10-13T02:00:00Z")  # clears during the night
    still = check_alerts(now=at("2026-10-13T04:00:00"), locations=loc, sender=out)  # 06:00 Berlin
    assert still["clients"]["acme"]["resolved"] == ["source_stale|hubspot_contacts"] and out == []
    morning = check_alerts(now=at("2026-10-13T05:00:00"), locations=loc, sender=out)  # 07:00 Berlin
    assert [m[1] for m in out] == ["opened", "resolved"]
    assert morning["clients"]["acme"]["held_until"] is None and state(tmp_path, "acme") == {}


def test_quiet_hours_follow_the_clients_zone_and_daylight_saving():
    from roi_pipeline.config import QuietHours

    quiet = QuietHours(start="22:00", end="07:00")
    # 26 Oct 2026: Berlin is UTC+1 (summer time ended on the 25th)
    assert quiet_until(quiet, "Europe/Berlin", at("2026-10-26T05:59:00")) == at("2026-10-26T06:00:00")
    assert quiet_until(quiet, "Europe/Berlin", at("2026-10-26T06:00:00")) is None
    assert quiet_until(quiet, "America/New_York", at("2026-10-26T05:59:00")) == at("2026-10-26T11:00:00")
    day = QuietHours(start="12:00", end="13:00")
    assert quiet_until(day, "UTC", at("2026-10-26T12:30:00")) == at("2026-10-26T13:00:00")
    assert quiet_until(day, "UTC", at("2026-10-26T13:00:00")) is None


def test_each_clients_alerts_go_to_its_own_route_only(tmp_path):
    write_client(tmp_path, "acme", "alerts: {email: [acme-ops@northbeam.example], slack: acme_slack}")
    write_client(tmp_path, "bolt", "alerts: {teams: bolt_teams}")
    write_client(tmp_path, "cedar")  # no route of its own: the default
    loc = locations(tmp_path)
    for cid in ("acme", "bolt", "cedar"):
        extracted(tmp_path, cid, "hubspot_contacts", "2026-10-10T12:00:00Z")
    out = Outbox()
    check_alerts(now=at("2026-10-12T13:00:00"), locations=loc, sender=out,
                 environ={"ROI_ALERT_EMAIL": "alerts@northbeam.example"})  # fmt: skip
    told = sorted((m[0], m[4], m[5].email, m[5].slack, m[5].teams) for m in out)
    assert told == [
        ("acme", "email", ("acme-ops@northbeam.example",), "acme_slack", None),
        ("acme", "slack", ("acme-ops@northbeam.example",), "acme_slack", None),
        ("bolt", "teams", (), None, "bolt_teams"),
        ("cedar", "email", ("alerts@northbeam.example",), None, None),
    ]


def test_a_failed_channel_is_retried_alone_and_other_clients_are_told(tmp_path):
    write_client(tmp_path, "acme", "alerts: {email: [ops@northbeam.example], slack: acme_slack}")
    write_client(tmp_path, "bolt", "alerts: {email: [ops@northbeam.example]}")
    loc = locations(tmp_path)
    for cid in ("acme", "bolt"):
        extracted(tmp_path, cid, "hubspot_contacts", "2026-10-10T12:00:00Z")
    out = Outbox()

    def slack_down(message, channel, route):
        if channel == "slack":
            raise NotifyFailed(f"{message.client_id}: alert not sent by slack (connection 'acme_slack'): ConnectError")
        out(message, channel, route)

    with pytest.raises(AlertsFailed, match="acme: alert not sent by slack"):
        check_alerts(now=at("2026-10-12T13:00:00"), locations=loc, sender=slack_down)
    assert sorted((m[0], m[4]) for m in out) == [("acme", "email"), ("bolt", "email")]
    check_alerts(now=at("2026-10-12T13:05:00"), locations=loc, sender=out)  # the retry
    assert sorted((m[0], m[4]) for m in out) == [("acme", "email"), ("acme", "slack"), ("bolt", "email")]


def test_route_defaults_and_bad_alert_settings_are_named(tmp_path):
    client = write_client(tmp_path, "acme")
    assert route_for(client, {}).channels() == []
    assert route_for(client, {"ROI_ALERT_EMAIL": "a@x.example, b@x.example"}).email == ("a@x.example", "b@x.example")
    path = tmp_path / "clients" / "acme.yaml"
    path.write_text(client_yaml("acme", "alerts: {quiet_hours: {start: '22:00', end: '22:00'}, slak: x}"))
    with pytest.raises(ConfigFileError) as err:
        load_client_file(path)
    text = str(err.value)
    assert "field alerts.quiet_hours.end: quiet hours start and end at the same time" in text
    assert "field alerts.slak: unknown field" in text


def test_alert_settings_do_not_change_the_configuration_hash_of_the_reports(tmp_path):
    import hashlib

    from roi_pipeline.config_tables import config_rows

    plain = write_client(tmp_path, "acme")
    routed = write_client(
        tmp_path, "acme", "alerts: {email: [ops@northbeam.example], quiet_hours: {start: '22:00', end: '07:00'}}"
    )
    (row,) = config_rows(routed)["config_clients"][:1]
    assert row["config_sha256"] == config_rows(plain)["config_clients"][0]["config_sha256"]
    # the hash of the terms as before alerts existed: the file's fields, without an alerts key
    terms = plain.model_dump(mode="json")
    del terms["alerts"]
    assert row["config_sha256"] == hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()


def test_an_incident_back_before_its_resolution_was_told_is_simply_open_again():
    from roi_pipeline.alerts.detect import Finding
    from roi_pipeline.alerts.store import reconcile

    incidents: dict = {}
    stale = Finding("acme", "source_stale", "hubspot_contacts", "old")
    assert reconcile(incidents, [stale], {"source_stale"}, at("2026-10-12T21:00:00")) == (
        ["source_stale|hubspot_contacts"],
        [],
    )
    incidents["source_stale|hubspot_contacts"]["sent"]["opened"]["email"] = "2026-10-12T21:00:00Z"
    assert reconcile(incidents, [], {"source_stale"}, at("2026-10-12T22:00:00")) == (
        [],
        ["source_stale|hubspot_contacts"],
    )
    assert reconcile(incidents, [stale], {"source_stale"}, at("2026-10-12T23:00:00")) == (
        [],
        [],
    )  # back: no new "opened"
    (incident,) = incidents.values()
    assert (incident["status"], incident["resolved_at"], incident["opened_at"]) == (
        "open",
        None,
        "2026-10-12T21:00:00Z",
    )
    assert incident["sent"] == {"opened": {"email": "2026-10-12T21:00:00Z"}, "resolved": {}}
    # a kind that was not judged this time never clears
    assert reconcile(incidents, [], {"failure_spike"}, at("2026-10-13T00:00:00")) == ([], [])


def test_the_documented_alert_defaults_are_the_codes():
    from pathlib import Path

    from roi_pipeline.config import AlertSettings

    root = Path(__file__).resolve().parents[2]
    defaults = AlertSettings()
    table = (root / "examples" / "clients" / "README.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in (
        "failure_window_hours",
        "failure_min_count",
        "failure_min_rate",
        "silent_after_hours",
        "stale_after_hours",
    ):
        value = getattr(defaults, name)
        assert f"`{name}` ({value})" in table, name
        assert f"{name}: {value}" in readme, name
