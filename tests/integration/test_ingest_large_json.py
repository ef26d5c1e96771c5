"""Large files are never held whole: a JSON extract over STREAM_JSON_BYTES is decoded a record at
a time, and a file over LARGE_FILE_BYTES is written as it is parsed. The raw layer either gives
(every table, lineage and quarantine included) is the one the usual path gives: checked on the
whole generated sample, every file of it forced through the large-file paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest

import roi_pipeline.formats.base as base
import roi_pipeline.ingest as ingest_module
from roi_pipeline.config import load_clients
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate
from tests.raw_layer import raw_tables

NOW = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


def test_streamed_and_whole_json_give_the_same_raw_tables(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=3, months=2, end_month="2026-10")
    json_files = [p for p in (tmp_path / "landing").rglob("*.json") if not p.name.startswith("_")]
    assert len(json_files) > 10
    clients = load_clients(tmp_path / "clients").clients
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")  # parsed in this process: the threshold applies

    layers = {}
    for stream in (False, True):
        monkeypatch.setattr(base, "STREAM_JSON_BYTES", -1 if stream else 10**12)
        streamed_files = []
        original = base._json_document_stream

        def spy(path, envelope_key, _original=original, _seen=streamed_files):
            _seen.append(path)
            return _original(path, envelope_key)

        monkeypatch.setattr(base, "_json_document_stream", spy)
        warehouse = tmp_path / f"stream-{stream}.duckdb"
        report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
        assert not report.failed
        layers[stream] = raw_tables(warehouse)
        assert bool(streamed_files) == stream
    assert layers[True].keys() == layers[False].keys()
    for table in layers[False]:
        assert layers[True][table] == layers[False][table], table
    assert len(layers[True]["n8n_executions"]) > 100


@pytest.mark.parametrize("stream", [False, True])
def test_a_malformed_large_extract_fails_as_a_whole(tmp_path, monkeypatch, stream):
    generate(tmp_path / "landing", tmp_path / "clients", clients=1, months=1, end_month="2026-10")
    page = next(p for p in (tmp_path / "landing").rglob("n8n_executions/*.json") if not p.name.startswith("_"))
    text = page.read_text(encoding="utf-8")
    page.write_text(text[: len(text) * 2 // 3], encoding="utf-8")  # cut off mid-record
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")
    monkeypatch.setattr(base, "STREAM_JSON_BYTES", -1 if stream else 10**12)
    warehouse = tmp_path / "w.duckdb"
    ingest(tmp_path / "landing", warehouse, load_clients(tmp_path / "clients").clients, now=NOW)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        status, loaded = con.execute(
            "select status, rows_loaded from raw._landed_files where source_file like ?", [f"%{page.name}"]
        ).fetchone()
        kept = con.execute("select count(*) from raw.n8n_executions where _source_file like ?", [f"%{page.name}"])
        assert (status, kept.fetchone()[0]) == ("failed", 0), loaded


def test_files_written_as_they_are_parsed_give_the_same_raw_tables(tmp_path, monkeypatch):
    generate(tmp_path / "landing", tmp_path / "clients", clients=3, months=2, end_month="2026-10")
    page = sorted(p for p in (tmp_path / "landing").rglob("n8n_executions/*.json") if not p.name.startswith("_"))[0]
    text = page.read_text(encoding="utf-8")  # records to quarantine: no id, and not an object
    page.write_text(text.replace('{"data":[\n', '{"data":[\n{"workflowId":"w"},\n42,\n', 1), encoding="utf-8")
    clients = load_clients(tmp_path / "clients").clients
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 7)  # many chunks per file
    layers = {}
    for large in (False, True):
        monkeypatch.setattr(ingest_module, "LARGE_FILE_BYTES", -1 if large else 10**12)
        monkeypatch.setattr(base, "STREAM_JSON_BYTES", -1 if large else 10**12)
        warehouse = tmp_path / f"large-{large}.duckdb"
        report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
        assert not report.failed and sum(f.rows_quarantined for f in report.files) > 0
        layers[large] = raw_tables(warehouse)
    assert layers[True] == layers[False]


def loaded_as_large_files(tmp_path, monkeypatch):
    """One client's two months ingested with every file taking the large-file path, in chunks of
    5 rows: the clients and the warehouse."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=1, months=2, end_month="2026-10")
    clients = load_clients(tmp_path / "clients").clients
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")
    monkeypatch.setattr(ingest_module, "LARGE_FILE_BYTES", -1)
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 5)
    warehouse = tmp_path / "w.duckdb"
    ingest(tmp_path / "landing", warehouse, clients, now=NOW)
    return clients, warehouse


def test_a_large_file_replaced_or_broken_keeps_the_rule_of_one_file_one_transaction(tmp_path, monkeypatch):
    clients, warehouse = loaded_as_large_files(tmp_path, monkeypatch)
    page = sorted(p for p in (tmp_path / "landing").rglob("n8n_executions/*.json") if not p.name.startswith("_"))[0]

    def rows_of_page():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(
                "select count(*), count(distinct _file_sha256) from raw.n8n_executions where _source_file = ?",
                [page.relative_to(tmp_path / "landing").as_posix()],
            ).fetchone()

    source = page.relative_to(tmp_path / "landing").as_posix()
    before = rows_of_page()
    assert before[0] > 10
    # a re-delivery with one record fewer replaces the file's rows
    text = page.read_text(encoding="utf-8")
    head, _, tail = text.partition(",\n")  # drop the first record of the page
    page.write_text(head[: head.index("[") + 1] + "\n" + tail, encoding="utf-8")
    report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
    assert [f.action for f in report.files if f.source_file == source] == ["replaced"]
    assert rows_of_page() == (before[0] - 1, 1)
    # a broken re-delivery fails and leaves the rows it would have replaced
    page.write_text(page.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
    assert [f.action for f in report.files if f.source_file == source] == ["failed"]
    assert rows_of_page() == (before[0] - 1, 1)


def test_a_large_file_is_staged_chunk_by_chunk_outside_any_transaction(tmp_path, monkeypatch):
    """Rows a transaction has not committed stay in DuckDB's memory whatever its memory limit
    (a 928 MiB n8n page peaked at 3.3 GB that way): each chunk of a large file is committed to
    a temporary table on its own, so it can spill to disk, and only the move into the raw
    tables is one transaction."""
    generate(tmp_path / "landing", tmp_path / "clients", clients=1, months=1, end_month="2026-10")
    monkeypatch.setenv("ROI_INGEST_WORKERS", "1")
    monkeypatch.setattr(ingest_module, "LARGE_FILE_BYTES", -1)
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 50)
    staged_chunks = []
    original = ingest_module.insert

    def spy(con, table, columns, parts):
        if table.startswith("temp."):
            con.execute("begin transaction")  # DuckDB refuses this inside an open transaction
            con.execute("rollback")
            staged_chunks.append(table)
        return original(con, table, columns, parts)

    monkeypatch.setattr(ingest_module, "insert", spy)
    warehouse = tmp_path / "w.duckdb"
    report = ingest(tmp_path / "landing", warehouse, load_clients(tmp_path / "clients").clients, now=NOW)
    assert not report.failed
    assert staged_chunks.count("temp.main._loading_n8n_executions") > 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute("select count(*) from raw.n8n_executions").fetchone()[0]
    page_records = sum(
        len(json.loads(p.read_text(encoding="utf-8"))["data"])
        for p in (tmp_path / "landing").rglob("n8n_executions/*.json")
        if not p.name.startswith("_")
    )
    assert runs == page_records


def test_a_large_file_the_database_refuses_fails_alone_and_keeps_its_earlier_rows(tmp_path, monkeypatch):
    clients, warehouse = loaded_as_large_files(tmp_path, monkeypatch)
    pages = sorted(p for p in (tmp_path / "landing").rglob("n8n_executions/*.json") if not p.name.startswith("_"))
    refused, other = (p.relative_to(tmp_path / "landing").as_posix() for p in pages[:2])

    def raw_rows():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return dict(con.execute("select _source_file, count(*) from raw.n8n_executions group by 1").fetchall())

    before = raw_rows()
    for page in pages[:2]:  # both re-delivered, one record fewer each
        head, _, tail = page.read_text(encoding="utf-8").partition(",\n")
        page.write_text(head[: head.index("[") + 1] + "\n" + tail, encoding="utf-8")
    original = ingest_module._Loader._record_written

    def refuse_one(self, staged, unchanged):
        original(self, staged, unchanged)
        if any(s.outcome.source_file == refused for s in staged):
            self.con.execute("select error('the database refuses this file')")

    monkeypatch.setattr(ingest_module._Loader, "_record_written", refuse_one)
    report = ingest(tmp_path / "landing", warehouse, clients, now=NOW)
    actions = {f.source_file: (f.action, f.error) for f in report.files}
    assert actions[refused][0] == "failed" and "refuses this file" in actions[refused][1]
    assert actions[other] == ("replaced", None)
    after = raw_rows()
    assert after[refused] == before[refused]  # the move rolled back: the earlier delivery stays
    assert after[other] == before[other] - 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded = con.execute("select file_sha256 from raw._landed_files where source_file = ?", [refused])
        assert recorded.fetchone()[0] != ingest_module.file_sha256(
            tmp_path / "landing" / refused
        )  # tried again next run
