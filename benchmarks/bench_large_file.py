"""Benchmark: the memory of `roi ingest` on one large export, at two sizes, beside DuckDB's reader.

    .venv/bin/python benchmarks/bench_large_file.py                    # pages of 300 and 900 MiB
    .venv/bin/python benchmarks/bench_large_file.py --mib 100 300      # quicker

A multi-GB export must not be read whole into memory. For each size, one n8n executions page
of about that size is written (the sample's runs of one client, repeated under new ids), and
measured in the same run, each in a fresh process:

- ``roi ingest`` of that page into an empty warehouse (the command a user runs): wall time and
  peak RSS (its own, through benchmarks/measure.py);
- the limit: DuckDB's ``read_json`` reading the same page into a table, with no check at all.

The figure to read is how the peak grows with the file: bounded memory means the larger page
costs about what the smaller one does (``ROI_DUCKDB_MEMORY_LIMIT``, default 1GB, plus the
parser's own), while a reader that holds its input grows with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measure  # noqa: E402
from results import record  # noqa: E402

ROI = [sys.executable, "-m", "roi_pipeline.cli"]
FOLDER = "n8n_executions"

READER = textwrap.dedent(
    """
    import json, sys, time
    import duckdb
    con = duckdb.connect(sys.argv[2])
    con.execute("set enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(
        "create table t as select unnest(data, recursive := true) "
        f"from read_json('{sys.argv[1]}', maximum_object_size=4294967295)"
    )
    rows = con.execute("select count(*) from t").fetchone()[0]
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    """
)


def write_page(records: list[dict], target: Path, mib: int) -> int:
    """One n8n page of at least ``mib`` MiB: ``records`` over and over, each copy under new ids."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = count = 0
    with target.open("w", encoding="utf-8") as out:
        out.write('{"data":[\n')
        copy = 0
        while written < mib * 2**20:
            for record in records:
                record = {**record, "id": f"{record['id']}-{copy}", "retryOf": None, "retrySuccessId": None}
                line = ("" if count == 0 else ",\n") + json.dumps(record, separators=(",", ":"))
                out.write(line)
                written += len(line)
                count += 1
            copy += 1
        out.write("]}")
    extracted = {target.name: {"extracted_at": "2026-11-04T12:00:00Z"}}
    (target.parent / "_extracts.json").write_text(json.dumps(extracted), encoding="utf-8")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[300, 900], help="page sizes (MiB)")
    parser.add_argument("--workdir", type=Path, default=None, help="kept between runs (default: a temporary dir)")
    args = parser.parse_args(argv)

    from roi_pipeline.sample.generator import generate

    with tempfile.TemporaryDirectory(prefix="roi-bench-large-") as scratch:
        work = (args.workdir or Path(scratch)).resolve() / "large-file"
        source, clients = work / "sample", work / "clients"
        if not clients.is_dir():
            generate(source, clients, clients=1, months=24, end_month="2026-10")
        (client_dir,) = [p for p in source.iterdir() if p.is_dir()]
        records = [
            record
            for page in sorted((client_dir / FOLDER).glob("[0-9]*.json"))
            for record in json.loads(page.read_text(encoding="utf-8"))["data"]
        ]
        lines = []
        for mib in args.mib:
            landing = work / f"landing-{mib}"
            page = landing / client_dir.name / FOLDER / "2026-10.json"
            counted = work / f"page-{mib}.count"  # the records a kept page holds (not read again)
            if not (page.is_file() and counted.is_file()):
                counted.write_text(str(write_page(records, page, mib)))
            count = int(counted.read_text())
            size = page.stat().st_size
            warehouse = work / f"ingest-{mib}.duckdb"
            for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal"), work / "reader.duckdb"):
                leftover.unlink(missing_ok=True)
            env = {
                **os.environ,
                "ROI_LANDING_DIR": str(landing),
                "ROI_CLIENTS_DIR": str(clients),
                "ROI_WAREHOUSE": str(warehouse),
                "ROI_REPORTS_DIR": str(work / "reports"),
                "PYTHONPATH": str(ROOT / "include"),
            }
            ingest = measure.run_checked([*ROI, "ingest"], env)
            import duckdb

            with duckdb.connect(str(warehouse), read_only=True) as con:
                loaded = con.execute("select count(*) from raw.n8n_executions").fetchone()[0]
            if loaded != count:
                sys.exit(f"roi ingest loaded {loaded:,} of the page's {count:,} records")
            reader = measure.run_checked([sys.executable, "-c", READER, str(page), str(work / "reader.duckdb")], env)
            limit = json.loads(reader.stdout)
            lines.append((mib, size, loaded, ingest, reader, limit))
            (work / "reader.duckdb").unlink(missing_ok=True)

    limit_setting = os.environ.get("ROI_DUCKDB_MEMORY_LIMIT") or "1GB (default)"
    print()
    print(f"one n8n page per size; ROI_DUCKDB_MEMORY_LIMIT={limit_setting}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'page':>9} {'records':>10} | {'roi ingest s':>12} {'peak MiB':>9} | {'read_json s':>11} {'peak MiB':>9}")
    for _mib, size, loaded, ingest, reader, limit in lines:
        print(f"{size / 2**20:>5.0f} MiB {loaded:>10,} | {ingest.seconds:>12.1f} {ingest.peak / 2**20:>9,.0f} | "
              f"{limit['seconds']:>11.1f} {reader.peak / 2**20:>9,.0f}")  # fmt: skip
    (small, *_, large) = lines
    growth = (large[3].peak / small[3].peak, large[4].peak / small[4].peak)
    files = large[1] / small[1]
    print(f"file {files:.1f}x larger: roi ingest peak {growth[0]:.2f}x, DuckDB's reader peak {growth[1]:.2f}x")
    if args.workdir is not None:
        record(
            args.workdir,
            "large_file",
            f"one n8n page of {small[1] / 2**20:.0f} and {large[1] / 2**20:.0f} MiB, "
            f"ROI_DUCKDB_MEMORY_LIMIT={limit_setting}",
            [
                {
                    "what": f"roi ingest, page of {size / 2**20:.0f} MiB ({loaded:,} records)",
                    "figure": f"{ingest.seconds:.1f} s, peak {ingest.peak / 2**20:,.0f} MiB",
                    "limit": f"DuckDB read_json {limit['seconds']:.1f} s, peak {reader.peak / 2**20:,.0f} MiB",
                    "ratio": f"{limit['seconds'] / ingest.seconds:.2f}",
                    "aim": "peak not growing with the file",
                }
                for _mib, size, loaded, ingest, reader, limit in lines
            ]
            + [
                {
                    "what": f"peak growth, file {files:.1f}x larger",
                    "figure": f"roi ingest {growth[0]:.2f}x",
                    "limit": f"DuckDB read_json {growth[1]:.2f}x",
                    "ratio": "",
                    "aim": "about 1x",
                }
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
