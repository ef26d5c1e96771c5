"""benchmarks/bench_large_file.py runs end to end at a tiny size: its pages load whole through
`roi ingest` (the script stops if the raw table's count differs from the records it wrote).
A smoke test of the script only: pages this small take the usual path, not the large-file one
(tests/integration/test_ingest_large_json.py covers that)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_large_file_benchmark_runs_and_records_its_rows(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_large_file
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert bench_large_file.main(["--mib", "1", "2", "--workdir", str(tmp_path)]) == 0
    kept = json.loads((tmp_path / "results" / "large_file.json").read_text())
    rows = kept["rows"]
    assert [r["what"].split(",")[0] for r in rows[:2]] == ["roi ingest"] * 2
    page = next((tmp_path / "large-file" / "landing-2").rglob("2026-10.json"))
    records = len(json.loads(page.read_text())["data"])
    assert f"({records:,} records)" in rows[1]["what"]
