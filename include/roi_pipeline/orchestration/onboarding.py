"""Before backfilling a new client: is its configuration and data complete for those months?

    python -m roi_pipeline.orchestration.onboarding CLIENT --from 2026-08 --to 2026-10

(or the ``roi_onboard_client`` DAG with the same three parameters). Three checks, each
saying exactly what is missing:

1. what ``roi validate CLIENT`` checks, through the same functions: the client file loads
   (field-level errors otherwise) and the landing folder has every source its configuration
   needs (``MISSING <folder>/: ...``);
2. the months asked for are within the engagement (none before ``engagement_start``);
3. the client's landing files are ingested and the **raw quality gate** runs for every
   month: a month whose inputs are incomplete (no timesheets, failed files, ...) is listed
   with the gate's blocking findings, and with every registered workflow that must have run
   that month but has no landed run (no run log: the mart gate's ``no_runs`` would hold it).

When everything passes it prints the backfill command. Ingesting here is harmless: loading
is idempotent, and the backfill ingests the same files again.

The backfill may start at any month: a monthly build also builds every client-month whose
landed runs are not built yet (dbt model ``int_run_months_pending``), so the client's earlier
months are built as a full build builds them, even in a warehouse that holds other clients.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from roi_pipeline.orchestration.defaults import MONTHLY_DAG_ID
from roi_pipeline.orchestration.months import MonthError, format_month, months_between, parse_month
from roi_pipeline.settings import Locations


def backfill_command(client_id: str, first: str, last: str) -> str:
    """The ``airflow backfill create`` line for the months (logical date = the month's 1st)."""
    conf = json.dumps({"clients": [client_id]})
    return (
        f"airflow backfill create --dag-id {MONTHLY_DAG_ID} --from-date {first}-01 --to-date {last}-01 "
        f"--max-active-runs 1 --dag-run-conf '{conf}'"
    )


def validate_client(client_id: str, loc: Locations) -> tuple[Any, list[str], list[str]]:
    """What ``roi validate CLIENT`` checks, by the same functions: (the client or None,
    the lines it prints, the problems among them: ``CONFIG ERROR ...``, ``MISSING ...``,
    ``UNREADABLE ...``)."""
    from roi_pipeline.config import load_clients
    from roi_pipeline.ingest import files_by_folder, landing_summary, missing_sources

    loaded = load_clients(loc.clients_dir, only=[client_id])
    problems = [f"CONFIG ERROR {error}" for error in loaded.errors]
    lines = list(problems)
    client = loaded.clients[0] if loaded.clients else None
    if client is not None:
        try:
            by_folder = files_by_folder(loc.landing_dir, client_id)
        except OSError as exc:  # a landing folder that cannot be listed
            problem = f"UNREADABLE {client_id}: cannot list its landing files: {type(exc).__name__}: {exc}"
            return client, [*lines, problem], [*problems, problem]
        missing = missing_sources(client, by_folder)
        lines += landing_summary(client, by_folder, missing)
        problems += [f"MISSING {problem}" for problem in missing]
    return client, lines, problems


def missing_run_logs(client: Any, month: str, loc: Locations) -> list[str]:
    """Registered workflows that must have run in ``month`` and have no landed run (the mart
    gate would hold the month after the backfill; this says so before it)."""
    import duckdb

    from roi_pipeline.quality.frames import workflows_without_landed_runs

    con = duckdb.connect(str(loc.warehouse), read_only=True)
    try:
        return workflows_without_landed_runs(con, client, month)
    finally:
        con.close()


def check_client(
    client_id: str,
    first: str,
    last: str,
    *,
    locations: Locations | None = None,
    run_gate: bool = True,
) -> dict[str, Any]:
    """Everything missing before ``client_id`` can be backfilled for ``first``..``last``.

    Returns ``{"ok", "problems": [...], "validate": [...lines], "months": {month: [...]},
    "backfill_command"}``. ``problems`` is empty exactly when the backfill can go ahead.
    """
    loc = locations or Locations.from_env()
    problems: list[str] = []
    try:
        months = months_between(first, last)
    except MonthError as exc:
        return {
            "ok": False,
            "problems": [str(exc)],
            "validate": [],
            "months": {},
            "backfill_command": None,
        }
    if not months:
        problems.append(f"--from {first} is after --to {last}")
    client, lines, found = validate_client(client_id, loc)
    problems += found
    per_month: dict[str, list[str]] = {}
    if client is not None:
        start = format_month(parse_month(format_month(client.engagement_start)))
        early = [m for m in months if m < start]
        if early:
            problems.append(
                f"months {', '.join(early)} are before the engagement starts ({client.engagement_start}): "
                f"backfill from {start}"
            )
    if client is not None and run_gate and months and not problems:
        from roi_pipeline.orchestration.steps import ingest_client, raw_gate_client

        ingested = ingest_client(client_id, months[0], loc)
        for failed in ingested["failed_files"]:
            problems.append(f"unreadable landing file {failed}")
        for month in months:
            gate = raw_gate_client(client_id, month, loc)
            per_month[month] = gate["blocking"] + missing_run_logs(client, month, loc)
            problems += per_month[month]
    ok = not problems
    return {
        "ok": ok,
        "problems": problems,
        "validate": lines,
        "months": per_month,
        "backfill_command": backfill_command(client_id, months[0], months[-1]) if ok and months else None,
    }


def describe(result: dict[str, Any], client_id: str) -> str:
    """What a person reads: the validation, what is missing, and the next command."""
    out = [*result["validate"]]
    if result["ok"]:
        out.append(f"{client_id}: ready to backfill. Run:")
        out.append(f"  {result['backfill_command']}")
    else:
        out.append(f"{client_id}: NOT ready to backfill; missing or wrong:")
        out += [f"  - {p}" for p in result["problems"]]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roi_pipeline.orchestration.onboarding",
        description="Check a new client's configuration and landing data before backfilling months.",
    )
    parser.add_argument("client", help="client id (its file name in ROI_CLIENTS_DIR)")
    parser.add_argument("--from", dest="first", required=True, help="first month to backfill, YYYY-MM")
    parser.add_argument("--to", dest="last", required=True, help="last month to backfill, YYYY-MM")
    args = parser.parse_args(argv)
    result = check_client(args.client, args.first, args.last)
    print(describe(result, args.client))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
