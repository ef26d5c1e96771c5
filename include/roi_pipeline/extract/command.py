"""The ``roi extract`` sub-command, ready to be registered by ``roi_pipeline.cli``.

    roi extract [CLIENT ...] [--source n8n|hubspot|harvest|toggl|make ...] [--month YYYY-MM] [--full]

Exit status: 0 when every API source extracted, 1 when a client's source failed (the others
still ran), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from roi_pipeline.extract.settings import SOURCES


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {value!r}")
    return value


def cmd_extract(args: argparse.Namespace, locations: Any) -> int:
    from roi_pipeline.config import load_clients
    from roi_pipeline.extract.runner import extract_clients

    def say(line: str) -> None:
        print(line, flush=True)

    loaded = load_clients(locations.clients_dir, only=args.clients or None)
    for error in loaded.errors:
        say(f"CONFIG ERROR {error}")
    if not loaded.clients:
        return 1
    scope = f"month {args.month}" if args.month else "since each source's watermark"
    full = " (full)" if args.full else ""
    say(f"Extracting {len(loaded.clients)} client(s), {scope}{full}, into {locations.landing_dir}")
    report = extract_clients(
        locations.landing_dir, loaded.clients, sources=args.source or None, month=args.month, full=args.full,
        progress=say, clients_dir=locations.clients_dir,
    )  # fmt: skip
    totals = report.totals()
    say(
        f"Done: {totals['sources']} source(s) extracted, {totals['files']} files ({totals['files_changed']} changed), "
        f"{totals['requests']} API requests, {totals['failed']} failed"
    )
    return 0 if loaded.ok and report.ok else 1


def add_extract_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``roi extract`` on the CLI's sub-parsers (``func(args, locations) -> int``)."""
    p = subparsers.add_parser(
        "extract", help="extract landing files from the clients' n8n / HubSpot / Harvest / Toggl / Make APIs"
    )
    p.add_argument("clients", nargs="*", metavar="CLIENT", help="client ids (default: all)")
    p.add_argument("--source", action="append", choices=SOURCES, help="only this source (repeatable; default: all)")
    p.add_argument("--month", type=_month, help="only this local month (YYYY-MM); with --full, the whole month")
    p.add_argument("--full", action="store_true", help="ignore the watermark: re-extract the whole window (backfill)")
    p.set_defaults(func=cmd_extract)
    return p
