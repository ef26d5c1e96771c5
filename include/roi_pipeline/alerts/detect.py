"""What is wrong right now, per client: the four alert conditions, as pure functions of ``now``.

- ``failure_spike`` (subject: workflow key): in the ``failure_window_hours`` before the
  data's horizon, at least ``failure_min_count`` failed production runs of one workflow and
  at least ``failure_min_rate`` of its finished (successful or failed) production runs.
- ``workflow_silent`` (subject: workflow key): a workflow the register marks ``runs_daily``,
  live and active, whose latest production run (or go-live, if it never ran) is more than
  ``silent_after_hours`` before the data's horizon.
- ``guarantee_at_risk`` (subject: the month): the guarantee watch's latest verdict for the
  client's month in progress (:func:`roi_pipeline.orchestration.watch.latest_watch`: the
  watch decides, from ``marts.fct_client_months.is_guarantee_at_risk``; nothing is recomputed).
- ``source_stale`` (subject: landing folder): the folder's latest extraction
  (``_extracts.json``) is more than ``stale_after_hours`` before ``now``.

Runs are read from the marts snapshot (``Locations.marts_snapshot``, read-only), never from
the warehouse: the hourly check never waits for, or blocks, a build. The snapshot and the
landed run logs are only as recent as their last build and extraction, so failures and
silence are judged at the client's *horizon* = the earliest of ``now``, the snapshot's time
and the end of what the client's run logs cover (:func:`run_log_horizon`): data that has
not arrived is not silence (a stale source raises its own alert). A condition that cannot be judged (no snapshot, no
watch result, no extraction record) is left *unevaluated*: its open incidents stay open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from roi_pipeline.config import ClientConfig
from roi_pipeline.settings import Locations

log = logging.getLogger("roi_pipeline.alerts")

KINDS = ("failure_spike", "workflow_silent", "guarantee_at_risk", "source_stale")
#: Landing folders holding run logs: their extraction bounds what the runs can tell.
RUN_LOG_SOURCES = ("n8n_executions", "generic_runs")


@dataclass(frozen=True)
class Finding:
    """One condition that holds for one client now: an open incident (client, kind, subject)."""

    client_id: str
    kind: str
    subject: str
    #: One line a person reads first ("Triage: 5 of 8 runs failed in the last 24 h").
    summary: str

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.subject}"


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    #: (client_id, kind) pairs that were judged; only their incidents may clear.
    evaluated: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _utc(moment: datetime) -> datetime:
    """Aware UTC (a naive value is UTC, as the warehouse stores it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- the pure rules


def failure_spikes(client: ClientConfig, runs: Iterable[Mapping[str, Any]], horizon: datetime) -> list[Finding]:
    """``runs``: the client's production runs (``workflow_key``, ``started_at``, ``status_class``)."""
    rules = client.alerts
    start = _utc(horizon) - timedelta(hours=rules.failure_window_hours)
    counts: dict[str, list[int]] = {}
    for run in runs:
        started = _utc(run["started_at"])
        if run["workflow_key"] is None or not (start < started <= _utc(horizon)):
            continue
        tally = counts.setdefault(run["workflow_key"], [0, 0])
        if run["status_class"] == "failed":
            tally[0] += 1
        elif run["status_class"] == "success":
            tally[1] += 1
    found = []
    names = {w.key: w.name for w in client.workflows}
    for key, (failed, succeeded) in sorted(counts.items()):
        finished = failed + succeeded
        if failed >= rules.failure_min_count and failed / finished >= rules.failure_min_rate:
            found.append(
                Finding(
                    client.client_id, "failure_spike", key,
                    f"{names.get(key, key)}: {failed} of {finished} production runs failed in the "
                    f"{rules.failure_window_hours} h to {_stamp(horizon)}",
                )
            )  # fmt: skip
    return found


def silent_workflows(
    client: ClientConfig, last_runs: Mapping[str, datetime | None], horizon: datetime
) -> list[Finding]:
    """``last_runs``: workflow key -> start of its latest production run (``None``: none)."""
    from roi_pipeline.timeutil import to_local

    limit = timedelta(hours=client.alerts.silent_after_hours)
    today = to_local(_utc(horizon).replace(tzinfo=None), client.timezone).date()
    found = []
    for wf in client.workflows:
        live = wf.go_live <= today and (wf.retired_on is None or wf.retired_on > today)
        if not (wf.runs_daily and wf.status == "active" and live):
            continue
        last = last_runs.get(wf.key)
        since = _utc(last) if last is not None else datetime.combine(wf.go_live, datetime.min.time(), UTC)
        if _utc(horizon) - since > limit:
            what = f"last production run {_stamp(last)}" if last is not None else "no production run since go-live"
            found.append(
                Finding(
                    client.client_id, "workflow_silent", wf.key,
                    f"{wf.name} runs daily but is silent: {what} (data up to {_stamp(horizon)})",
                )
            )  # fmt: skip
    return found


def stale_sources(client: ClientConfig, extracted: Mapping[str, datetime], now: datetime) -> list[Finding]:
    """``extracted``: landing folder -> its latest extraction time."""
    limit = timedelta(hours=client.alerts.stale_after_hours)
    return [
        Finding(
            client.client_id,
            "source_stale",
            source,
            f"{source}: last extracted {_stamp(at)}, more than {client.alerts.stale_after_hours} h before {_stamp(now)}",
        )
        for source, at in sorted(extracted.items())
        if _utc(now) - _utc(at) > limit
    ]


def guarantee_at_risk(client: ClientConfig, watched: Mapping[str, Any]) -> list[Finding]:
    """``watched``: the guarantee watch's result (:func:`~roi_pipeline.orchestration.watch.latest_watch`)."""
    for c in watched.get("clients", []):
        if c["client_id"] == client.client_id and c["at_risk"]:
            return [
                Finding(
                    client.client_id, "guarantee_at_risk", watched["month"],
                    f"{watched['month']}: {c['hours_saved_to_date'] or 0:.1f} h saved so far, projected "
                    f"{c['projected_month_hours'] or 0:.1f} h of {c['guarantee_hours'] or 0:.1f} h guaranteed "
                    f"(watch of {watched['day']})",
                )
            ]  # fmt: skip
    return []


# --------------------------------------------------------------------------- reading the inputs


def _extractions(landing_dir: Path, client_id: str, source: str) -> dict[str, datetime]:
    """File name -> ``extracted_at`` from the folder's ``_extracts.json`` (unreadable entries skipped)."""
    from roi_pipeline.extract.landing import _existing_record

    out = {}
    for name, entry in _existing_record(Path(landing_dir) / client_id / source).items():
        try:
            out[name] = _utc(datetime.fromisoformat(str(entry["extracted_at"]).replace("Z", "+00:00")))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def extraction_times(landing_dir: Path, client_id: str) -> dict[str, datetime]:
    """Landing folder -> latest ``extracted_at`` recorded in its ``_extracts.json`` (folders without one: absent)."""
    from roi_pipeline.formats import FORMATS

    out = {}
    for source in sorted(FORMATS):
        times = _extractions(landing_dir, client_id, source)
        if times:
            out[source] = max(times.values())
    return out


def run_log_horizon(landing_dir: Path, client: ClientConfig) -> datetime | None:
    """Up to when the client's landed run logs can speak: per run-log folder, the latest
    instant a file covers (its extraction time, or the end of the month its name gives,
    ``2026-10.json``, whichever is earlier); the earliest over the folders (``None``: no record).

    A month file extracted days after its month ends says nothing about those days.
    """
    import re

    from roi_pipeline.orchestration.months import month_bounds_utc

    ends = []
    for source in RUN_LOG_SOURCES:
        covered = []
        for name, extracted in _extractions(landing_dir, client.client_id, source).items():
            month = re.match(r"^(\d{4}-\d{2})\.", name)
            covered.append(min(extracted, month_bounds_utc(month[1], client.timezone)[1]) if month else extracted)
        if covered:
            ends.append(max(covered))
    return min(ends) if ends else None


def _read_snapshot(path: Path, client_ids: Sequence[str], since: datetime) -> dict[str, Any] | None:
    """Runs since ``since`` and the latest production run per workflow, from the marts snapshot."""
    import duckdb

    if not Path(path).is_file() or not client_ids:
        return None
    params = list(client_ids)
    ids = ", ".join("?" for _ in params)
    con = duckdb.connect(str(path), read_only=True)
    try:
        taken = con.execute("select max(taken_at_utc) from main.snapshot_info").fetchone()[0]
        cur = con.execute(
            "select client_id, workflow_key, started_at, status_class from marts.fct_automation_runs "
            f"where is_production and client_id in ({ids}) and started_at > ? order by client_id, started_at",
            [*params, _utc(since).replace(tzinfo=None)],
        )
        runs: dict[str, list[dict[str, Any]]] = {}
        for client_id, key, started, status in cur.fetchall():
            runs.setdefault(client_id, []).append({"workflow_key": key, "started_at": started, "status_class": status})
        last: dict[str, dict[str, datetime]] = {}
        for client_id, key, started in con.execute(
            "select client_id, workflow_key, max(started_at) from marts.fct_automation_runs "
            f"where is_production and workflow_key is not null and client_id in ({ids}) group by all",
            params,
        ).fetchall():
            last.setdefault(client_id, {})[key] = started
    finally:
        con.close()
    return {"taken_at": taken, "runs": runs, "last": last}


def detect(clients: Sequence[ClientConfig], *, now: datetime, locations: Locations) -> Detection:
    """Every condition that holds at ``now`` for ``clients`` (with alerts enabled)."""
    from roi_pipeline.orchestration.months import month_in_progress
    from roi_pipeline.orchestration.watch import latest_watch

    now = _utc(now)
    out = Detection()
    active = [c for c in clients if c.alerts.enabled]
    widest = max((c.alerts.failure_window_hours for c in active), default=24)
    try:
        snapshot = _read_snapshot(Path(locations.marts_snapshot), [c.client_id for c in active],
                                  now - timedelta(hours=widest + 24 * 62))  # fmt: skip
    except Exception as exc:  # duckdb.Error: an old or foreign file; the other checks still run
        snapshot = None
        out.notes.append(f"marts snapshot {locations.marts_snapshot} not readable ({type(exc).__name__}: {exc})")
    if snapshot is None and active and not out.notes:
        out.notes.append(f"no marts snapshot at {locations.marts_snapshot}: failures and silence not checked")
    for client in active:
        cid = client.client_id
        extracted = extraction_times(locations.landing_dir, cid)
        out.findings += stale_sources(client, extracted, now)
        out.evaluated.add((cid, "source_stale"))

        month = month_in_progress(now, client.timezone)
        watched = latest_watch(locations.reports_dir, month, now.date())
        if watched is not None and any(c["client_id"] == cid for c in watched.get("clients", [])):
            out.findings += guarantee_at_risk(client, watched)
            out.evaluated.add((cid, "guarantee_at_risk"))

        if snapshot is not None:
            landed = run_log_horizon(locations.landing_dir, client)
            horizon = min([now, _utc(snapshot["taken_at"]), *([landed] if landed else [])])
            out.findings += failure_spikes(client, snapshot["runs"].get(cid, []), horizon)
            out.findings += silent_workflows(client, snapshot["last"].get(cid, {}), horizon)
            out.evaluated |= {(cid, "failure_spike"), (cid, "workflow_silent")}
    return out
