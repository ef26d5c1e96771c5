"""Deterministic sample-data generator: client files plus landing files (docs/landing.md).

:func:`generate` writes, for each sample client,

- ``<clients_dir>/<client_id>.yaml``: a client configuration that validates with
  :func:`roi_pipeline.config.load_client_file` (:mod:`.client_files`);
- ``<landing_dir>/<client_id>/<folder>/YYYY-MM.<ext>``: one file per *local* calendar month
  per landing folder, in the vendors' own formats (:mod:`.writers`), plus ``_extracts.json``
  per folder (``extracted_at`` = 12:00 UTC on day ``settle_days + 1`` of the following month:
  after the settle period ends in every zone from UTC-12 to UTC+14, so the month is closed).

The clients are four base profiles, cycled with varied parameters when more are asked for
(:mod:`.clients`). Per client and month, three simulations make the data and the writers
put it in the vendors' formats: the CRM (:mod:`.crm`: leads, activities, meetings, deals),
the workflow runs (:mod:`.runs`, which read the month's lead times) and the timesheets
(:mod:`.timesheets`, which read the measured workflows' CRM volumes).

Same arguments give byte-identical files: every random draw comes from a
``random.Random`` seeded from ``(seed, client_id, domain)`` with SHA-256 (never ``hash()``),
output order is explicit, JSON is written with fixed separators and no wall clock is read.
Runs, CRM and timesheets use separate random streams, so ``runs_scale`` changes the run
logs only. Work is streamed month by month; nothing accumulates across months except a
few carried-over CRM activities that fall into a later month.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from roi_pipeline.sample.client_files import CONSULTANCY_YAML, client_yaml
from roi_pipeline.sample.clients import client_specs
from roi_pipeline.sample.common import GENERIC, MAKE, N8N, RUN_FOLDERS, ZAPIER, Clock, add_months, seeded_random
from roi_pipeline.sample.crm import CrmSimulation, measured_volumes
from roi_pipeline.sample.landing import ClientLanding
from roi_pipeline.sample.runs import RunSimulation
from roi_pipeline.sample.timesheets import TimesheetSimulation
from roi_pipeline.sample.writers import harvest, hubspot, toggl
from roi_pipeline.sample.writers.generic import GenericWriter
from roi_pipeline.sample.writers.make import MakeWriter
from roi_pipeline.sample.writers.n8n import N8nWriter
from roi_pipeline.sample.writers.zapier import ZapierWriter


@dataclass(frozen=True)
class GenerateSummary:
    clients: list[str]
    files: int
    rows: dict[str, int]  # rows per landing folder name


def _generate_client(spec: dict, seed: int, month_list: list[date], runs_scale: float, landing: ClientLanding) -> None:
    """Simulate and write one client's months; the order of the random draws is fixed."""
    clock = Clock(spec["tz"])
    wfs = spec["workflows"]
    crm = CrmSimulation(spec, seeded_random(seed, spec["id"], "crm"), clock, month_list)
    runs = RunSimulation(spec, seeded_random(seed, spec["id"], "runs"), clock, runs_scale)
    r_timesheets = seeded_random(seed, spec["id"], "timesheets")  # the timesheet writers draw from it too
    timesheets = TimesheetSimulation(spec, r_timesheets)
    run_writers = {
        N8N: N8nWriter(landing),
        GENERIC: GenericWriter(landing, clock),
        MAKE: MakeWriter(landing),
        ZAPIER: ZapierWriter(landing, wfs),
    }
    timesheet_writer = harvest.write_month if spec["timesheets"]["format"] == "harvest" else toggl.write_month
    for month in month_list:
        days = [month + timedelta(days=i) for i in range((add_months(month, 1) - month).days)]
        leads_ms = crm.month(month, days)
        records = crm.take(month)
        hubspot.write_month(landing, month, records)
        month_runs = runs.month(month, days, leads_ms)
        for folder in RUN_FOLDERS:
            if folder in month_runs:
                run_writers[folder].write_month(month, month_runs[folder])
        entries = timesheets.month(month, days, measured_volumes(wfs, records))
        timesheet_writer(landing, month, spec, entries, r_timesheets)


def generate(
    landing_dir: Path,
    clients_dir: Path,
    *,
    seed: int = 7,
    clients: int = 4,
    months: int = 15,
    end_month: str = "2026-10",
    runs_scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write ``clients`` sample clients with ``months`` months of history ending ``end_month``.

    Each generated client's landing folder is removed first, so a re-run gives exactly the
    same tree; other clients' files are left alone.
    """
    if clients < 1:
        raise ValueError("clients must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    if runs_scale <= 0:
        raise ValueError("runs_scale must be positive")
    try:
        end = datetime.strptime(end_month, "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"end_month must look like 2026-10, got {end_month!r}") from exc
    landing_dir, clients_dir = Path(landing_dir), Path(clients_dir)
    start = add_months(end, -(months - 1))
    month_list = [add_months(start, i) for i in range(months)]
    specs = client_specs(clients, seed, months, start)
    clients_dir.mkdir(parents=True, exist_ok=True)
    (clients_dir / "_consultancy.yaml").write_text(CONSULTANCY_YAML, encoding="utf-8")
    landing_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    files = 1  # _consultancy.yaml
    for i, spec in enumerate(specs, 1):
        (clients_dir / f"{spec['id']}.yaml").write_text(client_yaml(spec, start, seed), encoding="utf-8")
        files += 1
        root = landing_dir / spec["id"]
        if root.exists():
            shutil.rmtree(root)
        landing = ClientLanding(root)
        _generate_client(spec, seed, month_list, runs_scale, landing)
        files += sum(len(v) for v in landing.files.values()) + landing.write_extracts(spec["settle"])
        for folder, n in landing.rows.items():
            rows[folder] = rows.get(folder, 0) + n
        if progress:
            total_runs = sum(landing.rows.get(folder, 0) for folder in RUN_FOLDERS)
            progress(f"client {i}/{len(specs)} {spec['id']}: {total_runs:,} runs")
    return GenerateSummary(clients=[s["id"] for s in specs], files=files, rows=dict(sorted(rows.items())))
