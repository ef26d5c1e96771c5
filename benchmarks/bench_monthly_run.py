"""Benchmark: the monthly job as a user runs it, `roi run --month M` for N clients, landed files to every report.

    .venv/bin/python benchmarks/bench_monthly_run.py                         # 200 clients: the aim's scale, `make bench`'s
    .venv/bin/python benchmarks/bench_monthly_run.py --clients 50            # a quarter of it
    .venv/bin/python benchmarks/bench_monthly_run.py --clients 8 --months 3  # quick

The aim (the open issue): "200 clients' month, landed files to every report published, in
<= 15 minutes here" (a 2-core machine). For another N the aim is scaled linearly,
900 s x N / 200, and the table says so.

The data set: the sample generator writes ``--base-clients`` clients x ``--months`` months
ending ``--end-month`` (= the month M measured); N clients are made by cloning them under new
ids (``<base id>-c007``: the client file's ``client_id``, name and contacts, and the landing
folder's name; the landing files themselves carry no client id, so they are copied as they
are). Every clone must validate (``roi validate``) and ingest with no failed file.

Setup, timed but not the figure measured: every month before M is landed, then ``roi ingest``,
``roi build`` (full) and ``roi run --month M-1`` (``--no-prior-run`` skips it), so the warehouse
is as it is at the end of a month in production. Month M's files (and their lines of each
folder's ``_extracts.json``) are held aside. The set-up state is kept in ``--workdir`` and
reused while the code (include/, dbt_project/, expectations/) and the flags are the same.

Measured, in the same run: month M's files are landed (copied in, as the extractor drops
them), then ``roi run --month M`` in a fresh process: wall time, peak RSS of its largest
process (its own, through benchmarks/measure.py) and of the whole process tree (sampled every
0.2 s: the report workers run beside the parent), and each step's time as the command prints
it ("<step>: done in 12.3s").
Beside them, measured after it in the same run:

- the aim, 900 s x N / 200;
- ingest: DuckDB's read_json / read_csv over month M's files (bench_ingest.READERS, no checks);
- render reports: ``roi report`` of ``--report-sample`` clients with ``--workers 1`` and with
  the default workers (one per core): its render step's seconds per client, so the pool's
  gain is seen.

Prints one table and records it (benchmarks/results.py) when ``--workdir`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measure  # noqa: E402
from bench_ingest import CSV_FOLDERS, JSON_ENVELOPES, READERS  # noqa: E402
from results import record  # noqa: E402

ROI = [sys.executable, "-m", "roi_pipeline.cli"]
#: The aim: 200 clients' month in 15 minutes.
AIM_SECONDS, AIM_CLIENTS = 900.0, 200
#: What the set-up state depends on: a change here builds it again.
SOURCES = ("include", "dbt_project/models", "dbt_project/macros", "dbt_project/tests", "dbt_project/dbt_project.yml",
           "expectations", "report_templates")  # fmt: skip
#: A finished step as `roi` prints it off a terminal (console.Output.step).
STEP_LINE = re.compile(r"^(?P<what>[a-z][\w -]*?): (?:done in|FAILED after) (?P<time>(?:\d+m)?[\d.]+s)(?: \((?P<detail>.*)\))?$")  # fmt: skip


def say(line: str = "") -> None:
    print(line, flush=True)


# -- the clients ------------------------------------------------------------------------------


def clone_id(base_id: str, index: int) -> str:
    return f"{base_id}-c{index:03d}"


def clone_client_yaml(text: str, base_id: str, new_id: str) -> str:
    """The client file ``text`` of ``base_id`` as client ``new_id``: its id, name and contacts."""
    data = yaml.safe_load(text)
    if data.get("client_id") != base_id:
        raise ValueError(f"client file says client_id {data.get('client_id')!r}, expected {base_id!r}")
    data["client_id"] = new_id
    data["name"] = f"{data['name']} ({new_id.rsplit('-', 1)[-1]})"
    data["report_contacts"] = [c.replace(f"@{base_id}.", f"@{new_id}.") for c in data.get("report_contacts", [])]

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    header = f"# Benchmark clone of {base_id} (benchmarks/bench_monthly_run.py).\n"
    return header + yaml.dump(data, Dumper=NoAliases, sort_keys=False, allow_unicode=True, width=120)


def clone_clients(
    base_landing: Path, base_clients: Path, landing: Path, clients_dir: Path, held: Path, count: int, month: str
) -> dict[str, str]:
    """Write ``count`` clients cloned from the base clients, in turn; returns clone id -> base id.

    Landing files of months before ``month`` go to ``landing/<clone>/<folder>/``; the files of
    ``month`` to ``held/<clone>/<folder>/`` (landed later); later months are left out. Each
    folder's ``_extracts.json`` is split the same way: ``landing`` gets the entries of the files
    it has, ``held`` the whole record (what the folder's record is once ``month`` is extracted).
    """
    from roi_pipeline.config import client_files

    bases = client_files(base_clients)
    if not bases:
        raise ValueError(f"no client files in {base_clients}")
    clients_dir.mkdir(parents=True, exist_ok=True)
    for extra in base_clients.glob("_*.yaml"):  # _consultancy.yaml
        shutil.copy2(extra, clients_dir / extra.name)
    made: dict[str, str] = {}
    for index in range(count):
        source = bases[index % len(bases)]
        base_id = source.stem
        new_id = clone_id(base_id, index)
        (clients_dir / f"{new_id}.yaml").write_text(
            clone_client_yaml(source.read_text(encoding="utf-8"), base_id, new_id), encoding="utf-8"
        )
        for path in sorted((base_landing / base_id).rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(base_landing / base_id)
            if path.name == "_extracts.json":
                record_ = json.loads(path.read_text(encoding="utf-8"))
                earlier = {name: v for name, v in record_.items() if name[:7] < month}
                _write(landing / new_id / rel, json.dumps(earlier, indent=2, sort_keys=True) + "\n")
                if len(earlier) < len(record_):
                    _write(held / new_id / rel, path.read_text(encoding="utf-8"))
                continue
            target = landing if path.name[:7] < month else held if path.name[:7] == month else None
            if target is not None:
                (target / new_id / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / new_id / rel)
        made[new_id] = base_id
    return made


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def land(held: Path, landing: Path) -> int:
    """Copy the held month into ``landing`` (a file there is replaced, never written through:
    the run's landing tree may be hard links to the kept set-up state). Returns files landed."""
    files = 0
    for path in held.rglob("*"):
        if path.is_file():
            target = landing / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(path, target)
            files += 1
    return files


# -- running roi ------------------------------------------------------------------------------


def roi_env(state: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ROI_LANDING_DIR": str(state / "landing"),
        "ROI_CLIENTS_DIR": str(state / "clients"),
        "ROI_WAREHOUSE": str(state / "warehouse.duckdb"),
        "ROI_REPORTS_DIR": str(state / "reports"),
        "ROI_MARTS_SNAPSHOT": str(state / "marts_snapshot.duckdb"),
        "PYTHONPATH": str(ROOT / "include"),
    }


class Timed:
    """A finished child process: exit status, seconds, peak RSS (largest process; whole tree, sampled).

    Measured by benchmarks/measure.py: the largest process's peak is the command's own, not this
    process's (which ``wait4`` would report on Linux after the setup held more).
    """

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, ok: tuple[int, ...] = (0,)) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as out:
            done = measure.run(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, sample_tree=0.2)
        self.seconds, self.status, self.peak, self.tree_peak = done.seconds, done.status, done.peak, done.tree_peak
        self.output = log.read_text(encoding="utf-8", errors="replace")
        if self.status not in ok:
            tail = "\n".join(self.output.splitlines()[-30:])
            raise SystemExit(f"{' '.join(argv[2:6])} failed (exit {self.status}; log {log}):\n{tail}")


def steps(output: str) -> list[tuple[str, float, bool, str]]:
    """The steps a `roi` command printed: (what, seconds, ok, detail), in order."""
    found = []
    for line in output.splitlines():
        m = STEP_LINE.match(line)
        if m:
            minutes, _, rest = m["time"][:-1].rpartition("m")
            found.append((m["what"], float(minutes or 0) * 60 + float(rest), "done in" in line, m["detail"] or ""))
    return found


def fingerprint(args: argparse.Namespace) -> str:
    """The code and flags the set-up state was made with."""
    digest = hashlib.sha256(json.dumps([args.clients, args.base_clients, args.months, args.end_month, args.seed,
                                        args.runs_scale, args.prior_run]).encode())  # fmt: skip
    for name in SOURCES:
        top = ROOT / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and "uncommitted" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def previous_month(month: str) -> str:
    first = date.fromisoformat(f"{month}-01")
    return f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}"


def setup(args: argparse.Namespace, work: Path) -> tuple[Path, dict]:
    """The kept set-up state (made anew when missing or stale) and what its making took."""
    from roi_pipeline.sample.generator import generate

    state, marker = work / "setup", work / "setup" / "SETUP.json"
    key = fingerprint(args)
    if marker.exists():
        kept = json.loads(marker.read_text(encoding="utf-8"))
        if kept.get("fingerprint") == key and not args.fresh:
            say(f"reusing the set-up state in {state} (made {kept['made']})")
            return state, kept
        say("the set-up state was made with other code or flags: making it again")
    shutil.rmtree(state, ignore_errors=True)
    taken: dict[str, float] = {}
    base = work / f"base-{args.base_clients}x{args.months}-{args.end_month}-s{args.seed}-r{args.runs_scale}"
    if not (base / "clients").is_dir():
        t0 = time.perf_counter()
        summary = generate(base / "landing", base / "clients", seed=args.seed, clients=args.base_clients,
                           months=args.months, end_month=args.end_month, runs_scale=args.runs_scale)  # fmt: skip
        taken["generate base clients"] = time.perf_counter() - t0
        say(f"generated {args.base_clients} base clients x {args.months} months: {summary.files:,} files")
    t0 = time.perf_counter()
    made = clone_clients(base / "landing", base / "clients", state / "landing", state / "clients", state / "held",
                         args.clients, args.end_month)  # fmt: skip
    taken["clone clients"] = time.perf_counter() - t0
    say(f"cloned {len(made)} clients from {len(set(made.values()))} base clients in {taken['clone clients']:.0f}s")
    env, logs = roi_env(state), state / "logs"
    commands = [("validate", ["validate"], (0,)), ("ingest (months before M)", ["ingest"], (0,)),
                ("build (full)", ["build"], (0,))]  # fmt: skip
    if args.prior_run:  # a held client exits 1 and is still the state production would be in
        prior = previous_month(args.end_month)
        commands.append((f"run --month {prior}", ["run", "--month", prior], (0, 1)))
    for what, argv, ok in commands:
        done = Timed([*ROI, *argv], env, logs / f"{argv[0]}.log", ok)
        taken[f"roi {what}"] = done.seconds
        say(f"setup: roi {what:<28} {done.seconds:7.1f} s" + (f"  (exit {done.status})" if done.status else ""))
    check_clones(state / "warehouse.duckdb", made)
    kept = {"fingerprint": key, "made": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "taken": taken,
            "clients": made, "load_average": round(os.getloadavg()[0], 1)}  # fmt: skip
    marker.write_text(json.dumps(kept, indent=1), encoding="utf-8")
    return state, kept


def check_clones(warehouse: Path, made: dict[str, str]) -> None:
    """Every clone ingested like its base's other clones: no failed file, the same rows loaded and quarantined."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select client_id, count(*) filter (where status <> 'loaded'), sum(rows_loaded), sum(rows_quarantined) "
            "from raw._landed_files group by 1"
        ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    missing = sorted(set(made) - set(got))
    failed = sorted(c for c, r in got.items() if r[0])
    by_base: dict[str, set] = {}
    for clone, base in made.items():
        if clone in got:
            by_base.setdefault(base, set()).add(got[clone][1:])
    differ = sorted(b for b, counts in by_base.items() if len(counts) > 1)
    if missing or failed or differ:
        raise SystemExit(f"clones did not ingest cleanly: no files {missing[:5]}, failed files {failed[:5]}, "
                         f"clones of one base loading different rows {differ[:5]}")  # fmt: skip


def restore(state: Path, run: Path) -> None:
    """``run`` = a copy of the set-up state: landing and held as hard links (never written to), the rest copied."""
    shutil.rmtree(run, ignore_errors=True)

    def link_or_copy(src: str, dst: str) -> None:
        if Path(src).relative_to(state).parts[0] in ("landing", "held"):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(state, run, copy_function=link_or_copy)


# -- the measurement --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="clients in the month (default 200)")
    parser.add_argument("--base-clients", type=int, default=8, help="generated clients the others are cloned from")
    parser.add_argument("--months", type=int, default=6, help="months of history, M included (default 6)")
    parser.add_argument("--end-month", default="2026-10", help="the month M measured, the last generated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs-scale", type=float, default=1.0, help="the generator's runs per day multiplier")
    parser.add_argument("--no-prior-run", dest="prior_run", action="store_false",
                        help="setup without `roi run --month M-1` (cheaper; no reports of M-1)")  # fmt: skip
    parser.add_argument("--report-sample", type=int, default=10,
                        help="clients rendered with --workers 1 and the default workers (0: skip)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="make the set-up state again even if kept")
    parser.add_argument("--workdir", type=Path, default=None, help="kept between runs (default: a temporary dir)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.base_clients < 1 or args.months < 2:
        parser.error("--clients and --base-clients at least 1, --months at least 2 (M and one before it)")

    with tempfile.TemporaryDirectory(prefix="roi-bench-monthly-") as scratch:
        top = (args.workdir or Path(scratch)).resolve()
        work = top / f"monthly-{args.clients}x{args.months}"
        work.mkdir(parents=True, exist_ok=True)
        state, kept = setup(args, work)
        run = work / "run"
        restore(state, run)
        month, clients = args.end_month, sorted(kept["clients"])
        env = roi_env(run)

        t0 = time.perf_counter()
        landed = land(run / "held", run / "landing")
        land_s = time.perf_counter() - t0
        load_before = os.getloadavg()
        say(f"landed {landed:,} files of {month} in {land_s:.1f}s; running roi run --month {month} "
            f"(load average {load_before[0]:.1f})")  # fmt: skip
        measured = Timed([*ROI, "run", "--month", month], env, run / "roi-run.log", ok=(0, 1))
        load_after = os.getloadavg()
        ran = steps(measured.output)
        published = [c for c in clients if (run / "reports" / c / month / "report.pdf").is_file()]
        say(f"roi run --month {month}: {measured.seconds:.1f}s, exit {measured.status}, "
            f"{len(published)}/{len(clients)} reports published (log {run / 'roi-run.log'})")  # fmt: skip

        # The limits, after the measured run, in the same run.
        done = subprocess.run(
            [sys.executable, "-c", READERS, str(run / "held"), json.dumps(JSON_ENVELOPES), json.dumps(CSV_FOLDERS)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        readers = json.loads(done.stdout)
        sample = clients[: args.report_sample]
        per_client: dict[str, float] = {}
        for label, extra in (("1 worker", ["--workers", "1"]), ("default workers", [])):
            if not sample:
                break
            timed = Timed([*ROI, "report", *sample, "--month", month, "--no-portfolio", *extra], env,
                          run / f"report-sample-{len(per_client)}.log", ok=(0, 1))  # fmt: skip
            # the step's own time, as in the measured run (not the process's start-up and loading); the
            # reports alone: a run of some clients refreshes the portfolio page, a fixed cost
            render = sum(s for what, s, _, _ in steps(timed.output) if what == "render reports")
            per_client[label] = render / len(sample)
            say(f"roi report of {len(sample)} clients, {label}: {timed.seconds:.1f}s, render reports {render:.1f}s")

    n = len(clients)
    aim = AIM_SECONDS * n / AIM_CLIENTS
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    outside = measured.seconds - sum(s for _, s, _, _ in ran)
    held_lines = sum(1 for line in measured.output.splitlines() if "HELD BACK" in line)
    setting = (f"{n} clients ({args.base_clients} generated, cloned) x {args.months} months, month {month}, "
               f"{cores} cores, prior run {'yes' if args.prior_run else 'no'}")  # fmt: skip
    rows = [{
        "what": f"roi run --month {month}: landed files to reports",
        "figure": f"{measured.seconds:.1f} s = {measured.seconds / n:.2f} s/client; peak RSS "
                  f"{measured.peak / 2**20:,.0f} MiB (largest process), {measured.tree_peak / 2**20:,.0f} MiB (tree)",
        "limit": f"aim {aim:.0f} s" + ("" if n == AIM_CLIENTS else f" (900 s x {n}/200, scaled linearly)"),
        "ratio": f"{measured.seconds / aim:.2f}",
        "aim": "<= 1.00",
    }]  # fmt: skip
    for what, seconds, ok, detail in ran:
        row = {"what": f"  step: {what}" + ("" if ok else " (FAILED)"),
               "figure": f"{seconds:.1f} s = {seconds / n:.3f} s/client", "limit": "", "ratio": "", "aim": ""}  # fmt: skip
        if what == "ingest":
            row.update(limit=f"DuckDB readers over {month}'s files {readers['seconds']:.1f} s ({readers['rows']:,} records)",
                       ratio=f"{seconds / readers['seconds']:.1f}x")  # fmt: skip
        if what == "render reports" and len(per_client) == 2:
            one, default = per_client["1 worker"], per_client["default workers"]
            row.update(limit=f"{len(sample)} clients: {one:.2f} s/client on 1 worker, {default:.2f} default ({cores})",
                       ratio=f"{(seconds / n) / one:.2f} of 1 worker")  # fmt: skip
        row["what"] += f" [{detail}]" if detail and len(detail) < 70 else ""
        rows.append(row)
    rows.append({"what": "  outside the steps (start-up, loading, statuses)", "figure": f"{outside:.1f} s",
                 "limit": "", "ratio": "", "aim": ""})  # fmt: skip
    rows.append({"what": "published", "figure": f"{len(published)}/{n} reports; exit {measured.status}"
                 + (f", {held_lines} held back" if held_lines else ""), "limit": "", "ratio": "", "aim": f"{n}/{n}"})  # fmt: skip
    for what, seconds in kept["taken"].items():
        rows.append({"what": f"setup (not measured): {what}", "figure": f"{seconds:.1f} s", "limit": "", "ratio": "",
                     "aim": ""})  # fmt: skip

    say()
    say(f"{setting}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after the measured run")
    width = max(len(r["what"]) for r in rows)
    for r in rows:
        extra = "  |  ".join(
            x for x in (r["limit"], r["ratio"] and f"ratio {r['ratio']}", r["aim"] and f"aim {r['aim']}") if x
        )
        say(f"{r['what']:<{width}}  {r['figure']}" + (f"  |  {extra}" if extra else ""))
    if args.workdir is not None:
        record(args.workdir, "monthly_run", setting, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
