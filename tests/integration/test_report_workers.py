"""`roi report --workers N`: client reports rendered in a process pool are the serial ones.

Same files byte for byte, the same lines in the clients' order, and one client's failure
stays that client's (the others are still published, the exit status says 1).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from roi_pipeline.cli import main

MONTH = "2026-10"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def gated(sample_pipeline, tmp_path_factory, monkeypatch_module):
    base = tmp_path_factory.mktemp("workers")
    warehouse = base / "warehouse.duckdb"
    shutil.copy(sample_pipeline.warehouse, warehouse)
    monkeypatch_module.setenv("ROI_WAREHOUSE", str(warehouse))
    monkeypatch_module.setenv("ROI_CLIENTS_DIR", str(sample_pipeline.clients_dir))
    monkeypatch_module.setenv("ROI_LANDING_DIR", str(sample_pipeline.landing_dir))
    monkeypatch_module.setenv("ROI_MARTS_SNAPSHOT", str(base / "snapshot.duckdb"))
    assert main(["check", "--month", MONTH]) == 0
    return base


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _report(base: Path, name: str, workers: int, capsys, *clients: str) -> tuple[int, Path, list[str]]:
    out_dir = base / name
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROI_REPORTS_DIR", str(out_dir))
        status = main(["report", "--month", MONTH, "--workers", str(workers), *clients])
    lines = [line.replace(str(out_dir), "<reports>") for line in capsys.readouterr().out.splitlines()]
    return status, out_dir, [line for line in lines if "done in" not in line and " ... " not in line]


@pytest.mark.slow
def test_two_workers_write_the_serial_files_and_lines(gated, sample_pipeline, capsys):
    serial_status, serial_dir, serial_lines = _report(gated, "serial", 1, capsys)
    pool_status, pool_dir, pool_lines = _report(gated, "pool", 2, capsys)
    assert serial_status == pool_status == 0
    serial, pooled = _tree(serial_dir), _tree(pool_dir)
    assert len({name.split("/")[0] for name in serial}) == len(sample_pipeline.clients) + 1  # + portfolio
    assert serial.keys() == pooled.keys()
    assert [name for name in serial if serial[name] != pooled[name]] == []
    assert pool_lines == serial_lines
    order = [c.client_id for c in sample_pipeline.clients]
    named = [line.split()[0] for line in pool_lines if line.startswith("  ") and line.split()[0] in order]
    assert named == order, "one line per client, in the clients' order"


@pytest.mark.slow
def test_one_clients_failure_in_a_worker_stays_that_clients(gated, sample_pipeline, capsys):
    broken, *others = [c.client_id for c in sample_pipeline.clients]
    # the broken client's reports folder is a file: its publication fails, nobody else's
    (gated / "isolated").mkdir()
    (gated / "isolated" / broken).write_text("in the way")
    status, out_dir, lines = _report(gated, "isolated", 2, capsys, broken, *others)
    assert status == 1
    assert any(line.startswith(f"  {broken}: ") for line in lines), lines
    for client in others:
        assert (out_dir / client / MONTH / "report.pdf").is_file(), client
