"""``roi``: the steps a data engineer runs by hand.

    roi paths                      where landing data, client files, warehouse and reports are
    roi generate [--clients N ...] write deterministic sample data (client files + landing files)
    roi validate [CLIENT ...]      check client files and say what landing data each client has
    roi extract [CLIENT ...]       pull run logs, CRM activity and timesheets from the vendors' APIs
    roi ingest [CLIENT ...]        load landing files into the warehouse's raw layer
    roi build [--month YYYY-MM]    build and test the dbt models (one month incrementally, or all)
    roi check --month YYYY-MM      run the quality gates (raw inputs, marts) for a month
    roi status --month YYYY-MM     whether each client's report may be published, and why not
    roi report --month YYYY-MM     render client reports (HTML, PDF, JSON, CSV) and the portfolio page
    roi run [--month YYYY-MM]      the main job: ingest, build, gates, reports (default: latest closed month)
    roi demo                       generate sample data, then run the monthly DAG on it (airflow dags test)

Locations come from ``ROI_LANDING_DIR``, ``ROI_CLIENTS_DIR``, ``ROI_WAREHOUSE`` and
``ROI_REPORTS_DIR`` (see ``roi paths``). Exit status: 0 ok, 1 some client or file failed,
2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from roi_pipeline.settings import Locations


def _say(line: str) -> None:
    print(line, flush=True)


def _load(locations: Locations, only: Sequence[str] | None):
    from roi_pipeline.config import load_clients

    result = load_clients(locations.clients_dir, only=only or None)
    if not result.clients and not result.errors:
        _say(f"No client files in {locations.clients_dir} (set ROI_CLIENTS_DIR, or run `roi generate`).")
    for error in result.errors:
        _say(f"CONFIG ERROR {error}")
    return result


def cmd_paths(args: argparse.Namespace, locations: Locations) -> int:
    _say("Locations (set the variables to change them):")
    _say(locations.describe())
    return 0


def cmd_generate(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.sample.generator import generate

    _say(
        f"Generating sample data: {args.clients} clients x {args.months} months to {args.end_month} "
        f"(seed {args.seed}, runs x{args.runs_scale})"
    )
    summary = generate(
        locations.landing_dir,
        locations.clients_dir,
        seed=args.seed,
        clients=args.clients,
        months=args.months,
        end_month=args.end_month,
        runs_scale=args.runs_scale,
        progress=_say,
    )
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.rows.items()))
    _say(f"Wrote {summary.files:,} files for {len(summary.clients)} clients ({rows})")
    _say(f"  client files: {locations.clients_dir}")
    _say(f"  landing data: {locations.landing_dir}")
    return 0


def cmd_validate(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.formats import FORMATS
    from roi_pipeline.ingest import landing_files

    result = _load(locations, args.clients)
    status = 0 if result.ok else 1
    for client in result.clients:
        client_dir = locations.landing_dir / client.client_id
        files = landing_files(client_dir) if client_dir.is_dir() else []
        by_folder: dict[str, int] = {}
        for folder, _path in files:
            by_folder[folder] = by_folder.get(folder, 0) + 1
        _say(f"OK {client.client_id}: {len(client.workflows)} workflows, {client.timezone}, {client.currency}")
        problems = _missing_sources(client, by_folder)
        for folder in FORMATS:
            if by_folder.get(folder):
                _say(f"    {folder:<22} {by_folder[folder]} file(s)")
        for problem in problems:
            _say(f"    MISSING {problem}")
        if problems:
            status = 1
    return status


def _missing_sources(client, by_folder: dict[str, int]) -> list[str]:
    """What a client's configuration needs from the landing folder that is not there."""
    needed: dict[str, str] = {}
    for wf in client.workflows:
        folder = "n8n_executions" if wf.platform == "n8n" else "generic_runs"
        needed.setdefault(folder, f"run logs for workflow {wf.key!r} ({wf.platform})")
        if wf.baseline.volume is not None:
            vol = f"hubspot_{wf.baseline.volume.object}"
            needed.setdefault(vol, f"HubSpot {wf.baseline.volume.object} (volume source of {wf.key!r})")
    sheets = f"{client.timesheets.format}_time_entries"
    needed.setdefault(sheets, f"{client.timesheets.format} timesheets (configured timesheets.format)")
    needed.setdefault("hubspot_contacts", "HubSpot contacts (leads, for lead response KPIs)")
    return [f"{folder}/: {why}" for folder, why in needed.items() if not by_folder.get(folder)]


def cmd_ingest(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.ingest import ingest

    result = _load(locations, args.clients)
    if not result.clients:
        return 1
    _say(f"Ingesting {len(result.clients)} client(s) from {locations.landing_dir} into {locations.warehouse}")
    report = ingest(locations.landing_dir, locations.warehouse, result.clients, progress=_say)
    totals = report.totals()
    _say(
        f"Done: {totals['files']} files, {totals['rows_loaded']:,} rows loaded, "
        f"{totals['rows_quarantined']:,} quarantined (see raw._quarantine), {totals['failed_files']} failed files"
    )
    return 0 if result.ok and not report.failed and not report.client_errors else 1


def cmd_build(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.transform import PRODUCTION_VARS, dbt_vars, run_dbt

    month = getattr(args, "month", None)
    scope = f"month {month} (incremental)" if month else "every month"
    _say(f"Building the dbt models for {scope} in {locations.warehouse}")
    result = run_dbt(["build"], locations.warehouse, variables={**dbt_vars(report_month=month), **PRODUCTION_VARS})
    if not result.success:
        for failure in result.failures:
            _say(f"DBT FAILURE {failure}")
        return 1
    _say("Models built and tested: query the marts schema (marts.fct_client_months, marts.fct_workflow_months, ...)")
    return 0


def latest_closed_month(warehouse) -> str | None:
    """The latest month whose settle period has passed for some client, as of the data."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select max(report_month) from marts.fct_client_months where is_month_closed").fetchall()
    return rows[0][0].strftime("%Y-%m") if rows and rows[0][0] else None


def cmd_check(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.quality import run_mart_gate, run_raw_gate

    result = _load(locations, args.clients)
    if not result.clients:
        return 1
    if not locations.warehouse.exists():
        _say(f"No warehouse at {locations.warehouse}: run `roi ingest` and `roi build` first.")
        return 1
    gates = {"raw": [run_raw_gate], "mart": [run_mart_gate], "both": [run_raw_gate, run_mart_gate]}[args.gate]
    _say(f"Quality gates ({args.gate}) for {args.month}, {len(result.clients)} client(s)")
    held = 0
    for gate in gates:
        for outcome in gate(locations.warehouse, result.clients, args.month):
            verdict = "PUBLISHABLE" if outcome.publishable else "HELD"
            _say(f"  {outcome.gate:<4} {outcome.client_id:<28} {verdict} ({outcome.evaluated} expectations)")
            for reason in outcome.reasons:
                _say(f"      blocking: {reason}")
            for note in outcome.notes:
                _say(f"      warning:  {note}")
            for info in outcome.infos:
                _say(f"      info:     {info.message}")
            held += not outcome.publishable
    from roi_pipeline.settings import PROJECT_DIR

    _say(f"Data Docs: {PROJECT_DIR / 'expectations' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    return 1 if held else 0


def cmd_status(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.quality import gate_status

    result = _load(locations, args.clients)
    held = 0
    for client in result.clients:
        status = gate_status(locations.warehouse, client.client_id, args.month)
        _say(f"{client.client_id:<28} {'publishable' if status.publishable else 'HELD'}")
        for reason in status.reasons:
            _say(f"    {reason}")
        held += not status.publishable
    return 1 if held else 0


def cmd_report(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.quality import gate_status
    from roi_pipeline.report import (
        ConsultancyConfigError,
        QualityStatus,
        UnknownClientError,
        load_consultancy,
        render_client_month,
        render_portfolio,
    )

    loaded = _load(locations, args.clients)
    if not loaded.clients:
        return 1
    try:
        consultancy = load_consultancy(locations.clients_dir)
    except ConsultancyConfigError as exc:
        _say(f"CONFIG ERROR {exc}")
        return 2
    statuses = {
        c.client_id: QualityStatus.from_gate(gate_status(locations.warehouse, c.client_id, args.month))
        for c in loaded.clients
    }
    _say(f"Rendering {len(loaded.clients)} client report(s) for {args.month} into {locations.reports_dir}")
    status = 0 if loaded.ok else 1
    for client in loaded.clients:
        try:
            result = render_client_month(
                locations.warehouse,
                client.client_id,
                args.month,
                locations.reports_dir,
                quality=statuses[client.client_id],
                consultancy=consultancy,
            )
        except UnknownClientError as exc:
            _say(f"  {client.client_id}: {exc}")
            status = 1
            continue
        if result.status == "held_back":
            _say(f"  {client.client_id:<28} HELD BACK: " + "; ".join(result.reasons))
            status = 1
        else:
            flags = (" (restated)" if result.restated else "") + (" (no data)" if result.no_data else "")
            _say(f"  {client.client_id:<28} {result.directory}{flags}")
    if not args.no_portfolio and not args.clients:
        page = render_portfolio(
            locations.warehouse, args.month, locations.reports_dir, statuses, consultancy=consultancy
        )
        _say(f"  portfolio                    {page}")
    return status


def cmd_run(args: argparse.Namespace, locations: Locations) -> int:
    """ingest -> build -> raw and mart gates for the report month (one client's hold stops no one)."""
    status = cmd_ingest(args, locations)
    if not (locations.warehouse.exists()):
        return status or 1
    _say("")
    build_status = cmd_build(args, locations)
    status = max(status, build_status)
    month = getattr(args, "month", None) or (latest_closed_month(locations.warehouse) if build_status == 0 else None)
    if month:
        _say("")
        status = max(status, cmd_check(argparse.Namespace(clients=args.clients, month=month, gate="both"), locations))
        _say("")
        report_args = argparse.Namespace(clients=args.clients, month=month, no_portfolio=False)
        status = max(status, cmd_report(report_args, locations))
    _say("")
    _say(cmd_summary(locations))
    return status


def cmd_demo(args: argparse.Namespace, locations: Locations) -> int:
    """Sample data, then the main job: through Airflow (``dags test``) or, without it, ``roi run``."""
    cmd_generate(args, locations)
    _say("")
    # demo's --clients is a count for the generator; the run then covers every client.
    if args.without_airflow:
        return cmd_run(argparse.Namespace(clients=[], month=None), locations)

    from roi_pipeline.orchestration.standalone import run_month_in_airflow

    month = args.end_month
    _say(f"Running the roi_monthly DAG for {month} in-process (airflow dags test; SQLite + DuckDB)")
    status = run_month_in_airflow(month, say=_say)
    _say("")
    _say(f"Publish decisions for {month} (roi status --month {month}):")
    status = max(status, cmd_status(argparse.Namespace(clients=[], month=month), locations))
    _say("")
    _say(cmd_reports_written(locations, month))
    _say("")
    _say(cmd_summary(locations))
    return status


def cmd_reports_written(locations: Locations, month: str) -> str:
    """The report files on disk for ``month``, one line per client (and the portfolio)."""
    lines = [f"Reports for {month} in {locations.reports_dir}:"]
    found = sorted(locations.reports_dir.glob(f"*/{month}")) if locations.reports_dir.is_dir() else []
    for folder in found:
        names = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file()))
        lines.append(f"  {folder.parent.name:<28} {folder}/  ({names})")
    if not found:
        lines.append("  (none)")
    return "\n".join(lines)


def cmd_summary(locations: Locations) -> str:
    return "\n".join(
        [
            "Where everything is (reports: <ROI_REPORTS_DIR>/<client>/<YYYY-MM>/report.html|pdf|json, tasks.csv):",
            locations.describe(),
            "Query the marts, e.g.:",
            f"  {sys.executable} -c \"import duckdb; duckdb.connect('{locations.warehouse}', read_only=True)"
            ".sql('select * from marts.fct_client_months').show()\"",
        ]
    )


def _add_generate_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=4, help="number of clients (default 4)")
    parser.add_argument("--months", type=int, default=15, help="months of history (default 15)")
    parser.add_argument("--end-month", default="2026-10", help="last month generated, YYYY-MM (default 2026-10)")
    parser.add_argument("--runs-scale", type=float, default=1.0, help="multiplier on runs per day (default 1.0)")
    parser.add_argument("--seed", type=int, default=7, help="random seed; same seed, same files (default 7)")


def _month(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {value!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roi",
        description="Monthly automation-ROI pipeline: sample data, client validation, ingestion.",
        epilog="Locations: ROI_LANDING_DIR, ROI_CLIENTS_DIR, ROI_WAREHOUSE, ROI_REPORTS_DIR (see `roi paths`).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("paths", help="print where data, client files, warehouse and reports are")
    p.set_defaults(func=cmd_paths)

    p = sub.add_parser("generate", help="write deterministic sample client files and landing data")
    _add_generate_flags(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="validate client files and list what landing data each client has")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ingest", help="load landing files into the warehouse's raw layer")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("build", help="build and test the dbt models")
    p.add_argument("--month", type=_month, help="replace only this month (YYYY-MM) in the incremental models")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="run the data-quality gates (Great Expectations) for a month")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.add_argument("--month", type=_month, required=True, help="the month checked, YYYY-MM (client's zone)")
    p.add_argument("--gate", choices=["raw", "mart", "both"], default="both", help="which gate (default both)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("status", help="say whether each client's report for a month may be published, and why not")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="render client reports (HTML, PDF, JSON, CSV) and the portfolio page")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all, plus the portfolio)")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.add_argument("--no-portfolio", action="store_true", help="skip the portfolio page")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("run", help="the main job: ingest, build, quality gates, reports for the month")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids to ingest (default: all)")
    p.add_argument("--month", type=_month, help="process only this month (YYYY-MM) incrementally")
    p.set_defaults(func=cmd_run)

    from roi_pipeline.extract.command import add_extract_command

    add_extract_command(sub)  # roi extract [CLIENT ...] [--source S ...] [--month YYYY-MM] [--full]

    p = sub.add_parser(
        "demo",
        help="generate sample data, then run the monthly DAG on it (airflow dags test: SQLite + DuckDB)",
    )
    _add_generate_flags(p)
    p.add_argument(
        "--without-airflow",
        action="store_true",
        help="run the same steps with `roi run` instead of the Airflow DAG",
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    locations = Locations.from_env()
    try:
        return args.func(args, locations)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
