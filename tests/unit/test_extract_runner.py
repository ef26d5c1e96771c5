"""Failure isolation, secrecy, connections and settings of the extract runner."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roi_pipeline.config import client_files
from roi_pipeline.extract import extract_clients
from roi_pipeline.extract.connections import (
    ConnectionNotFound,
    default_connection_id,
    parse_connection,
    resolve_connection,
)
from roi_pipeline.extract.settings import ExtractSettingsError, load_extract_settings
from tests.fakes import FakeHubSpot, Fault
from tests.fakes.clients import connection_env, fast_policy, make_client, write_settings

NOW = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
GOOD, REVOKED = "pat-PLANTED-good-4e1d9a", "pat-PLANTED-revoked-77aa01"


def contacts(n: int) -> list[dict]:
    out = []
    for i in range(n):
        stamp = f"2025-12-{1 + i % 28:02d}T10:00:00.000Z"
        out.append(
            {
                "id": str(500 + i),
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "properties": {"createdate": stamp, "lastmodifieddate": stamp, "hs_object_id": str(500 + i)},
            }
        )
    return out


@pytest.fixture
def two_clients(tmp_path: Path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    ok = make_client(clients_dir, "northwind-dental")
    revoked = make_client(clients_dir, "acme-co")
    fake = FakeHubSpot({"contacts": contacts(40)}, {}, GOOD)
    with fake:
        for client in (ok, revoked):
            write_settings(
                clients_dir,
                client.client_id,
                {"hubspot": {"mode": "api", "base_url": fake.url, "objects": ["contacts"]}},
            )
        env = {**connection_env("acme-co", "hubspot", REVOKED, token=REVOKED),
               **connection_env("northwind-dental", "hubspot", GOOD, api_key=GOOD)}  # fmt: skip
        yield [revoked, ok], clients_dir, landing, fake, env


def all_text(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_revoked_token_fails_only_that_client_and_never_shows_a_token(two_clients, caplog):
    clients, clients_dir, landing, fake, env = two_clients
    fake.faults.append(Fault(lambda r: True, 429, {"Retry-After": "0"}, times=2))  # retries get logged too
    lines: list[str] = []
    with caplog.at_level(logging.DEBUG):
        report = extract_clients(landing, clients, ["hubspot", "n8n"], clients_dir=clients_dir, now=NOW,
                                 policy=fast_policy(), environ=env, progress=lines.append)  # fmt: skip
    failed = report.failed
    assert [(o.client_id, o.source) for o in failed] == [("acme-co", "hubspot")]
    error = failed[0].error
    assert "acme-co" in error and "hubspot" in error and "roi_acme_co_hubspot" in error and "401" in error
    assert (landing / "northwind-dental" / "hubspot_contacts" / "2025-12.json").is_file()
    assert not (landing / "acme-co" / "hubspot_contacts").exists()
    assert [o.status for o in report.for_client("northwind-dental")] == ["extracted", "skipped"]  # n8n: files
    for secret in (GOOD, REVOKED):
        assert secret not in error
        assert not [r for r in caplog.records if secret in r.getMessage()]
        assert secret not in "\n".join(lines)
        assert secret not in all_text(landing)
        assert secret not in repr(report)
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_missing_connection_and_bad_settings_are_reported_per_client(tmp_path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    a, b = make_client(clients_dir, "alpha"), make_client(clients_dir, "beta")
    write_settings(clients_dir, "alpha", {"harvest": {"mode": "api", "account_id": "1"}})
    write_settings(clients_dir, "beta", {"harvest": {"mode": "api", "acount_id": "1"}})  # typo
    report = extract_clients(landing, [a, b], ["harvest"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
                             environ={"ROI_EXTRACT_CONNECTIONS": "env"})  # fmt: skip
    errors = {o.client_id: o.error for o in report.failed}
    assert "roi_alpha_harvest" in errors["alpha"] and "AIRFLOW_CONN_ROI_ALPHA_HARVEST" in errors["alpha"]
    assert "acount_id: unknown field" in errors["beta"]
    # the settings live in a sub-folder that config.client_files never reads as client files
    assert [p.name for p in client_files(clients_dir)] == ["alpha.yaml", "beta.yaml"]


def test_connection_naming_and_env_forms():
    assert default_connection_id("northwind-dental", "hubspot") == "roi_northwind_dental_hubspot"
    as_json = parse_connection("c", json.dumps({"conn_type": "http", "host": "https://n8n.acme.example",
                                                "password": "s3cret", "extra": {"workspace_id": 7}}))  # fmt: skip
    assert as_json.base_url() == "https://n8n.acme.example" and as_json.token() == "s3cret"
    assert as_json.extra["workspace_id"] == 7 and "s3cret" not in repr(as_json)
    as_uri = parse_connection("c", "http://12345:tok%2Fen@127.0.0.1:8080/http?account_id=12345")
    assert as_uri.base_url() == "http://127.0.0.1:8080" and as_uri.token() == "tok/en"
    assert as_uri.login == "12345" and as_uri.extra == {"account_id": "12345"}
    with pytest.raises(ValueError) as bad:
        parse_connection("c", '{"password": "leaky-value"')
    assert "leaky-value" not in str(bad.value)
    with pytest.raises(ConnectionNotFound, match="AIRFLOW_CONN_ROI_X_TOGGL"):
        resolve_connection("roi_x_toggl", environ={}, use_airflow=False)


def test_inside_airflow_the_task_sdk_connection_is_used(monkeypatch):
    class Conn:
        host, login, password, port, schema, conn_type = "api.hubapi.com", None, "from-airflow", None, None, "http"
        extra_dejson = {"portal": "1"}

        @classmethod
        def get(cls, conn_id):
            return cls()

    sdk = types.ModuleType("airflow.sdk")
    sdk.Connection = Conn
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    creds = resolve_connection("roi_a_hubspot", environ={"AIRFLOW_CONN_ROI_A_HUBSPOT": '{"password": "from-env"}'})
    assert creds.token() == "from-airflow" and creds.base_url() == "https://api.hubapi.com"


def test_extract_settings_default_to_files_and_validate(tmp_path):
    assert load_extract_settings(tmp_path, "nobody").hubspot.mode == "files"
    write_settings(tmp_path, "x", {"toggl": {"mode": "api", "workspace_id": 0}})
    with pytest.raises(ExtractSettingsError, match="toggl.workspace_id"):
        load_extract_settings(tmp_path, "x")


#: Connection values in every form AIRFLOW_CONN_* takes (docs/connecting.md).
CONNECTION_FORMS = [
    '{"conn_type": "http", "host": "https://n8n.acme.example", "password": "s3cret", "extra": {"workspace_id": 7}}',
    '{"conn_type": "http", "host": "api.hubapi.com", "port": "8443", "extra": "{\\"portal\\": \\"1\\"}"}',
    '{"conn_type": "postgresql", "login": "u", "password": "p", "schema": "db"}',
    "http://12345:tok%2Fen@127.0.0.1:8080/http?account_id=12345",
    "http://https://api.harvestapp.com?account_id=9",
    "https://:pat-123@api.hubapi.com",
    "http://user@Host.Example:99/some%2Fschema?__extra__=%7B%22token%22%3A+%22x%22%7D&ignored=1",
    "my-conn-type://login:pass%40word@example.com",
    "postgresql://u:p@127.0.0.1:5432/roi",
    "http://",
]


def test_env_connections_read_as_airflow_reads_them(tmp_path):
    """Our parser against Airflow's own Connection.from_json / from_uri, value by value.

    Airflow is run in a child process: importing it here would replace this process's logging.
    """
    script = (
        "import json, sys\n"
        "from airflow.sdk.definitions.connection import Connection\n"
        "out = []\n"
        "for value in json.loads(sys.stdin.read()):\n"
        "    c = Connection.from_json(value, 'c') if value.startswith('{') else Connection.from_uri(value, 'c')\n"
        "    out.append([c.host or None, c.login or None, c.password or None, c.port, c.schema or None,\n"
        "                c.conn_type, json.loads(c.extra) if c.extra else {}])\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(CONNECTION_FORMS), env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    airflow = json.loads(done.stdout.strip().splitlines()[-1])
    ours = [parse_connection("c", value) for value in CONNECTION_FORMS]
    ours = [[c.host, c.login, c.secret, c.port, c.schema, c.conn_type, dict(c.extra)] for c in ours]
    for value, mine, theirs in zip(CONNECTION_FORMS, ours, airflow, strict=True):
        assert mine == theirs, value
