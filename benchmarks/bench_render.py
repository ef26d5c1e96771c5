"""Benchmark: render the monthly report for 100 clients; time per report, HTML and PDF apart.

    .venv/bin/python benchmarks/bench_render.py                       # builds the sample, 100 clients
    .venv/bin/python benchmarks/bench_render.py --warehouse data/warehouse.duckdb --copies 1

The data set: the 4-client sample (generate -> ingest -> dbt build, ~1.5 min) whose marts
and landed-file lineage are cloned in SQL ``--copies`` times (client ids suffixed), so
the warehouse holds 4 x copies distinct clients (100 by default) with the sample's real
mix of currencies, locales, workflows and months, and every report query runs against
a warehouse 25 times the sample's size. Generating 100 clients through dbt instead would
measure dbt, not the renderer.

Phases, per client-month report:
- html: query the marts (read-only), build the document, the SVG charts, HTML, tasks.csv
  and report.json (schema-validated);
- pdf: WeasyPrint on that HTML;
- publish: the whole ``render_client_month`` (both of the above + atomic write of 4 files).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
CLONED = [
    "dim_clients",
    "dim_workflows",
    "fct_client_months",
    "fct_workflow_months",
    "fct_billing_credits",
    "fct_automation_runs",
    "fct_client_kpi_months",
    "rpt_portfolio_months",
]


def build_sample(workdir: Path) -> Path:
    from roi_pipeline.config import load_clients
    from roi_pipeline.ingest import ingest
    from roi_pipeline.sample.generator import generate
    from roi_pipeline.transform import run_dbt

    t0 = time.perf_counter()
    generate(workdir / "landing", workdir / "clients")
    loaded = load_clients(workdir / "clients")
    warehouse = workdir / "warehouse.duckdb"
    ingest(workdir / "landing", warehouse, loaded.clients)
    result = run_dbt(["run"], warehouse, quiet=True)
    if not result.success:
        sys.exit("dbt run failed:\n" + "\n".join(result.failures))
    print(f"sample warehouse built in {time.perf_counter() - t0:.0f}s", flush=True)
    return warehouse


def clone(warehouse: Path, copies: int) -> list[str]:
    """Copy every client's mart rows ``copies - 1`` more times; returns all client ids."""
    with closing(duckdb.connect(str(warehouse))) as con:
        base = [r[0] for r in con.execute("select client_id from marts.dim_clients order by 1").fetchall()]
        for k in range(2, copies + 1):
            for table in CLONED:
                cols = [r[0] for r in con.execute(f"describe marts.{table}").fetchall()]
                select = ", ".join(f"client_id || '-{k}'" if c == "client_id" else c for c in cols)
                con.execute(
                    f"insert into marts.{table} select {select} from marts.{table} where client_id in "
                    f"(select unnest(?::varchar[]))",
                    [base],
                )
            cols = [r[0] for r in con.execute("describe raw._landed_files").fetchall()]
            select = ", ".join(f"client_id || '-{k}'" if c == "client_id" else c for c in cols)
            con.execute(
                f"insert into raw._landed_files select {select} from raw._landed_files "
                "where client_id in (select unnest(?::varchar[]))",
                [base],
            )
        return [r[0] for r in con.execute("select client_id from marts.dim_clients order by 1").fetchall()]


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return (
        f"{name:<8} {len(seconds):>4} reports  mean {statistics.mean(seconds) * 1000:7.1f} ms  "
        f"median {statistics.median(seconds) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
        f"total {sum(seconds):6.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="an existing warehouse (copied, never modified)")
    parser.add_argument("--copies", type=int, default=25, help="clone the clients this many times (default 25)")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temporary directory)")
    args = parser.parse_args()

    from roi_pipeline.report import Consultancy, render_client_month
    from roi_pipeline.report.pdf import html_to_pdf
    from roi_pipeline.report.render import build_report

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-render-"))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "bench.duckdb"
    if args.warehouse:
        shutil.copy(args.warehouse, warehouse)
    else:
        shutil.move(build_sample(workdir / "sample"), warehouse)
    clients = clone(warehouse, args.copies)
    print(
        f"{len(clients)} clients, month {args.month}, warehouse {warehouse} ({warehouse.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )

    consultancy = Consultancy("Benchmark AI Ops")
    html_times, pdf_times, publish_times = [], [], []
    for client in clients:
        t0 = time.perf_counter()
        rendered, _ = build_report(warehouse, client, args.month, consultancy=consultancy)
        t1 = time.perf_counter()
        html_to_pdf(rendered.html)
        t2 = time.perf_counter()
        html_times.append(t1 - t0)
        pdf_times.append(t2 - t1)
    reports = workdir / "reports"
    for client in clients:
        t0 = time.perf_counter()
        render_client_month(warehouse, client, args.month, reports, consultancy=consultancy)
        publish_times.append(time.perf_counter() - t0)
    print(summary("html", html_times))
    print(summary("pdf", pdf_times))
    print(summary("publish", publish_times))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
