"""Plausibility at ingest: records that parse but cannot be true are quarantined, never loaded.

A record that reads well but is impossible (a run dated 2099, a cost in another currency, a
timesheet entry of 30 hours) would otherwise be loaded as fact: added into the figures, or
found later by a blocking raw-gate check that holds the client's whole month for one record.
Quarantined here, it lands in ``raw._quarantine`` with its reason, and the raw gate reports
it as a warning note (``roi_pipeline.quality.suites``: ``future_record``,
``implausible_value``, ``foreign_currency``): the month is published, the note names it.

Every limit is here, once; the formats call the functions below from their ``parse()``.
The reasons start with the words the raw gate's patterns match (:data:`FUTURE`,
:data:`IMPLAUSIBLE`, :data:`FOREIGN_CURRENCY`, and ``negative`` for values below zero).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from roi_pipeline.formats.base import ParseContext, Rejected
from roi_pipeline.timeutil import BadTimestamp, localize

#: Without an extraction record, a record may lie this far after the moment of ingestion
#: before it counts as "in the future": clocks of vendors and of our machine disagree by
#: seconds to minutes, and a naive time read in the wrong zone is off by at most 14 h. More
#: than a day ahead is a wrong clock or a typed year (2099), never a real event. With an
#: extraction record there is no tolerance: an export cannot hold what happened after it
#: was made (the raw gate's ``future_timestamp`` check uses the same bound, without slack).
FUTURE_TOLERANCE = timedelta(days=1)

#: The longest a run can take. Workflows that wait are legitimately long (Zapier's "Delay"
#: step waits up to one month, n8n's Wait node as long as it is told), so the bound is the
#: longest of those, not a typical run: a stop more than 31 days after the start is a clock,
#: year or zone error in one of the two timestamps, and the run's month is unknowable.
MAX_RUN_DURATION = timedelta(days=31)

#: The most hours one timesheet entry can hold: a day has 24 (a forgotten Toggl timer left
#: running over a weekend, or 80 typed for 8.0, is not work done). Negative hours are
#: rejected by the timesheet parser (``negative Hours``), before this check.
MAX_ENTRY_HOURS = 24.0

#: The most items one run can process. The consultancy's workflows handle a small business's
#: leads, invoices and tickets: tens per run, a bulk sync a few thousand. A count above this
#: is a unit or field mix-up (bytes, a record id, a cumulative counter) and, multiplied by the
#: minutes saved per item, would add thousands of hours to one month.
MAX_ITEMS_PER_RUN = 100_000

#: The most one run can cost, in the client's currency (LLM tokens and similar usage costs).
#: An agent run costs cents to a few units; 10,000 is beyond any single run in the
#: currencies the consultancy bills (EUR, GBP, USD, AUD, CHF...): such a value is a unit
#: error (cents written as units, tokens in the cost column) and would swamp the month's cost.
#: A client billed in a currency of small units (JPY, KRW) needs this cap raised.
MAX_RUN_COST = 10_000.0

FUTURE = "future timestamp"
IMPLAUSIBLE = "implausible"
FOREIGN_CURRENCY = "foreign currency"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_past(ctx: ParseContext) -> datetime | None:
    """The latest instant (naive UTC) a record of the file may carry.

    The file's extraction time when it has an extraction record; else the moment of
    ingestion plus :data:`FUTURE_TOLERANCE`; None when the context knows neither (parsing
    outside ingestion: nothing to compare against).
    """
    if ctx.extracted_at is not None:
        return ctx.extracted_at
    if ctx.ingested_at is not None:
        return ctx.ingested_at + FUTURE_TOLERANCE
    return None


def _said(ctx: ParseContext) -> str:
    """How a rejection names that bound."""
    if ctx.extracted_at is not None:
        return f"the file's extraction time {_iso(ctx.extracted_at)}"
    return "more than 1 day after ingestion"


def not_future(ctx: ParseContext, *fields: tuple[str, datetime | date | None]) -> None:
    """Reject a record whose past times (``(field name, naive UTC instant or local date)``) lie ahead.

    A local date counts as the local midnight that starts it (as the file's "as of" does).
    Called for every record: the words of the reason are made only for a record it rejects.
    """
    bound = latest_past(ctx)
    if bound is None:
        return
    for what, value in fields:
        if value is None:
            continue
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = localize(datetime(value.year, value.month, value.day), ctx.tz).replace(tzinfo=None)
            except BadTimestamp:  # midnight in a DST gap: the day starts an hour later
                moment = localize(datetime(value.year, value.month, value.day, 1), ctx.tz).replace(tzinfo=None)
        if moment > bound:
            shown = _iso(value) if isinstance(value, datetime) else value.isoformat()
            if ctx.extracted_at is not None:
                raise Rejected(f"{FUTURE}: {what} {shown} is after {_said(ctx)}")
            raise Rejected(f"{FUTURE}: {what} {shown} is {_said(ctx)}")


def run_duration(started: datetime | None, stopped: datetime | None, what: str) -> None:
    """Reject a run longer than :data:`MAX_RUN_DURATION` (``what`` names the two fields)."""
    if started is None or stopped is None:
        return
    if stopped - started > MAX_RUN_DURATION:
        days = (stopped - started) / timedelta(days=1)
        raise Rejected(
            f"{IMPLAUSIBLE} duration: {what} span {days:.1f} days, "
            f"more than the longest possible run ({MAX_RUN_DURATION.days} days)"
        )


def entry_hours(hours: float, what: str) -> None:
    """Reject a timesheet entry of more than :data:`MAX_ENTRY_HOURS` hours."""
    if hours > MAX_ENTRY_HOURS:
        raise Rejected(f"{IMPLAUSIBLE} {what}: {hours:.2f} h in one entry, a day has {MAX_ENTRY_HOURS:g}")


def _bounded(value: float | int | None, what: str, cap: float, unit: str) -> None:
    if value is None:
        return
    if value < 0:
        raise Rejected(f"negative {what}: {value!r}")
    if value > cap:
        raise Rejected(f"{IMPLAUSIBLE} {what}: {value:,} is above the cap of {cap:,.0f} {unit}")


def items(value: float | int | None, what: str) -> None:
    """Reject items below 0 or above :data:`MAX_ITEMS_PER_RUN`."""
    _bounded(value, what, MAX_ITEMS_PER_RUN, "per run")


def run_cost(value: float | int | None, what: str, currency: str) -> None:
    """Reject a run cost below 0 or above :data:`MAX_RUN_COST` (in the client's ``currency``)."""
    _bounded(value, what, MAX_RUN_COST, f"{currency} per run")


def cost_currency(stated: object, cost: float | int | None, what: str, ctx: ParseContext) -> None:
    """Reject a run whose cost is stated in a currency other than the client's.

    Costs are added as they are, never converted (docs/method.md): a USD cost in a EUR
    client's month would be added as euros. A currency without a cost converts nothing and
    the run is loaded; an empty value means the client's currency.
    """
    if cost is None or stated is None:
        return
    text = str(stated).strip()
    if text and text.upper() != ctx.client.currency:
        raise Rejected(
            f"{FOREIGN_CURRENCY}: {what} {text!r} is not the client's currency {ctx.client.currency} "
            "(costs are never converted)"
        )
