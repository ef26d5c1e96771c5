"""Benchmark: `roi build` (full, then one month) on a large warehouse, beside a hand-written SQL pass.

    .venv/bin/python benchmarks/bench_incremental_build.py            # 200 clients x 36 months
    .venv/bin/python benchmarks/bench_incremental_build.py --base-clients 4 --clone 2 --run-copies 1  # quick

The data set: the sample generator writes ``--base-clients`` clients x ``--months`` months
in the vendors' formats, ingestion loads them, then SQL amplifies the raw layer: every
client is cloned ``--clone`` times (ids suffixed) and every run ``--run-copies`` more
times (run ids suffixed, start shifted by k minutes), which keeps each clone's mix of
workflows, failures and time zones. Python ingestion is not what is measured here.

Each build is the real command, ``roi build [--month M]`` (the production build: every
model, the client-scoped data tests, the marts snapshot, the docs site into the workdir's
``reports``), in its own process, so the peak memory printed is that build's own (its largest
process, measured by benchmarks/measure.py, not the bench's; DuckDB bounded by
ROI_DUCKDB_MEMORY_LIMIT / ROI_DUCKDB_THREADS, see dbt_project/profiles.yml). The limit it is
compared with is measured
in the same run: a hand-written SQL pass over the raw run tables doing the runs side
(dedup by run id, local month, per workflow-month counts, successes, failures, tasks,
LLM cost, p95 duration), in one DuckDB process with the same bounds. Prints wall seconds,
peak RSS, build / SQL pass and month / full as ratios, and of each build the time dbt spent
running its models and tests (its ``run_results.json``): the rest of a build is a fixed cost
that does not follow the month's data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measure  # noqa: E402
from results import record  # noqa: E402


def sh(line: str) -> None:
    print(line, flush=True)


def prepare(workdir: Path, base_clients: int, months: int, end_month: str, runs_scale: float) -> Path:
    from roi_pipeline.config import load_clients
    from roi_pipeline.ingest import ingest
    from roi_pipeline.sample.generator import generate

    base = workdir / "base.duckdb"
    if base.exists():
        sh(f"reusing {base}")
        return base
    t0 = time.perf_counter()
    summary = generate(
        workdir / "landing",
        workdir / "clients",
        clients=base_clients,
        months=months,
        end_month=end_month,
        runs_scale=runs_scale,
    )
    sh(f"generated {summary.files:,} files in {time.perf_counter() - t0:.0f}s")
    t0 = time.perf_counter()
    loaded = load_clients(workdir / "clients")
    report = ingest(workdir / "landing", base, loaded.clients)
    sh(f"ingested {report.totals()['rows_loaded']:,} rows in {time.perf_counter() - t0:.0f}s")
    return base


def amplify(base: Path, target: Path, clone: int, run_copies: int) -> dict[str, int]:
    shutil.copy(base, target)
    con = duckdb.connect(str(target))
    tables = [
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    ]
    for table in tables:
        cols = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
        key = "_client_id" if "_client_id" in cols else "client_id" if "client_id" in cols else None
        if key is None:
            continue
        for k in range(1, clone):
            con.execute(
                f"insert into raw.{table} select * replace ({key} || '-x{k:03d}' as {key}) "
                f"from raw.{table} where {key} not like '%-x%'"
            )
    for table, id_col, start, stop in (
        ("n8n_executions", "id", "started_at", "stopped_at"),
        ("generic_runs", "run_id", "started_at", "finished_at"),
    ):
        for k in range(1, run_copies + 1):
            con.execute(
                f"insert into raw.{table} select * replace ({id_col} || '-r{k}' as {id_col}, "
                f"{start} + interval ({k}) minute as {start}, {stop} + interval ({k}) minute as {stop}) "
                f"from raw.{table} where {id_col} not like '%-r%'"
            )
    counts = {
        t: con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in ("n8n_executions", "generic_runs")
    }
    counts["clients"] = con.execute("select count(*) from raw.config_clients").fetchall()[0][0]
    con.close()
    return counts


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``argv`` as a child process; returns (seconds, peak RSS of its largest process in MiB)."""
    done = measure.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    if done.status != 0:
        raise SystemExit(f"failed (exit {done.status}): {' '.join(argv)}")
    return done.seconds, done.peak / 2**20


def timed_build(warehouse: Path, month: str | None) -> tuple[float, float]:
    """``roi build [--month M]`` on ``warehouse`` in a child process: (seconds, peak RSS MiB)."""
    env = {
        **os.environ,
        "ROI_WAREHOUSE": str(warehouse),
        "ROI_MARTS_SNAPSHOT": str(warehouse.parent / "snap.duckdb"),
        "ROI_REPORTS_DIR": str(warehouse.parent / "reports"),  # the docs site: not the repository's data/reports
    }
    roi = Path(sys.executable).parent / "roi"
    return _timed([str(roi), "build", *(["--month", month] if month else [])], env)


#: The runs side written by hand: one pass over the raw run tables to workflow-month figures.
HAND_SQL = """
create or replace table bench_runs_side as
with runs as (
    select _client_id as client_id, workflow_id, id as run_id, started_at, stopped_at as ended_at,
           status, items, llm_cost, retry_of
    from raw.n8n_executions
    union all
    select _client_id, workflow_id, run_id, started_at, finished_at, status, items, llm_cost, retry_of
    from raw.generic_runs
),
latest as (
    select * from runs
    qualify row_number() over (partition by client_id, run_id order by started_at desc) = 1
),
local_runs as (
    select latest.*, cast(date_trunc('month', timezone(clients.timezone, timezone('UTC', started_at))) as date)
        as run_month
    from latest join raw.config_clients as clients using (client_id)
)
select client_id, workflow_id, run_month,
       count(*) as runs,
       count(*) filter (where status = 'success') as successful_runs,
       count(*) filter (where status in ('error', 'failed', 'crashed')) as failed_runs,
       count(*) filter (where retry_of is not null) as retries,
       sum(coalesce(items, 1)) as tasks,
       sum(coalesce(llm_cost, 0)) as llm_cost,
       quantile_cont(epoch(ended_at - started_at), 0.95) as p95_duration_seconds
from local_runs
group by all
"""


def nodes_seconds(warehouse: Path) -> float:
    """dbt's own time running the last build's models and tests (``run_results.json``'s
    ``elapsed_time``): the rest of a ``roi build`` is fixed cost (the command's and dbt's start,
    dbt's parse and manifest, the marts snapshot, the docs site)."""
    from roi_pipeline.transform import dbt_work_dir

    results = json.loads((dbt_work_dir(warehouse) / "target" / "run_results.json").read_text(encoding="utf-8"))
    return float(results["elapsed_time"])


def timed_sql_pass(warehouse: Path) -> tuple[float, float]:
    """The hand-written SQL pass (HAND_SQL) in a child process, with the build's DuckDB bounds."""
    code = (
        "import duckdb, os, sys\n"
        "con = duckdb.connect(sys.argv[1], config={"
        "'memory_limit': os.environ.get('ROI_DUCKDB_MEMORY_LIMIT', '1GB'),"
        "'threads': int(os.environ.get('ROI_DUCKDB_THREADS', '2')),"
        "'preserve_insertion_order': False})\n"
        "con.execute(sys.argv[2])\n"
    )
    return _timed([sys.executable, "-c", code, str(warehouse), HAND_SQL], dict(os.environ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-clients", type=int, default=20)
    parser.add_argument("--clone", type=int, default=10, help="copies of every client (x base clients)")
    parser.add_argument("--run-copies", type=int, default=3, help="extra copies of every run")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--end-month", default="2026-10")
    parser.add_argument("--runs-scale", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "roi-bench")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    key = f"c{args.base_clients}_m{args.months}_s{args.runs_scale}"
    base = prepare(args.workdir / key, args.base_clients, args.months, args.end_month, args.runs_scale)
    warehouse = args.workdir / key / "amplified" / "warehouse.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    t0 = time.perf_counter()
    counts = amplify(base, warehouse, args.clone, args.run_copies)
    runs = counts["n8n_executions"] + counts["generic_runs"]
    sh(f"amplified to {counts['clients']} clients, {runs:,} run rows in {time.perf_counter() - t0:.0f}s")

    sql_s, sql_mb = timed_sql_pass(warehouse)
    sh(f"hand-written SQL pass: {sql_s:8.1f} s   peak RSS {sql_mb:8.0f} MiB")
    full_s, full_mb = timed_build(warehouse, None)
    full_nodes = nodes_seconds(warehouse)
    sh(
        f"roi build (full):      {full_s:8.1f} s   peak RSS {full_mb:8.0f} MiB   (dbt's models and tests {full_nodes:.1f} s)"
    )
    inc_s, inc_mb = timed_build(warehouse, args.end_month)
    inc_nodes = nodes_seconds(warehouse)
    sh(
        f"roi build --month:     {inc_s:8.1f} s   peak RSS {inc_mb:8.0f} MiB   ({args.end_month}; "
        f"dbt's models and tests {inc_nodes:.1f} s)"
    )
    inc2_s, _ = timed_build(warehouse, args.end_month)
    sh(f"same month again:      {inc2_s:8.1f} s   (dbt's models and tests {nodes_seconds(warehouse):.1f} s)")
    sh(f"full build / SQL pass: {full_s / sql_s:.1f}x (aim <= 3x)")
    sh(
        f"month / full build:    {inc_s / full_s:.1%} (aim <= 15%; {counts['clients']} clients x {args.months} months, "
        f"{runs:,} runs)"
    )
    record(args.workdir, "build", f"{counts['clients']} clients x {args.months} months, {runs:,} runs", [
        {"what": "roi build (full)", "figure": f"{full_s:.1f} s, peak {full_mb / 1024:.2f} GiB",
         "limit": f"SQL pass {sql_s:.1f} s", "ratio": f"{full_s / sql_s:.1f}x", "aim": "<= 3x; peak <= 2 GiB"},
        {"what": f"roi build --month {args.end_month}", "figure": f"{inc_s:.1f} s, peak {inc_mb / 1024:.2f} GiB",
         "limit": f"full build {full_s:.1f} s", "ratio": f"{inc_s / full_s:.0%}", "aim": "<= 15%"},
        {"what": "the same month again", "figure": f"{inc2_s:.1f} s", "limit": "", "ratio": "", "aim": ""},
        {"what": "of the month: dbt's models and tests (run_results.json)", "figure": f"{inc_nodes:.1f} s",
         "limit": f"the rest, fixed: {inc_s - inc_nodes:.1f} s", "ratio": f"{(inc_s - inc_nodes) / full_s:.0%} of full",
         "aim": ""},
    ])  # fmt: skip


if __name__ == "__main__":
    main()
