"""`roi check --workers N`: the quality gates run in a process pool give the serial verdicts.

The same clients held for the same reasons, the same lines in the clients' order, the same
rows recorded in the warehouse (every evaluated expectation, each client's status) and a
Data Docs site with a page for every validation, whatever the number of processes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.cli import main
from roi_pipeline.quality import gate_workers
from tests.integration.test_quality_gates import MART_CASES

MONTH = "2026-09"  # the month MART_CASES break
_TIMED = re.compile(r"(done in|FAILED after) [0-9]")  # a step's closing line, with its time


def _check(sample_pipeline, base: Path, workers: int, capsys) -> tuple[int, list[str], Path]:
    """`roi check --month MONTH --workers N` on its own copy of the sample warehouse, the marts
    of three clients broken (tests/integration/test_quality_gates.py)."""
    base.mkdir()
    warehouse = base / "warehouse.duckdb"
    shutil.copy2(sample_pipeline.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for _client, _defect, sql in MART_CASES:
            con.execute(sql)
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROI_WAREHOUSE", str(warehouse))
        patch.setenv("ROI_CLIENTS_DIR", str(sample_pipeline.clients_dir))
        patch.setenv("ROI_LANDING_DIR", str(sample_pipeline.landing_dir))
        status = main(["check", "--month", MONTH, "--workers", str(workers)])
    lines = [
        line.replace(str(base), "<base>")
        for line in capsys.readouterr().out.splitlines()
        if not _TIMED.search(line) and " ... " not in line and not line.startswith("Quality gates")
    ]
    return status, lines, warehouse


def _recorded(warehouse: Path) -> dict[str, list[tuple]]:
    """What the gates wrote, without the run's id and time."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            "validation_results": con.execute(
                "select client_id, month, gate, suite, expectation, defect, severity, success, observed_value,"
                " message from quality.validation_results order by rowid"
            ).fetchall(),
            "gate_results": con.execute(
                "select client_id, month, gate, publishable, blocking_defects, warning_defects, reasons, notes,"
                " expectations_evaluated from quality.gate_results order by all"
            ).fetchall(),
            "gate_status": con.execute("select * from quality.gate_status order by all").fetchall(),
        }


@pytest.mark.slow
def test_two_processes_give_the_serial_verdicts_lines_and_records(sample_pipeline, tmp_path, capsys):
    serial_status, serial_lines, serial_wh = _check(sample_pipeline, tmp_path / "serial", 1, capsys)
    pool_status, pool_lines, pool_wh = _check(sample_pipeline, tmp_path / "pool", 2, capsys)

    assert serial_status == pool_status == 1  # the broken clients are held
    held = {line.split()[1] for line in serial_lines if line.strip().endswith("expectations)") and "HELD" in line}
    assert held == {client for client, _defect, _sql in MART_CASES}
    assert pool_lines == serial_lines

    serial, pooled = _recorded(serial_wh), _recorded(pool_wh)
    assert len(serial["validation_results"]) > 10 * len(sample_pipeline.clients)
    assert pooled == serial

    for warehouse in (serial_wh, pool_wh):  # every validation has its page, and the index is there
        docs = warehouse.parent / "gx" / "data_docs"
        pages = list((docs / "validations").rglob("*.html"))
        validations = list((warehouse.parent / "gx" / "validations").rglob("*.json"))
        assert len(pages) == len(validations) > 0
        index = (docs / "index.html").read_text(encoding="utf-8")
        assert [p for p in pages if p.relative_to(docs).as_posix() not in index] == []


def test_the_default_uses_a_second_process_only_when_enough_clients_repay_it(monkeypatch):
    monkeypatch.setattr("roi_pipeline.processes.cores", lambda: 2)
    assert [gate_workers(None, n) for n in (1, 4, 9, 10, 200)] == [1, 1, 1, 2, 2]
    assert [gate_workers(3, n) for n in (1, 2, 200)] == [1, 2, 3]  # asked for: at most one per client
