"""Deterministic sample-data generator: client files plus landing files (docs/landing.md).

:func:`generate` writes, for each sample client,

- ``<clients_dir>/<client_id>.yaml``: a client configuration that validates with
  :func:`roi_pipeline.config.load_client_file`;
- ``<landing_dir>/<client_id>/<folder>/YYYY-MM.<ext>``: one file per *local* calendar month
  per landing folder, in the vendors' own formats, plus ``_extracts.json`` per folder
  (``extracted_at`` = 12:00 UTC on day ``settle_days + 1`` of the following month: after
  the settle period ends in every zone from UTC-12 to UTC+14, so the month is closed).

Same arguments give byte-identical files: every random draw comes from a
``random.Random`` seeded from ``(seed, client_id, domain)`` with SHA-256 (never ``hash()``),
output order is explicit, JSON is written with fixed separators and no wall clock is read.
Runs, CRM and timesheets use separate random streams, so ``runs_scale`` changes the run
logs only. Work is streamed month by month; nothing accumulates across months except a
few carried-over CRM activities that fall into a later month.

The four base clients (cycled, with varied parameters, when more are asked for):

- ``harbour-legal``  Europe/London GBP, Harvest; misses its 40-hour guarantee in its
  seasonal low months (December, August) and meets it otherwise; measured lead-triage
  baseline; an automation CRM user answers leads within minutes after go-live.
- ``hudson-roofing`` America/New_York USD, Toggl; measured (outbound calls) AI callback
  agent, an n8n workflow whose platform id changes (v1 -> v2), a retired Make scenario.
- ``rheinwerk-logistik`` Europe/Berlin EUR, Harvest, no guarantee, settle_days 5, a lead
  filter; a daily n8n workflow with a 4-day outage, a nightly run at 23:30 UTC (local
  next day), a thin measured baseline (falls back to its declared figure), and a Make
  scenario whose residual manual hours exceed its gross savings for two months.
- ``bondi-physio`` Australia/Sydney AUD, Toggl (BOM); fee and hourly-cost rises, an hourly
  cost override, a Zapier daily workflow with a high-error month.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

CONSULTANCY = "Northbeam AI Ops"

N8N = "n8n_executions"
GENERIC = "generic_runs"
MAKE = "make_scenario_logs"
ZAPIER = "zapier_zap_runs"
CONTACTS = "hubspot_contacts"
CALLS = "hubspot_calls"
EMAILS = "hubspot_emails"
MEETINGS = "hubspot_meetings"
DEALS = "hubspot_deals"
HARVEST = "harvest_time_entries"
TOGGL = "toggl_time_entries"
CRM_FOLDERS = (CONTACTS, CALLS, EMAILS, MEETINGS, DEALS)

GENERIC_COLUMNS = [
    "run_id", "platform", "workflow_id", "started_at", "finished_at", "status", "triggered_by",
    "items", "llm_tokens_in", "llm_tokens_out", "llm_cost", "retry_of", "error_message",
]  # fmt: skip
HARVEST_COLUMNS = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded",
    "Billable?", "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?",
    "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency",
    "External Reference URL",
]  # fmt: skip
TOGGL_COLUMNS = [
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "End date",
    "End time",
    "Duration",
    "Tags",
]  # fmt: skip  (+ "Amount (<currency>)")

HOUR = 3600
DAY = 86400
EPOCH = date(1970, 1, 1)

# ---------------------------------------------------------------------------------------
# The sample clients. Month offsets count from the engagement start (= the first generated
# month); ``go`` = (month offset, day of month). Hours are per month.
# ---------------------------------------------------------------------------------------

#: Seasonal volume factor by calendar month (northern / southern hemisphere holidays).
SEASON_NORTH = {1: 1.0, 2: 1.05, 3: 1.1, 4: 0.92, 5: 1.05, 6: 1.0, 7: 0.9, 8: 0.7, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.65}
SEASON_SOUTH = {1: 0.7, 2: 1.0, 3: 1.1, 4: 0.95, 5: 1.05, 6: 1.0, 7: 0.9, 8: 1.05, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.8}

BASE_CLIENTS: list[dict] = [
    {
        "id": "harbour-legal",
        "name": "Harbour Legal LLP",
        "tz": "Europe/London",
        "currency": "GBP",
        "currency_long": "British Pound - GBP",
        "locale": "en_GB",
        "build_fee": 6000,
        "fee": [(0, 1500), (9, 1650)],
        "hourly": [(0, 58.0)],
        "guarantee": 40,
        "settle": 3,
        "working_hours": {"start": "09:00", "end": "17:30"},
        "timesheets": {"format": "harvest", "process_field": "task", "phase_field": "task"},
        "staff": [("70101", "Alex", "Example"), ("70102", "Sam", "Sample"), ("70103", "Jo", "Placeholder")],
        "consultants": [("Cora", "Consultant"), ("Oli", "Operator")],
        "other_tasks": ["Admin", "Team meeting", "Client calls", "Matter review"],
        "season": SEASON_NORTH,
        "crm": {
            "leads": 11.5,
            "weekend": 0.13,
            "auto_owner": "90001",
            "auto_wf": "lead-triage",
            "auto_share": 0.82,
            "meeting_p": 0.30,
            "deal_p": 0.55,
            "win_p": 0.45,
            "amount": (1200, 6000),
            "staff_median_h": 2.6,
            "unanswered": 0.12,
            "inbound_p": 0.25,
        },
        "workflows": [
            {
                "key": "lead-triage",
                "name": "Lead triage agent",
                "platform": "n8n",
                "ids": ["hLt7QaN8nTr1ag3A"],
                "error_id": "hLt7QaN8nErrWf9B",
                "sub_id": "hLt7QaN8nEnr1chC",
                "owner": "Office manager",
                "risk": "medium",
                "process": "Lead triage",
                "go": (3, 10),
                "trigger": "schedule",
                "per_day": 48,
                "items": "leads",
                "runs_daily": True,
                "llm": {"tok": (700, 1500), "rate": 0.0009, "per_item": True},
                "dur": (2, 40),
                "err": 0.02,
                "baseline": {
                    "method": "measured",
                    "volume": {"object": "contacts"},
                    "declared": 7,
                    "source": "estimate from the kick-off workshop",
                },
                "minutes": 8.0,
                "residual": 3.0,
                "tooling": [(0, 45)],
                "gov": {
                    "data_touched": ["contact details", "enquiry text"],
                    "human_approval": False,
                    "llm_vendor": "Anthropic",
                    "llm_model": "claude-3-5-haiku",
                    "review_after": 6,
                },
            },
            {
                "key": "intake-docs",
                "name": "Client intake documents",
                "platform": "zapier",
                "landing": "zapier_zap_runs",  # the Zap's run history, as Zapier's API returns it
                "ids": ["88231"],
                "owner": "Office manager",
                "risk": "low",
                "process": "Client intake",
                "go": (4, 1),
                "trigger": "webhook",
                "per_weekday": 9.0,
                "weekend": 0.05,
                "dur": (3, 25),
                "err": 0.03,
                "baseline": {
                    "method": "declared",
                    "declared": 5,
                    "source": "timed walkthrough with the office manager",
                },
                "pre_hours": 17.0,
                "residual": 2.0,
                "tooling": [(0, 20), (8, 30)],
                "override": [(0, 29.0)],
            },
        ],
    },
    {
        "id": "hudson-roofing",
        "name": "Hudson Roofing Co.",
        "tz": "America/New_York",
        "currency": "USD",
        "currency_long": "United States Dollar - USD",
        "locale": "en_US",
        "build_fee": 8000,
        "fee": [(0, 2200)],
        "hourly": [(0, 44.0)],
        "guarantee": 40,
        "settle": 3,
        "working_hours": None,
        "timesheets": {"format": "toggl", "process_field": "project", "phase_field": "tags"},
        "staff": [("70201", "Riley", "Sample"), ("70202", "Casey", "Example"), ("70203", "Morgan", "Placeholder")],
        "consultants": [("Cora", "Consultant"), ("Dev", "Builder")],
        "other_tasks": ["Admin", "Site visits", "Supplier calls", "Team meeting"],
        "season": SEASON_NORTH,
        "crm": {
            "leads": 8.0,
            "weekend": 0.2,
            "auto_owner": "80001",
            "auto_wf": None,
            "meeting_p": 0.35,
            "deal_p": 0.6,
            "win_p": 0.4,
            "amount": (4000, 22000),
            "staff_median_h": 3.5,
            "unanswered": 0.1,
            "inbound_p": 0.2,
            "followup": {"staff_pre": 22.0, "staff_post": 6.0, "auto_post": 16.0, "wf": "callback-agent"},
        },
        # the roadmap: one candidate became quote-followup (went live in the sample months),
        # one never pays back (its tools cost more than the hours are worth)
        "candidates": [
            {
                "key": "quote-chasing",
                "name": "Quote chasing",
                "process": "Quote follow-up",
                "est_tasks_per_month": 150,
                "est_minutes_per_task": 3,
                "est_build_hours": 16,
                "est_tooling_cost": 25,
                "workflow_key": "quote-followup",
            },
            {
                "key": "invoice-reminders",
                "name": "Invoice reminders",
                "process": "Invoicing",
                "est_tasks_per_month": 200,
                "est_minutes_per_task": 4,
                "est_build_hours": 20,
                "est_tooling_cost": 30,
            },
            {
                "key": "supplier-orders",
                "name": "Supplier order entry",
                "process": "Supplier orders",
                "est_tasks_per_month": 60,
                "est_minutes_per_task": 10,
                "est_build_hours": 40,
                "est_tooling_cost": 50,
            },
            {
                "key": "warranty-claims",
                "name": "Warranty claim intake",
                "process": "Warranty claims",
                "est_tasks_per_month": 5,
                "est_minutes_per_task": 6,
                "est_build_hours": 30,
                "est_tooling_cost": 40,
            },
        ],
        "workflows": [
            {
                "key": "callback-agent",
                "name": "AI callback agent",
                "platform": "custom_agent",
                "ids": ["agent-callback-v2"],
                "owner": "Sales lead",
                "risk": "high",
                "process": "Follow-up calls",
                "go": (4, 15),
                "trigger": "event",
                "per_weekday": 17.0,
                "weekend": 0.0,
                "llm": {"tok": (1500, 4000), "out": (300, 900), "rate": 0.0022},
                "dur": (60, 420),
                "err": 0.04,
                "baseline": {
                    "method": "measured",
                    "volume": {"object": "calls", "direction": "OUTBOUND", "owner_ids": ["70201", "70202", "70203"]},
                    "declared": 6,
                    "source": "sales lead's estimate",
                },
                "minutes": 5.5,
                "residual": 6.0,
                "tooling": [(0, 150)],
                # high risk, nobody approves its calls, last reviewed a month after go-live with
                # a 6-month cycle: both governance flags in the later months
                "gov": {
                    "data_touched": ["call recordings", "contact details"],
                    "human_approval": False,
                    "llm_vendor": "OpenAI",
                    "llm_model": "gpt-4o-mini",
                    "review_after": 1,
                    "review_every": 6,
                },
            },
            {
                "key": "quote-followup",
                "name": "Quote follow-up",
                "platform": "n8n",
                "ids": ["Qf31nN8nV1aaB2c3", "Qf31nN8nV2ddE4f5"],
                "id_switch": 5,
                "error_id": "Qf31nN8nErrH7g8h",
                "owner": "Office admin",
                "risk": "low",
                "process": "Quote follow-up",
                "go": (3, 3),
                "trigger": "schedule",
                "per_day": 6,
                "items": (0, 5),
                "runs_daily": True,
                "dur": (4, 30),
                "err": 0.03,
                "baseline": {"method": "declared", "declared": 3, "source": "n8n timeSavedPerExecution"},
                "pre_hours": 20.0,
                "residual": 1.0,
                "tooling": [(0, 25)],
            },
            {
                "key": "crew-scheduling",
                "name": "Crew scheduling sync (v1)",
                "platform": "make",
                "ids": ["4410217"],
                "owner": "Operations manager",
                "risk": "low",
                "process": "Crew scheduling",
                "go": (3, 20),
                "retire_after": 7,
                "trigger": "webhook",
                "per_weekday": 10.0,
                "weekend": 0.1,
                "items": (1, 3),
                "dur": (2, 20),
                "err": 0.025,
                "baseline": {"method": "declared", "declared": 4, "source": "workshop 2025-10-02"},
                "pre_hours": 28.0,
                "residual": 2.0,
                "tooling": [(0, 15)],
            },
        ],
    },
    {
        "id": "rheinwerk-logistik",
        "name": "Rheinwerk Logistik GmbH",
        "tz": "Europe/Berlin",
        "currency": "EUR",
        "currency_long": "Euro - EUR",
        "locale": "de_DE",
        "build_fee": 9000,
        "fee": [(0, 3500)],
        "hourly": [(0, 45.0)],
        "guarantee": 0,
        "settle": 5,
        "working_hours": {"start": "08:00", "end": "17:00"},
        "lead_filter": {
            "property": "lifecyclestage",
            "values": ["lead", "marketingqualifiedlead", "salesqualifiedlead"],
        },
        "timesheets": {"format": "harvest", "process_field": "task", "phase_field": "task"},
        "staff": [("70301", "Kim", "Beispiel"), ("70302", "Jan", "Muster")],
        "consultants": [("Oli", "Operator"), ("Dev", "Builder")],
        "other_tasks": ["Admin", "Dispatch", "Team meeting", "Invoicing"],
        "season": SEASON_NORTH,
        "crm": {
            "leads": 2.2,
            "weekend": 0.0,
            "auto_owner": None,
            "auto_wf": None,
            "meeting_p": 0.08,
            "deal_p": 0.6,
            "win_p": 0.5,
            "amount": (8000, 40000),
            "staff_median_h": 5.0,
            "unanswered": 0.15,
            "inbound_p": 0.3,
            "non_lead": 0.15,
        },
        "workflows": [
            {
                "key": "shipment-alerts",
                "name": "Shipment delay alerts",
                "platform": "n8n",
                "ids": ["Sa5hIpN8nAl3rt01"],
                "error_id": "Sa5hIpN8nErrH002",
                "owner": "Dispatch lead",
                "risk": "medium",
                "process": "Shipment tracking",
                "go": (4, 1),
                "trigger": "schedule",
                "per_day": 24,
                "nightly": (23, 30),
                "items": (0, 3),
                "runs_daily": True,
                "dur": (3, 60),
                "err": 0.02,
                "outage_after": 4,
                "baseline": {"method": "declared", "declared": 2.5, "source": "timed sample of 40 shipments"},
                "pre_hours": 45.0,
                "residual": 4.0,
                "tooling": [(0, 60), (5, 85)],
            },
            {
                "key": "meeting-prep",
                "name": "Meeting briefing agent",
                "platform": "n8n",
                "ids": ["Mp8rEpN8nBr1ef01"],
                "owner": "Sales manager",
                "risk": "medium",
                "process": "Meeting prep",
                "go": (5, 12),
                "trigger": "webhook",
                "per_weekday": 0.15,
                "weekend": 0.0,
                # a few briefings a month, when a meeting is booked: a month without one is plausible
                "on_demand": True,
                "llm": {"tok": (3000, 9000), "rate": 0.0011, "per_item": False},
                "dur": (20, 90),
                "err": 0.03,
                "baseline": {
                    "method": "measured",
                    "volume": {"object": "meetings"},
                    "declared": 20,
                    "source": "sales manager's estimate",
                },
                "minutes": 25.0,
                "residual": 0.2,
                "tooling": [(0, 10)],
            },
            {
                "key": "customs-paperwork",
                "name": "Customs paperwork prep",
                "platform": "make",
                "landing": "make_scenario_logs",  # the scenario's logs, as Make's API returns them
                "ids": ["3301882"],
                "owner": "Customs clerk",
                "risk": "high",
                "process": "Customs paperwork",
                "go": (3, 17),
                "trigger": "webhook",
                "per_weekday": 7.0,
                "weekend": 0.0,
                "items": (1, 3),
                "dur": (5, 45),
                "err": 0.05,
                "baseline": {"method": "declared", "declared": 3, "source": "workshop with the customs clerk"},
                "pre_hours": 30.0,
                "residual": 8.0,
                "spikes": {7: 24.0, 8: 22.0},
                "tooling": [(0, 35)],
                "gov": {
                    "data_touched": ["customs declarations", "invoices"],
                    "human_approval": True,
                    "review_after": 9,
                },
                "override": [(0, 52.0)],
            },
        ],
    },
    {
        "id": "bondi-physio",
        "name": "Bondi Physio Clinics",
        "tz": "Australia/Sydney",
        "currency": "AUD",
        "currency_long": "Australian Dollar - AUD",
        "locale": "en_AU",
        "build_fee": 5000,
        "fee": [(0, 1900), (6, 2100)],
        "hourly": [(0, 48.0), (8, 50.0)],
        "guarantee": 40,
        "settle": 3,
        "working_hours": None,
        "timesheets": {"format": "toggl", "process_field": "task", "phase_field": "task"},
        "staff": [("70401", "Pat", "Example"), ("70402", "Lee", "Sample"), ("70403", "Ash", "Placeholder")],
        "consultants": [("Cora", "Consultant"), ("Oli", "Operator")],
        "other_tasks": ["Admin", "Front desk", "Team meeting", "Stock take"],
        "season": SEASON_SOUTH,
        "crm": {
            "leads": 6.0,
            "weekend": 0.35,
            "auto_owner": None,
            "auto_wf": None,
            "meeting_p": 0.45,
            "deal_p": 0.35,
            "win_p": 0.6,
            "amount": (300, 1800),
            "staff_median_h": 2.0,
            "unanswered": 0.08,
            "inbound_p": 0.3,
        },
        "workflows": [
            {
                "key": "booking-confirmations",
                "name": "Booking confirmations",
                "platform": "n8n",
                "ids": ["Bk3cOnfN8nMa1n01"],
                "sub_id": "Bk3cOnfN8nSub002",
                "owner": "Clinic manager",
                "risk": "low",
                "process": "Booking confirmations",
                "go": (4, 6),
                "trigger": "webhook",
                "per_weekday": 32.0,
                "weekend": 0.3,
                "dur": (1, 12),
                "err": 0.015,
                "baseline": {"method": "declared", "declared": 4, "source": "workshop 2025-10-14"},
                "pre_hours": 45.0,
                "residual": 5.0,
                "tooling": [(0, 30)],
            },
            {
                "key": "review-requests",
                "name": "Review requests",
                "platform": "zapier",
                "ids": ["zap_5521"],
                "owner": "Clinic manager",
                "risk": "low",
                "process": "Review requests",
                "go": (5, 1),
                "trigger": "schedule",
                "per_day": 4,
                "items": (1, 5),
                "runs_daily": True,
                "dur": (2, 15),
                "err": 0.02,
                "bad_after": 3,
                "baseline": {"method": "declared", "declared": 2, "source": "front-desk estimate"},
                "pre_hours": 11.0,
                "residual": 1.0,
                "tooling": [(0, 20)],
                "override": [(0, 35.0)],
            },
        ],
    },
]

GENERIC_ERRORS = [
    "HTTP 429: rate limited by upstream API",
    'Invalid value for field "email": expected a string, got null',
    "Step 3 (Formatter) failed:\nUpstream returned 502 Bad Gateway",
    "Authentication expired, reconnect the account",
    "Timeout after 300s waiting for response, retrying later",
]


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


_DAY_ISO: dict[int, str] = {}


def _day_iso(day_no: int) -> str:
    text = _DAY_ISO.get(day_no)
    if text is None:
        text = _DAY_ISO[day_no] = (EPOCH + timedelta(days=day_no)).isoformat()
    return text


def _iso(ms: int, *, millis: bool = True, offset_s: int | None = None) -> str:
    """``ms`` (UTC epoch milliseconds) as ISO-8601: ``...Z``, or local wall time + offset."""
    if offset_s is not None:
        ms += offset_s * 1000
    day_no, rest = divmod(ms, DAY * 1000)
    secs, frac = divmod(rest, 1000)
    h, secs = divmod(secs, HOUR)
    m, s = divmod(secs, 60)
    text = f"{_day_iso(day_no)}T{h:02d}:{m:02d}:{s:02d}"
    if millis:
        text += f".{frac:03d}"
    if offset_s is None:
        return text + "Z"
    sign = "+" if offset_s >= 0 else "-"
    oh, om = divmod(abs(offset_s) // 60, 60)
    return f"{text}{sign}{oh:02d}:{om:02d}"


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class _Clock:
    """Local-time arithmetic for one client's zone, cached per UTC hour and per local day."""

    def __init__(self, tz_name: str):
        self.tz = ZoneInfo(tz_name)
        self._offsets: dict[int, int] = {}
        self._noon: dict[date, int] = {}

    def offset(self, ms: int) -> int:
        hour = ms // (HOUR * 1000)
        off = self._offsets.get(hour)
        if off is None:
            delta = datetime.fromtimestamp(hour * HOUR, self.tz).utcoffset()
            off = self._offsets[hour] = int(delta.total_seconds()) if delta else 0
        return off

    def local_day(self, ms: int) -> int:
        """Days since 1970-01-01 of the local date of an instant."""
        return (ms // 1000 + self.offset(ms)) // DAY

    def local_month(self, ms: int) -> tuple[int, int]:
        d = EPOCH + timedelta(days=self.local_day(ms))
        return d.year, d.month

    def midnight(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()) * 1000

    def at(self, day: date, seconds: float) -> int:
        """A local wall-clock time (seconds after midnight, daytime only) as UTC ms.

        DST transitions in the sample zones happen between 01:00 and 03:00, so every
        daytime wall-clock time has the offset in effect at noon.
        """
        off = self._noon.get(day)
        if off is None:
            delta = datetime(day.year, day.month, day.day, 12, tzinfo=self.tz).utcoffset()
            off = self._noon[day] = int(delta.total_seconds()) if delta else 0
        return int(((day - EPOCH).days * DAY + seconds - off) * 1000)


@dataclass(frozen=True)
class GenerateSummary:
    clients: list[str]
    files: int
    rows: dict[str, int]  # rows per landing folder name


class _Run:
    __slots__ = (
        "cost",
        "error",
        "id",
        "items",
        "mode",
        "platform",
        "retry",
        "retry_of",
        "start",
        "status",
        "stop",
        "tin",
        "tout",
        "waiting",
        "wid",
        "zulu",
    )  # fmt: skip

    def __init__(self, start: int, stop: int | None, wid: str, mode: str, status: str):
        self.start, self.stop, self.wid, self.mode, self.status = start, stop, wid, mode, status
        self.items: int | None = None
        self.tin: int | None = None
        self.tout: int | None = None
        self.cost: float | None = None
        self.error = ""
        self.retry: _Run | None = None
        self.retry_of: _Run | None = None
        self.id = ""
        self.platform = "n8n"
        self.waiting = False
        self.zulu = True


# ---------------------------------------------------------------------------------------
# Client specification (a base template, varied for cycled copies)
# ---------------------------------------------------------------------------------------


def _run_order(run: _Run) -> tuple[int, str, str]:
    return (run.start, run.wid, run.mode)


def _client_specs(n: int, seed: int, months: int, start: date) -> list[dict]:
    specs = []
    for i in range(n):
        base = BASE_CLIENTS[i % len(BASE_CLIENTS)]
        copy_no = i // len(BASE_CLIENTS)
        spec = json.loads(json.dumps(base, default=list))  # deep copy (tuples -> lists)
        spec["season"] = {int(k): v for k, v in base["season"].items()}
        spec["scale"] = 1.0
        if copy_no:
            vr = _rng(seed, base["id"], str(copy_no), "variant")
            spec["id"] = f"{base['id']}-{copy_no + 1:03d}"
            spec["name"] = f"{base['name']} (sample {copy_no + 1:03d})"
            spec["scale"] = round(vr.uniform(0.6, 1.5), 2)
            spec["build_fee"] = int(base["build_fee"] * vr.choice([0.8, 1.0, 1.25]))
            spec["fee"] = [[off, round(v * vr.choice([0.9, 1.0, 1.1]))] for off, v in base["fee"]]
            spec["guarantee"] = vr.choice([0, 30, 40, 40, 60]) if base["guarantee"] else 0
            shift = vr.choice([0, 1, 2]) - 1
            for wf in spec["workflows"]:
                wf["go"] = [max(1, wf["go"][0] + shift), vr.randint(1, 25)]
                wf["err"] = round(wf["err"] * vr.choice([0.5, 1.0, 1.5, 2.5]), 4)
        # Fit the calendar to short histories: go-lives stay inside the generated months.
        for wf in spec["workflows"]:
            off = min(wf["go"][0], max(0, months - 2))
            wf["go_live"] = _add_months(start, off).replace(day=wf["go"][1])
            wf["go_off"] = off
            if wf.get("retire_after"):
                r_off = max(off + 1, min(off + wf["retire_after"], months - 2))
                wf["retired_on"] = _add_months(start, r_off).replace(day=15)
        specs.append(spec)
    return specs


def _client_yaml(spec: dict, start: date, seed: int) -> str:
    def eff(entries: list, anchor: date) -> list[dict]:
        out = []
        for off, value in entries:
            day = anchor if off == 0 else _add_months(anchor, off)
            out.append({"effective_from": day, "value": value})
        return out

    crm: dict = {"platform": "hubspot"}
    autos = sorted({v for v in [spec["crm"].get("auto_owner")] if v})
    crm["automation_user_ids"] = autos
    if spec.get("lead_filter"):
        crm["lead_filter"] = spec["lead_filter"]
    ts = spec["timesheets"]
    workflows = []
    for wf in spec["workflows"]:
        ids = list(wf["ids"]) + [x for x in (wf.get("error_id"), wf.get("sub_id")) if x]
        entry: dict = {
            "key": wf["key"],
            "name": wf["name"],
            "platform": wf["platform"],
            "platform_workflow_ids": ids,
            "owner": wf["owner"],
            "risk_class": wf["risk"],
            "process": wf["process"],
            "go_live": wf["go_live"],
        }
        if wf.get("retired_on"):
            entry["status"] = "retired"
            entry["retired_on"] = wf["retired_on"]
        if wf.get("runs_daily"):
            entry["runs_daily"] = True
        if wf.get("on_demand"):
            entry["on_demand"] = True
        # Workflow values take effect on the 1st of the go-live month: "the value in effect on
        # the first day of M applies to the whole of M", so a mid-month go-live needs one then.
        anchor = wf["go_live"].replace(day=1)
        entry["tooling_cost"] = eff(wf["tooling"], anchor)
        if wf.get("override"):
            entry["hourly_cost_override"] = eff(wf["override"], anchor)
        gov = wf.get("gov") or {}
        for name in ("data_touched", "human_approval", "llm_vendor", "llm_model"):
            if name in gov:
                entry[name] = gov[name]
        if "review_after" in gov:
            entry["last_review"] = _add_months(wf["go_live"].replace(day=1), gov["review_after"]).replace(day=10)
        if "review_every" in gov:
            entry["review_every_months"] = gov["review_every"]
        b = wf["baseline"]
        baseline: dict = {"method": b["method"]}
        if b.get("volume"):
            baseline["volume"] = b["volume"]
        baseline["declared_minutes"] = [{"effective_from": anchor, "value": b["declared"]}]
        baseline["declared_source"] = b["source"]
        entry["baseline"] = baseline
        workflows.append(entry)
    data: dict = {
        "client_id": spec["id"],
        "name": spec["name"],
        "currency": spec["currency"],
        "timezone": spec["tz"],
        "locale": spec["locale"],
        "engagement_start": start,
        "build_fee": spec["build_fee"],
        "guarantee_hours": spec["guarantee"],
        "baseline_days": 90,
        "settle_days": spec["settle"],
        "monthly_fee": eff(spec["fee"], start),
        "hourly_cost": eff(spec["hourly"], start),
    }
    if spec.get("working_hours"):
        data["working_hours"] = spec["working_hours"]
    data["crm"] = crm
    data["timesheets"] = {
        "format": ts["format"],
        "consultancy_rows": {"field": "client", "values": [CONSULTANCY]},
        "process_field": ts["process_field"],
        "phase_field": ts["phase_field"],
    }
    data["report_contacts"] = [f"ops@{spec['id']}.example"]
    data["workflows"] = workflows
    if spec.get("candidates"):
        data["candidates"] = spec["candidates"]
    header = (
        f"# GENERATED SAMPLE DATA (roi_pipeline.sample.generator, seed={seed}): a fictional client.\n"
        "# Re-running the generator overwrites this file; edit the generator, not this file.\n"
    )
    return header + yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)


class _NoAliasDumper(yaml.SafeDumper):
    """Repeated dates are written out, not as ``&id001`` anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


# ---------------------------------------------------------------------------------------
# One client
# ---------------------------------------------------------------------------------------


class _ClientGen:
    def __init__(self, spec: dict, seed: int, month_list: list[date], runs_scale: float, landing: Path):
        self.spec = spec
        self.months = month_list
        self.runs_scale = runs_scale
        self.root = landing / spec["id"]
        self.clock = _Clock(spec["tz"])
        self.r_runs = _rng(seed, spec["id"], "runs")
        self.r_crm = _rng(seed, spec["id"], "crm")
        self.r_ts = _rng(seed, spec["id"], "timesheets")
        self.rows: dict[str, int] = {}
        self.files: dict[str, list[str]] = {}
        self.wfs = spec["workflows"]
        self.by_key = {wf["key"]: wf for wf in self.wfs}
        self.ym_set = {(m.year, m.month) for m in month_list}
        # CRM state
        self.pending: dict[tuple[int, int], dict[str, list]] = {}
        self.next_id = {"contact": 100001, "email": 5000001, "call": 6000001, "meeting": 7000001, "deal": 8000001}
        self.answered_prev: list[tuple[str, int]] = []  # (contact id, first response ms) of last month
        # run state
        self.n8n_counter = 1000
        self.generic_counter: dict[str, int] = {}
        self.make_counter = 0
        self.zapier_counter = 0
        self.last_poll: dict[str, int] = {}
        self.total_runs = 0

    # -- output ----------------------------------------------------------------------
    def _path(self, folder: str, name: str) -> Path:
        d = self.root / folder
        d.mkdir(parents=True, exist_ok=True)
        self.files.setdefault(folder, []).append(name)
        return d / name

    def _count(self, folder: str, n: int) -> None:
        self.rows[folder] = self.rows.get(folder, 0) + n

    def write_extracts(self) -> int:
        settle = self.spec["settle"]
        for folder, names in sorted(self.files.items()):
            out = {}
            for name in sorted(names):
                y, m = int(name[:4]), int(name[5:7])
                nxt = _add_months(date(y, m, 1), 1)
                out[name] = {"extracted_at": f"{nxt.isoformat()[:8]}{settle + 1:02d}T12:00:00Z"}
            (self.root / folder / "_extracts.json").write_text(
                json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        return len(self.files)

    # -- calendar helpers ------------------------------------------------------------
    def _live_on(self, wf: dict, day: date) -> bool:
        return wf["go_live"] <= day and (not wf.get("retired_on") or day < wf["retired_on"])

    def _month_no(self, wf: dict, month: date) -> int:
        """Months since the workflow's go-live month (0 = go-live month)."""
        g = wf["go_live"]
        return (month.year - g.year) * 12 + month.month - g.month

    # -- the month loop --------------------------------------------------------------
    def run(self) -> None:
        for month in self.months:
            days = [month + timedelta(days=i) for i in range((_add_months(month, 1) - month).days)]
            leads_ms = self._crm_month(month, days)
            volumes = self._write_crm(month)
            self._runs_month(month, days, leads_ms)
            self._timesheets_month(month, days, volumes)

    # =================================================================================
    # CRM
    # =================================================================================
    def _new_id(self, kind: str) -> str:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return str(value)

    def _put(self, folder: str, ts: int, obj: dict, bucket_ms: int | None = None) -> None:
        ym = self.clock.local_month(ts if bucket_ms is None else bucket_ms)
        if ym not in self.ym_set:
            return  # after the generated history
        self.pending.setdefault(ym, {}).setdefault(folder, []).append((ts, int(obj["id"]), obj))

    @staticmethod
    def _assoc(contact_id: str, kind: str) -> dict:
        return {"contacts": {"results": [{"id": contact_id, "type": f"{kind}_to_contact"}]}}

    def _activity(self, folder: str, kind: str, ts: int, contact_id: str | None, props: dict) -> None:
        oid = self._new_id(kind)
        iso = _iso(ts)
        obj: dict = {
            "id": oid,
            "properties": {"hs_timestamp": iso, **props, "hs_object_id": oid, "hs_createdate": iso},
            "createdAt": iso,
            "updatedAt": iso,
            "archived": False,
        }
        if contact_id is not None:
            obj["associations"] = self._assoc(contact_id, kind)
        self._put(folder, ts, obj)

    def _email(self, ts: int, cid: str | None, owner: str, direction: str = "EMAIL") -> None:
        props = {"hs_email_direction": direction, "hubspot_owner_id": owner}
        if direction == "EMAIL":
            props["hs_email_status"] = "SENT"
            props["hs_email_subject"] = "Re: your enquiry"
        else:
            props["hs_email_subject"] = "Question about your services"
        self._activity(EMAILS, "email", ts, cid, props)

    def _call(self, ts: int, cid: str | None, owner: str, direction: str = "OUTBOUND") -> None:
        connected = self.r_crm.random() < 0.7
        props = {
            "hs_call_direction": direction,
            "hs_call_status": "COMPLETED" if connected or direction == "INBOUND" else "NO_ANSWER",
            "hs_call_duration": str(
                self.r_crm.randint(60_000, 900_000) if connected else self.r_crm.randint(0, 30_000)
            ),
            "hs_call_title": "Follow-up call" if direction == "OUTBOUND" else "Inbound call",
            "hubspot_owner_id": owner,
        }
        self._activity(CALLS, "call", ts, cid, props)

    def _crm_month(self, month: date, days: list[date]) -> list[int]:
        """Generate the CRM records of the leads created in ``month``; returns their times."""
        spec, crm, r = self.spec, self.spec["crm"], self.r_crm
        season = spec["season"][month.month] * spec["scale"]
        staff = [s[0] for s in spec["staff"]]
        auto_wf = self.by_key.get(crm.get("auto_wf") or "")
        created: list[int] = []
        answered_now: list[tuple[str, int]] = []
        for day in days:
            weekend = day.weekday() >= 5
            lam = crm["leads"] * season * (crm.get("weekend", 0) if weekend else 1.0)
            for _ in range(_poisson(r, lam)):
                sec = r.uniform(19 * HOUR, 22 * HOUR) if r.random() < 0.08 else r.uniform(8 * HOUR, 19 * HOUR)
                created.append(self.clock.at(day, sec))
        created.sort()
        for t in created:
            cid = self._new_id("contact")
            owner = r.choice(staff)
            non_lead = r.random() < crm.get("non_lead", 0.0)
            stage = (
                "other"
                if non_lead
                else r.choice(["lead", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead"])
            )
            iso = _iso(t)
            modified = _iso(t + r.randint(60_000, 3 * HOUR * 1000))
            contact = {
                "id": cid,
                "properties": {
                    "createdate": iso,
                    "email": f"lead{cid}@example.com",
                    "firstname": "Test",
                    "hs_object_id": cid,
                    "hubspot_owner_id": owner,
                    "lastmodifieddate": modified,
                    "lastname": f"Lead {cid}",
                    "lifecyclestage": stage,
                },
                "createdAt": iso,
                "updatedAt": modified,
                "archived": False,
            }
            self._put(CONTACTS, t, contact)
            if non_lead:
                continue
            # Inbound noise: never a response.
            if r.random() < crm["inbound_p"]:
                self._email(t + r.randint(5, 120) * 60_000, cid, owner, "INCOMING_EMAIL")
            if r.random() < 0.05:
                self._call(t + r.randint(2, 90) * 60_000, cid, owner, "INBOUND")
            day = EPOCH + timedelta(days=self.clock.local_day(t))
            automated = auto_wf is not None and self._live_on(auto_wf, day)
            first: int | None = None
            if automated and r.random() < crm.get("auto_share", 0.8):
                first = t + r.randint(90, 35 * 60) * 1000
                self._email(first, cid, crm["auto_owner"])
                if r.random() < 0.7:  # a person follows up on the automated answer (adoption)
                    self._call(first + int(r.uniform(0.5, 26) * HOUR * 1000), cid, owner)
            elif r.random() >= crm["unanswered"] * (0.5 if automated else 1.0):
                median = crm["staff_median_h"] * (0.7 if automated else 1.0)
                delay = min(median * math.exp(r.gauss(0, 0.9)), 120.0)
                first = t + int(delay * HOUR * 1000) + r.randint(0, 59_000)
                if r.random() < 0.6:
                    self._email(first, cid, owner)
                else:
                    self._call(first, cid, owner)
            if first is None:
                continue
            answered_now.append((cid, first))
            if r.random() < crm["meeting_p"]:
                booked = first + r.randint(10, 600) * 60_000
                mday = EPOCH + timedelta(days=self.clock.local_day(booked) + r.randint(1, 38))
                start = self.clock.at(mday, r.choice(range(9, 17)) * HOUR + r.choice([0, 1800]))
                outcome = r.choices(["COMPLETED", "SCHEDULED", "NO_SHOW", "CANCELED", "RESCHEDULED"],
                                    [70, 10, 8, 7, 5])[0]  # fmt: skip
                oid = self._new_id("meeting")
                meeting = {
                    "id": oid,
                    "properties": {
                        "hs_timestamp": _iso(start),
                        "hs_meeting_title": "Intro meeting",
                        "hs_meeting_start_time": _iso(start),
                        "hs_meeting_end_time": _iso(start + 30 * 60_000),
                        "hs_meeting_outcome": outcome,
                        "hubspot_owner_id": owner,
                        "hs_object_id": oid,
                        "hs_createdate": _iso(booked),
                    },
                    "createdAt": _iso(booked),
                    "updatedAt": _iso(max(booked, start)),
                    "archived": False,
                    "associations": self._assoc(cid, "meeting_event"),
                }
                self._put(MEETINGS, start, meeting)
                if outcome == "COMPLETED" and r.random() < crm["deal_p"]:
                    self._deal(cid, owner, start + r.randint(1, 48) * HOUR * 1000)
        # Follow-up calls on earlier leads (the measured volume of hudson-roofing's agent).
        fu = crm.get("followup")
        if fu:
            fwf = self.by_key[fu["wf"]]
            for day in days:
                if day.weekday() >= 5:
                    continue
                live = self._live_on(fwf, day)
                for owner_kind, lam in (("staff", fu["staff_post"] if live else fu["staff_pre"]),
                                        ("auto", fu["auto_post"] if live else 0.0)):  # fmt: skip
                    for _ in range(_poisson(r, lam * season)):
                        t = self.clock.at(day, r.uniform(8.5 * HOUR, 18 * HOUR))
                        cid = None
                        if self.answered_prev:
                            cand, resp = self.answered_prev[r.randrange(len(self.answered_prev))]
                            cid = cand if resp < t else None
                        owner = r.choice(staff) if owner_kind == "staff" else crm["auto_owner"]
                        self._call(t, cid, owner)
        self.answered_prev = answered_now
        return created

    def _deal(self, cid: str, owner: str, created: int) -> None:
        r, crm = self.r_crm, self.spec["crm"]
        oid = self._new_id("deal")
        amount = f"{round(r.uniform(*crm['amount']) / 50) * 50:.2f}"
        roll = r.random()
        if roll < crm["win_p"]:
            stage, closed = "closedwon", created + r.randint(1, 20) * DAY * 1000
        elif roll < crm["win_p"] + 0.25:
            stage, closed = "closedlost", created + r.randint(3, 30) * DAY * 1000
        else:
            stage, closed = r.choice(["qualifiedtobuy", "presentationscheduled", "contractsent"]), None
        is_closed = closed is not None
        close_prop = closed if is_closed else created + 45 * DAY * 1000  # forecast close date
        modified = closed if is_closed else created
        deal = {
            "id": oid,
            "properties": {
                "amount": amount,
                "closedate": _iso(close_prop),
                "createdate": _iso(created),
                "dealname": f"Sample deal {oid}",
                "dealstage": stage,
                "hs_is_closed_won": "true" if stage == "closedwon" else "false",
                "hs_object_id": oid,
                "hubspot_owner_id": owner,
                "pipeline": "default",
            },
            "createdAt": _iso(created),
            "updatedAt": _iso(modified),
            "archived": False,
            "associations": self._assoc(cid, "deal"),
        }
        # An incremental extract picks a deal up in the month it was last modified.
        self._put(DEALS, created, deal, bucket_ms=modified)

    def _write_crm(self, month: date) -> dict[str, int]:
        """Write the month's CRM files; return the measured workflows' volume events."""
        ym = (month.year, month.month)
        bucket = self.pending.pop(ym, {})
        name = f"{month:%Y-%m}.json"
        volumes = {wf["key"]: 0 for wf in self.wfs if wf["baseline"]["method"] == "measured"}
        for folder in CRM_FOLDERS:
            records = sorted(bucket.get(folder, []), key=lambda x: (x[0], x[1]))
            with self._path(folder, name).open("w", encoding="utf-8", newline="\n") as fh:
                fh.write('{"results":[')
                fh.write(",".join("\n" + _dumps(rec[2]) for rec in records))
                fh.write("\n]}\n")
            self._count(folder, len(records))
            for wf in self.wfs:
                vol = wf["baseline"].get("volume")
                if wf["baseline"]["method"] != "measured" or f"hubspot_{vol['object']}" != folder:
                    continue
                direction = vol.get("direction")
                owners = set(vol.get("owner_ids") or [])
                key = {"calls": "hs_call_direction", "emails": "hs_email_direction"}.get(vol["object"])
                for _, _, obj in records:
                    p = obj["properties"]
                    if direction and key and p.get(key) != direction:
                        continue
                    if owners and p.get("hubspot_owner_id") not in owners:
                        continue
                    volumes[wf["key"]] += 1
        return volumes

    # =================================================================================
    # Runs
    # =================================================================================
    def _status(self, wf: dict, month: date, generic: bool) -> str:
        err = wf["err"]
        if wf.get("bad_after") is not None and self._month_no(wf, month) == wf["bad_after"]:
            err = 0.18
        roll = self.r_runs.random()
        if roll < err:
            roll /= err
            if generic:
                return "error" if roll < 0.7 else "timeout" if roll < 0.9 else "crashed"
            return "error" if roll < 0.85 else "crashed"
        if roll < err + 0.004:
            return "canceled"
        if roll < err + 0.006:
            return "waiting"
        return "success"

    def _fill(self, run: _Run, wf: dict, items: int | None) -> None:
        r = self.r_runs
        spec_items = wf.get("items")
        if spec_items == "leads":
            run.items = items or 0
        elif spec_items:
            run.items = r.randint(*spec_items)
        llm = wf.get("llm")
        if llm and (not llm.get("per_item") or (run.items or 0) > 0):
            units = max(1, run.items or 1) if llm.get("per_item") else 1
            run.tin = r.randint(*llm["tok"]) * units
            run.tout = r.randint(*llm["out"]) if llm.get("out") else None
            run.cost = (run.tin + (run.tout or 0)) / 1000 * llm["rate"]

    def _make_run(self, wf: dict, start: int, mode: str, status: str, items: int | None = None) -> _Run:
        r = self.r_runs
        lo, hi = wf["dur"]
        dur = int(r.uniform(lo, hi) * 1000) + r.randint(0, 999)
        if status == "timeout":
            dur = 300_000
        stop: int | None = start + dur
        run = _Run(start, stop, self._wid(wf, start), mode, status)
        run.platform = wf["platform"]
        if status == "waiting":
            run.waiting = True
            if wf["platform"] != "n8n":
                run.stop = None
        if status in ("error", "crashed", "timeout") and wf["platform"] != "n8n":
            run.error = r.choice(GENERIC_ERRORS) if status != "timeout" else "Run exceeded 300s"
        run.zulu = wf["platform"] == "zapier" or (wf["platform"] == "custom_agent" and r.random() < 0.5)
        self._fill(run, wf, items)
        return run

    def _wid(self, wf: dict, start: int) -> str:
        ids = wf["ids"]
        if len(ids) > 1 and wf.get("id_switch") is not None:
            switch = wf.get("_switch_ms")
            if switch is None:
                switch = wf["_switch_ms"] = self.clock.midnight(_add_months(wf["go_live"], wf["id_switch"]))
            return ids[1] if start >= switch else ids[0]
        return ids[0]

    def _runs_month(self, month: date, days: list[date], leads_ms: list[int]) -> None:
        n8n_runs: list[_Run] = []
        generic_runs: list[_Run] = []
        native: dict[str, list[_Run]] = {MAKE: [], ZAPIER: []}
        for wf in self.wfs:
            target = n8n_runs if wf["platform"] == "n8n" else native.get(wf.get("landing", ""), generic_runs)
            self._wf_month(wf, month, days, leads_ms, target)
        self._write_n8n(month, n8n_runs)
        self._write_generic(month, generic_runs)
        self._write_make(month, native[MAKE])
        self._write_zapier(month, native[ZAPIER])

    def _wf_month(self, wf: dict, month: date, days: list[date], leads_ms: list[int], out: list[_Run]) -> None:
        r = self.r_runs
        generic = wf["platform"] != "n8n"
        season = self.spec["season"][month.month] * self.spec["scale"]
        go = wf["go_live"]
        retired = wf.get("retired_on")
        month_no = self._month_no(wf, month)
        outage: set[date] = set()
        if wf.get("outage_after") is not None and month_no == wf["outage_after"]:
            first = month.replace(day=10)
            outage = {first + timedelta(days=i) for i in range(4)}
        manual_mode = "manual"
        for day in days:
            if retired and day >= retired:
                break
            if day < go:
                # build and testing: manual/test runs in the three weeks before go-live, and
                # for n8n schedules an early activation in the last days (counts neither).
                if (go - day).days <= 21 and day.weekday() < 5:
                    for _ in range(r.randint(0, 3)):
                        t = self.clock.at(day, r.uniform(9 * HOUR, 18 * HOUR))
                        mode = manual_mode if not generic else r.choice(["manual", "test"])
                        out.append(self._make_run(wf, t, mode, self._status(wf, month, generic), 1))
                if (go - day).days <= 2 and wf["trigger"] == "schedule":
                    t = self.clock.at(day, r.uniform(14 * HOUR, 17 * HOUR))
                    out.append(self._make_run(wf, t, "trigger" if not generic else "schedule", "success", 1))
                continue
            if day in outage:
                continue
            starts: list[int] = []
            if wf["trigger"] == "schedule":
                d0 = self.clock.midnight(day)
                d1 = self.clock.midnight(day + timedelta(days=1))
                n = max(1, round(wf["per_day"] * self.runs_scale))
                step = (d1 - d0) / n
                starts = [d0 + int(i * step) + r.randint(0, 20_000) for i in range(n)]
                if wf.get("nightly"):
                    h, m = wf["nightly"]
                    t = (d0 // (DAY * 1000)) * DAY * 1000 + (h * HOUR + m * 60) * 1000
                    if t < d0:
                        t += DAY * 1000
                    if t < d1:
                        starts.append(t + r.randint(0, 3_000))
            else:
                weekend = day.weekday() >= 5
                lam = wf["per_weekday"] * season * self.runs_scale * (wf.get("weekend", 0.0) if weekend else 1.0)
                starts = [self.clock.at(day, r.uniform(7.5 * HOUR, 19 * HOUR)) for _ in range(_poisson(r, lam))]
            starts.sort()
            prod_mode = ("schedule" if wf["trigger"] == "schedule" else wf["trigger"]) if generic else (
                "trigger" if wf["trigger"] == "schedule" else "webhook")  # fmt: skip
            for t in starts:
                items = None
                if wf.get("items") == "leads":
                    prev = self.last_poll.get(wf["key"], t - 1_800_000)
                    items = bisect_right(leads_ms, t) - bisect_right(leads_ms, prev)
                    self.last_poll[wf["key"]] = t
                status = self._status(wf, month, generic)
                run = self._make_run(wf, t, prod_mode, status, items)
                out.append(run)
                self._side_runs(wf, run, out)
            # occasional manual runs after go-live (they cost LLM money, they are no tasks)
            if day.weekday() < 5 and r.random() < 0.06:
                t = self.clock.at(day, r.uniform(9 * HOUR, 17 * HOUR))
                out.append(self._make_run(wf, t, "manual", "success", 1))

    def _side_runs(self, wf: dict, run: _Run, out: list[_Run]) -> None:
        """Retries, error-handler and sub-workflow executions that follow a production run."""
        r = self.r_runs
        generic = wf["platform"] != "n8n"
        failed = run.status in ("error", "crashed", "timeout")
        if failed and run.stop is not None:
            if wf.get("error_id") and not generic:
                handler = _Run(
                    run.stop + 400, run.stop + 400 + r.randint(300, 2500), wf["error_id"], "error", "success"
                )
                out.append(handler)
            elif generic and r.random() < 0.3:
                handler = self._make_run(wf, run.stop + 1000, "error_handler", "success", 1)
                out.append(handler)
            if r.random() < (0.6 if not generic else 0.3):
                status = "success" if r.random() < 0.8 else "error"
                retry = self._make_run(wf, run.stop + r.randint(120, 900) * 1000, "retry", status, run.items)
                retry.wid = run.wid
                if run.items is not None:
                    retry.items = run.items
                retry.retry_of = run
                if status == "success":
                    run.retry = retry
                out.append(retry)
        elif run.status == "success" and (run.items is None or run.items > 0):
            if wf.get("sub_id") and r.random() < 0.4:
                start = run.start + r.randint(200, 1500)
                sub = _Run(start, start + r.randint(300, 4000), wf["sub_id"], "integrated", "success")
                out.append(sub)
            elif generic and wf["platform"] == "custom_agent" and r.random() < 0.08:
                sub = self._make_run(wf, run.start + 500, "subworkflow", "success", 1)
                out.append(sub)

    def _write_n8n(self, month: date, runs: list[_Run]) -> None:
        runs.sort(key=lambda x: (x.start, x.wid, x.mode))
        for run in runs:
            self.n8n_counter += 1
            run.id = str(self.n8n_counter)
        name = f"{month:%Y-%m}.json"
        if not any(w["platform"] == "n8n" for w in self.wfs):
            return
        with self._path(N8N, name).open("w", encoding="utf-8", newline="\n") as fh:
            fh.write('{"data":[')
            first = True
            for run in reversed(runs):  # the API lists executions newest first (id DESC)
                done = run.status in ("success", "error", "crashed", "canceled")
                ex: dict = {
                    "id": run.id,
                    "finished": run.status == "success",
                    "mode": run.mode,
                    "retryOf": run.retry_of.id if run.retry_of else None,
                    "retrySuccessId": run.retry.id if run.retry else None,
                    "status": run.status,
                    "startedAt": _iso(run.start),
                    "stoppedAt": _iso(run.stop) if run.stop is not None and (done or run.waiting) else None,
                    "workflowId": run.wid,
                    "waitTill": _iso(run.start + HOUR * 1000) if run.waiting else None,
                }
                if run.items is not None or run.cost is not None:
                    custom = {}
                    if run.items is not None:
                        custom["items"] = str(run.items)
                    if run.cost is not None:
                        custom["llm_tokens"] = str(run.tin)
                        custom["llm_cost"] = f"{run.cost:.4f}"
                    ex["customData"] = custom
                fh.write(("\n" if first else ",\n") + _dumps(ex))
                first = False
            fh.write('\n],"nextCursor":null}\n')
        self._count(N8N, len(runs))
        self.total_runs += len(runs)

    def _write_make(self, month: date, runs: list[_Run]) -> None:
        """Make scenario logs (``GET /api/v2/scenarios/{id}/logs``), newest first as Make lists them.

        Make has no retry, error-handler or test run of its own and reports no items or cost:
        those runs and figures of the generated stream are not in its logs.
        """
        if not any(w.get("landing") == MAKE for w in self.wfs):
            return
        kept = sorted((r for r in runs if r.mode in ("webhook", "schedule", "manual", "test")), key=_run_order)
        logs = []
        for run in kept:
            self.make_counter += 1
            run.id = f"{self.make_counter:032x}"
            log = {
                "imtId": run.id,
                "scenarioId": int(run.wid),
                "type": "manual" if run.mode in ("manual", "test") else "auto",
                "instant": run.mode == "webhook",
                "timestamp": _iso(run.start),
                "status": 1 if run.status == "success" else 3,
                "operations": 1 + 2 * (run.items or 1),
                "transfer": 512 * (run.items or 1),
            }
            if run.stop is not None:
                log["duration"] = run.stop - run.start
            logs.append(log)
        logs.reverse()
        with self._path(MAKE, f"{month:%Y-%m}.json").open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(_dumps({"scenarioLogs": logs, "pg": {"sortBy": "imtId", "sortDir": "desc"}}) + "\n")
        self._count(MAKE, len(logs))
        self.total_runs += len(logs)

    def _write_zapier(self, month: date, runs: list[_Run]) -> None:
        """Zap runs (Zapier Partner API ``GET /v2/zap-runs``): production runs only, as its history shows.

        Zapier says nothing of a run's trigger, items, cost or replays: the generated
        manual, test, retry and error-handler runs are not in it.
        """
        if not any(w.get("landing") == ZAPIER for w in self.wfs):
            return
        status = {
            "success": "success", "error": "errored", "crashed": "errored", "timeout": "errored",
            "canceled": "halted", "running": "playing", "waiting": "waiting",
        }  # fmt: skip
        kept = sorted((r for r in runs if r.mode in ("webhook", "schedule", "event")), key=_run_order)
        data = []
        for run in kept:
            self.zapier_counter += 1
            run.id = f"00000000-0000-4000-8000-{self.zapier_counter:012x}"
            data.append(
                {
                    "id": run.id,
                    "zap_id": int(run.wid),
                    "start_time": _iso(run.start),
                    "end_time": _iso(run.stop) if run.stop is not None else None,
                    "status": "waiting" if run.waiting else status.get(run.status, run.status),
                    "zap_title": next(w["name"] for w in self.wfs if run.wid in w["ids"]),
                    "steps": [{"status": "success", "start_time": _iso(run.start)}],
                }
            )
        data.reverse()
        with self._path(ZAPIER, f"{month:%Y-%m}.json").open("w", encoding="utf-8", newline="\n") as fh:
            page = {"links": {"next": None, "prev": None}, "meta": {"count": len(data), "offset": 0}, "data": data}
            fh.write(_dumps(page) + "\n")
        self._count(ZAPIER, len(data))
        self.total_runs += len(data)

    def _write_generic(self, month: date, runs: list[_Run]) -> None:
        if not any(w["platform"] != "n8n" and "landing" not in w for w in self.wfs):
            return
        runs.sort(key=lambda x: (x.start, x.wid, x.mode))
        prefix = {"zapier": "zr", "make": "mk", "custom_agent": "run", "other": "ot"}
        for run in runs:
            n = self.generic_counter.get(run.platform, 0) + 1
            self.generic_counter[run.platform] = n
            run.id = f"{prefix[run.platform]}_{n:08d}" if run.platform != "make" else f"{4_000_000 + n}"
        name = f"{month:%Y-%m}.csv"
        with self._path(GENERIC, name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(GENERIC_COLUMNS)
            for run in runs:
                if run.zulu:
                    started = _iso(run.start, millis=run.platform != "zapier")
                    finished = _iso(run.stop, millis=run.platform != "zapier") if run.stop is not None else ""
                else:
                    started = _iso(run.start, millis=False, offset_s=self.clock.offset(run.start))
                    finished = (
                        _iso(run.stop, millis=False, offset_s=self.clock.offset(run.stop))
                        if run.stop is not None
                        else ""
                    )
                w.writerow([
                    run.id, run.platform, run.wid, started, finished, run.status, run.mode,
                    "" if run.items is None else run.items,
                    "" if run.tin is None else run.tin,
                    "" if run.tout is None else run.tout,
                    "" if run.cost is None else f"{run.cost:.4f}",
                    run.retry_of.id if run.retry_of else "",
                    run.error,
                ])  # fmt: skip
        self._count(GENERIC, len(runs))
        self.total_runs += len(runs)

    # =================================================================================
    # Timesheets
    # =================================================================================
    def _process_label(self, process: str) -> str:
        r = self.r_ts
        roll = r.random()
        if roll < 0.75:
            return process
        return r.choice([process.lower() + " ", process.upper(), " " + process, process.lower()])

    def _timesheets_month(self, month: date, days: list[date], volumes: dict[str, int]) -> None:
        spec, r = self.spec, self.r_ts
        season = spec["season"][month.month] * spec["scale"]
        workdays = [d for d in days if d.weekday() < 5]
        staff = spec["staff"]
        entries: list[tuple[date, int, str, str, int]] = []  # (day, person idx, kind, label, minutes)
        # Per-workflow daily hours: baseline (before go-live), residual (live), none (retired).
        for wf in self.wfs:
            month_no = self._month_no(wf, month)
            for day in workdays:
                if day < wf["go_live"]:
                    if wf["baseline"]["method"] == "measured":
                        hours = volumes.get(wf["key"], 0) * wf["minutes"] / 60 / len(workdays)
                    else:
                        hours = wf["pre_hours"] * season / len(workdays)
                elif self._live_on(wf, day):
                    hours = wf.get("spikes", {}).get(str(month_no), wf.get("spikes", {}).get(month_no))
                    hours = (hours if hours is not None else wf["residual"] * (0.7 + 0.6 * r.random())) / len(workdays)
                else:
                    continue
                self._split(entries, day, "process", wf["process"], hours * r.uniform(0.6, 1.4), len(staff))
            # other work of the client's staff
        for day in workdays:
            for p in range(len(staff)):
                for _ in range(r.randint(1, 2)):
                    entries.append((day, p, "other", r.choice(spec["other_tasks"]), r.choice([30, 45, 60, 90, 120])))
        # the consultancy's own time: build before each go-live, operate after, some expand
        go_lives = sorted(wf["go_live"] for wf in self.wfs)
        expand_month = (month.month + len(spec["id"])) % 4 == 0
        for day in workdays:
            building = any(timedelta(0) <= g - day <= timedelta(days=75) for g in go_lives) or day < go_lives[0]
            live = day >= go_lives[0]
            if building:
                self._split(entries, day, "build", "Build", r.uniform(2.5, 5.5), -1)
            if live and r.random() < 0.7:
                self._split(entries, day, "operate", "Operate", r.uniform(0.5, 1.5), -1)
            if live and expand_month and r.random() < 0.3:
                self._split(entries, day, "expand", "Expand", r.uniform(1.0, 3.0), -1)
        if spec["timesheets"]["format"] == "harvest":
            self._write_harvest(month, entries)
        else:
            self._write_toggl(month, entries)

    def _split(self, entries: list, day: date, kind: str, label: str, hours: float, n_people: int) -> None:
        """Quarter-hour entries summing (in expectation) to ``hours``; people < 0 = consultants."""
        r = self.r_ts
        quarters = hours * 4
        q = int(quarters) + (1 if r.random() < quarters - int(quarters) else 0)
        people = len(self.spec["consultants"]) if n_people < 0 else n_people
        while q > 0:
            chunk = min(q, r.randint(1, 8))
            q -= chunk
            person = r.randrange(people)
            minutes = chunk * 15
            entries.append((day, person if n_people >= 0 else -1 - person, kind, label, minutes))

    def _write_harvest(self, month: date, entries: list) -> None:
        spec, r = self.spec, self.r_ts
        cost_rate = spec["hourly"][0][1]
        name = f"{month:%Y-%m}.csv"
        with self._path(HARVEST, name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(HARVEST_COLUMNS)
            for day, person, kind, label, minutes in sorted(entries, key=lambda e: (e[0], e[1] < 0, abs(e[1]))):
                rounded = minutes / 60
                hours = rounded
                if kind in ("process", "other") and r.random() < 0.15:
                    hours = max(1, minutes - r.randint(1, 14)) / 60  # a timer: exact, below the rounded value
                if person >= 0:
                    _, first, last = spec["staff"][person]
                    row = [
                        day.isoformat(), spec["name"], "Operations", "OPS",
                        self._process_label(label) if kind == "process" else label,
                        "", f"{hours:.2f}", f"{rounded:.2f}", "No", "No", "Yes", first, last, "Operations",
                        "Yes", "", "0.00", f"{cost_rate:.2f}", f"{hours * cost_rate:.2f}", spec["currency_long"], "",
                    ]  # fmt: skip
                else:
                    first, last = spec["consultants"][-1 - person]
                    row = [
                        day.isoformat(), CONSULTANCY, f"{spec['name']} automation programme", "NB-AIOPS", label,
                        f"{label.lower()} work for {spec['id']}", f"{hours:.2f}", f"{rounded:.2f}", "No", "No",
                        "Yes", first, last, "Consultant", "No", "", "0.00", "", "", spec["currency_long"], "",
                    ]  # fmt: skip
                w.writerow(row)
        self._count(HARVEST, len(entries))

    def _write_toggl(self, month: date, entries: list) -> None:
        spec, r = self.spec, self.r_ts
        ts = spec["timesheets"]
        cur = spec["currency"]
        name = f"{month:%Y-%m}.csv"
        # lay each person's entries of a day end to end from a morning start time
        rows = []
        clock: dict[tuple[date, int], int] = {}
        for day, person, kind, label, minutes in entries:
            key = (day, person)
            if key not in clock:
                clock[key] = 8 * HOUR + r.randint(0, 90) * 60
            start = clock[key]
            secs = minutes * 60 - (r.randint(0, 600) if kind != "build" else 0)
            clock[key] = start + secs + r.randint(0, 20) * 60
            rows.append((day, person, start, secs, kind, label))
        rows.sort(key=lambda x: (x[0], x[1] < 0, abs(x[1]), x[2]))
        with self._path(TOGGL, name).open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow([*TOGGL_COLUMNS, f"Amount ({cur})"])
            for day, person, start, secs, kind, label in rows:
                end = start + secs
                h, rest = divmod(secs, HOUR)
                duration = f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
                st = f"{start // HOUR:02d}:{start % HOUR // 60:02d}:{start % 60:02d}"
                et = f"{end // HOUR:02d}:{end % HOUR // 60:02d}:{end % 60:02d}"
                if person >= 0:
                    _, first, last = spec["staff"][person]
                    client = spec["name"]
                    text = self._process_label(label) if kind == "process" else label
                    project = text if ts["process_field"] == "project" else "Operations"
                    task = text if ts["process_field"] == "task" else ""
                    desc, tags = ("" if kind == "process" else "routine"), ""
                else:
                    first, last = spec["consultants"][-1 - person]
                    client = CONSULTANCY
                    project = f"{spec['name']} automation"
                    phase = label.lower()
                    task = label if ts["phase_field"] == "task" else ""
                    tags = phase if ts["phase_field"] == "tags" else ""
                    desc = f"{phase} work for {spec['id']}"
                email = f"{first.lower()}.{last.lower()}@{spec['id'] if person >= 0 else 'northbeam'}.example"
                w.writerow([
                    f"{first} {last}", email, client, project, task, desc, "No", day.isoformat(), st,
                    day.isoformat(), et, duration, tags, "0.00",
                ])  # fmt: skip
        self._count(TOGGL, len(rows))


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


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
    start = _add_months(end, -(months - 1))
    month_list = [_add_months(start, i) for i in range(months)]
    specs = _client_specs(clients, seed, months, start)
    clients_dir.mkdir(parents=True, exist_ok=True)
    (clients_dir / "_consultancy.yaml").write_text(
        f"# Generated sample data: the consultancy whose name the reports carry.\nname: {CONSULTANCY}\n"
        "email: hello@northbeam-ai-ops.example\n",
        encoding="utf-8",
    )
    landing_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    files = 1  # _consultancy.yaml
    for i, spec in enumerate(specs, 1):
        (clients_dir / f"{spec['id']}.yaml").write_text(_client_yaml(spec, start, seed), encoding="utf-8")
        files += 1
        root = landing_dir / spec["id"]
        if root.exists():
            shutil.rmtree(root)
        gen = _ClientGen(spec, seed, month_list, runs_scale, landing_dir)
        gen.run()
        files += sum(len(v) for v in gen.files.values()) + gen.write_extracts()
        for folder, n in gen.rows.items():
            rows[folder] = rows.get(folder, 0) + n
        if progress:
            progress(f"client {i}/{len(specs)} {spec['id']}: {gen.total_runs:,} runs")
    return GenerateSummary(clients=[s["id"] for s in specs], files=files, rows=dict(sorted(rows.items())))
