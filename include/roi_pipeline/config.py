"""Client configuration: engagement terms and the workflow register ("AI inventory").

One YAML file per client in ``$ROI_CLIENTS_DIR`` (``<client_id>.yaml``), validated on load
by pydantic models. The rules follow docs/method.md:

- fees, rates, declared minutes and tooling costs are *effective-dated* lists; the value in
  effect on the first day of a month applies to the whole month (a first value taking effect
  mid-month applies to the whole of that month), and every list must have an
  entry in effect at its anchor (the engagement start for client values, the go-live date
  for workflow values): a gap is a validation error;
- one process is replaced by at most one live workflow on any day (a successor may take
  over in its predecessor's retirement month, from the predecessor's ``retired_on``);
- a bad file yields a :class:`ConfigError` naming the file, the field and the problem, and
  never stops the other clients from loading (:func:`load_clients`);
- a key written twice in one mapping is an error (YAML would silently keep the last one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from roi_pipeline.timeutil import add_months, month_start

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"

#: Run-log platforms. ``n8n`` runs land as n8n API executions; every other platform uses
#: the generic run-log format, whose ``platform`` column names one of these.
Platform = Literal["n8n", "zapier", "make", "custom_agent", "other"]

#: CRM objects a measured baseline can count as its volume source.
VolumeObject = Literal["contacts", "calls", "emails", "meetings", "deals"]


def _as_str(value: object) -> object:
    """Ids are compared as strings (docs/method.md, Identity): accept YAML ints too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_as_str), Field(min_length=1)]


class _Strict(BaseModel):
    # Unknown keys are almost always typos ("go_live_date", "tooling_costs"); reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(_Strict):
    """A value that takes effect on ``effective_from`` and holds until the next entry."""

    effective_from: date
    value: float = Field(ge=0)


EffectiveList = Annotated[list[Effective], Field(min_length=1)]


def value_on(entries: Iterable[Effective], day: date) -> float | None:
    """The value in effect on ``day`` (latest ``effective_from`` <= day), or None."""
    chosen = None
    for entry in sorted(entries, key=lambda e: e.effective_from):
        if entry.effective_from <= day:
            chosen = entry.value
    return chosen


def value_for_month(entries: Iterable[Effective], month: date) -> float | None:
    """The value that applies to the whole of ``month``: the one in effect on its 1st."""
    return value_on(entries, month_start(month))


class FieldProblem(ValueError):
    """A rule broken by one field of the model checking it; ``where`` is that field's path.

    Raised by model validators so that the :class:`ConfigError` names the field
    (``workflows[1] (invoice-chasing).process``) rather than the whole model.
    """

    def __init__(self, where: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.where = where


def _check_effective(entries: list[Effective] | None, anchor: date, what: str) -> None:
    if entries is None:
        return
    where = tuple(what.split("."))
    dates = [e.effective_from for e in entries]
    if len(set(dates)) != len(dates):
        raise FieldProblem(where, "two entries take effect on the same date")
    if min(dates) > anchor:
        raise FieldProblem(
            where,
            f"no value in effect on {anchor.isoformat()} "
            f"(earliest effective_from is {min(dates).isoformat()}); add an entry from {anchor.isoformat()}",
        )


#: A HubSpot property's internal name (lower-case letters, digits, underscores).
PropertyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,100}$")]


class PropertyFilter(_Strict):
    """Only records whose ``property`` equals one of ``values`` (exact text, as landed)."""

    property: PropertyName
    values: Annotated[list[Id], Field(min_length=1)]


class VolumeSource(_Strict):
    """What counts as one task in the baseline: a CRM object created, or an activity.

    Counted by the local date of ``timestamp_property`` (default: the object's own time:
    ``createdate`` for contacts and deals, ``hs_timestamp`` for calls, emails, meetings).
    """

    object: VolumeObject
    #: Only activities in this direction (calls: OUTBOUND/INBOUND; emails: EMAIL/INCOMING_EMAIL).
    direction: str | None = None
    #: Only records owned by these CRM users (e.g. the staff who did the work by hand).
    owner_ids: list[Id] | None = None
    #: Only records whose properties match every filter (e.g. hs_lead_source = web_form).
    filters: list[PropertyFilter] | None = None
    #: The property whose local date places a record in the window (ISO-8601 or epoch ms).
    timestamp_property: PropertyName | None = None

    @field_validator("filters")
    @classmethod
    def _one_filter_per_property(cls, value: list[PropertyFilter] | None) -> list[PropertyFilter] | None:
        names = [f.property for f in value or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"property {', '.join(dupes)} is filtered twice; list its values in one filter")
        return value


class Baseline(_Strict):
    """How the minutes per task of a workflow are established (docs/method.md)."""

    method: Literal["measured", "declared"]
    volume: VolumeSource | None = None
    #: Agreed minutes per task: the figure for ``declared``, the fallback for ``measured``.
    declared_minutes: list[Effective] | None = None
    #: Where a declared figure came from (e.g. "n8n timeSavedPerExecution", "workshop 2025-03-02").
    declared_source: str | None = None
    #: Baseline window length in days for this workflow (default: the client's baseline_days).
    window_days: int | None = Field(default=None, ge=28, le=366)

    @model_validator(mode="after")
    def _method_needs(self) -> Baseline:
        if self.method == "measured" and self.volume is None:
            raise FieldProblem(("volume",), "a measured baseline needs a volume source (baseline.volume)")
        if self.method == "declared" and not self.declared_minutes:
            raise FieldProblem(("declared_minutes",), "a declared baseline needs declared_minutes")
        return self


# ---------------------------------------------------------------------------------------
# Governance and roadmap (AI inventory, review dates, candidate automations): optional
# fields, docs/method.md section 8. Kept apart from the engagement terms above.
# ---------------------------------------------------------------------------------------

#: Default months between two reviews of a workflow (docs/method.md, "Review overdue").
DEFAULT_REVIEW_MONTHS = 12


class _GovernanceFields(_Strict):
    """Register fields an auditor asks for; all optional (unknown is stated as unknown)."""

    #: Kinds of data the workflow reads or writes (e.g. "contact details", "health records").
    data_touched: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    #: A person approves the workflow's output before it takes effect; None = not stated.
    human_approval: bool | None = None
    llm_vendor: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    llm_model: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    #: The day the workflow was last reviewed with the client; None = never (go-live counts).
    last_review: date | None = None
    #: Months after the last review (or go-live) by which the next one is due.
    review_every_months: int = Field(default=DEFAULT_REVIEW_MONTHS, ge=1, le=60)
    #: The day a paused workflow stopped (status 'paused' only).
    paused_on: date | None = None

    @model_validator(mode="after")
    def _governance_consistent(self) -> _GovernanceFields:
        status = getattr(self, "status", "active")
        if self.paused_on is not None and status != "paused":
            raise FieldProblem(("paused_on",), f"paused_on is set but status is {status!r} (use 'paused')")
        go_live = getattr(self, "go_live", None)
        if self.paused_on is not None and go_live is not None and self.paused_on < go_live:
            raise FieldProblem(("paused_on",), "paused_on must be on or after go_live")
        twice = sorted({d for d in self.data_touched if self.data_touched.count(d) > 1})
        if twice:
            raise FieldProblem(("data_touched",), f"lists the same kind of data twice: {', '.join(map(repr, twice))}")
        return self


class Candidate(_Strict):
    """A candidate automation on the client's roadmap, with the estimates it is ranked by."""

    key: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    process: Annotated[str, Field(min_length=1)]
    est_tasks_per_month: float = Field(ge=0)
    est_minutes_per_task: float = Field(ge=0)
    est_build_hours: float = Field(ge=0)
    #: Estimated tooling cost per month once live, in the client's currency.
    est_tooling_cost: float = Field(default=0, ge=0)
    #: The register workflow the candidate became (set when it goes live).
    workflow_key: Annotated[str, Field(pattern=SLUG)] | None = None


class _RoadmapFields(_Strict):
    candidates: list[Candidate] = Field(default_factory=list)


def _check_candidates(candidates: list[Candidate], workflows: list[Workflow]) -> None:
    """Candidate keys are unique; a candidate's workflow_key names one register workflow, once.

    Called last by ClientConfig's register rules, so a broken register is reported first.
    """
    keys = {wf.key for wf in workflows}
    seen_keys: dict[str, int] = {}
    seen_workflows: dict[str, int] = {}
    for index, cand in enumerate(candidates):
        first = seen_keys.setdefault(cand.key, index)
        if first != index:
            raise FieldProblem(("candidates", index, "key"), f"{cand.key!r} is already the key of candidates[{first}]")
        if cand.workflow_key is None:
            continue
        if cand.workflow_key not in keys:
            raise FieldProblem(
                ("candidates", index, "workflow_key"), f"no workflow with key {cand.workflow_key!r} in the register"
            )
        first = seen_workflows.setdefault(cand.workflow_key, index)
        if first != index:
            raise FieldProblem(
                ("candidates", index, "workflow_key"),
                f"workflow {cand.workflow_key!r} is already the outcome of candidates[{first}]",
            )


class Workflow(_GovernanceFields):
    """One deployed automation in the register (governance fields: :class:`_GovernanceFields`)."""

    key: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    platform: Platform
    platform_workflow_ids: Annotated[list[Id], Field(min_length=1)]
    owner: Annotated[str, Field(min_length=1)]
    risk_class: Literal["low", "medium", "high"]
    process: Annotated[str, Field(min_length=1)]
    go_live: date
    status: Literal["active", "paused", "retired"] = "active"
    #: First day the workflow is no longer live (it is live, and costs, in this month,
    #: unless it is the 1st: then its last live month is the month before).
    retired_on: date | None = None
    #: The workflow normally runs every day: days without a run are "silent days".
    runs_daily: bool = False
    #: The workflow runs only when someone asks for it (no schedule, no steady trigger): a month
    #: without any run is expected, so it is a note, never a hold (docs/method.md).
    on_demand: bool = False
    tooling_cost: EffectiveList
    hourly_cost_override: list[Effective] | None = None
    baseline: Baseline

    @property
    def process_key(self) -> str:
        """The process name as timesheets are matched: trimmed, case-insensitive."""
        return normalise_process(self.process)

    def live_months(self) -> tuple[date, date | None]:
        """First and last month (1st of month) in which the workflow is live; None = open.

        Its last live month is the month of its last live day (the day before ``retired_on``):
        retired on the 1st of M, it is last live in M-1 (docs/method.md).
        """
        last = month_start(self.retired_on - timedelta(days=1)) if self.retired_on else None
        return month_start(self.go_live), last

    def is_live_in(self, month: date) -> bool:
        """Live in M: go-live <= last day of M and retired after the first day of M."""
        first = month_start(month)
        if self.go_live >= add_months(first, 1):
            return False
        return self.retired_on is None or self.retired_on > first

    def live_days(self, first: date, last: date) -> int:
        """Days in [first, last] on which the workflow is live: on or after go-live, before ``retired_on``.

        The rule of the models' ``int_workflow_months_spined`` (live_days, live_days_elapsed),
        for the checks that run on the raw layer before any build (the raw gate, onboarding).
        """
        start = max(first, self.go_live)
        end = last if self.retired_on is None else min(last, self.retired_on - timedelta(days=1))
        return max((end - start).days + 1, 0)

    @model_validator(mode="after")
    def _consistent(self) -> Workflow:
        if self.status == "retired" and self.retired_on is None:
            raise FieldProblem(("retired_on",), "status is 'retired' but retired_on is not set")
        if self.retired_on is not None and self.status != "retired":
            raise FieldProblem(("status",), f"retired_on is set but status is {self.status!r} (use 'retired')")
        if self.retired_on is not None and self.retired_on <= self.go_live:
            raise FieldProblem(("retired_on",), "retired_on must be after go_live")
        _check_listed_once(self.platform_workflow_ids, "platform_workflow_ids")
        if self.runs_daily and self.on_demand:
            raise FieldProblem(
                ("on_demand",), "a workflow cannot both run daily (runs_daily) and on demand (on_demand)"
            )
        _check_effective(self.tooling_cost, self.go_live, "tooling_cost")
        _check_effective(self.hourly_cost_override, self.go_live, "hourly_cost_override")
        _check_effective(self.baseline.declared_minutes, self.go_live, "baseline.declared_minutes")
        return self


class CrmSettings(_Strict):
    platform: Literal["hubspot"] = "hubspot"
    #: CRM user (owner) ids that are automations: their activities count as automated.
    automation_user_ids: list[Id] = Field(default_factory=list)
    #: Only contacts whose ``property`` equals one of ``values`` are leads (default: all contacts).
    lead_filter: LeadFilter | None = None


class LeadFilter(_Strict):
    property: Annotated[str, Field(min_length=1)]
    values: Annotated[list[str], Field(min_length=1)]


class RowRule(_Strict):
    """Selects timesheet rows by one column's value (trimmed, case-insensitive)."""

    field: Annotated[str, Field(min_length=1)]
    values: Annotated[list[str], Field(min_length=1)]


class Timesheets(_Strict):
    """Which export the client's timesheets come in, and how to read it.

    ``field`` names are the export's own column headers in snake case
    (Harvest: ``client``, ``project``, ``task``, ``notes``; Toggl: ``client``,
    ``project``, ``task``, ``tags``, ``description``).
    """

    format: Literal["harvest", "toggl"]
    #: Rows that are the consultancy's own time (build / operate / expand).
    consultancy_rows: RowRule
    #: Column holding the client staff's process name.
    process_field: str = "task"
    #: Column holding the consultancy's phase (build / operate / expand).
    phase_field: str = "task"

    @property
    def folder(self) -> str:
        """The landing folder (and raw table) of the configured export: ``harvest_time_entries`` ..."""
        return f"{self.format}_time_entries"


class WorkingHours(_Strict):
    """Business hours for the business-hours variant of lead response time."""

    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    end: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    #: The holiday calendar: an ISO 3166 country code, optionally with its region
    #: ("GB-ENG", "DE-BY", "US-CA"), as the ``holidays`` package knows them. Its public
    #: holidays are not working days (docs/method.md, Business-hours response).
    holidays: str | None = None

    @field_validator("holidays")
    @classmethod
    def _known_calendar(cls, value: str | None) -> str | None:
        if value is not None:
            holiday_calendar(value, [2000])  # raises ValueError for an unknown country or region
        return value

    def holiday_dates(self, years: Iterable[int]) -> list[date]:
        """The public holidays of the calendar in ``years`` (none without a calendar)."""
        return sorted(holiday_calendar(self.holidays, years)) if self.holidays else []


def holiday_calendar(code: str, years: Iterable[int]):
    """The ``holidays`` package's calendar for ``code`` ("DE" or "DE-BY") in ``years``."""
    import holidays

    country, _, region = code.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=region or None, years=list(years))
    except NotImplementedError as exc:  # the package's error for an unknown country or region
        raise ValueError(f"unknown holiday calendar {code!r}: {exc}") from None


# --------------------------------------------------------------------------- run-log mapping
# The generic run log's vocabulary, and a client's mapping of its own run-log export onto it
# (docs/landing.md, "Any other run log"). formats/runs.py reads these; they live here because
# a mapping is validated with the rest of the client file.

#: Platforms whose runs land as generic run-log rows (n8n runs have their own format).
GenericPlatform = Literal["zapier", "make", "custom_agent", "other"]
GENERIC_PLATFORMS = frozenset(get_args(GenericPlatform))
RunStatus = Literal["success", "error", "crashed", "timeout", "canceled", "waiting", "running", "new", "unknown"]
RUN_STATUSES = frozenset(get_args(RunStatus))
RunTrigger = Literal["schedule", "webhook", "event", "manual", "test", "retry", "subworkflow", "error_handler"]
RUN_TRIGGERS = frozenset(get_args(RunTrigger))
#: The generic run log's columns, in contract order.
RUN_LOG_COLUMNS = (
    "run_id", "platform", "workflow_id", "started_at", "finished_at", "status", "triggered_by", "items",
    "llm_tokens_in", "llm_tokens_out", "llm_cost", "cost_currency", "retry_of", "error_message",
)  # fmt: skip


def _value_key(text: str) -> str:
    """A status / trigger value as compared: trimmed, case-insensitive."""
    return text.strip().lower()


class RunLogMapping(_Strict):
    """How to read a client's own run-log export (``generic_runs/``) as the generic run log.

    ``columns``: generic column -> the file's own column (header or JSON key); a generic
    column not named here is read under its own name. ``statuses`` / ``triggers``: the
    file's values -> generic values (trimmed, case-insensitive; a value not listed is read
    as itself). ``platform``: the platform of rows without a platform column or value.
    """

    columns: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    statuses: dict[str, RunStatus] = Field(default_factory=dict)
    triggers: dict[str, RunTrigger] = Field(default_factory=dict)
    platform: GenericPlatform | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RunLogMapping:
        from roi_pipeline.formats.base import snake  # the reader's header rule (formats imports this module)

        seen: dict[str, str] = {}
        for column, source in self.columns.items():
            if column not in RUN_LOG_COLUMNS:
                raise FieldProblem(
                    ("columns", column),
                    f"{column!r} is not a generic run-log column (expected one of {', '.join(RUN_LOG_COLUMNS)})",
                )
            if not snake(source):
                raise FieldProblem(("columns", column), f"{source!r} names no column")
            other = seen.setdefault(snake(source), column)
            if other != column:
                raise FieldProblem(("columns", column), f"column {source!r} is already mapped to {other!r}")
        for name, values in (("statuses", self.statuses), ("triggers", self.triggers)):
            keys: dict[str, str] = {}
            for value in values:
                if not value.strip():
                    raise FieldProblem((name,), "an empty value cannot be mapped")
                first = keys.setdefault(_value_key(value), value)
                if first != value:
                    raise FieldProblem((name, value), f"{value!r} and {first!r} are the same value (case is ignored)")
        return self

    def source_column(self, column: str) -> str:
        """The file's own name of generic ``column``."""
        return self.columns.get(column, column)

    def status(self, value: str) -> str:
        return {_value_key(k): v for k, v in self.statuses.items()}.get(_value_key(value), value)

    def trigger(self, value: str) -> str:
        return {_value_key(k): v for k, v in self.triggers.items()}.get(_value_key(value), value)


# --------------------------------------------------------------------------- alerts (roi_alerts DAG)

#: An Airflow connection id (a webhook URL is a secret: it lives in the connection, never here).
ConnId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,250}$")]
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class QuietHours(_Strict):
    """Local times (the client's zone) between which alerts wait; ``22:00``-``07:00`` spans midnight."""

    start: Annotated[str, Field(pattern=_CLOCK)]
    end: Annotated[str, Field(pattern=_CLOCK)]

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise FieldProblem(("end",), "quiet hours start and end at the same time; remove quiet_hours instead")
        return self


class AlertSettings(_Strict):
    """Where the client's alerts go and when they fire (``alerts:`` in the client file).

    With no ``email``, ``slack`` or ``teams`` the alerts go to the default route
    (``ROI_ALERT_EMAIL``: the consultancy's own address). A client's route receives only
    that client's alerts.
    """

    enabled: bool = True
    #: Recipients of the alert e-mails (sent through the Airflow connection ``roi_smtp``).
    email: list[Annotated[str, Field(pattern=r"^[^@\s,]+@[^@\s,]+$")]] = Field(default_factory=list)
    #: Airflow connection (type ``slackwebhook``) of a Slack incoming webhook.
    slack: ConnId | None = None
    #: Airflow connection (type ``http``) whose password or host is a Teams incoming-webhook URL.
    teams: ConnId | None = None
    quiet_hours: QuietHours | None = None
    #: Failure spike: at least ``failure_min_count`` failed production runs of one workflow,
    #: and at least ``failure_min_rate`` of its finished production runs, in the last window.
    failure_window_hours: int = Field(default=24, ge=1, le=24 * 31)
    failure_min_count: int = Field(default=3, ge=1)
    failure_min_rate: float = Field(default=0.5, gt=0, le=1)
    #: A daily workflow is silent when its last production run is older than this.
    silent_after_hours: int = Field(default=36, ge=1, le=24 * 31)
    #: A landing folder is stale when its latest extraction is older than this.
    stale_after_hours: int = Field(default=48, ge=1, le=24 * 62)

    @field_validator("email")
    @classmethod
    def _listed_once(cls, value: list[str]) -> list[str]:
        twice = sorted({a for a in value if value.count(a) > 1})
        if twice:
            raise ValueError(f"lists the same address twice: {', '.join(twice)}")
        return value


class ClientConfig(_RoadmapFields):
    """Engagement terms and workflow register of one client (roadmap: :class:`_RoadmapFields`)."""

    client_id: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    timezone: str
    locale: str = "en_GB"
    engagement_start: date
    build_fee: float = Field(default=0, ge=0)
    monthly_fee: EffectiveList
    hourly_cost: EffectiveList
    guarantee_hours: float = Field(default=40, ge=0)
    baseline_days: int = Field(default=90, ge=28, le=366)
    #: KPI baseline: leads created in these many days before the first go-live.
    kpi_baseline_days: int = Field(default=90, ge=28, le=366)
    settle_days: int = Field(default=3, ge=0, le=31)
    cohort_window_days: int = Field(default=30, ge=1, le=365)
    working_hours: WorkingHours | None = None
    crm: CrmSettings = Field(default_factory=CrmSettings)
    timesheets: Timesheets
    report_contacts: list[str] = Field(default_factory=list)
    #: Alert routing, quiet hours and thresholds (roi_alerts); defaults when absent.
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    workflows: Annotated[list[Workflow], Field(min_length=1)]
    #: Platform workflow ids deliberately left out of the register (a scratch pad, a test flow,
    #: another team's automation): their runs count nowhere, as every unregistered workflow's,
    #: and they are not listed to the consultancy as "register or ignore".
    ignored_workflow_ids: list[Id] = Field(default_factory=list)
    #: The client's own run-log export read as the generic run log (see :class:`RunLogMapping`).
    run_log: RunLogMapping | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        if value not in warehouse_time_zones():
            # Python reads the host's files (``localtime``, ``posixrules``...) as zones too; the
            # warehouse does not, and a zone only Python knows would fail the shared dbt build.
            raise ValueError(
                f"time zone {value!r} is not an IANA zone the warehouse knows (DuckDB and PostgreSQL); "
                "use a name like 'Europe/London'"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        from babel.numbers import list_currencies

        if value not in list_currencies():
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value)
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"unknown locale {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _register_rules(self) -> ClientConfig:
        _check_effective(self.monthly_fee, self.engagement_start, "monthly_fee")
        _check_effective(self.hourly_cost, self.engagement_start, "hourly_cost")
        first_with_key: dict[str, int] = {}
        for index, wf in enumerate(self.workflows):
            first = first_with_key.setdefault(wf.key, index)
            if first != index:
                raise FieldProblem(
                    ("workflows", index, "key"),
                    f"{wf.key!r} is already the key of workflows[{first}]; each workflow needs its own key",
                )
        seen_ids: dict[tuple[str, str], str] = {}
        for index, wf in enumerate(self.workflows):
            for pid in wf.platform_workflow_ids:
                other = seen_ids.setdefault((wf.platform, pid), wf.key)
                if other != wf.key:
                    raise FieldProblem(
                        ("workflows", index, "platform_workflow_ids"),
                        f"{wf.platform} workflow id {pid!r} is claimed by both {other!r} and {wf.key!r}",
                    )
        _check_one_process_one_workflow(self.workflows)
        _check_candidates(self.candidates, self.workflows)
        return self

    def workflow(self, key: str) -> Workflow:
        for wf in self.workflows:
            if wf.key == key:
                return wf
        raise KeyError(key)

    def known_workflow_ids(self) -> dict[str, set[str]]:
        """Platform -> the platform workflow ids the register knows."""
        known: dict[str, set[str]] = {}
        for wf in self.workflows:
            known.setdefault(wf.platform, set()).update(wf.platform_workflow_ids)
        return known

    def baseline_days_for(self, wf: Workflow) -> int:
        """Baseline window length of ``wf``: its own ``baseline.window_days``, else the client's."""
        return wf.baseline.window_days or self.baseline_days

    def first_go_live(self) -> date:
        return min(w.go_live for w in self.workflows)

    @model_validator(mode="after")
    def _ignored_ids(self) -> ClientConfig:
        _check_listed_once(self.ignored_workflow_ids, "ignored_workflow_ids")
        registered = {pid: wf.key for wf in self.workflows for pid in wf.platform_workflow_ids}
        both = sorted(set(self.ignored_workflow_ids) & set(registered))
        if both:
            raise FieldProblem(
                ("ignored_workflow_ids",),
                ", ".join(f"{pid!r} is registered to {registered[pid]!r}" for pid in both)
                + " (an id is either registered or ignored)",
            )
        return self


# CrmSettings refers to LeadFilter, declared after it for reading order.
CrmSettings.model_rebuild()


@lru_cache(maxsize=1)
def warehouse_time_zones() -> frozenset[str]:
    """IANA zone names both Python and the warehouse accept.

    Python's ``zoneinfo`` also loads host files such as ``localtime`` that DuckDB (ICU) and
    PostgreSQL reject; DuckDB's list is the narrower one (PostgreSQL ships the same IANA
    database), so a zone is valid when it is in both.
    """
    import duckdb

    with duckdb.connect() as con:
        duck = {row[0] for row in con.execute("select name from pg_timezone_names()").fetchall()}
    return frozenset(available_timezones() & duck)


def normalise_process(name: str) -> str:
    """A process name trimmed, inner whitespace folded, lower-cased: what configuration
    validation compares (one process, one workflow). The timesheets are matched in the models,
    by the dbt macro ``process_key`` on both sides (docs/method.md, Timesheets)."""
    return re.sub(r"\s+", " ", name.strip()).lower()


#: The platforms' own run-log folders; runs of a platform the generic log takes may land there too.
RUN_LOG_FOLDERS = {"n8n": "n8n_executions", "make": "make_scenario_logs", "zapier": "zapier_zap_runs"}


@dataclass(frozen=True)
class SourceNeed:
    """A landing source a client's configuration reads: any of ``folders`` gives it."""

    folders: tuple[str, ...]
    why: str
    #: Whether the source bounds the client's "as of" even before any file of it landed
    #: (docs/method.md: the client's "as of" is the earliest of its configured sources'), so
    #: that no month closes without it. Run logs do not: a live workflow with no run at all
    #: in a month holds that month by itself (no_runs), and a workflow not live yet has none.
    dates_the_month: bool


def source_needs(client: ClientConfig) -> list[SourceNeed]:
    """What the client's configuration needs from its landing folder (``roi validate``, the
    onboarding check and the "as of" of its months all read it from here)."""
    needs: dict[tuple[str, ...], SourceNeed] = {}

    def need(folders: tuple[str, ...], why: str, dates: bool) -> None:
        needs.setdefault(folders, SourceNeed(folders, why, dates))

    for wf in client.workflows:
        folder = RUN_LOG_FOLDERS.get(wf.platform, "generic_runs")
        folders = (
            (folder, "generic_runs") if folder != "generic_runs" and wf.platform in GENERIC_PLATFORMS else (folder,)
        )
        need(folders, f"run logs for workflow {wf.key!r} ({wf.platform})", False)
        if wf.baseline.volume is not None:
            obj = wf.baseline.volume.object
            need((f"hubspot_{obj}",), f"HubSpot {obj} (volume source of {wf.key!r})", True)
    sheets = client.timesheets
    need((sheets.folder,), f"{sheets.format} timesheets (configured timesheets.format)", True)
    need(("hubspot_contacts",), "HubSpot contacts (leads, for lead response KPIs)", True)
    return list(needs.values())


def _check_listed_once(ids: list[str], field_name: str) -> None:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise FieldProblem((field_name,), f"lists the same id twice: {', '.join(repr(i) for i in twice)}")


def _check_one_process_one_workflow(workflows: list[Workflow]) -> None:
    """A process named by two workflows that are live on the same day is rejected.

    Hand-over (docs/method.md): a successor may go live in its predecessor's
    retirement month, on or after the predecessor's ``retired_on``; the process's manual
    hours are then split by date between the two (residual hours count live days only).
    """
    by_process: dict[str, list[tuple[int, Workflow]]] = {}
    for index, wf in enumerate(workflows):
        by_process.setdefault(wf.process_key, []).append((index, wf))
    for group in by_process.values():
        for i, (_, a) in enumerate(group):
            for b_index, b in group[i + 1 :]:
                a_before_b = a.retired_on is not None and a.retired_on <= b.go_live
                b_before_a = b.retired_on is not None and b.retired_on <= a.go_live
                if not (a_before_b or b_before_a):
                    raise FieldProblem(
                        ("workflows", b_index, "process"),
                        f"workflows {a.key!r} and {b.key!r} both replace process {a.process!r} "
                        "on the same day(s); one process may have only one live workflow "
                        "(a successor goes live on or after its predecessor's retired_on)",
                    )


@dataclass(frozen=True)
class ConfigError:
    """One problem in one client file, phrased for the person who has to fix it."""

    path: Path
    field: str
    message: str
    #: The line of the file the problem is on, when the problem has one place (1-based).
    line: int | None = None

    def __str__(self) -> str:
        at = f" line {self.line}:" if self.line else ""
        where = f" field {self.field}:" if self.field else ""
        return f"{self.path}:{at}{where} {self.message}"


class ConfigFileError(Exception):
    """A client file that cannot be used; ``errors`` lists every problem found in it."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _loc_to_field(loc: tuple[object, ...], data: object) -> str:
    """Turn pydantic's location into ``workflows[1].go_live``, naming workflows by key."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and "key" in node:
                    label = f"[{item}] ({node['key']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


_MERGE_TAG = "tag:yaml.org,2002:merge"
#: libyaml's parser where PyYAML was built with it: 200 client files load in 0.24 s against 0.91 s.
#: Every parse of a client file uses it, so a file reads the same whichever question is asked
#: (its data, a field's line); only a refused file is parsed again by PyYAML's own parser, whose
#: messages say more (the tab, the alias's name).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_YAML_LOADER):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader, recording every key written twice in one mapping.

    Plain YAML loading keeps the last of two equal keys, so ``guarantee_hours: 0`` further
    down would silently replace ``guarantee_hours: 40``. ``duplicates`` lists
    ``(location, line, first line)`` of each repeat; the location is the key's path in the
    document (``("workflows", 1, "platform")``), lines are 1-based.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[tuple[str | int, ...], int, int]] = []
        self._where: dict[int, tuple[str | int, ...]] = {}
        self._own_pairs: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}

    def get_single_data(self) -> object:
        node = self.get_single_node()
        if node is None:
            return None
        self._survey(node)
        return self.construct_document(node)

    def _survey(self, root: yaml.Node) -> None:
        """Each mapping's location and its own key/value pairs, before merge keys (``<<``) add any."""
        stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
        while stack:
            node, where = stack.pop()
            if id(node) in self._where:  # an alias of a node already seen
                continue
            self._where[id(node)] = where
            if isinstance(node, yaml.MappingNode):
                self._own_pairs[id(node)] = list(node.value)
                children = [(v, (*where, _key_text(k))) for k, v in node.value]
            elif isinstance(node, yaml.SequenceNode):
                children = [(v, (*where, i)) for i, v in enumerate(node.value)]
            else:
                children = []
            stack.extend(reversed(children))

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_seen: dict[object, yaml.Node] = {}
        for key_node, _value in self._own_pairs.get(id(node), node.value):
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = first_seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not key_node:
                where = (*self._where.get(id(node), ()), _key_text(key_node))
                self.duplicates.append((where, key_node.start_mark.line + 1, first.start_mark.line + 1))
        return super().construct_mapping(node, deep=deep)


def _key_text(node: yaml.Node) -> str:
    """A mapping key as written (keys of client files are plain scalars)."""
    return node.value if isinstance(node, yaml.ScalarNode) else "?"


def _parse_yaml(path: Path, text: str) -> object:
    """The document in ``text``; raises :class:`ConfigFileError` for bad YAML or a key written twice."""
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as refused:
        exc = _python_yaml_error(text) or refused
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError([ConfigError(path, "", f"invalid YAML{where}: {problem}")]) from exc
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigFileError(
            [
                ConfigError(path, _loc_to_field(where, data), f"key written twice (first on line {first})", line)
                for where, line, first in sorted(loader.duplicates, key=lambda d: d[1])
            ]
        )
    return data


def _python_yaml_error(text: str) -> yaml.YAMLError | None:
    """What PyYAML's own parser says of ``text`` (None if it reads it)."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return exc
    return None


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """The 1-based line of the field at ``loc`` (or of its nearest written parent), None if unknown."""
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return None
    line = None
    for item in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if isinstance(p[0], yaml.ScalarNode) and p[0].value == str(item)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
            node = node.value[item]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load_client_file(path: Path) -> ClientConfig:
    """Read and validate one client file; raises :class:`ConfigFileError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError([ConfigError(path, "", f"cannot read file: {exc}")]) from exc
    data = _parse_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigFileError([ConfigError(path, "", "expected a mapping of fields at the top level")])
    try:
        client = ClientConfig.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            message = err["msg"].removeprefix("Value error, ")
            loc = err["loc"]
            problem = (err.get("ctx") or {}).get("error")
            if isinstance(problem, FieldProblem):
                loc = (*loc, *problem.where)
            if err["type"] == "extra_forbidden":
                message = "unknown field (check the spelling against examples/clients/README.md)"
            elif err["type"] == "missing":
                message = "required field is missing"
            errors.append(ConfigError(path, _loc_to_field(loc, data), message, _line_of(text, loc)))
        raise ConfigFileError(errors) from exc
    if client.client_id != path.stem:
        raise ConfigFileError(
            [ConfigError(path, "client_id", f"{client.client_id!r} does not match the file name {path.stem!r}")]
        )
    return client


@dataclass
class LoadResult:
    """The clients that loaded, and the files that did not (with every reason)."""

    clients: list[ClientConfig] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_id(self) -> dict[str, ClientConfig]:
        return {c.client_id: c for c in self.clients}

    def failed(self) -> dict[str, list[str]]:
        """Client id (the file's name) -> why its file does not load: such a client is held,
        and says so wherever clients are listed (roi status, the portfolio page)."""
        out: dict[str, list[str]] = {}
        for error in self.errors:
            out.setdefault(Path(error.path).stem, []).append(f"config error: {error}")
        return out


def client_files(clients_dir: Path) -> list[Path]:
    """Client files in a directory: ``*.yaml`` / ``*.yml``, skipping ``_*`` and dotfiles."""
    clients_dir = Path(clients_dir)
    if not clients_dir.is_dir():
        return []
    files = [*clients_dir.glob("*.yaml"), *clients_dir.glob("*.yml")]
    return sorted(p for p in files if not p.name.startswith(("_", ".")))


def load_clients(clients_dir: Path, only: Iterable[str] | None = None) -> LoadResult:
    """Load every client file; a bad file is reported in ``errors`` and never stops the rest.

    ``only`` restricts loading to those client ids (file stems); an id with no file is an error.
    """
    wanted = set(only) if only else None
    result = LoadResult()
    seen: set[str] = set()
    for path in client_files(clients_dir):
        if wanted is not None and path.stem not in wanted:
            continue
        seen.add(path.stem)
        try:
            result.clients.append(load_client_file(path))
        except ConfigFileError as exc:
            result.errors.extend(exc.errors)
    for missing in sorted((wanted or set()) - seen):
        result.errors.append(ConfigError(Path(clients_dir) / f"{missing}.yaml", "", "no such client file"))
    return result
