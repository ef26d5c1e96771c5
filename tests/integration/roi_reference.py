"""An independent, plain-Python reference implementation of the ROI figures.

Written from the ROI method (docs/method.md, incl. its edge rules), docs/landing.md
and examples/clients/README.md only -- deliberately *without* reading the dbt project, the
warehouse's raw/staging tables or the package's landing parsers. It reads the landing files
directly with ``json`` / ``csv`` and uses only ``roi_pipeline.config`` (to load the client
YAML files) and ``zoneinfo``. ``tests/integration/test_marts_match_independent_computation.py``
compares its figures with the dbt marts.

Choices where the specification leaves a point open are marked ``CHOICE:`` below.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from roi_pipeline.config import ClientConfig, Effective, Workflow

UTC = UTC

N8N_PRODUCTION_MODES = {"trigger", "webhook"}
GENERIC_PRODUCTION_TRIGGERS = {"schedule", "webhook", "event"}


# --------------------------------------------------------------------------------------
# Small helpers: months, effective-dated values, percentiles, time parsing
# --------------------------------------------------------------------------------------


def month_of(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def prev_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    out, m = [], month_of(first)
    while m <= month_of(last):
        out.append(m)
        m = next_month(m)
    return out


def _value_on(entries: list[Effective], day: date) -> float | None:
    chosen, chosen_from = None, None
    for e in entries:
        if e.effective_from <= day and (chosen_from is None or e.effective_from > chosen_from):
            chosen, chosen_from = e.value, e.effective_from
    return chosen


def effective_for_month(entries: list[Effective] | None, month: date, anchor: date) -> float | None:
    """The value in effect on the 1st of ``month``.

    docs/method.md §1: the value in effect on the first day of M applies to the whole of M. When
    nothing is in effect on the 1st because the list starts at its anchor (engagement start /
    go-live) in the middle of M, the value in effect on the anchor day is used (docs/method.md).
    """
    if not entries:
        return None
    value = _value_on(entries, month)
    if value is None and month <= anchor < next_month(month):
        value = _value_on(entries, anchor)
    return value


def percentile_cont(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy default / quantile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def parse_instant(text: str | None, tz: ZoneInfo) -> datetime | None:
    """ISO-8601 -> aware UTC datetime. Naive = client zone; DST overlap -> first occurrence
    (fold=0); a naive time inside a DST gap does not exist -> None (quarantined)."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        local = dt.replace(tzinfo=tz, fold=0)
        back = local.astimezone(UTC).astimezone(tz)
        if back.replace(tzinfo=None) != dt:
            return None  # in a DST gap
        return local.astimezone(UTC)
    return dt.astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def _num(text: object) -> float | None:
    if text is None:
        return None
    s = str(text).strip()
    if s == "":
        return None
    return float(s)


def _snake(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def _norm(text: str | None) -> str:
    # Process names match trimmed and case-insensitively (docs/method.md, Timesheets).
    return (text or "").strip().casefold()


# --------------------------------------------------------------------------------------
# Landing readers
# --------------------------------------------------------------------------------------


def data_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Data files of a landing folder, in name order; ``_*`` and ``.*`` are never data."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(("_", ".")) and p.name.lower().endswith(suffixes)
    )


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def read_json_objects(path: Path, list_key: str) -> list[dict]:
    """A page ``{list_key: [...]}``, a JSON array of pages, a JSON array of objects, or JSON Lines."""
    text = _read_text(path).strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
        docs = [doc]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [d for d in docs if isinstance(d, dict)]
    out: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if list_key in node and isinstance(node[list_key], list):
                out.extend(x for x in node[list_key] if isinstance(x, dict))
            else:
                out.append(node)

    for d in docs:
        walk(d)
    return out


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    text = _read_text(path)
    if not text.strip():
        return []
    return [dict(r) for r in csv.DictReader(io.StringIO(text, newline=""))]


@dataclass(frozen=True)
class Run:
    platform: str
    run_id: str
    workflow_id: str
    started: datetime | None
    status: str
    trigger: str  # n8n mode or generic triggered_by
    retry_of: str | None
    items: float | None
    llm_cost: float


def load_runs(client: ClientConfig, landing: Path) -> dict[tuple[str, str], Run]:
    """Every landed run of the client, keyed (platform, run id); a run landed twice counts once.

    CHOICE: if the same run id was landed twice with different content, the version from the
    file read last (name order = later extract) wins. (Not exercised by the default sample.)
    """
    tz = ZoneInfo(client.timezone)
    base = landing / client.client_id
    runs: dict[tuple[str, str], Run] = {}
    for path in data_files(base / "n8n_executions", (".json", ".jsonl")):
        for e in read_json_objects(path, "data"):
            if e.get("id") is None or e.get("workflowId") is None:
                continue
            custom = e.get("customData") or {}
            retry_of = e.get("retryOf")
            run = Run(
                platform="n8n",
                run_id=str(e["id"]),
                workflow_id=str(e["workflowId"]),
                started=parse_instant(e.get("startedAt"), tz),
                status=str(e.get("status") or "").strip().lower(),
                trigger=str(e.get("mode") or "").strip().lower(),
                retry_of=None if retry_of in (None, "") else str(retry_of),
                items=_num(custom.get("items")),
                llm_cost=_num(custom.get("llm_cost")) or 0.0,
            )
            runs[(run.platform, run.run_id)] = run
    for path in data_files(base / "generic_runs", (".csv", ".jsonl")):
        if path.name.lower().endswith(".csv"):
            rows = read_csv_rows(path)
        else:
            rows = read_json_objects(path, "data")
        for r in rows:
            if not r.get("run_id") or not r.get("workflow_id"):
                continue
            run = Run(
                platform=str(r.get("platform") or "").strip().lower(),
                run_id=str(r["run_id"]).strip(),
                workflow_id=str(r["workflow_id"]).strip(),
                started=parse_instant(r.get("started_at"), tz),
                status=str(r.get("status") or "").strip().lower(),
                trigger=str(r.get("triggered_by") or "").strip().lower(),
                retry_of=(str(r["retry_of"]).strip() or None) if r.get("retry_of") not in (None, "") else None,
                items=_num(r.get("items")),
                llm_cost=_num(r.get("llm_cost")) or 0.0,
            )
            runs[(run.platform, run.run_id)] = run
    # Make scenario logs (docs/landing.md): status 1 success, 2 warning and 3 error (neither a
    # success); an instant (webhook) or scheduled start is production, a "manual" type is not.
    for path in data_files(base / "make_scenario_logs", (".json", ".jsonl")):
        for e in read_json_objects(path, "scenarioLogs"):
            if e.get("imtId") is None or e.get("scenarioId") is None:
                continue
            manual = str(e.get("type") or "").lower() == "manual"
            run = Run(
                platform="make",
                run_id=str(e["imtId"]),
                workflow_id=str(e["scenarioId"]),
                started=parse_instant(e.get("timestamp"), tz),
                status="success" if e.get("status") == 1 else "error",
                trigger="manual" if manual else ("webhook" if e.get("instant") is True else "schedule"),
                retry_of=None,
                items=None,
                llm_cost=0.0,
            )
            runs[(run.platform, run.run_id)] = run
    # Zapier Zap runs: every run is a production run of its trigger; only "success" succeeded.
    for path in data_files(base / "zapier_zap_runs", (".json", ".jsonl")):
        for e in read_json_objects(path, "data"):
            if e.get("id") is None or e.get("zap_id") is None:
                continue
            run = Run(
                platform="zapier",
                run_id=str(e["id"]),
                workflow_id=str(e["zap_id"]),
                started=parse_instant(e.get("start_time"), tz),
                status="success" if str(e.get("status")).lower() in ("success", "successful") else "other",
                trigger="event",
                retry_of=None,
                items=None,
                llm_cost=0.0,
            )
            runs[(run.platform, run.run_id)] = run
    return runs


def is_production(run: Run, runs: dict[tuple[str, str], Run], _seen: frozenset = frozenset()) -> bool:
    """n8n: trigger/webhook, or retry of a production run; generic: schedule/webhook/event, or
    retry of a production run.

    CHOICE: a retry whose original run was never landed cannot be shown to retry a production
    run and does not count (not exercised by the default sample: every retry's original is landed).
    """
    prod = N8N_PRODUCTION_MODES if run.platform == "n8n" else GENERIC_PRODUCTION_TRIGGERS
    if run.trigger in prod:
        return True
    if run.trigger != "retry" or run.retry_of is None:
        return False
    key = (run.platform, run.retry_of)
    if key in _seen or key not in runs:
        return False
    return is_production(runs[key], runs, _seen | {key})


@dataclass(frozen=True)
class TimeEntry:
    day: date
    consultancy: bool
    process: str  # normalised
    hours: float


def _harvest_hours(text: str) -> float:
    s = (text or "").strip()
    if ":" in s:
        h, m = s.split(":", 1)
        return int(h or 0) + int(m) / 60.0
    return float(s) if s else 0.0


def _toggl_hours(text: str) -> float:
    parts = [int(p) for p in (text or "0").strip().split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts[-3:]
    return h + m / 60.0 + s / 3600.0


def _field_values(row: dict[str, str], field_name: str) -> list[str]:
    """The normalised value(s) of a timesheet field named in snake case; Toggl tags are a list."""
    for header, value in row.items():
        if header is not None and _snake(header) == _snake(field_name):
            if _snake(field_name) == "tags":
                return [_norm(v) for v in (value or "").split(",") if v.strip()]
            return [_norm(value)]
    return [""]


def load_timesheets(client: ClientConfig, landing: Path) -> list[TimeEntry]:
    """Timesheet entries, each counted once.

    Identity (docs/landing.md): content + occurrence number within its file, so the same entry
    exported again in an overlapping file counts once while two identical rows in one file both count.
    """
    ts = client.timesheets
    folder = landing / client.client_id / ("harvest_time_entries" if ts.format == "harvest" else "toggl_time_entries")
    cons_values = {_norm(v) for v in ts.consultancy_rows.values}
    seen: set[tuple] = set()
    entries: list[TimeEntry] = []
    for path in data_files(folder, (".csv",)):
        occurrences: Counter = Counter()
        for row in read_csv_rows(path):
            content = tuple(sorted((_snake(k), (v or "")) for k, v in row.items() if k is not None))
            occurrences[content] += 1
            key = (content, occurrences[content])
            if key in seen:
                continue
            seen.add(key)
            if ts.format == "harvest":
                day = date.fromisoformat(row["Date"].strip())
                hours = _harvest_hours(row.get("Hours", ""))  # never "Hours Rounded"
            else:
                day = date.fromisoformat(row["Start date"].strip())  # an entry belongs to its start date
                hours = _toggl_hours(row.get("Duration", ""))  # never end - start
            consultancy = any(v in cons_values for v in _field_values(row, ts.consultancy_rows.field))
            process = _field_values(row, ts.process_field)[0]
            entries.append(TimeEntry(day, consultancy, process, hours))
    return entries


@dataclass(frozen=True)
class CrmRecord:
    id: str
    props: dict
    created: datetime | None  # contacts/deals: createdate else createdAt
    timestamp: datetime | None  # activities: hs_timestamp
    contact_ids: tuple[str, ...]


def load_crm(client: ClientConfig, landing: Path, obj: str) -> dict[str, CrmRecord]:
    """HubSpot objects by id (same id landed twice counts once).

    CHOICE: a differing re-landing of the same id -> the version read last wins (not exercised).
    """
    tz = ZoneInfo(client.timezone)
    out: dict[str, CrmRecord] = {}
    for path in data_files(landing / client.client_id / f"hubspot_{obj}", (".json", ".jsonl")):
        for o in read_json_objects(path, "results"):
            if o.get("id") is None:
                continue
            props = o.get("properties") or {}
            assoc = ((o.get("associations") or {}).get("contacts") or {}).get("results") or []
            created = parse_instant(props.get("createdate") or o.get("createdAt"), tz)
            out[str(o["id"])] = CrmRecord(
                id=str(o["id"]),
                props=props,
                created=created,
                timestamp=parse_instant(props.get("hs_timestamp"), tz),
                contact_ids=tuple(str(a["id"]) for a in assoc if a.get("id") is not None),
            )
    return out


# --------------------------------------------------------------------------------------
# The computation
# --------------------------------------------------------------------------------------


@dataclass
class Baseline:
    minutes_measured: float | None
    method: str  # "measured" | "declared" | "declared_low_confidence"
    window_start: date | None = None
    window_end: date | None = None
    window_days: int | None = None
    events: int | None = None
    hours: float | None = None


@dataclass
class WorkflowMonth:
    client_id: str
    workflow_key: str
    month: date
    tasks_automated: float
    minutes_per_task: float | None
    baseline_method: str
    gross_hours_saved: float | None
    residual_manual_hours: float
    hours_saved: float | None
    hourly_cost: float
    value_created: float | None
    llm_cost: float
    tooling_cost: float
    run_cost: float
    net_value: float | None


@dataclass
class ClientMonth:
    client_id: str
    month: date
    hours_saved: float
    value_created: float
    workflows_live: int
    run_cost: float
    fee_in_effect: float
    fee_charged: float
    total_cost: float
    guarantee_verdict: str  # "build phase" | "met" | "missed" | "no guarantee"
    unknown_workflows: list[str]
    leads_created: int
    leads_unanswered: int
    response_minutes_median: float | None
    response_minutes_p90: float | None
    #: The consultancy's own timesheet hours on the client in the month (every phase).
    consultancy_hours: float = 0.0
    #: fee charged / consultancy hours; None without hours (docs/method.md section 8).
    effective_hourly_rate: float | None = None


@dataclass
class ClientReference:
    client: ClientConfig
    baselines: dict[str, Baseline] = field(default_factory=dict)
    workflow_months: dict[tuple[str, date], WorkflowMonth] = field(default_factory=dict)
    client_months: dict[date, ClientMonth] = field(default_factory=dict)


def is_live_in(wf: Workflow, month: date) -> bool:
    """Live in M: go-live <= last day of M and at least one live day in M.

    docs/method.md §2, retired on the 1st: ``retired_on`` = 1st of M leaves no live day in M, so no row.
    """
    return wf.go_live < next_month(month) and (wf.retired_on is None or wf.retired_on > month)


def is_live_day(wf: Workflow, day: date) -> bool:
    """On or after go-live and before ``retired_on`` (its first day no longer live)."""
    return wf.go_live <= day and (wf.retired_on is None or day < wf.retired_on)


def _volume_events(wf: Workflow, crm: dict[str, dict[str, CrmRecord]], tz: ZoneInfo, start: date, end: date) -> int:
    """Volume events of a measured baseline with a local date in [start, end].

    CHOICE: contacts and deals count at their creation (createdate); calls, emails and meetings
    at their ``hs_timestamp`` (the activity's own time, as for lead response). ``direction``
    filters calls (hs_call_direction) / emails (hs_email_direction); ``owner_ids`` filters on
    hubspot_owner_id. The client's lead filter is not applied to a "contacts" volume source
    (the register names the volume source on its own).

    docs/method.md §2 (Minutes per task): ``filters`` keep a record only when each named property holds one of its values
    (exact text; a missing property matches nothing); ``timestamp_property`` places the record
    by that property instead (ISO-8601 or epoch milliseconds; missing or unreadable: not placed).
    """
    vol = wf.baseline.volume
    assert vol is not None
    n = 0
    owners = {str(o) for o in vol.owner_ids} if vol.owner_ids else None
    for rec in crm[vol.object].values():
        if vol.timestamp_property is not None:
            when = _property_instant(rec.props.get(vol.timestamp_property), tz)
        else:
            when = rec.created if vol.object in ("contacts", "deals") else rec.timestamp
        if when is None:
            continue
        if not (start <= local_date(when, tz) <= end):
            continue
        if vol.direction is not None:
            prop = {"calls": "hs_call_direction", "emails": "hs_email_direction"}.get(vol.object)
            if prop is None or str(rec.props.get(prop) or "").strip().upper() != vol.direction.strip().upper():
                continue
        if owners is not None and str(rec.props.get("hubspot_owner_id") or "").strip() not in owners:
            continue
        if any(
            rec.props.get(f.property) is None or str(rec.props[f.property]) not in set(f.values)
            for f in vol.filters or []
        ):
            continue
        n += 1
    return n


def _property_instant(value: object, tz: ZoneInfo) -> datetime | None:
    """A CRM property as an instant: epoch milliseconds (digits) or ISO-8601 with an offset."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        return parse_instant(text, tz)
    except ValueError:
        return None


def compute_baseline(
    client: ClientConfig, wf: Workflow, entries: list[TimeEntry], crm: dict[str, dict[str, CrmRecord]]
) -> Baseline:
    """Measured minutes per task, or the reason the declared figure is used.

    Window: the workflow's ``baseline.window_days`` (else the client's ``baseline_days``) ending
    the day before go-live, clipped at the start to the client's
    earliest timesheet entry. CHOICE: "earliest timesheet entry" = the earliest *client-staff*
    entry (the hours being measured are client-staff hours, as docs/method.md words it). In
    the default sample the earliest staff and consultancy entries fall on the same day.
    """
    if wf.baseline.method == "declared":
        return Baseline(None, "declared")
    tz = ZoneInfo(client.timezone)
    end = wf.go_live - timedelta(days=1)
    start = wf.go_live - timedelta(days=wf.baseline.window_days or client.baseline_days)
    staff_days = [e.day for e in entries if not e.consultancy]
    if staff_days:
        start = max(start, min(staff_days))
    days = (end - start).days + 1
    events = _volume_events(wf, crm, tz, start, end) if days > 0 else 0
    hours = sum(
        e.hours for e in entries if not e.consultancy and e.process == _norm(wf.process) and start <= e.day <= end
    )
    if days >= 28 and events >= 20:
        return Baseline(60.0 * hours / events, "measured", start, end, days, events, hours)
    return Baseline(None, "declared_low_confidence", start, end, days, events, hours)


def compute_client(client: ClientConfig, landing: Path, months: list[date]) -> ClientReference:
    tz = ZoneInfo(client.timezone)
    runs = load_runs(client, landing)
    entries = load_timesheets(client, landing)
    crm = {o: load_crm(client, landing, o) for o in ("contacts", "calls", "emails", "meetings", "deals")}
    ref = ClientReference(client)

    by_platform_id: dict[tuple[str, str], Workflow] = {}
    for wf in client.workflows:
        for pid in wf.platform_workflow_ids:
            by_platform_id[(wf.platform, str(pid))] = wf
        ref.baselines[wf.key] = compute_baseline(client, wf, entries, crm)

    # Per run: (workflow, local start date, production?)
    run_facts: list[tuple[Workflow, date, bool, Run]] = []
    for run in runs.values():
        wf = by_platform_id.get((run.platform, run.workflow_id))
        if wf is None or run.started is None:
            continue  # unknown workflow id -> quarantined
        run_facts.append((wf, local_date(run.started, tz), is_production(run, runs), run))

    # Every month needed: the requested ones and each one's M-1 (for the fee credit).
    all_months = sorted(set(months) | {prev_month(m) for m in months})
    first_go_live = min(w.go_live for w in client.workflows)
    first_full_month = month_of(first_go_live) if first_go_live.day == 1 else next_month(month_of(first_go_live))

    for m in all_months:
        m_end = next_month(m)
        for wf in client.workflows:
            if not is_live_in(wf, m):
                continue
            tasks = 0.0
            llm = 0.0
            for rwf, day, prod, run in run_facts:
                if rwf is not wf or not (m <= day < m_end) or not is_live_day(wf, day):
                    continue
                llm += run.llm_cost  # every run on a live day, whatever its trigger or status
                if prod and run.status == "success":
                    tasks += 1.0 if run.items is None else run.items
            residual = sum(
                e.hours
                for e in entries
                if not e.consultancy
                and e.process == _norm(wf.process)
                and m <= e.day < m_end
                and is_live_day(wf, e.day)
            )
            base = ref.baselines[wf.key]
            if base.method == "measured":
                mpt = base.minutes_measured
            else:
                mpt = effective_for_month(wf.baseline.declared_minutes, m, wf.go_live)
            hourly = effective_for_month(wf.hourly_cost_override, m, wf.go_live)
            if hourly is None:
                hourly = effective_for_month(client.hourly_cost, m, client.engagement_start)
            tooling = effective_for_month(wf.tooling_cost, m, wf.go_live) or 0.0
            run_cost = llm + tooling
            if mpt is None:
                gross = saved = value = net = None
            else:
                gross = tasks * mpt / 60.0
                saved = gross - residual
                value = saved * hourly
                net = value - run_cost
            ref.workflow_months[(wf.key, m)] = WorkflowMonth(
                client.client_id,
                wf.key,
                m,
                tasks,
                mpt,
                base.method,
                gross,
                residual,
                saved,
                hourly,
                value,
                llm,
                tooling,
                run_cost,
                net,
            )

    verdicts: dict[date, str] = {}
    for m in all_months:
        wms = [wm for (k, mm), wm in ref.workflow_months.items() if mm == m]
        known = [wm for wm in wms if wm.hours_saved is not None]
        hours = sum(wm.hours_saved for wm in known)
        # CHOICE (open point in docs/method.md): for a client without a guarantee, months before the
        # first full month are "build phase", not "no guarantee". docs/method.md §3 (Guarantee):
        # earlier months are "build phase" with no verdict (unconditional), while "no guarantee"
        # is a verdict, i.e. given only where a verdict is given.
        if m < first_full_month:
            verdicts[m] = "build phase"
        elif client.guarantee_hours == 0:
            verdicts[m] = "no guarantee"
        else:
            verdicts[m] = "met" if hours >= client.guarantee_hours else "missed"

    for m in months:
        wms = [wm for (k, mm), wm in ref.workflow_months.items() if mm == m]
        known = [wm for wm in wms if wm.hours_saved is not None]
        fee = effective_for_month(client.monthly_fee, m, client.engagement_start) or 0.0
        # CHOICE: a month before the engagement start has no verdict, so never a credit.
        fee_charged = 0.0 if verdicts.get(prev_month(m)) == "missed" else fee
        run_cost = sum(wm.run_cost for wm in wms)
        leads = lead_response(client, crm, m)
        ref.client_months[m] = ClientMonth(
            client_id=client.client_id,
            month=m,
            # "Totals over all workflows live in M": a month with no live workflow totals 0 hours
            # and 0 value (a sum over nothing), not unknown -- docs/method.md reserves "unknown (not
            # zero)" for workflows without a minutes-per-task figure, and they are left out.
            hours_saved=sum(wm.hours_saved for wm in known),
            value_created=sum(wm.value_created for wm in known),
            workflows_live=len(wms),
            run_cost=run_cost,
            fee_in_effect=fee,
            fee_charged=fee_charged,
            total_cost=fee_charged + run_cost,
            guarantee_verdict=verdicts[m],
            unknown_workflows=[wm.workflow_key for wm in wms if wm.hours_saved is None],
            **leads,
        )
        consultancy_hours = sum(e.hours for e in entries if e.consultancy and m <= e.day < next_month(m))
        ref.client_months[m].consultancy_hours = consultancy_hours
        ref.client_months[m].effective_hourly_rate = fee_charged / consultancy_hours if consultancy_hours > 0 else None
    return ref


# --------------------------------------------------------------------------------------
# Governance, roadmap (docs/method.md section 8), from the client file and the figures above
# --------------------------------------------------------------------------------------


def add_calendar_months(day: date, n: int) -> date:
    """``day`` + n calendar months, clipped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + n
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    last = (next_month(first) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def inventory(client: ClientConfig, ref: ClientReference, month: date) -> dict[str, dict]:
    """Per register workflow: state at month end, changes, run cost, review due, the two flags."""
    last_day = next_month(month) - timedelta(days=1)
    out = {}
    for wf in client.workflows:
        if wf.go_live > last_day:
            state = "building"
        elif wf.retired_on is not None and wf.retired_on <= last_day:
            state = "retired"
        elif wf.status == "paused" and (wf.paused_on is None or wf.paused_on <= last_day):
            state = "paused"
        else:
            state = "live"
        due = add_calendar_months(wf.last_review or wf.go_live, wf.review_every_months)
        wm = ref.workflow_months.get((wf.key, month))
        out[wf.key] = {
            "state": state,
            "new": month <= wf.go_live <= last_day,
            "retired": wf.retired_on is not None and month <= wf.retired_on <= last_day,
            "paused": wf.paused_on is not None and month <= wf.paused_on <= last_day,
            "run_cost": wm.run_cost if wm else 0.0,
            "review_due": due,
            "review_overdue": state in ("live", "paused") and due <= last_day,
            "high_risk_without_checkpoint": wf.risk_class == "high"
            and state != "retired"
            and wf.human_approval is not True,
        }
    return out


def roadmap(client: ClientConfig, ref: ClientReference, month: date) -> dict[str, dict]:
    """Per candidate: estimates at the month's hourly cost, payback, rank, actual once live."""
    hourly = effective_for_month(client.hourly_cost, month, client.engagement_start)
    last_day = next_month(month) - timedelta(days=1)
    out = {}
    for cand in client.candidates:
        hours = cand.est_tasks_per_month * cand.est_minutes_per_task / 60.0
        net = hours * hourly - cand.est_tooling_cost
        build = cand.est_build_hours * hourly
        wf = client.workflow(cand.workflow_key) if cand.workflow_key else None
        wm = ref.workflow_months.get((wf.key, month)) if wf else None
        if wf is None or wf.go_live > last_day:
            state = "candidate"
        else:
            state = "live" if wm is not None else "retired"
        out[cand.key] = {
            "state": state,
            "est_hours_saved": hours,
            "est_net_value": net,
            "est_build_cost": build,
            "est_payback_months": build / net if net > 0 else None,
            "actual_tasks_automated": wm.tasks_automated if wm else None,
            "actual_net_value": wm.net_value if wm else None,
            "rank": None,
        }
    waiting = sorted(
        (k for k, c in out.items() if c["state"] == "candidate"),
        key=lambda k: (out[k]["est_payback_months"] is None, out[k]["est_payback_months"] or 0.0, k),
    )
    for rank, key in enumerate(waiting, 1):
        out[key]["rank"] = rank
    return out


def _is_response(obj: str, rec: CrmRecord) -> bool:
    if obj == "emails":
        return str(rec.props.get("hs_email_direction") or "").strip().upper() == "EMAIL"
    if obj == "calls":
        return str(rec.props.get("hs_call_direction") or "").strip().upper() == "OUTBOUND"
    return obj == "meetings"  # meetings of any outcome


def kpi_baseline_leads(client: ClientConfig, crm: dict[str, dict[str, CrmRecord]]) -> int:
    """Leads (lead filter applied) created on the ``kpi_baseline_days`` local days before the
    client's first go-live (the KPI baseline length is set per client, default 90)."""
    tz = ZoneInfo(client.timezone)
    first = min(w.go_live for w in client.workflows)
    start = first - timedelta(days=client.kpi_baseline_days)
    lf = client.crm.lead_filter
    n = 0
    for c in crm["contacts"].values():
        if c.created is None or not (start <= local_date(c.created, tz) < first):
            continue
        if lf is not None and str(c.props.get(lf.property) or "").strip() not in {v.strip() for v in lf.values}:
            continue
        n += 1
    return n


def lead_response(client: ClientConfig, crm: dict[str, dict[str, CrmRecord]], month: date) -> dict:
    """Leads created in M, the unanswered ones, and the median / p90 response minutes.

    Response = first outbound email (hs_email_direction EMAIL), outbound call or meeting (any
    outcome) associated with the contact, at its hs_timestamp, at or after the contact's
    creation, up to the end of M + settle_days (local).
    CHOICE: the cutoff is exclusive: a response counts when it is strictly before local midnight
    starting day (1st of M+1 + settle_days), i.e. up to the end of the last settle day.
    Calendar minutes (the business-hours variant is a separate figure).
    """
    tz = ZoneInfo(client.timezone)
    start = local_midnight(month, tz)
    end = local_midnight(next_month(month), tz)
    cutoff = local_midnight(next_month(month) + timedelta(days=client.settle_days), tz)
    lf = client.crm.lead_filter
    leads = []
    for c in crm["contacts"].values():
        if c.created is None or not (start <= c.created < end):
            continue
        # CHOICE: the lead filter compares the property value exactly (trimmed).
        if lf is not None and str(c.props.get(lf.property) or "").strip() not in {v.strip() for v in lf.values}:
            continue
        leads.append(c)
    first: dict[str, datetime] = {}
    lead_ids = {c.id: c for c in leads}
    for obj in ("emails", "calls", "meetings"):
        for rec in crm[obj].values():
            if rec.timestamp is None or not _is_response(obj, rec) or rec.timestamp >= cutoff:
                continue
            for cid in set(rec.contact_ids):
                lead = lead_ids.get(cid)
                if lead is None or rec.timestamp < lead.created:
                    continue
                if cid not in first or rec.timestamp < first[cid]:
                    first[cid] = rec.timestamp
    minutes = [(first[c.id] - c.created).total_seconds() / 60.0 for c in leads if c.id in first]
    return {
        "leads_created": len(leads),
        "leads_unanswered": len(leads) - len(minutes),
        "response_minutes_median": percentile_cont(minutes, 0.5),
        "response_minutes_p90": percentile_cont(minutes, 0.9),
    }
