"""Alerts delivered for real: to a local SMTP server (aiosmtpd) through the SMTP provider's
SmtpNotifier, to a local HTTP receiver through the Slack provider's SlackWebhookNotifier and
the Teams webhook POST; and the roi_alerts DAG on sample data, where one stale extraction
opens an incident, stays quiet while open, and clears."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pendulum
import pytest

from roi_pipeline.alerts.notify import Message, NotifyFailed, Route, send
from tests.dags.harness import environment, free_port, make_sample, run_dag
from tests.dags.test_email import _smtp_env, smtp_server  # noqa: F401  (the fixture)

MESSAGE = Message("acme", "Acme <Dental>", "opened", "source_stale", "hubspot_contacts",
                  "hubspot_contacts: last extracted 2026-10-10 12:00 UTC", "2026-10-12T13:00:00Z")  # fmt: skip


@pytest.fixture
def webhook():
    """A local HTTP server that keeps every POST (path, JSON body) and answers 200."""
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_an_alert_e_mail_reaches_the_smtp_server(smtp_server):  # noqa: F811
    port, received = smtp_server
    with environment(_smtp_env(port)):
        send(MESSAGE, "email", Route(email=("ops@northbeam.example",)))
    (mail,) = received
    assert mail["Subject"] == "[ROI alert] Acme <Dental>: extraction stale (hubspot_contacts)"
    assert mail["X-Envelope-To"] == "ops@northbeam.example"
    (html,) = [p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html"]
    assert "hubspot_contacts: last extracted 2026-10-10 12:00 UTC" in html and "Open since 2026-10-12T13:00:00Z" in html


def test_slack_and_teams_payloads_reach_the_webhook(webhook):
    pytest.importorskip("airflow.providers.slack")
    url, received = webhook
    conns = {
        "AIRFLOW_CONN_ACME_SLACK": json.dumps({"conn_type": "slackwebhook", "password": f"{url}/slack/T000/B000/xyz"}),
        "AIRFLOW_CONN_ACME_TEAMS": json.dumps({"conn_type": "http", "password": f"{url}/teams/webhook"}),
    }
    with environment(conns):
        send(MESSAGE, "slack", Route(slack="acme_slack"))
        send(MESSAGE, "teams", Route(teams="acme_teams"))
    (slack_path, slack), (teams_path, teams) = received
    assert slack_path == "/slack/T000/B000/xyz"
    assert slack["text"] == (
        "*[ROI alert] Acme <Dental>: extraction stale (hubspot_contacts)*\n"
        "hubspot_contacts: last extracted 2026-10-10 12:00 UTC\nOpen since 2026-10-12T13:00:00Z."
    )
    assert teams_path == "/teams/webhook"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["text"] for b in attachment["content"]["body"]] == [
        "[ROI alert] Acme <Dental>: extraction stale (hubspot_contacts)",
        "hubspot_contacts: last extracted 2026-10-10 12:00 UTC\nOpen since 2026-10-12T13:00:00Z.",
    ]


def test_a_webhook_that_refuses_fails_naming_the_connection_not_the_url():
    url = f"http://127.0.0.1:{free_port()}/secret-token"  # nothing listens
    conn = {"AIRFLOW_CONN_ACME_TEAMS": json.dumps({"conn_type": "http", "password": url})}
    with environment(conn), pytest.raises(NotifyFailed) as err:
        send(MESSAGE, "teams", Route(teams="acme_teams"))
    assert "connection 'acme_teams'" in str(err.value) and "secret-token" not in str(err.value)


def _extracted(sample, client_id: str, source: str, when: str) -> None:
    path = sample.landing / client_id / source / "_extracts.json"
    marks = json.loads(path.read_text())
    for name in marks:
        marks[name]["extracted_at"] = when
    path.write_text(json.dumps(marks, indent=2))


@pytest.mark.slow
def test_the_alerts_dag_opens_an_incident_once_and_resolves_it_on_sample_data(smtp_server, tmp_path):  # noqa: F811
    port, received = smtp_server
    sample = make_sample(tmp_path / "sample", clients=2, months=2)
    # the sample's October files were extracted on 4 November 12:00 UTC; hudson-roofing's
    # Toggl export last on 2 November 06:00: at 5 November 12:00 that is 78 h (> 48 h) old
    _extracted(sample, "hudson-roofing", "toggl_time_entries", "2026-11-02T06:00:00Z")
    env = {**_smtp_env(port), "ROI_ALERT_EMAIL": "alerts@northbeam.example"}
    state = sample.reports / "_alerts" / "hudson-roofing.json"
    with environment(env):
        run, states, _ = run_dag("roi_alerts", sample, logical_date=pendulum.datetime(2026, 11, 5, 12, tz="UTC"))
        assert str(run.state) == "success", states
        (opened,) = received
        assert opened["Subject"] == "[ROI alert] Hudson Roofing Co.: extraction stale (toggl_time_entries)"
        assert opened["X-Envelope-To"] == "alerts@northbeam.example"
        incidents = json.loads(state.read_text())["incidents"]
        assert list(incidents) == ["source_stale|toggl_time_entries"]
        assert incidents["source_stale|toggl_time_entries"]["status"] == "open"
        assert not (sample.reports / "_alerts" / "harbour-legal.history.jsonl").exists()

        run, states, _ = run_dag("roi_alerts", sample, logical_date=pendulum.datetime(2026, 11, 5, 13, tz="UTC"))
        assert str(run.state) == "success", states
        assert len(received) == 1  # still open: not told again

        _extracted(sample, "hudson-roofing", "toggl_time_entries", "2026-11-05T13:30:00Z")  # extracted again
        run, states, _ = run_dag("roi_alerts", sample, logical_date=pendulum.datetime(2026, 11, 5, 14, tz="UTC"))
        assert str(run.state) == "success", states
    assert len(received) == 2
    assert received[1]["Subject"] == "[ROI alert resolved] Hudson Roofing Co.: extraction stale (toggl_time_entries)"
    assert json.loads(state.read_text())["incidents"] == {}
    (closed,) = [json.loads(x) for x in state.with_name("hudson-roofing.history.jsonl").read_text().splitlines()]
    assert (closed["opened_at"], closed["resolved_at"]) == ("2026-11-05T12:00:00Z", "2026-11-05T14:00:00Z")


@pytest.mark.slow
def test_a_daily_workflow_gone_silent_is_found_in_the_built_marts_and_cleared_when_paused(smtp_server, tmp_path):  # noqa: F811
    """Sample data through the commands a user runs (`roi ingest`, `roi build`: the marts
    snapshot), then the alerts DAG. hudson-roofing's automations stop on 20 October and its run
    logs were extracted on the 25th at 12:00 UTC; quote-followup is its only `runs_daily`
    workflow: at the 25th 14:00 its last production run is more than 36 h before the 12:00 the
    logs cover. harbour-legal's October is complete and quiet (checked: no incident)."""
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    import duckdb

    from tests.dags.test_guarantee_watch import _automations_stop

    port, received = smtp_server
    sample = make_sample(tmp_path / "sample", clients=2, months=2)
    _automations_stop(
        sample, "hudson-roofing", datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 25, 12, tzinfo=UTC)
    )
    roi = Path(sys.executable).parent / "roi"
    for command in ("ingest", "build"):
        done = subprocess.run([str(roi), command], env={**os.environ, **sample.env()},
                              capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with duckdb.connect(str(sample.warehouse.parent / "marts_snapshot.duckdb"), read_only=True) as con:
        (last,) = con.execute(
            "select max(started_at) from marts.fct_automation_runs where client_id = 'hudson-roofing' "
            "and workflow_key = 'quote-followup' and is_production"
        ).fetchone()
    assert last < datetime(2026, 10, 20)  # the stop, as landed (naive UTC)

    env = {**_smtp_env(port), "ROI_ALERT_EMAIL": "alerts@northbeam.example"}
    with environment(env):
        for hour in (14, 15):  # opened at 14:00; still open at 15:00: not told again
            run, states, _ = run_dag("roi_alerts", sample, logical_date=pendulum.datetime(2026, 10, 25, hour, tz="UTC"))
            assert str(run.state) == "success", states
        assert [m["Subject"] for m in received] == [
            "[ROI alert] Hudson Roofing Co.: daily workflow silent (quote-followup)"
        ]
        (html,) = [
            p.get_payload(decode=True).decode() for p in received[0].walk() if p.get_content_type() == "text/html"
        ]
        assert f"last production run {last:%Y-%m-%d %H:%M} UTC (data up to 2026-10-25 12:00 UTC)" in html
        assert json.loads((sample.reports / "_alerts" / "harbour-legal.json").read_text())["incidents"] == {}

        # the consultancy pauses the workflow in the register: not expected to run, the incident clears
        path = sample.clients / "hudson-roofing.yaml"
        path.write_text(path.read_text().replace("runs_daily: true\n", "runs_daily: true\n  status: paused\n", 1))
        run, states, _ = run_dag("roi_alerts", sample, logical_date=pendulum.datetime(2026, 10, 25, 16, tz="UTC"))
        assert str(run.state) == "success", states
    assert [m["Subject"] for m in received[1:]] == [
        "[ROI alert resolved] Hudson Roofing Co.: daily workflow silent (quote-followup)"
    ]
