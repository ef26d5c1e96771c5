"""Ingestion types a file a column at a time where its format vouches for every record
(LandingFormat.parse_columns) and a record at a time otherwise: the raw layer is the same
either way, lineage, quarantine, record numbers and each file's recorded outcome included.

Checked on the generated sample with records the columnar parse must decline (a cost in
another currency, an id with a space, a naive time in London's DST gap, a record that is not
an object) in some n8n pages, and with chunks of 7 records, so that one file mixes chunks
typed a column at a time with chunks parsed a record at a time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import roi_pipeline.ingest as ingest_module
from roi_pipeline.config import load_clients
from roi_pipeline.formats import LandingFormat
from roi_pipeline.formats.runs import N8nExecutions
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate
from tests.raw_layer import raw_tables

NOW = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_columnar_and_record_at_a_time_parsing_give_the_same_raw_layer(tmp_path, monkeypatch, workers):
    generate(tmp_path / "landing", tmp_path / "clients", clients=2, months=2, end_month="2026-10")
    pages = sorted(p for p in (tmp_path / "landing").rglob("n8n_executions/*.json") if not p.name.startswith("_"))
    assert len(pages) >= 4
    odd = [
        lambda r: {**r, "customData": {**(r.get("customData") or {}), "llm_cost": "0.5", "cost_currency": "USD"}},
        lambda r: {**r, "id": f"{r['id']} x"},  # loaded as it is, but not typed a column at a time
        lambda r: {**r, "startedAt": "2026-03-29T01:30:00", "stoppedAt": None},
        lambda r: ["not", "an", "object"],
        lambda r: {**r, "customData": {**(r.get("customData") or {}), "items": "12.0"}},  # loaded, not columnar
    ]
    for index, change in enumerate(odd):  # pages 0 and 2 get three and two, pages 1 and 3 none
        page = pages[2 * (index % 2)]
        doc = json.loads(page.read_text(encoding="utf-8"))
        assert len(doc["data"]) > 15 + 9 * len(odd)
        doc["data"][15 + 9 * index] = change(doc["data"][15 + 9 * index])
        page.write_text(json.dumps(doc), encoding="utf-8")
    clients = load_clients(tmp_path / "clients").clients
    monkeypatch.setenv("ROI_INGEST_WORKERS", workers)
    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)  # the pool, when there are two workers
    monkeypatch.setattr(ingest_module, "COLUMNAR_CHUNK_RECORDS", 7)

    columnar_chunks = []
    original = N8nExecutions.parse_columns

    def counted(self, records, ctx):
        columns = original(self, records, ctx)
        columnar_chunks.append(len(records))
        return columns

    layers = {}
    for columnar in (True, False):
        monkeypatch.setattr(N8nExecutions, "parse_columns", counted if columnar else LandingFormat.parse_columns)
        warehouse = tmp_path / f"columnar-{columnar}.duckdb"
        report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
        assert not report.failed
        layers[columnar] = raw_tables(warehouse)
    if workers == "1":  # counted in this process
        assert len(columnar_chunks) > 20
    assert layers[True].keys() == layers[False].keys()
    for table in layers[False]:
        assert layers[True][table] == layers[False][table], table
    reasons = sorted(row[5] for row in layers[True]["_quarantine"])
    assert len(reasons) == 3, reasons  # the cost in USD, the time in the gap, the list
    assert any("foreign currency" in reason for reason in reasons)
    assert any("DST gap" in reason for reason in reasons)
    assert len(layers[True]["n8n_executions"]) > 100
