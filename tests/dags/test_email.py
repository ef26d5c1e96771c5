"""Reports e-mailed through Airflow's SMTP provider, to an SMTP server started by the test."""

from __future__ import annotations

import email
import json
import textwrap

import pytest

from roi_pipeline.orchestration.steps import email_client
from tests.dags.harness import environment


@pytest.fixture
def smtp_server():
    """A local SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd)."""
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    from tests.dags.harness import free_port

    received: list[email.message.Message] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            received.append(message)
            return "250 OK"

    port = free_port()
    controller = controller_mod.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def _client(tmp_path):
    from roi_pipeline.settings import Locations

    clients = tmp_path / "clients"
    clients.mkdir()
    start = "2025-08-01"
    (clients / "acme.yaml").write_text(
        textwrap.dedent(f"""
        client_id: acme
        name: Acme Dental
        currency: EUR
        timezone: Europe/Berlin
        engagement_start: {start}
        monthly_fee: [{{effective_from: {start}, value: 1000}}]
        hourly_cost: [{{effective_from: {start}, value: 40}}]
        timesheets: {{format: harvest, consultancy_rows: {{field: client, values: [Northbeam]}}}}
        report_contacts: [ops@acme.example, cfo@acme.example]
        workflows:
          - {{key: triage, name: Triage, platform: n8n, platform_workflow_ids: ["1"], owner: ops, risk_class: low,
              process: triage, go_live: {start},
              baseline: {{method: declared, declared_minutes: [{{effective_from: {start}, value: 5}}]}},
              tooling_cost: [{{effective_from: {start}, value: 10}}]}}
    """)
    )
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7 test report\n%%EOF\n")
    return Locations(tmp_path / "landing", clients, tmp_path / "wh.duckdb", tmp_path / "reports"), pdf


def test_a_published_report_is_sent_to_the_clients_contacts(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "reports@northbeam.example",
                      "timeout": 10, "retry_limit": 0}}  # fmt: skip
    rendered = {"client_id": "acme", "month": "2026-10", "status": "published", "pdf": str(pdf)}
    with environment({"AIRFLOW_CONN_ROI_SMTP": json.dumps(conn)}):
        out = email_client(rendered, enabled=True, locations=loc)
    assert out["email"] == "sent" and out["emailed_to"] == ["ops@acme.example", "cfo@acme.example"]
    assert len(received) == 1
    message = received[0]
    assert message["Subject"] == "Acme Dental: automation ROI report for October 2026"
    assert message["X-Envelope-To"] == "ops@acme.example, cfo@acme.example"
    attachments = [p for p in message.walk() if p.get_filename()]
    assert [a.get_filename() for a in attachments] == ["report.pdf"]
    assert attachments[0].get_payload(decode=True) == pdf.read_bytes()


def test_nothing_is_sent_for_a_held_report_or_when_email_is_off(smtp_server, tmp_path):
    _port, received = smtp_server
    loc, pdf = _client(tmp_path)
    held = {"client_id": "acme", "month": "2026-10", "status": "held_back", "pdf": None}
    assert email_client(held, enabled=True, locations=loc)["email"] == "not sent: report held back"
    published = {"client_id": "acme", "month": "2026-10", "status": "published", "pdf": str(pdf)}
    assert email_client(published, enabled=False, locations=loc)["email"] == "off"
    assert received == []
