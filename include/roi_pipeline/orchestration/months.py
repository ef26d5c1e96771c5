"""Which month a DAG run processes: pure functions, no Airflow, no wall clock.

The monthly DAG runs on a ``CronDataIntervalTimetable("0 0 1 * *", timezone="UTC")``: a
scheduled run's data interval is one calendar month in UTC, ``[M-01 00:00, M+1-01 00:00)``,
and its logical date is the interval's start. A client's report month is its *local*
calendar month, so the month is derived per client zone, from the middle of the interval:

- the zones in use are within UTC-12..+14, and a calendar-month interval is at least 28 days,
  so the middle of the interval is in the same calendar month in every zone, while the
  interval's start is still the previous month west of UTC (00:00 UTC on the 1st is the
  evening of the last day in New York) and its end is already the next month east of it;
- a manual run with no data interval (Airflow 3 allows a run without a logical date)
  processes the last local month that has ended by the run's ``run_after``.

An explicit ``month`` (a run parameter) always wins.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from roi_pipeline.timeutil import add_months, zone

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class MonthError(ValueError):
    """A month, or a run's dates, from which no report month can be derived."""


def parse_month(value: str) -> date:
    """'YYYY-MM' -> the first day of that month (raises :class:`MonthError`)."""
    if not isinstance(value, str) or not re.fullmatch(MONTH_PATTERN, value.strip()):
        raise MonthError(f"expected a month as YYYY-MM, got {value!r}")
    year, month = value.strip().split("-")
    return date(int(year), int(month), 1)


def format_month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise MonthError(f"{what} must be timezone-aware, got {value!r}")
    return value


def local_month(at: datetime, tz_name: str) -> str:
    """The calendar month ('YYYY-MM') of instant ``at`` on a wall clock in ``tz_name``."""
    return format_month(_aware(at, "the instant").astimezone(zone(tz_name)).date())


def last_complete_month(at: datetime, tz_name: str) -> str:
    """The last local month in ``tz_name`` that has fully ended at instant ``at``."""
    local = _aware(at, "the instant").astimezone(zone(tz_name)).date()
    return format_month(add_months(local, -1))


def report_month(
    tz_name: str,
    *,
    data_interval_start: datetime | None = None,
    data_interval_end: datetime | None = None,
    run_after: datetime | None = None,
    requested: str | None = None,
) -> str:
    """The month ('YYYY-MM') a monthly run processes for a client in zone ``tz_name``.

    ``requested`` (a manual run's ``month`` parameter) wins; otherwise the local month of the
    middle of the data interval; with no data interval, the last local month that ended
    before ``run_after``. An interval shorter than 27 days or longer than 32 is refused: it
    is not one month, and guessing would publish the wrong figures.
    """
    if requested:
        return format_month(parse_month(requested))
    if data_interval_start is not None and data_interval_end is not None:
        start = _aware(data_interval_start, "data_interval_start")
        end = _aware(data_interval_end, "data_interval_end")
        length = end - start
        if not timedelta(days=27) <= length <= timedelta(days=32):
            raise MonthError(
                f"the data interval {start.isoformat()} .. {end.isoformat()} is not one month "
                f"({length}); pass the month explicitly (params.month = 'YYYY-MM')"
            )
        return local_month(start + length / 2, tz_name)
    if run_after is not None:
        return last_complete_month(run_after, tz_name)
    raise MonthError("a run with no data interval and no run_after: pass params.month = 'YYYY-MM'")


def month_in_progress(at: datetime, tz_name: str) -> str:
    """The local month that instant ``at`` falls in (the daily watch's month)."""
    return local_month(at, tz_name)


def month_bounds_utc(month: str, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants where local ``month`` starts and ends in ``tz_name`` (end exclusive)."""
    first = parse_month(month)
    tz = zone(tz_name)
    start = datetime(first.year, first.month, 1, tzinfo=tz).astimezone(UTC)
    nxt = add_months(first, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive ('YYYY-MM'); empty when last < first."""
    start, stop = parse_month(first), parse_month(last)
    out = []
    while start <= stop:
        out.append(format_month(start))
        start = add_months(start, 1)
    return out
