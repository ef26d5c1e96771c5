"""Benchmark: `roi ingest` beside DuckDB's own readers over the same landing files.

    .venv/bin/python benchmarks/bench_ingest.py                       # 5 clients x 24 months
    .venv/bin/python benchmarks/bench_ingest.py --clients 2 --months 6  # quick

The sample generator writes ``--clients`` x ``--months`` of landing files in the vendors'
formats (n8n, Make, Zapier, generic run logs, HubSpot, Harvest, Toggl). Then, each in a
fresh process, measured in the same run:

- ``roi ingest`` (the command a user runs) into an empty warehouse: every record parsed,
  checked, loaded with lineage or quarantined with its reason;
- the limit: DuckDB's ``read_json`` / ``read_csv`` reading the same files (many per
  statement) into tables, with no check at all;
- ``roi ingest`` again on the same files: nothing changed, nothing re-read;
- the first two ``--repeat`` times (default 3), alternated, each figure the median of its runs;
- beside them, what the raw layer's contract alone asks of Python: each file read by its
  format's own reader and each record written as canonical JSON (``_record``), in one process.

Prints one table: records, seconds, records per second, peak RSS of each process (its own,
through benchmarks/measure.py), and ingest / limit as a ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measure  # noqa: E402
from results import record  # noqa: E402

ROI = [sys.executable, "-m", "roi_pipeline.cli"]

#: The JSON envelope of each JSON landing folder (formats/*.py ``records``); the rest are CSV.
JSON_ENVELOPES = {
    "n8n_executions": "data",
    "zapier_zap_runs": "data",
    "make_scenario_logs": "scenarioLogs",
    "hubspot_contacts": "results",
    "hubspot_calls": "results",
    "hubspot_emails": "results",
    "hubspot_meetings": "results",
    "hubspot_deals": "results",
}
CSV_FOLDERS = ("generic_runs", "harvest_time_entries", "toggl_time_entries")

#: DuckDB reading every folder's files into a table, many files per statement (run in a
#: fresh process, like `roi ingest`).
READERS = textwrap.dedent(
    """
    import json, sys, time
    import duckdb
    landing, envelopes, csv_folders = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")  # its bar would mix into stdout
    started = time.perf_counter()
    rows = 0
    for folder, key in envelopes.items():
        files = f"{landing}/*/{folder}/[0-9]*.json"
        try:
            con.execute(
                f"create or replace table t as select unnest({key}, recursive := true) "
                f"from read_json('{files}', maximum_object_size=268435456, filename=true)"
            )
        except duckdb.IOException:  # no such files in this sample
            continue
        rows += con.execute("select count(*) from t").fetchone()[0]
    for folder in csv_folders:
        files = f"{landing}/*/{folder}/[0-9]*.csv"
        try:
            con.execute(f"create or replace table t as select * from read_csv('{files}', union_by_name=true, filename=true)")
        except duckdb.IOException:
            continue
        rows += con.execute("select count(*) from t").fetchone()[0]
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    """
)


#: What ingestion's contract makes Python do per record whatever else changes: read each file with
#: its format's own reader (envelopes, CSV dialects, defect markers) and write each record's
#: canonical JSON (``_record``, the lineage that keeps the record as landed), as Arrow text. No
#: rules, no typing, no writing; one process, timed like the readers (imports excluded). What
#: ``roi ingest`` spends beyond this (per core) is the formats' rules, the typed columns and the
#: writing: the part that moving the rules into SQL over DuckDB's readers could shrink.
CONTRACT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import pyarrow as pa
    from roi_pipeline.config import load_clients
    from roi_pipeline.formats import FORMATS
    from roi_pipeline.formats.base import ParseContext, record_json
    from roi_pipeline.ingest import landing_files
    landing, clients_dir = Path(sys.argv[1]), Path(sys.argv[2])
    clients = load_clients(clients_dir).clients
    formats = {folder: fmt() for folder, fmt in FORMATS.items()}
    pa.array(["warm"])  # pyarrow's first conversion imports pandas: not per-record work
    started = time.perf_counter()
    rows = 0
    for client in clients:
        for folder, path in landing_files(landing / client.client_id):
            ctx = ParseContext(client, path.relative_to(landing).as_posix())
            texts = [record_json(record) for _, record in formats[folder].records(path, ctx)]
            pa.array(texts, type=pa.string())
            rows += len(texts)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    """
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-month", default="2026-10")
    parser.add_argument("--workdir", type=Path, default=None, help="kept between runs (default: a temporary dir)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of roi ingest and of the readers, alternated; each figure is the median (default: 3)",
    )
    args = parser.parse_args(argv)

    import json

    import duckdb

    from roi_pipeline.sample.generator import generate

    with tempfile.TemporaryDirectory(prefix="roi-bench-ingest-") as scratch:
        work = (args.workdir or Path(scratch)).resolve()
        landing, clients = (
            work / f"landing-{args.clients}x{args.months}",
            work / f"clients-{args.clients}x{args.months}",
        )
        if not landing.is_dir():
            started = time.perf_counter()
            summary = generate(landing, clients, clients=args.clients, months=args.months, end_month=args.end_month)
            print(f"generated {summary.files:,} files in {time.perf_counter() - started:.0f}s", flush=True)
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        warehouse = work / "bench-ingest.duckdb"
        env = {
            **os.environ,
            "ROI_LANDING_DIR": str(landing),
            "ROI_CLIENTS_DIR": str(clients),
            "ROI_WAREHOUSE": str(warehouse),
            "ROI_REPORTS_DIR": str(work / "reports"),
            "PYTHONPATH": str(ROOT / "include"),
        }
        # This machine's speed drifts by a tenth or more from minute to minute (other machines share
        # its host): the two are run alternately, and each figure is the median of its runs.
        ingests, limits = [], []
        for _ in range(max(1, args.repeat)):
            for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
                leftover.unlink(missing_ok=True)
            ingests.append(measure.run_checked([*ROI, "ingest"], env))
            readers = measure.run_checked(
                [sys.executable, "-c", READERS, str(landing), json.dumps(JSON_ENVELOPES), json.dumps(CSV_FOLDERS)], env
            )
            limits.append((json.loads(readers.stdout), readers))
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows, files = con.execute("select sum(rows_read), count(*) from raw._landed_files").fetchone()
        again = measure.run_checked([*ROI, "ingest"], env)
        contract = json.loads(
            measure.run_checked([sys.executable, "-c", CONTRACT, str(landing), str(clients)], env).stdout
        )
    ingest = sorted(ingests, key=lambda done: done.seconds)[len(ingests) // 2]
    limit, readers = sorted(limits, key=lambda pair: pair[0]["seconds"])[len(limits) // 2]
    ingest_s, again_s = ingest.seconds, again.seconds
    mib = {what: done.peak / 2**20 for what, done in (("ingest", ingest), ("again", again), ("limit", readers))}
    limit_seconds = [found["seconds"] for found, _ in limits]
    spread = (
        f"runs, alternated: roi ingest {', '.join(f'{d.seconds:.1f}' for d in ingests)} s; "
        f"readers {', '.join(f'{seconds:.1f}' for seconds in limit_seconds)} s (each figure: the median)"
    )

    from roi_pipeline.ingest import ingest_workers

    parsers = ingest_workers()  # reads ROI_INGEST_WORKERS as roi ingest does
    workers = f"{parsers}" if os.environ.get("ROI_INGEST_WORKERS") else f"{parsers} (default)"
    print()
    print(f"{args.clients} clients x {args.months} months: {files:,} files, {size / 2**20:.1f} MiB; "
          f"ROI_INGEST_WORKERS={workers}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'what':<44} {'records':>10} {'seconds':>8} {'records/s':>10} {'peak MiB':>9}")
    print(f"{'roi ingest (empty warehouse)':<44} {rows:>10,} {ingest_s:>8.1f} {rows / ingest_s:>10,.0f} "
          f"{mib['ingest']:>9,.0f}")  # fmt: skip
    print(f"{'limit: DuckDB read_json/read_csv, no checks':<44} {limit['rows']:>10,} {limit['seconds']:>8.1f} "
          f"{limit['rows'] / limit['seconds']:>10,.0f} {mib['limit']:>9,.0f}")  # fmt: skip
    print(f"{'roi ingest again (nothing changed)':<44} {rows:>10,} {again_s:>8.1f} {'':>10} {mib['again']:>9,.0f}")
    print(f"{'contract: read + _record in Python, 1 process':<44} {contract['rows']:>10,} {contract['seconds']:>8.1f} "
          f"{contract['rows'] / contract['seconds']:>10,.0f}")  # fmt: skip
    print(f"ingest / limit throughput: {(rows / ingest_s) / (limit['rows'] / limit['seconds']):.2f} (aim: >= 0.50)")
    print(spread)
    print(
        f"of roi ingest's {ingest_s:.1f} s, reading the files and each record's canonical _record take "
        f"{contract['seconds'] / parsers:.1f} s on each of {parsers} parsing process(es); the rest is start-up, "
        "the formats' rules, the typed columns and the writing"
    )
    if limit["rows"] != rows:
        print(f"note: DuckDB read {limit['rows']:,} records, roi ingest {rows:,} (the readers' row count differs)")
    if args.workdir is not None:
        limit_rate = limit["rows"] / limit["seconds"]
        record(
            args.workdir,
            "ingest",
            f"{args.clients} clients x {args.months} months, {rows:,} records, ROI_INGEST_WORKERS={workers}; {spread}",
            [
                {
                    "what": "roi ingest, empty warehouse",
                    "figure": f"{ingest_s:.1f} s = {rows / ingest_s:,.0f} records/s, peak {mib['ingest']:,.0f} MiB",
                    "limit": f"DuckDB readers {limit['seconds']:.1f} s = {limit_rate:,.0f} records/s, "
                    f"peak {mib['limit']:,.0f} MiB",
                    "ratio": f"{(rows / ingest_s) / limit_rate:.2f}",
                    "aim": ">= 0.50",
                },
                {
                    "what": "contract alone: read every file, write each record's _record (Python, 1 process)",
                    "figure": f"{contract['seconds']:.1f} s = {contract['rows'] / contract['seconds']:,.0f} records/s",
                    "limit": "",
                    "ratio": "",
                    "aim": "",
                },
                {
                    "what": "roi ingest again, nothing changed",
                    "figure": f"{again_s:.1f} s, peak {mib['again']:,.0f} MiB",
                    "limit": "",
                    "ratio": "",
                    "aim": "",
                },
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
