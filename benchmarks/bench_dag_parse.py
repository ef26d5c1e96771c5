"""Benchmark: how long each DAG file takes to parse, as the dag-processor does it.

    .venv/bin/python benchmarks/bench_dag_parse.py            # every file in dags/, 5 repeats
    .venv/bin/python benchmarks/bench_dag_parse.py --json     # one JSON line (the DAG tests read it)

Each file is parsed in a fresh process that has already imported Airflow (as the
dag-processor's parsing processes have): the first parse pays the file's own imports
(Cosmos, roi_pipeline), which is the number that counts; later parses show the warm cost.
The environment is empty of ROI_* data: parsing must not need a warehouse or client files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
path, repeat = sys.argv[1], int(sys.argv[2])
times, errors, dags = [], {}, []
for _ in range(repeat):
    started = time.perf_counter()
    bag = DagBag(dag_folder=path)
    times.append(time.perf_counter() - started)
    errors = {k: str(v)[-500:] for k, v in bag.import_errors.items()}
    dags = sorted(bag.dags)
print(json.dumps({"times": times, "errors": errors, "dags": dags}))
"""


def parse_file(path: Path, repeat: int, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROI_", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(path.parent),
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
        ROI_WAREHOUSE=str(home / "no-warehouse" / "warehouse.duckdb"),
        ROI_CLIENTS_DIR=str(home / "no-clients"),
        ROI_LANDING_DIR=str(home / "no-landing"),
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(repeat)],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=Path, default=ROOT / "dags")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line: first-parse seconds per file")
    args = parser.parse_args()
    files = sorted(p for p in args.dags.glob("*.py") if not p.name.startswith("_"))
    result: dict = {"files": {}, "warm_median": {}, "import_errors": {}}
    with tempfile.TemporaryDirectory(prefix="roi-parse-bench-") as home:
        for path in files:
            out = parse_file(path, args.repeat, Path(home))
            result["files"][path.name] = round(out["times"][0], 3)
            result["warm_median"][path.name] = round(statistics.median(out["times"][1:] or out["times"]), 3)
            result["import_errors"].update(out["errors"])
            if not args.json:
                print(
                    f"{path.name:<28} first parse {out['times'][0]:.3f} s, warm median "
                    f"{result['warm_median'][path.name]:.3f} s  DAGs: {', '.join(out['dags']) or '-'}"
                )
    if args.json:
        print(json.dumps(result, sort_keys=True))
    elif result["import_errors"]:
        print(f"IMPORT ERRORS: {result['import_errors']}")
    return 1 if result["import_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
