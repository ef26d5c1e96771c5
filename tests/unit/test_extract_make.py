"""Make extraction against the fake Make API: offset paging, 429 + Retry-After, watermark, ingestion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.extract import extract_clients
from roi_pipeline.ingest import ingest
from tests.fakes import FakeMake, Fault
from tests.fakes.clients import connection_env, fast_policy, make_client, watermark, write_settings

NOW = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
TOKEN = "make-token-PLANTED-77c1"
SCENARIO = "scn_4410"  # the example client's register scenario


def logs(n: int, first: int = 1000, start=datetime(2025, 12, 1, tzinfo=UTC)) -> list[dict]:
    out = []
    for i in range(n):
        began = start + timedelta(minutes=50 * i)
        out.append({
            "imtId": f"{first + i:032x}", "type": "auto", "instant": i % 3 != 0,
            "timestamp": began.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "_ms": int(began.timestamp() * 1000),
            "status": 3 if i % 10 == 0 else 1, "duration": 4000 + i, "operations": 5, "transfer": 2048,
            "organizationId": 1, "teamId": 2, "authorId": 3,
        })  # fmt: skip
    return out


@pytest.fixture
def setup(tmp_path: Path):
    clients_dir, landing = tmp_path / "clients", tmp_path / "landing"
    client = make_client(clients_dir, "northwind-dental")
    fake = FakeMake({SCENARIO: logs(950)}, TOKEN)
    with fake:
        write_settings(clients_dir, client.client_id, {"make": {"mode": "api", "base_url": fake.url, "page_size": 100}})
        yield client, clients_dir, landing, fake


def run(setup, sleeps=None, attempts=4, **kwargs):
    client, clients_dir, landing, _fake = setup
    kwargs.setdefault("now", NOW)
    return extract_clients(
        landing, [client], sources=["make"], clients_dir=clients_dir,
        policy=fast_policy(sleeps, attempts), environ=connection_env(client.client_id, "make", TOKEN), **kwargs,
    )  # fmt: skip


def _raw(landing: Path, warehouse: Path, client) -> tuple[int, int, int, list]:
    report = ingest(landing, warehouse, [client])
    assert not report.failed, [f.error for f in report.failed]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows, distinct = con.execute(
            "select count(*), count(distinct run_id) from raw.generic_runs where platform = 'make'"
        ).fetchone()
        statuses = con.execute(
            "select status, triggered_by, count(*) from raw.generic_runs group by all order by all"
        ).fetchall()
        quarantined = con.execute("select count(*) from raw._quarantine").fetchone()[0]
    finally:
        con.close()
    return rows, distinct, quarantined, statuses


def test_every_page_lands_and_ingests_as_generic_run_rows(setup, tmp_path):
    client, _, landing, fake = setup
    report = run(setup)
    assert report.ok, report.failed
    pages = fake.calls("/logs")
    assert len(pages) == 10  # 950 logs, 100 a page: the short tenth page is the last
    assert [int(p.query["pg[offset]"]) for p in pages] == list(range(0, 1000, 100))
    assert all(p.headers["authorization"] == f"Token {TOKEN}" for p in pages)
    folder = landing / client.client_id / "make_scenario_logs"
    assert sorted(p.name for p in folder.glob("2*.json"))[-2:] == ["2025-12.json", "2026-01.json"]
    assert '"scenarioId":"scn_4410"' in (folder / "2025-12.json").read_text()
    rows, distinct, quarantined, statuses = _raw(landing, tmp_path / "w.duckdb", client)
    assert (rows, distinct, quarantined) == (950, 950, 0)
    # by hand: i % 10 == 0 -> status 3 (error); i % 3 == 0 -> not instant (schedule)
    expected: dict[tuple[str, str], int] = {}
    for i in range(950):
        key = ("error" if i % 10 == 0 else "success", "schedule" if i % 3 == 0 else "webhook")
        expected[key] = expected.get(key, 0) + 1
    assert statuses == sorted((s, t, n) for (s, t), n in expected.items())


def test_429_with_retry_after_is_waited_out(setup):
    _, _, _, fake = setup
    fake.faults.append(Fault(lambda r: r.query.get("pg[offset]") == "300", 429, {"Retry-After": "2"}, times=3))
    sleeps: list[float] = []
    report = run(setup, sleeps, attempts=5)
    assert report.ok, report.failed
    assert sleeps == [2.0] * 3 and fake.fault_hits == 3


def test_the_watermark_narrows_the_next_run_and_adds_no_duplicates(setup, tmp_path):
    client, _, landing, fake = setup
    assert run(setup).ok
    assert watermark(landing / client.client_id, "make") == "2026-01-07T06:00:00Z"
    fake.logs[SCENARIO].extend(logs(20, first=5000, start=datetime(2026, 1, 7, 7, tzinfo=UTC)))
    report = run(setup, now=NOW + timedelta(days=1))
    assert report.ok and "changes since 2026-01-05T06:00:00Z" in report.outcomes[0].window
    last = fake.calls("/logs")[-1]
    assert int(last.query["from"]) == int(datetime(2026, 1, 5, 6, tzinfo=UTC).timestamp() * 1000)
    rows, distinct, quarantined, _ = _raw(landing, tmp_path / "w.duckdb", client)
    assert (rows, distinct, quarantined) == (970, 970, 0)


def test_a_refused_token_fails_the_source_without_showing_it(setup):
    client, clients_dir, landing, _ = setup
    report = extract_clients(
        landing, [client], sources=["make"], clients_dir=clients_dir, now=NOW, policy=fast_policy(),
        environ=connection_env(client.client_id, "make", "wrong-token-PLANTED"),
    )  # fmt: skip
    assert not report.ok
    error = report.failed[0].error
    assert "credentials were refused" in error and "PLANTED" not in error
