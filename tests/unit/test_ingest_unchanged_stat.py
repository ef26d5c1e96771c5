"""An unchanged landing file is recognised from its size and modification time, unread.

The checksum is taken once; a later ingest re-reads (re-hashes) a file only when its size or
mtime_ns differ from those recorded beside the checksum, and reloads it only when the bytes
differ too.
"""

from __future__ import annotations

import os

import pytest

import roi_pipeline.ingest as ingest_module
from roi_pipeline.config import load_clients
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate


@pytest.fixture
def landed(tmp_path):
    landing, clients_dir, warehouse = tmp_path / "landing", tmp_path / "clients", tmp_path / "wh.duckdb"
    generate(landing, clients_dir, clients=1, months=1, end_month="2026-10")
    clients = load_clients(clients_dir).clients
    first = ingest(landing, warehouse, clients)
    assert first.files and {f.action for f in first.files} == {"loaded"}
    return landing, warehouse, clients, first


def _count_hashes(monkeypatch) -> list[str]:
    hashed: list[str] = []
    real = ingest_module.file_sha256

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(ingest_module, "file_sha256", counting)
    return hashed


def test_an_untouched_file_is_not_read_again(landed, monkeypatch):
    landing, warehouse, clients, first = landed
    hashed = _count_hashes(monkeypatch)
    again = ingest(landing, warehouse, clients)
    assert {f.action for f in again.files} == {"unchanged"}
    assert len(again.files) == len(first.files)
    assert hashed == [], "no file was re-hashed"


def test_a_touched_file_is_hashed_again_and_stays_unchanged_then_is_skipped(landed, monkeypatch):
    landing, warehouse, clients, first = landed
    touched = landing / first.files[0].source_file
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same bytes, new mtime
    hashed = _count_hashes(monkeypatch)
    again = ingest(landing, warehouse, clients)
    assert {f.action for f in again.files} == {"unchanged"}
    assert hashed == [touched.name]
    hashed.clear()
    ingest(landing, warehouse, clients)  # the new mtime was recorded: not re-read a second time
    assert hashed == []


def test_a_changed_file_is_reloaded(landed, monkeypatch):
    landing, warehouse, clients, first = landed
    changed = landing / first.files[0].source_file
    changed.write_bytes(changed.read_bytes() + b"\n")  # new size (and mtime)
    hashed = _count_hashes(monkeypatch)
    again = ingest(landing, warehouse, clients)
    actions = {f.source_file: f.action for f in again.files}
    assert actions[first.files[0].source_file] in {"replaced", "loaded"}
    assert [a for name, a in actions.items() if name != first.files[0].source_file] == ["unchanged"] * (
        len(actions) - 1
    )
    assert hashed == [changed.name]
