"""roi: the monthly automation-ROI pipeline, one step at a time or all at once.

From each client's landing files (run logs, CRM activity, timesheets) and client file, roi
loads a DuckDB warehouse, builds and tests the dbt models, runs the data-quality gates and
renders each client's monthly ROI report (HTML, PDF, JSON, CSV) and a portfolio page.

    roi paths                      where landing data, client files, warehouse and reports are
    roi generate [--clients N ...] write deterministic sample data (client files + landing files)
    roi validate [CLIENT ...]      check client files and say what landing data each client has
    roi extract [CLIENT ...]       pull run logs, CRM activity and timesheets from the vendors' APIs
    roi ingest [CLIENT ...]        load landing files into the warehouse's raw layer
    roi build [--month YYYY-MM]    build and test the dbt models (one month incrementally, or all)
    roi check --month YYYY-MM      run the quality gates (raw inputs, marts) for a month
    roi status --month YYYY-MM     whether each client's report may be published, and why not
    roi landed CLIENT SOURCE --exported-at TIME
                                   state when files dropped by hand were exported (their "as of")
    roi retract CLIENT SOURCE FILE... --reason TEXT
                                   take back files landed by mistake (their rows leave the raw layer)
    roi report --month YYYY-MM     render client reports (HTML, PDF, JSON, CSV) and the portfolio page
                                   (--draft: a month not closed or held, marked DRAFT, under _drafts/)
    roi run [--month YYYY-MM]      the main job: ingest, build, gates, reports (default: latest closed month)
    roi demo                       generate sample data, then run the monthly DAG on it (airflow dags test)

CLIENT is a client id: the name of its file in ROI_CLIENTS_DIR without .yaml. A CLIENT with
no file is a usage error, reported before any work starts.

Output: one line per event on stdout; long steps show what, how far and how long (a live
line on a terminal, a start and an end line otherwise); `roi run` ends with a summary. dbt's
per-model lines only with --verbose. No colour or escape codes unless stdout is a terminal;
NO_COLOR=1 turns colour off there too. Errors that stop a command are one line on stderr
(--verbose adds the Python traceback of an unexpected error).

Exit status: 0 ok; 1 some client, file, model or gate failed (the others were still
processed) or a needed input is missing (no client files, no warehouse yet); 2 usage error
(bad option or value, unknown client); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from roi_pipeline.console import Output, Step
from roi_pipeline.settings import ENV_VARS, MARTS_SNAPSHOT_NAME, Locations

#: The console of the running command (``main`` replaces it with the options' one).
_out = Output()


class UsageError(Exception):
    """A bad argument found after parsing (e.g. a client id with no client file): exit 2."""


def _say(line: str = "") -> None:
    _out.say(line)


def _load(locations: Locations, only: Sequence[str] | None):
    from roi_pipeline.config import load_clients

    result = load_clients(locations.clients_dir, only=only or None)
    if not result.clients and not result.errors:
        _say(f"No client files in {locations.clients_dir} (set ROI_CLIENTS_DIR, or run `roi generate`).")
    for error in result.errors:
        _say(f"CONFIG ERROR {error}")
    return result


def _check_client_ids(ids: Sequence[str], locations: Locations) -> None:
    """Every CLIENT named on the command line has a client file: said before any work starts."""
    from roi_pipeline.config import client_files

    known = {path.stem for path in client_files(locations.clients_dir)}
    unknown = [client_id for client_id in dict.fromkeys(ids) if client_id not in known]
    if not unknown:
        return
    names = ", ".join(repr(c) for c in unknown)
    listed = sorted(known)[:8]
    more = f" and {len(known) - len(listed)} more" if len(known) > len(listed) else ""
    have = f"known: {', '.join(listed)}{more}" if known else "there are none: run `roi generate` or set ROI_CLIENTS_DIR"
    raise UsageError(f"no client file for {names} in {locations.clients_dir} ({have}); nothing was done")


def _holds_warehouse(*, shared: bool = False) -> Callable:
    """Run the command holding the warehouse's lock (:mod:`roi_pipeline.warehouse_lock`):
    exclusively for a writer, ``shared`` for a reader; it says whom it waits for."""
    import functools

    def wrap(command: Callable[[argparse.Namespace, Locations], int]) -> Callable[[argparse.Namespace, Locations], int]:
        @functools.wraps(command)
        def holding(args: argparse.Namespace, locations: Locations) -> int:
            from roi_pipeline.warehouse_lock import hold_warehouse

            with hold_warehouse(locations.warehouse, shared=shared, say=_say):
                return command(args, locations)

        return holding

    return wrap


def _marts_in_postgres(command: str) -> bool:
    """True (and says why) when ``ROI_DBT_TARGET=postgres``: ``command`` reads the marts from the
    DuckDB warehouse, which a PostgreSQL build does not update, so it would check or publish
    stale figures."""
    from roi_pipeline.settings import DBT_TARGET, dbt_target

    if dbt_target() != "postgres":
        return False
    _say(
        f"{DBT_TARGET[0]}=postgres: `roi {command}` reads the marts from the DuckDB warehouse, which a "
        "PostgreSQL build does not update, so it would check or publish stale figures. On PostgreSQL "
        f"only `roi build` runs (the marts for analysts); unset {DBT_TARGET[0]} to run the gates and "
        "reports on DuckDB (README: Running on PostgreSQL). Nothing was done."
    )
    return True


def _warehouse_missing(locations: Locations, need: str = "marts") -> str | None:
    """Why the warehouse cannot be used yet (``need``: 'raw' or 'marts'), or None when it can."""
    import duckdb

    first = "run `roi run` (or `roi ingest`, then `roi build`) first"
    if not locations.warehouse.exists():
        return f"No warehouse at {locations.warehouse}: {first}."
    schema, table, step = (
        ("raw", "_landed_files", "roi ingest") if need == "raw" else ("marts", "dim_clients", "roi build")
    )
    with duckdb.connect(str(locations.warehouse), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    if not found:
        return f"The warehouse {locations.warehouse} has no {schema} layer yet: run `{step}` first."
    return None


def cmd_paths(args: argparse.Namespace, locations: Locations) -> int:
    _say("Locations (set the variables to change them):")
    _say(locations.describe())
    return 0


def cmd_generate(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.sample.generator import generate

    what = f"Generating sample data: {args.clients} clients x {args.months} months to {args.end_month}"
    _say(f"{what} (seed {args.seed}, runs x{args.runs_scale})")
    with _out.step("generate", total=args.clients) as step:

        def progress(line: str) -> None:
            _say(line)
            if line.startswith("client "):
                step.advance()

        summary = generate(
            locations.landing_dir,
            locations.clients_dir,
            seed=args.seed,
            clients=args.clients,
            months=args.months,
            end_month=args.end_month,
            runs_scale=args.runs_scale,
            progress=progress,
        )
        step.done(f"{summary.files:,} files")
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.rows.items()))
    _say(f"Wrote {summary.files:,} files for {len(summary.clients)} clients ({rows})")
    _say(f"  client files: {locations.clients_dir}")
    _say(f"  landing data: {locations.landing_dir}")
    return 0


def cmd_validate(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.ingest import files_by_folder, landing_summary, missing_sources

    result = _load(locations, args.clients)
    status = 0 if result.ok and result.clients else 1
    for client in result.clients:
        try:
            by_folder = files_by_folder(locations.landing_dir, client.client_id)
        except OSError as exc:  # a landing folder that cannot be listed: said, and the others checked
            _say(f"{client.client_id}: cannot list its landing files: {type(exc).__name__}: {exc}")
            status = 1
            continue
        missing = missing_sources(client, by_folder)
        for line in landing_summary(client, by_folder, missing):
            _say(line)
        if missing:
            status = 1
    return status


def cmd_landed(args: argparse.Namespace, locations: Locations) -> int:
    """Write the extraction record of files dropped by hand: the export time their dropper states."""
    from roi_pipeline.extract.landing import iso_z, state_exported
    from roi_pipeline.timeutil import BadTimestamp, parse_instant

    _check_client_ids([args.client], locations)
    result = _load(locations, [args.client])
    if not result.clients:
        return 1  # its client file does not load: said above
    client = result.clients[0]
    try:
        exported_at, naive = parse_instant(args.exported_at, client.timezone)
    except BadTimestamp as exc:
        raise UsageError(f"--exported-at {args.exported_at!r}: {exc}") from exc
    try:
        names = state_exported(locations.landing_dir, client.client_id, args.source, args.files, exported_at)
    except ValueError as exc:
        _say(f"ERROR {exc}")
        return 1
    zone = f" (read in {client.timezone})" if naive else ""
    _say(f"{client.client_id}/{args.source}: exported at {args.exported_at}{zone} = {iso_z(exported_at)}, for:")
    for name in names:
        _say(f"    {name}")
    _say(f"Recorded in {locations.landing_dir / client.client_id / args.source / '_extracts.json'}; run `roi run`.")
    return 0


@_holds_warehouse()
def cmd_retract(args: argparse.Namespace, locations: Locations) -> int:
    """Take back files landed by mistake (roi_pipeline.retract): their rows leave the raw layer."""
    from datetime import UTC, datetime

    from roi_pipeline.retract import retract_files

    _check_client_ids([args.client], locations)
    if not locations.warehouse.exists():
        _say(f"ERROR no warehouse at {locations.warehouse}: nothing was landed")
        return 1
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        done = retract_files(
            locations.landing_dir, locations.warehouse, args.client, args.source, args.files, args.reason, now
        )
    except ValueError as exc:
        _say(f"ERROR {exc}")
        return 1
    for item in done:
        kept = f"moved to {item.kept_at}" if item.kept_at else "no longer in the landing folder"
        _say(f"retracted {item.source_file}: {item.rows:,} rows, {item.quarantined:,} quarantined records; {kept}")
    _say(
        "Run `roi run --month M` for each month the files had data in (or `roi build`): the months are rebuilt "
        "without them, and their reports restated."
    )
    return 0


@_holds_warehouse()
def cmd_ingest(args: argparse.Namespace, locations: Locations) -> int:
    import re

    from roi_pipeline.ingest import ingest

    result = _load(locations, args.clients)
    if not result.clients:
        return 1
    _say(f"Ingesting {len(result.clients)} client(s) from {locations.landing_dir} into {locations.warehouse}")
    with _out.step("ingest", total=len(result.clients)) as step:

        def progress(line: str) -> None:
            _say(line)
            counted = re.match(r"\[(\d+)/\d+\] (\S+)", line)  # ingest's line per client: "[i/n] client: ..."
            if counted:
                step.update(completed=int(counted.group(1)), detail=counted.group(2).rstrip(":"))

        report = ingest(locations.landing_dir, locations.warehouse, result.clients, progress=progress)
        totals = report.totals()
        ok = result.ok and not report.failed and not report.client_errors
        outcome = step.done if ok else step.failed
        outcome(
            f"{len(result.clients)} client(s), {totals['files']} files, {totals['rows_loaded']:,} rows loaded, "
            f"{totals['rows_quarantined']:,} quarantined (raw._quarantine), {totals['failed_files']} failed files"
        )
    return 0 if ok else 1


def _dbt_progress(step: Step) -> Callable[[Any], None]:
    """Turn dbt's events into the step's progress: the node under way, n of N, the final tally."""

    def on_event(msg: Any) -> None:
        name = msg.info.name
        if name == "FoundStats":  # a dbt invocation starts (run_dbt may run it a second time)
            step.update(completed=0, detail="found " + msg.data.stat_line)
        elif name == "LogStartLine":
            step.update(total=msg.data.total, detail=msg.data.node_info.node_name)
        elif name == "NodeFinished":
            step.advance(detail=f"{msg.data.node_info.node_name}: {msg.data.node_info.node_status}")
        elif name == "StatsLine":
            stats = dict(msg.data.stats)
            counts = ", ".join(f"{value} {key}" for key, value in sorted(stats.items()) if value and key != "total")
            step.result = f"{stats.get('total', 0)} nodes: {counts}"

    step.update(detail="parsing the dbt project")
    return on_event


@_holds_warehouse()
def cmd_build(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.transform import PRODUCTION_BUILD_FLAGS, PRODUCTION_VARS, run_dbt

    missing = _warehouse_missing(locations, need="raw")
    if missing:
        _say(missing)
        return 1
    from roi_pipeline.postgres import place_from_env
    from roi_pipeline.settings import dbt_target

    month = getattr(args, "month", None)
    scope = f"month {month} (incremental)" if month else "every month"
    on_postgres = dbt_target() == "postgres"
    where = f"PostgreSQL ({place_from_env()})" if on_postgres else str(locations.warehouse)
    _say(f"Building the dbt models for {scope} in {where}")
    with _out.step("dbt build") as step:
        result = run_dbt(
            ["build", *PRODUCTION_BUILD_FLAGS],
            locations.warehouse,
            report_month=month,
            variables=PRODUCTION_VARS,
            quiet=not _out.verbose,
            on_event=_dbt_progress(step),
            use_colors=_out.color,
        )
        if not result.success:
            step.failed(f"{len(result.failures)} failure(s)" + (f"; {step.result}" if step.result else ""))
    if not result.success:
        for failure in result.failures:
            _say(f"DBT FAILURE {failure}")
        return 1
    if on_postgres:  # the snapshot and the docs site are the DuckDB warehouse's
        _say(f"Models built and tested: query the marts schema in PostgreSQL ({place_from_env()})")
        return 0
    if not _publish_snapshot(locations) or not _publish_docs_site(locations):
        return 1
    _say(
        "Models built and tested: query the marts schema (marts.fct_client_months, marts.fct_workflow_months, ...)"
        f" in the read-only copy {locations.marts_snapshot}"
    )
    return 0


def _publish_snapshot(locations: Locations) -> bool:
    """The readers' copy of the marts (:mod:`roi_pipeline.snapshot`), under the build's lock."""
    from roi_pipeline.snapshot import SnapshotFailed, publish_marts_snapshot

    with _out.step("marts snapshot") as step:
        try:
            published = publish_marts_snapshot(locations.warehouse, locations.marts_snapshot)
        except SnapshotFailed as exc:
            step.failed(str(exc))
            return False
        step.done(published.summary())
    return True


def _publish_docs_site(locations: Locations) -> bool:
    """The dbt docs as one static page beside the reports (:mod:`roi_pipeline.docs_site`)."""
    from roi_pipeline.docs_site import SWITCH, DocsSiteFailed, docs_site_enabled, publish_docs_site

    with _out.step("dbt docs site") as step:
        if not docs_site_enabled():
            step.done(f"skipped ({SWITCH}=off)")
            return True
        try:
            site = publish_docs_site(
                locations.warehouse, locations.reports_dir, quiet=not _out.verbose, use_colors=_out.color
            )
        except DocsSiteFailed as exc:
            step.failed(str(exc))
            return False
        state = "unchanged" if site.unchanged else f"{site.models} models, {site.exposures} exposures"
        step.done(f"{state}: {site.path}")
    return True


def latest_closed_month(warehouse) -> str | None:
    """The latest month whose settle period has passed for some client, as of the data."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select max(report_month) from marts.fct_client_months where is_month_closed").fetchall()
    return rows[0][0].strftime("%Y-%m") if rows and rows[0][0] else None


@_holds_warehouse()
def cmd_check(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.quality import gate_workers, run_mart_gate, run_raw_gate

    if _marts_in_postgres("check"):
        return 2
    result = _load(locations, args.clients)
    if not result.clients:
        return 1
    missing = _warehouse_missing(locations, need="raw" if args.gate == "raw" else "marts")
    if missing:
        _say(missing)
        return 1
    gates = {"raw": [run_raw_gate], "mart": [run_mart_gate], "both": [run_raw_gate, run_mart_gate]}[args.gate]
    workers = gate_workers(getattr(args, "workers", None), len(result.clients))
    _say(
        f"Quality gates ({args.gate}) for {args.month}, {len(result.clients)} client(s)"
        + (f", {workers} processes" if workers > 1 else "")
    )
    held = 0
    for gate in gates:
        label = "raw-input gate" if gate is run_raw_gate else "mart gate"
        with _out.step(label, total=len(result.clients)) as step:
            outcomes = gate(locations.warehouse, result.clients, args.month, workers=workers)
            failed = sum(not o.publishable for o in outcomes)
            step.update(completed=len(outcomes))
            (step.failed if failed else step.done)(f"{len(outcomes) - failed} passed, {failed} held")
        for outcome in outcomes:
            verdict = "PUBLISHABLE" if outcome.publishable else "HELD"
            _say(f"  {outcome.gate:<4} {outcome.client_id:<28} {verdict} ({outcome.evaluated} expectations)")
            for reason in outcome.reasons:
                _say(f"      blocking: {reason}")
            for note in outcome.notes:
                _say(f"      warning:  {note}")
            for info in outcome.infos:
                _say(f"      info:     {info.message}")
            held += not outcome.publishable
    _say(f"Data Docs: {locations.data_docs}")
    return 1 if held else 0


def _months_with_data(locations: Locations) -> dict[str, list[str]] | None:
    """Each client's months ('YYYY-MM') with a row in marts.fct_client_months; None before a build.

    The same rule as the report's: a month without that row is a month with no data.
    """
    import duckdb

    if _warehouse_missing(locations, need="marts"):
        return None
    with duckdb.connect(str(locations.warehouse), read_only=True) as con:
        rows = con.execute(
            "select distinct client_id, strftime(report_month, '%Y-%m') from marts.fct_client_months order by 1, 2"
        ).fetchall()
    months: dict[str, list[str]] = {}
    for client_id, month in rows:
        months.setdefault(client_id, []).append(month)
    return months


@_holds_warehouse(shared=True)
def cmd_status(args: argparse.Namespace, locations: Locations) -> int:
    """One verdict per client: publishable, HELD (reasons), not run (no gate yet) or no data."""
    from dataclasses import replace

    from roi_pipeline.quality import gate_statuses
    from roi_pipeline.report.render import render_hold_reasons_of

    result = _load(locations, args.clients)
    if not result.clients:
        return 1
    if not locations.warehouse.exists():
        _say(f"No warehouse at {locations.warehouse}: run `roi run` (or `roi ingest`, then `roi build`) first.")
        return 1
    with_data = _months_with_data(locations)
    held = 0 if result.ok else 1
    recorded = gate_statuses(locations.warehouse, [c.client_id for c in result.clients], args.month)
    # the gates passed; the renderer may still hold the month (an earlier month restated)
    holds = render_hold_reasons_of(
        locations.warehouse, [cid for cid, s in recorded.items() if s.publishable], args.month, locations.reports_dir
    )
    for client in result.clients:
        status = recorded[client.client_id]
        months = None if with_data is None else with_data.get(client.client_id, [])
        no_data = months is not None and args.month not in months
        never_run = status.raw_publishable is None and status.mart_publishable is None
        if status.publishable:
            held_at_render = holds.get(client.client_id)
            if held_at_render:
                status = replace(status, publishable=False, reasons=[*status.reasons, *held_at_render])
        if status.publishable:
            verdict = "publishable" + (" (no data for the month: the report says so)" if no_data else "")
        elif no_data:
            verdict = "no data"
        elif never_run:
            verdict = "not run"
        else:
            verdict = "HELD"
        colour = "green" if status.publishable else "red" if verdict == "HELD" else "yellow"
        _out.say(f"{client.client_id:<28} {verdict}", style=colour)
        if no_data:
            span = f"it holds {months[0]} to {months[-1]}" if months else "it holds no month for this client"
            _say(f"    the warehouse has no data for {client.client_id} in {args.month} ({span})")
        if never_run:
            _say(
                f"    the quality gates have not run for {args.month}: "
                f"`roi run --month {args.month}` (or `roi check --month {args.month}`)"
            )
        else:
            for reason in status.reasons:
                _say(f"    {reason}")
        held += not status.publishable
    for client_id, reasons in result.failed().items():  # said as CONFIG ERROR above; listed here too
        _out.say(f"{client_id:<28} HELD", style="red")
        for reason in reasons:
            _say(f"    {reason}")
    return 1 if held else 0


@_holds_warehouse(shared=True)
def cmd_report(args: argparse.Namespace, locations: Locations) -> int:
    from roi_pipeline.config import load_clients
    from roi_pipeline.quality import gate_statuses
    from roi_pipeline.report import (
        ConsultancyConfigError,
        QualityStatus,
        load_consultancy,
        render_portfolio,
    )
    from roi_pipeline.report.portfolio import PORTFOLIO_DIR, standing_statuses

    if _marts_in_postgres("report"):
        return 2
    loaded = _load(locations, args.clients)
    if not loaded.clients:
        return 1
    missing = _warehouse_missing(locations, need="marts")
    if missing:
        _say(missing)
        return 1
    try:
        consultancy = load_consultancy(locations.clients_dir)
    except ConsultancyConfigError as exc:
        _say(f"CONFIG ERROR {exc}")
        return 1
    if getattr(args, "draft", False):
        return _report_drafts(args, locations, loaded.clients, consultancy)
    recorded = gate_statuses(locations.warehouse, [c.client_id for c in loaded.clients], args.month)
    statuses = {cid: QualityStatus.from_gate(status) for cid, status in recorded.items()}
    broken = {cid: QualityStatus(publishable=False, checked=True, blocking=why) for cid, why in loaded.failed().items()}
    # All clients: the portfolio page too. Some: the month's page again if it is there, so it
    # never shows their figures from before (the others' as their recorded gates decide).
    portfolio = not args.no_portfolio and (
        not args.clients or (locations.reports_dir / PORTFOLIO_DIR / args.month / "portfolio.html").is_file()
    )
    _say(f"Rendering {len(loaded.clients)} client report(s) for {args.month} into {locations.reports_dir}")
    status = 0 if loaded.ok else 1
    written = held = 0
    from roi_pipeline.processes import cores

    workers = min(getattr(args, "workers", None) or cores(), len(loaded.clients))
    jobs = [
        (locations.warehouse, c.client_id, args.month, locations.reports_dir, statuses[c.client_id], consultancy)
        for c in loaded.clients
    ]
    with _out.step("render reports", total=len(loaded.clients) + portfolio) as step:
        # in the clients' order whatever the order they finish in: the same lines every time
        for client, (kind, result) in zip(loaded.clients, _map_clients(_render_report, jobs, workers), strict=True):
            step.advance(detail=client.client_id)
            if kind != "ok":
                _say(f"  {client.client_id}: {result}")
                status = 1
                continue
            if result.status == "held_back":
                _say(f"  {client.client_id:<28} HELD BACK: " + "; ".join(result.reasons))
                status = 1
                held += 1
                statuses[client.client_id] = statuses[client.client_id].held_at_render(result.reasons)
            else:
                flags = (" (restated)" if result.restated else "") + (" (no data)" if result.no_data else "")
                _say(f"  {client.client_id:<28} {result.directory}{flags}")
                written += 1
        if portfolio:
            step.update(detail="portfolio")
            if args.clients:  # the others as a run of them left them (the DAG's page does the same)
                everyone = load_clients(locations.clients_dir)
                others = [c.client_id for c in everyone.clients if c.client_id not in statuses]
                broken |= standing_statuses(locations.warehouse, args.month, locations.reports_dir, others)
                broken |= {cid: QualityStatus(publishable=False, checked=True, blocking=why)
                           for cid, why in everyone.failed().items() if cid not in statuses}  # fmt: skip
            page = render_portfolio(
                locations.warehouse, args.month, locations.reports_dir, broken | statuses, consultancy=consultancy
            )
            step.advance()
            _say(f"  portfolio                    {page}")
        outcome = f"{written} written, {held} held back" + (", portfolio page" if portfolio else "")
        (step.done if status == 0 else step.failed)(outcome)
    return status


def _map_clients(fn: Callable[..., tuple[str, Any]], jobs: list[tuple], workers: int):
    """``fn(*job)`` for every job (one client each), in a pool of ``workers`` processes when more
    than one, in the jobs' order. ``fn`` returns ``("ok", result)`` or ``("error", message)``
    itself, so one client's failure never stops the others."""
    from roi_pipeline.processes import pool_map

    return pool_map(fn, jobs, workers, lambda exc: ("error", f"{type(exc).__name__}: {exc}"), verbose=_out.verbose)


def _render_report(warehouse, client_id: str, month: str, reports_dir, quality, consultancy) -> tuple[str, Any]:
    """One client's report (run in a pool worker by ``roi report``): ("ok", ReportResult) or ("error", why)."""
    from roi_pipeline.report import UnknownClientError, render_client_month

    try:
        return "ok", render_client_month(
            warehouse, client_id, month, reports_dir, quality=quality, consultancy=consultancy
        )
    except UnknownClientError as exc:
        return "error", str(exc)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def _report_drafts(args: argparse.Namespace, locations: Locations, clients, consultancy) -> int:
    """Drafts of a month that is not closed (or held): never the published report, never e-mailed."""
    from roi_pipeline.quality import gate_statuses
    from roi_pipeline.report import QualityStatus, UnknownClientError
    from roi_pipeline.report.render import render_draft

    _say(f"Rendering DRAFT report(s) for {args.month} (not published, not e-mailed)")
    status = 0
    recorded = gate_statuses(locations.warehouse, [c.client_id for c in clients], args.month)
    for client in clients:
        quality = QualityStatus.from_gate(recorded[client.client_id])
        try:
            result = render_draft(
                locations.warehouse, client.client_id, args.month, locations.reports_dir,
                quality=quality, consultancy=consultancy,
            )  # fmt: skip
        except UnknownClientError as exc:
            _say(f"  {client.client_id}: {exc}")
            status = 1
            continue
        _say(f"  {client.client_id:<28} DRAFT {result.directory}")
        for reason in quality.blocking:
            _say(f"      held: {reason}")
    return status


@_holds_warehouse()
def cmd_run(args: argparse.Namespace, locations: Locations) -> int:
    """ingest -> build -> raw and mart gates for the report month (one client's hold stops no one)."""
    if _marts_in_postgres("run"):
        return 2
    status = cmd_ingest(args, locations)
    if not (locations.warehouse.exists()):
        return status or 1
    _say("")
    build_status = cmd_build(args, locations)
    status = max(status, build_status)
    month = getattr(args, "month", None) or (latest_closed_month(locations.warehouse) if build_status == 0 else None)
    if month:
        _say("")
        check_args = argparse.Namespace(
            clients=args.clients, month=month, gate="both", workers=getattr(args, "workers", None)
        )
        status = max(status, cmd_check(check_args, locations))
        _say("")
        report_args = argparse.Namespace(
            clients=args.clients, month=month, no_portfolio=False, workers=getattr(args, "workers", None)
        )
        status = max(status, cmd_report(report_args, locations))
    _say("")
    _out.summary(f"Summary of roi run{f' for {month}' if month else ''}:")
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
    with _out.step("airflow dags test roi_monthly") as step:
        status = run_month_in_airflow(month, say=_say)
        if status:
            step.failed(f"exit {status}")
    _say("")
    _say(f"Publish decisions for {month} (roi status --month {month}):")
    status = max(status, cmd_status(argparse.Namespace(clients=[], month=month), locations))
    _say("")
    _say(cmd_reports_written(locations, month))
    _say("")
    _out.summary("Summary of roi demo:")
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
            "Where everything is (reports: <ROI_REPORTS_DIR>/<client>/<YYYY-MM>/report.html|pdf|json, tasks.csv, inventory.csv):",
            locations.describe(),
            "Query the marts, e.g.:",
            f"  {sys.executable} -c \"import duckdb; duckdb.connect('{locations.warehouse}', read_only=True)"
            ".sql('select * from marts.fct_client_months').show()\"",
        ]
    )


# -- arguments -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line on stderr (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` for usage)\n")


def _month(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {value!r}")
    return value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value!r}")
    return number


def _add_generate_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=_positive_int, default=4, help="number of clients (default 4)")
    parser.add_argument("--months", type=_positive_int, default=15, help="months of history (default 15)")
    parser.add_argument(
        "--end-month", type=_month, default="2026-10", help="last month generated, YYYY-MM (default 2026-10)"
    )
    parser.add_argument(
        "--runs-scale", type=_positive_float, default=1.0, help="multiplier on runs per day (default 1.0)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed; same seed, same files (default 7)")


def _epilog() -> str:
    names = "\n".join(
        f"  {var:<18} default " + (f"<project>/{default}" if default else f"{MARTS_SNAPSHOT_NAME} beside the warehouse")
        for var, default in ENV_VARS.values()
    )
    return (
        "exit status:\n"
        "  0    ok\n"
        "  1    some client, file, model or gate failed (the others were still processed),\n"
        "       or a needed input is missing (no client files, no warehouse yet)\n"
        "  2    usage error: bad option or value, or a CLIENT with no client file (nothing is done)\n"
        "  130  interrupted\n"
        "\n"
        f"locations (environment variables; `roi paths` prints the current values):\n{names}\n"
        "\n"
        "output: progress and a summary on stdout (live lines on a terminal only); no colour when\n"
        "stdout is not a terminal or NO_COLOR is set; --verbose adds dbt's per-model lines."
    )


def _add_workers(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--workers", type=_positive_int, default=None, help=f"processes side by side for {what}")


#: What ``--workers`` spreads over processes, and the default, per command.
_REPORTS_DEFAULT = "one per core"
_GATES_DEFAULT = "one per core once there are enough clients to repay starting them"
_WORKERS_REPORTS = f"the client reports (default: {_REPORTS_DEFAULT})"
_WORKERS_GATES = f"the quality gates (default: {_GATES_DEFAULT})"
_WORKERS_RUN = f"{_WORKERS_GATES} and {_WORKERS_REPORTS}"


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """``-v/--verbose``, accepted before or after the command (``roi -v build`` = ``roi build -v``)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,  # a sub-command's default must not reset ``roi -v``
        help="more detail: dbt's per-model lines, and the traceback of an unexpected error",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="roi",
        description=(
            "Monthly automation-ROI reports for automation consultancies: load each client's landing\n"
            "files into a DuckDB warehouse, build and test the dbt models, run the data-quality gates,\n"
            "and render each client's report (HTML, PDF, JSON, CSV) and the portfolio page.\n"
            "Run the steps one at a time (generate or extract, validate, ingest, build, check, report),\n"
            "or `roi run` for ingest to reports. Every command has --help."
        ),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_verbose(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        _add_verbose(p)
        return p

    p = add("paths", "print where landing data, client files, warehouse and reports are")
    p.set_defaults(func=cmd_paths)

    p = add("generate", "write deterministic sample client files and landing data")
    _add_generate_flags(p)
    p.set_defaults(func=cmd_generate)

    p = add("validate", "validate client files and list what landing data each client has")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.set_defaults(func=cmd_validate)

    from roi_pipeline.extract.command import add_extract_command

    p = add_extract_command(sub)  # roi extract [CLIENT ...] [--source S ...] [--month YYYY-MM] [--full]
    _add_verbose(p)

    p = add("ingest", "load landing files into the warehouse's raw layer")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.set_defaults(func=cmd_ingest)

    p = add("build", "build and test the dbt models")
    p.add_argument("--month", type=_month, help="replace only this month (YYYY-MM) in the incremental models")
    p.set_defaults(func=cmd_build)

    p = add("check", "run the data-quality gates (Great Expectations) for a month")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.add_argument("--month", type=_month, required=True, help="the month checked, YYYY-MM (client's zone)")
    p.add_argument("--gate", choices=["raw", "mart", "both"], default="both", help="which gate (default both)")
    _add_workers(p, _WORKERS_GATES)
    p.set_defaults(func=cmd_check)

    p = add(
        "status",
        "say whether each client's report for a month may be published (publishable, HELD and why, not run, no data)",
    )
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.set_defaults(func=cmd_status)

    p = add("report", "render client reports (HTML, PDF, JSON, CSV) and the portfolio page")
    p.add_argument(
        "clients",
        nargs="*",
        metavar="CLIENT",
        help="client ids (default: all, plus the portfolio page; with ids, the month's page is refreshed if it exists)",
    )
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    p.add_argument("--no-portfolio", action="store_true", help="skip the portfolio page")
    _add_workers(p, _WORKERS_REPORTS)
    p.add_argument(
        "--draft",
        action="store_true",
        help="render a month that is not closed (or held) as a DRAFT under <reports>/_drafts/ (never published)",
    )
    p.set_defaults(func=cmd_report)

    p = add("landed", "state when files dropped by hand were exported (writes _extracts.json)")
    p.add_argument("client", metavar="CLIENT", help="client id")
    p.add_argument("source", metavar="SOURCE", help="landing folder, e.g. hubspot_contacts or harvest_time_entries")
    p.add_argument("files", nargs="*", metavar="FILE", help="files in the folder (default: those without a record)")
    p.add_argument(
        "--exported-at",
        required=True,
        help="when the export was taken, ISO-8601 (2026-11-04T09:00 = client's zone; or with Z / an offset)",
    )
    p.set_defaults(func=cmd_landed)

    p = add("retract", "take back files landed by mistake: their rows leave the raw layer, the file is moved aside")
    p.add_argument("client", metavar="CLIENT", help="client id")
    p.add_argument("source", metavar="SOURCE", help="landing folder, e.g. hubspot_contacts or n8n_executions")
    p.add_argument("files", nargs="+", metavar="FILE", help="files in the folder, as landed")
    p.add_argument("--reason", required=True, help="why, kept in raw._ingest_log (e.g. 'another client's export')")
    p.set_defaults(func=cmd_retract)

    p = add("run", "the main job: ingest, build, quality gates, reports for the month, then a summary")
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids to ingest (default: all)")
    p.add_argument(
        "--month", type=_month, help="process only this month (YYYY-MM) incrementally (default: latest closed month)"
    )
    _add_workers(p, _WORKERS_RUN)
    p.set_defaults(func=cmd_run)

    p = add("demo", "generate sample data, then run the monthly DAG on it (airflow dags test: SQLite + DuckDB)")
    _add_generate_flags(p)
    p.add_argument(
        "--without-airflow",
        action="store_true",
        help="run the same steps with `roi run` instead of the Airflow DAG",
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    global _out
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    _out = Output(verbose=verbose)
    if not verbose:  # WeasyPrint's notices about the machine's font tools, once per PDF: not the user's concern
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
    prog = f"roi {args.command}"
    from roi_pipeline.warehouse_lock import WarehouseBusy

    locations = Locations.from_env()
    try:
        if isinstance(getattr(args, "clients", None), list) and args.clients:
            _check_client_ids(args.clients, locations)
        return args.func(args, locations)
    except UsageError as exc:
        _out.error(f"{prog}: error: {exc}")
        return 2
    except WarehouseBusy as exc:  # another roi command kept the warehouse past the wait: one line
        _out.error(f"{prog}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _out.error(f"{prog}: interrupted")
        return 130
    except Exception as exc:  # an unexpected failure: one line, the traceback only on request
        if verbose:
            traceback.print_exc()
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = "" if verbose else " (run again with --verbose for the traceback)"
        _out.error(f"{prog}: error: {type(exc).__name__}: {detail}{hint}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
