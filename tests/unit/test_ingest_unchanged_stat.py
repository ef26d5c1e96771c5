"""An unchanged landing file is recognised from its size and modification time, unread.

The checksum is taken once; a later ingest re-reads (re-hashes) a file only when its size or
mtime_ns differ from those recorded beside the checksum, and reloads it only when the bytes
differ too.
"""

from __future__ import annotations

import os
import time

import duckdb
import pytest

import roi_pipeline.ingest as ingest_module
from roi_pipeline.config import load_clients
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate


def _age(landing, seconds: int = 3600) -> None:
    """Every landing file written ``seconds`` ago: not in the clock tick it is checked in."""
    past = time.time_ns() - seconds * 1_000_000_000
    for path in landing.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(past, past))


@pytest.fixture
def landed(tmp_path):
    landing, clients_dir, warehouse = tmp_path / "landing", tmp_path / "clients", tmp_path / "wh.duckdb"
    generate(landing, clients_dir, clients=1, months=1, end_month="2026-10")
    _age(landing)
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


def test_a_file_rewritten_in_the_clock_tick_it_was_checked_in_is_read_again(tmp_path, monkeypatch):
    """A file whose modification time is as recent as the moment it is checked can be written
    again within the same tick of the file system's clock (2 s on FAT and some network mounts),
    at the same size: its size and time then cannot tell the two writes apart (git calls such a
    file "racily clean"). Its time is not recorded, so the next run reads it again and loads
    what it holds now, not the rows of the first write."""
    landing, clients_dir, warehouse = tmp_path / "landing", tmp_path / "clients", tmp_path / "wh.duckdb"
    generate(landing, clients_dir, clients=1, months=1, end_month="2026-10")
    _age(landing)
    clients = load_clients(clients_dir).clients
    page = max(landing.glob("*/n8n_executions/*.json"), key=lambda p: p.stat().st_size)
    source = page.relative_to(landing).as_posix()
    # "Just written": in the window where a later write may keep this modification time. The window
    # is widened so that a slow machine cannot push the check out of it.
    monkeypatch.setattr(ingest_module, "RECENT_WRITE_NS", 600 * 1_000_000_000, raising=False)
    written = time.time_ns()
    os.utime(page, ns=(written, written))
    first = ingest(landing, warehouse, clients)
    assert {f.source_file: f.action for f in first.files}[source] == "loaded"

    old = page.read_bytes()
    first_id = old.split(b'"id":"', 1)[1].split(b'"', 1)[0]
    new = old.replace(b'"id":"' + first_id + b'"', b'"id":"' + first_id[:-1] + b'X"', 1)
    assert new != old and len(new) == len(old)
    page.write_bytes(new)  # the same size ...
    os.utime(page, ns=(written, written))  # ... and the same modification time: the same clock tick

    monkeypatch.setattr(ingest_module, "RECENT_WRITE_NS", 0, raising=False)  # from now on nothing is recent
    again = ingest(landing, warehouse, clients)
    assert {f.source_file: f.action for f in again.files}[source] == "replaced"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ids = {
            r[0] for r in con.execute("select id from raw.n8n_executions where _source_file = ?", [source]).fetchall()
        }
        recorded = con.execute(
            "select file_mtime_ns from raw._landed_files where source_file = ?", [source]
        ).fetchone()[0]
    assert first_id.decode()[:-1] + "X" in ids and first_id.decode() not in ids
    assert recorded == written  # no longer recent when checked: its time is recorded, and trusted next time
    hashed = _count_hashes(monkeypatch)
    assert {f.action for f in ingest(landing, warehouse, clients).files} == {"unchanged"}
    assert hashed == []
