"""Reports e-mailed through Airflow's SMTP provider, to an SMTP server started by the test."""

from __future__ import annotations

import email
import hashlib
import json
import textwrap
from datetime import UTC, datetime

import pytest

from roi_pipeline.orchestration.steps import ClientStepFailed, email_client
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
    reports = tmp_path / "reports"
    pdf = reports / "acme" / "2026-10" / "report.pdf"  # where the month's report is published
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7 test report\n%%EOF\n")
    return Locations(tmp_path / "landing", clients, tmp_path / "wh.duckdb", reports), pdf


def _smtp_env(port: int) -> dict[str, str]:
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "reports@northbeam.example",
                      "timeout": 10, "retry_limit": 0}}  # fmt: skip
    return {"AIRFLOW_CONN_ROI_SMTP": json.dumps(conn)}


def test_a_published_report_is_sent_to_the_clients_contacts(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    rendered = {"client_id": "acme", "month": "2026-10", "status": "published", "pdf": str(pdf)}
    with environment(_smtp_env(port)):
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


CONTACTS = ["ops@acme.example", "cfo@acme.example"]
PUBLISHED = {"client_id": "acme", "month": "2026-10", "status": "published"}


def _ledger(loc, client: str = "acme", month: str = "2026-10") -> list[dict]:
    """The e-mail record as a person reads it: <reports>/_sent/<client>/<month>.jsonl, one JSON line each."""
    path = loc.reports_dir / "_sent" / client / f"{month}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _at(text: str):
    return lambda: datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_retry_or_rerun_of_the_same_report_sends_nothing_and_says_when_it_went(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    rendered = {**PUBLISHED, "pdf": str(pdf)}
    published_before = sorted(p.name for p in pdf.parent.iterdir())
    with environment(_smtp_env(port)):
        first = email_client(rendered, enabled=True, locations=loc)
        again = email_client(rendered, enabled=True, locations=loc)
    assert first["email"] == "sent" and first["emailed_to"] == CONTACTS
    assert len(received) == 1
    (entry,) = _ledger(loc)
    assert again["email"] == f"already sent {entry['sent_at']} to ops@acme.example, cfo@acme.example"
    assert again["emailed_to"] == []
    # the record is kept outside the published report directory, which is left as it was
    assert sorted(p.name for p in pdf.parent.iterdir()) == published_before


def test_the_record_says_which_report_went_when_and_to_whom(smtp_server, tmp_path):
    port, _received = smtp_server
    loc, pdf = _client(tmp_path)
    with environment(_smtp_env(port)):
        email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc, now=_at("2026-11-04T06:12:30"))
    assert _ledger(loc) == [
        {
            "client_id": "acme",
            "month": "2026-10",
            "report_sha256": hashlib.sha256(b"%PDF-1.7 test report\n%%EOF\n").hexdigest(),
            "sent_at": "2026-11-04T06:12:30Z",
            "recipients": CONTACTS,
            "restated": False,
        }
    ]


def test_a_changed_report_is_sent_again_as_restated(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    rendered = {**PUBLISHED, "pdf": str(pdf)}
    with environment(_smtp_env(port)):
        email_client(rendered, enabled=True, locations=loc, now=_at("2026-11-04T06:00:00"))
        restated_pdf = b"%PDF-1.7 restated report\n%%EOF\n"
        pdf.write_bytes(restated_pdf)  # the month was re-run on corrected data
        out = email_client(rendered, enabled=True, locations=loc, now=_at("2026-11-20T09:30:00"))
        again = email_client(rendered, enabled=True, locations=loc, now=_at("2026-11-21T09:30:00"))
    assert out["email"] == "sent (restated)" and out["emailed_to"] == CONTACTS
    assert again["email"] == "already sent 2026-11-20T09:30:00Z to ops@acme.example, cfo@acme.example"
    assert len(received) == 2
    message = received[1]
    assert message["Subject"] == "Acme Dental: automation ROI report for October 2026 (restated)"
    (html,) = [p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/html"]
    assert "restated" in html and "2026-11-04T06:00:00Z" in html
    (attachment,) = [p for p in message.walk() if p.get_filename()]
    assert attachment.get_payload(decode=True) == restated_pdf
    first, second = _ledger(loc)
    assert first["restated"] is False and first["sent_at"] == "2026-11-04T06:00:00Z"
    assert second == {
        "client_id": "acme",
        "month": "2026-10",
        "report_sha256": hashlib.sha256(restated_pdf).hexdigest(),
        "sent_at": "2026-11-20T09:30:00Z",
        "recipients": CONTACTS,
        "restated": True,
    }


def test_a_failed_send_records_nothing_and_the_retry_sends(smtp_server, tmp_path):
    from tests.dags.harness import free_port

    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    rendered = {**PUBLISHED, "pdf": str(pdf)}
    with (
        environment(_smtp_env(free_port())),
        pytest.raises(ClientStepFailed, match="acme 2026-10: report not e-mailed"),
    ):
        email_client(rendered, enabled=True, locations=loc)
    assert _ledger(loc) == []
    with environment(_smtp_env(port)):
        out = email_client(rendered, enabled=True, locations=loc, now=_at("2026-11-04T07:00:00"))
    assert out["email"] == "sent" and len(received) == 1
    assert [(e["sent_at"], e["restated"]) for e in _ledger(loc)] == [("2026-11-04T07:00:00Z", False)]


def test_a_month_rendered_again_is_sent_again_only_when_its_figures_changed(smtp_server, sample_pipeline, tmp_path):
    """Through the real renderer: a re-run after a deployment gives a PDF with other bytes (it
    names the commit that rendered it) and the same figures: the client gets nothing new. A
    correction that changes a figure goes out again, marked "restated"."""
    import shutil
    from contextlib import closing

    import duckdb

    from roi_pipeline.report import Consultancy, QualityStatus, render_client_month
    from roi_pipeline.settings import Locations

    port, received = smtp_server
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_pipeline.warehouse, warehouse)
    reports = tmp_path / "reports"
    loc = Locations(sample_pipeline.landing_dir, sample_pipeline.clients_dir, warehouse, reports)
    client, month = "hudson-roofing", "2026-10"

    def run_month(commit: str, when: str) -> tuple[bytes, dict]:
        with environment({"ROI_GIT_COMMIT": commit, **_smtp_env(port)}):
            result = render_client_month(
                warehouse,
                client,
                month,
                reports,
                quality=QualityStatus(),
                consultancy=Consultancy("Northbeam", "x@y.example"),
            )
            pdf = result.files["report.pdf"]
            rendered = {"client_id": client, "month": month, "status": result.status, "pdf": str(pdf)}
            return pdf.read_bytes(), email_client(rendered, enabled=True, locations=loc, now=_at(when))

    first_pdf, first = run_month("1111111111111111111111111111111111111111", "2026-11-03T06:00:00")
    redeployed_pdf, again = run_month("2222222222222222222222222222222222222222", "2026-11-10T06:00:00")
    assert first["email"] == "sent"
    assert redeployed_pdf != first_pdf  # other bytes ...
    assert again["emailed_to"] == []  # ... the same report
    assert again["email"] == (
        "already sent 2026-11-03T06:00:00Z to ops@hudson-roofing.example (the same figures; this PDF was rendered again)"
    )
    assert len(received) == 1

    published = json.loads((reports / client / month / "report.json").read_text(encoding="utf-8"))
    with closing(duckdb.connect(str(warehouse))) as con:  # the month's hours corrected
        con.execute(
            "update marts.fct_client_months set hours_saved = hours_saved + 2.5 "
            "where client_id = ? and report_month = date '2026-10-01'",
            [client],
        )
    _, corrected = run_month("2222222222222222222222222222222222222222", "2026-11-20T06:00:00")
    assert corrected["email"] == "sent (restated)"
    assert len(received) == 2
    assert received[1]["Subject"].endswith("(restated)")
    sent_first, sent_second = _ledger(loc, client, month)
    hours = "headline.hours_saved"
    assert sent_first["figures"]["figures"][hours] == published["headline"]["hours_saved"]
    assert sent_second["figures"]["figures"][hours] == pytest.approx(published["headline"]["hours_saved"] + 2.5)
    assert sent_second["restated"] is True


def test_an_entry_recorded_before_figures_were_kept_is_compared_by_its_pdf(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    ledger = loc.reports_dir / "_sent" / "acme" / "2026-10.jsonl"
    ledger.parent.mkdir(parents=True)
    old_entry = {"client_id": "acme", "month": "2026-10", "report_sha256": hashlib.sha256(pdf.read_bytes()).hexdigest(),
                 "sent_at": "2026-11-01T06:00:00Z", "recipients": CONTACTS, "restated": False}  # fmt: skip
    ledger.write_text(json.dumps(old_entry) + "\n", encoding="utf-8")
    (pdf.parent / "report.json").write_text(json.dumps({"schema_version": "1.2", "status": "ok"}), encoding="utf-8")
    with environment(_smtp_env(port)):
        same = email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
        pdf.write_bytes(b"%PDF-1.7 rendered again\n%%EOF\n")
        other = email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
    assert same["email"] == "already sent 2026-11-01T06:00:00Z to ops@acme.example, cfo@acme.example"
    assert other["email"] == "sent (restated)" and len(received) == 1  # no figures to compare: the PDF decides


def _report_json(pdf, **sections) -> None:
    doc = {"schema_version": "1.2", "status": "ok", "headline": {"hours_saved": 41.5}, "inventory": [{"run_cost": 3.0}]}
    (pdf.parent / "report.json").write_text(json.dumps(doc | sections), encoding="utf-8")


def test_a_change_outside_the_figures_is_published_but_not_sent_again(smtp_server, tmp_path):
    # The figures are document.FIGURE_SECTIONS, as for the renderer's restatement block: the
    # inventory, roadmap, history, data-quality notes and wording are published, not re-sent.
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    _report_json(pdf)
    with environment(_smtp_env(port)):
        assert email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)["email"] == "sent"
        pdf.write_bytes(b"%PDF-1.7 inventory cost corrected\n%%EOF\n")
        _report_json(pdf, inventory=[{"run_cost": 4.0}])
        inventory = email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
        pdf.write_bytes(b"%PDF-1.7 hours corrected\n%%EOF\n")
        _report_json(pdf, headline={"hours_saved": 44.0})
        hours = email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
    assert inventory["email"].startswith("already sent") and inventory["emailed_to"] == []
    assert hours["email"] == "sent (restated)" and len(received) == 2


def test_a_malformed_record_line_fails_the_step_and_sends_nothing(smtp_server, tmp_path):
    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    ledger = loc.reports_dir / "_sent" / "acme" / "2026-10.jsonl"
    ledger.parent.mkdir(parents=True)
    entry = {"client_id": "acme", "month": "2026-10", "report_sha256": "0" * 64, "sent_at": "2026-11-01T06:00:00Z",
             "recipients": CONTACTS, "restated": False, "figures": ["not", "figures"]}  # fmt: skip
    ledger.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    with environment(_smtp_env(port)), pytest.raises(ClientStepFailed, match="line 1: not an e-mail record entry"):
        email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
    assert received == []


def test_the_e_mail_waits_for_a_report_being_published_and_sends_what_was_published(smtp_server, tmp_path):
    import threading
    import time

    from airflow.providers.smtp.hooks.smtp import SmtpHook  # noqa: F401  (imported now: the step starts at once)

    from roi_pipeline.report.publish import locked

    port, received = smtp_server
    loc, pdf = _client(tmp_path)
    republished = b"%PDF-1.7 republished\n%%EOF\n"
    holding = threading.Event()

    def republish() -> None:  # a re-render of the month, holding its lock as render_client_month does
        with locked(pdf.parent):
            holding.set()
            time.sleep(1.0)
            pdf.write_bytes(republished)

    thread = threading.Thread(target=republish)
    thread.start()
    holding.wait(5)
    with environment(_smtp_env(port)):
        out = email_client({**PUBLISHED, "pdf": str(pdf)}, enabled=True, locations=loc)
    thread.join()
    assert out["email"] == "sent"
    (attachment,) = [p for p in received[0].walk() if p.get_filename()]
    assert attachment.get_payload(decode=True) == republished
    assert _ledger(loc)[0]["report_sha256"] == hashlib.sha256(republished).hexdigest()
