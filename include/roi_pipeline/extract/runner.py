"""``extract_clients``: run each client's API sources, isolate failures, keep the watermark.

Per client and source (``n8n``, ``hubspot``, ``harvest``, ``toggl``, ``make``) whose extract settings
say ``mode: api``:

1. resolve the connection (``roi_<client>_<source>`` unless overridden);
2. decide the window. Default: everything changed since the watermark minus the overlap
   (first run: everything since the backfill start). ``full``: ignore the watermark.
   ``month``: only that local month (with ``full``: the whole month, for backfills). A run
   that failed leaves ``_extract/<source>.run.json``: the next run with the same request
   reuses its window, so its paged queries resume from their checkpoints;
3. run the extractor (every page first, then the files, each atomically: a failed run writes
   none; paging that repeats a cursor or page, or needs more than ``max_pages`` pages in the
   run, fails it: :class:`~roi_pipeline.extract.base.PagingError`);
4. stamp ``_extracts.json``, move the watermark to the run's start (not for a one-month
   run) and the last-extract mark (every run), drop the checkpoints.

A one-month run (the monthly DAG's) also asks for what the month's figures read beyond the
records created in it (:class:`~roi_pipeline.extract.base.Window` ``follow_up`` and
``refresh``): records dated up to the later of the settle cutoff and the end of the cohort
windows (capped at the run's start), and every record modified since the last extract minus
the overlap.

Any failure fails that client's source only, with a message naming client, source and
connection id, never a secret; the other sources and clients go on.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from roi_pipeline.config import ClientConfig
from roi_pipeline.extract.base import ExtractConfigError, Extractor, Job, LandedFile, Window, month_bounds, parse_iso
from roi_pipeline.extract.connections import (
    ConnectionNotFound,
    Credentials,
    default_connection_id,
    redact,
    resolve_connection,
)
from roi_pipeline.extract.harvest import HarvestExtractor
from roi_pipeline.extract.http import ApiError, AuthError, HttpPolicy
from roi_pipeline.extract.hubspot import HubSpotExtractor
from roi_pipeline.extract.landing import SourceState, iso_z, record_extracted
from roi_pipeline.extract.make import MakeExtractor
from roi_pipeline.extract.n8n import N8nExtractor
from roi_pipeline.extract.settings import (
    DEFAULT_OVERLAP_HOURS,
    SOURCES,
    ExtractSettings,
    ExtractSettingsError,
    load_extract_settings,
)
from roi_pipeline.extract.toggl import TogglExtractor
from roi_pipeline.formats.base import UnreadableFile
from roi_pipeline.timeutil import add_months, month_start, zone

log = logging.getLogger("roi_pipeline.extract")

EXTRACTORS: dict[str, type[Extractor]] = {
    cls.source: cls for cls in (N8nExtractor, HubSpotExtractor, HarvestExtractor, TogglExtractor, MakeExtractor)
}


@dataclass
class SourceOutcome:
    client_id: str
    source: str
    status: str  # extracted / failed / skipped (mode: files)
    connection_id: str | None = None
    window: str = ""
    files: list[LandedFile] = field(default_factory=list)
    requests: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)


@dataclass
class ExtractReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def for_client(self, client_id: str) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.client_id == client_id]

    def totals(self) -> dict[str, int]:
        done = [o for o in self.outcomes if o.status == "extracted"]
        return {
            "sources": len(done),
            "files": sum(len(o.files) for o in done),
            "files_changed": sum(1 for o in done for f in o.files if f.written),
            "requests": sum(o.requests for o in done),
            "failed": len(self.failed),
        }


def _month(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return month_start(value) if value else None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, got {value!r}") from exc


def backfill_start(client: ClientConfig, configured: str | None) -> date:
    """First month extracted when there is no watermark: the baseline needs pre-go-live data."""
    if configured:
        return datetime.strptime(configured, "%Y-%m").date()
    earliest = min(
        client.engagement_start,
        client.first_go_live() - timedelta(days=client.kpi_baseline_days),
        *(wf.go_live - timedelta(days=client.baseline_days_for(wf)) for wf in client.workflows),
    )
    return month_start(earliest)


def _local_start(month: date, tz: str) -> datetime:
    return datetime.combine(month, time(), tzinfo=zone(tz)).astimezone(UTC)


def extract_clients(
    landing_dir: Path,
    clients: Iterable[ClientConfig],
    sources: Iterable[str] | None = None,
    month: str | date | None = None,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    *,
    clients_dir: Path | None = None,
    now: datetime | None = None,
    policy: HttpPolicy | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExtractReport:
    """Extract every client's API sources into ``landing_dir``; one failure never stops the rest.

    ``clients_dir`` holds the ``extract/<client_id>.yaml`` settings (default ``$ROI_CLIENTS_DIR``);
    ``now``, ``policy`` (timeouts, retries, sleep, transport) and ``environ`` are for tests.
    """
    if clients_dir is None:
        from roi_pipeline.settings import Locations

        clients_dir = Locations.from_env().clients_dir
    wanted = list(sources) if sources else list(SOURCES)
    unknown = sorted(set(wanted) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)} (expected {', '.join(SOURCES)})")
    the_month = _month(month)
    run_now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    policy = policy or HttpPolicy()
    report = ExtractReport()

    def say(line: str) -> None:
        log.info(line)
        if progress:
            progress(line)

    clients = list(clients)
    for index, client in enumerate(clients, start=1):
        try:
            settings = load_extract_settings(clients_dir, client.client_id)
        except ExtractSettingsError as exc:
            for source in wanted:
                report.outcomes.append(SourceOutcome(client.client_id, source, "failed", error=str(exc)))
            say(f"[{index}/{len(clients)}] {client.client_id}: FAILED {exc}")
            continue
        for source in wanted:
            outcome = _extract_source(
                Path(landing_dir), client, source, settings, the_month, full, run_now, policy, environ, say
            )
            report.outcomes.append(outcome)
            prefix = f"[{index}/{len(clients)}] {client.client_id}/{source}"
            if outcome.status == "skipped":
                continue
            if outcome.status == "failed":
                say(f"{prefix}: FAILED {outcome.error}")
            else:
                changed = sum(1 for f in outcome.files if f.written)
                say(
                    f"{prefix}: {outcome.window}: {len(outcome.files)} file(s), {changed} changed, "
                    f"{outcome.records:,} records, {outcome.requests} requests"
                )
            for warning in outcome.warnings:
                say(f"    WARNING {warning}")
    return report


def _extract_source(
    landing_dir: Path,
    client: ClientConfig,
    source: str,
    settings: ExtractSettings,
    month: date | None,
    full: bool,
    run_now: datetime,
    policy: HttpPolicy,
    environ: Mapping[str, str] | None,
    say: Callable[[str], None],
) -> SourceOutcome:
    src = settings.source(source)
    conn_id = src.connection_id or default_connection_id(client.client_id, source)
    outcome = SourceOutcome(client.client_id, source, "skipped", conn_id)
    if src.mode != "api":
        return outcome
    where = f"client {client.client_id}, source {source}, connection {conn_id}"
    secrets: list[str] = []
    client_dir = landing_dir / client.client_id
    state = SourceState(client_dir, source)
    lock_handle = None
    try:
        credentials: Credentials = resolve_connection(conn_id, environ=environ)
        secrets = credentials.secrets()
        state.dir.mkdir(parents=True, exist_ok=True)
        lock_handle = (state.dir / f"{source}.lock").open("w")
        try:
            fcntl.flock(lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExtractConfigError("another extract of this client and source is running") from None
        window, started = _window(client, source, src, state, month, full, run_now)
        outcome.window = _describe(window, month)
        job = Job(client, source, src, credentials, client_dir, state, policy, window, say)
        outcome.files = EXTRACTORS[source](job).extract()
        outcome.requests, outcome.warnings = job.requests, job.warnings
        by_folder: dict[str, list[str]] = {}
        for landed in outcome.files:
            by_folder.setdefault(landed.folder, []).append(landed.name)
        covers = {(f.folder, f.name): f.covers for f in outcome.files if f.covers}
        for folder, names in by_folder.items():
            stated = {n: covers[folder, n] for n in names if (folder, n) in covers}
            record_extracted(client_dir / folder, names, started, stated)
        if month is None:
            state.set_watermark(iso_z(started))
        state.set_last_extract(iso_z(started))
        state.finish_run()
        outcome.status = "extracted"
    except AuthError as exc:
        outcome.status = "failed"
        outcome.error = redact(
            f"extract failed: {where}: HTTP {exc.status}: the credentials were refused (token revoked, expired or "
            f"missing a scope?); update connection {conn_id!r} and rerun",
            secrets,
        )
    except (ApiError, ExtractConfigError, ConnectionNotFound, UnreadableFile, OSError, ValueError) as exc:
        outcome.status = "failed"
        outcome.error = redact(f"extract failed: {where}: {exc}", secrets)
    except Exception as exc:  # one source's bug must not stop the other clients
        outcome.status = "failed"
        outcome.error = redact(f"extract failed: {where}: unexpected {type(exc).__name__}: {exc}", secrets)
        log.debug("unexpected extract failure for %s/%s", client.client_id, source, exc_info=False)
    finally:
        if lock_handle is not None:
            lock_handle.close()
    return outcome


def _window(client, source, src, state: SourceState, month, full, run_now) -> tuple[Window, datetime]:
    """The run's window and start instant, reusing an interrupted run's when the request matches."""
    tz = client.timezone
    request = {"month": f"{month:%Y-%m}" if month else None, "full": bool(full)}
    pending = state.pending_run()
    if pending and pending.get("request") == request and parse_iso(pending.get("now")):
        started = parse_iso(pending["now"])
        since = parse_iso(pending.get("since"))
    else:
        state.discard_checkpoints()
        started = run_now
        since = None
        watermark = parse_iso(state.watermark())
        if watermark is not None and not full:
            overlap = src.overlap_hours if src.overlap_hours is not None else DEFAULT_OVERLAP_HOURS[source]
            since = watermark - timedelta(hours=overlap)
        state.start_run({"request": request, "now": iso_z(started), "since": iso_z(since) if since else None})
    assert started is not None
    follow_up = refresh = None
    if month is not None:
        start, end = month_bounds(month, tz)
        follow_up = max(end, min(month_reads_until(client, month), started))
        last = parse_iso(state.last_extract())  # changes only when a run succeeds: a resumed run sees the same
        if last is not None:
            overlap = src.overlap_hours if src.overlap_hours is not None else DEFAULT_OVERLAP_HOURS[source]
            refresh = (last - timedelta(hours=overlap), started)
    else:
        start = _local_start(backfill_start(client, src.backfill_from), tz)
        end = started
    if since is not None and since <= start:
        since = None  # the watermark is older than the window: that is a full extract of it
    return Window(start=start, end=end, since=since, tz=tz, follow_up=follow_up, refresh=refresh), started


def month_reads_until(client: ClientConfig, month: date) -> datetime:
    """The end of what month M's figures read (docs/method.md), as an aware UTC instant.

    The later of the settle cutoff (responses count up to the local midnight that starts day
    ``settle_days`` + 1 of M+1) and the end of the last cohort window (``cohort_window_days``
    after a lead created at the very end of M).
    """
    tz = zone(client.timezone)
    next_month = add_months(month_start(month), 1)
    cutoff = datetime.combine(next_month + timedelta(days=client.settle_days), time(), tzinfo=tz)
    # a cohort window is elapsed time (30 x 24 h), not wall-clock days: add it in UTC
    cohorts = datetime.combine(next_month, time(), tzinfo=tz).astimezone(UTC) + timedelta(
        days=client.cohort_window_days
    )
    return max(cutoff.astimezone(UTC), cohorts)


def _describe(window: Window, month: date | None) -> str:
    scope = f"month {month:%Y-%m}" if month else f"{window.start.astimezone(zone(window.tz)):%Y-%m} to now"
    return f"{scope}, changes since {iso_z(window.since)}" if window.since else f"{scope}, full"
