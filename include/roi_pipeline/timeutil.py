"""Time handling shared by parsers, the generator and the models' Python twins.

The rules come from docs/method.md: instants are stored in UTC; a naive timestamp is read in
the client's time zone (and flagged as such); a naive time that falls in a DST overlap
takes the first occurrence; one that falls in a DST gap does not exist and is rejected.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


class BadTimestamp(ValueError):
    """A timestamp that cannot be read as one instant."""


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def localize(naive: datetime, tz_name: str) -> datetime:
    """Attach ``tz_name`` to a naive local time, returning an aware UTC datetime.

    Ambiguous times (the repeated hour when clocks go back) take the first occurrence
    (``fold=0``); non-existent times (the skipped hour when clocks go forward) raise
    :class:`BadTimestamp`, because no instant corresponds to them.
    """
    tz = zone(tz_name)
    aware = naive.replace(tzinfo=tz, fold=0)
    try:
        as_utc = aware.astimezone(UTC)
        round_trip = as_utc.astimezone(tz).replace(tzinfo=None)
    except OverflowError as exc:  # e.g. 0001-01-01 in a zone east of UTC
        raise BadTimestamp(f"{naive.isoformat()} is out of range in {tz_name}") from exc
    # A time in the spring-forward gap does not survive a round trip.
    if round_trip != naive:
        raise BadTimestamp(f"{naive.isoformat()} does not exist in {tz_name} (DST gap)")
    return as_utc


def parse_instant(text: str, tz_name: str) -> tuple[datetime, bool]:
    """Parse an ISO-8601 timestamp into a naive-UTC datetime.

    Returns ``(utc_naive, tz_assumed)``: ``tz_assumed`` is True when the text carried no
    offset and was read in the client's zone ``tz_name``. Raises :class:`BadTimestamp`.
    """
    if text is None:
        raise BadTimestamp("missing timestamp")
    raw = str(text).strip()
    if not raw:
        raise BadTimestamp("empty timestamp")
    if raw.endswith(("Z", "z")):
        if len(raw) > 11:  # a date and a time in UTC, the vendors' usual form: its own fields, naive
            try:  # (a fifth of the general path's cost; ingestion reads a few hundred thousand)
                utc = datetime.fromisoformat(raw[:-1])
            except ValueError:
                pass  # the general path says why
            else:
                if utc.tzinfo is None:
                    return utc, False
        candidate = raw[:-1] + "+00:00"
    else:
        candidate = raw
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise BadTimestamp(f"not an ISO-8601 timestamp: {raw!r}") from exc
    if parsed.tzinfo is None:
        return localize(parsed, tz_name).replace(tzinfo=None), True
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None), False
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-05:00
        raise BadTimestamp(f"timestamp out of range: {raw!r}") from exc


def parse_epoch_millis(value: str | int) -> datetime:
    """HubSpot sometimes sends epoch milliseconds; return naive UTC."""
    try:
        millis = int(str(value).strip())
    except ValueError as exc:
        raise BadTimestamp(f"not epoch milliseconds: {value!r}") from exc
    try:
        return datetime(1970, 1, 1) + timedelta(milliseconds=millis)
    except OverflowError as exc:
        raise BadTimestamp(f"epoch milliseconds out of range: {value!r}") from exc


def to_local(utc_naive: datetime, tz_name: str) -> datetime:
    """The wall-clock time in ``tz_name`` of a naive-UTC instant (naive result)."""
    return utc_naive.replace(tzinfo=UTC).astimezone(zone(tz_name)).replace(tzinfo=None)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """First day of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """Last day of the month of ``day``."""
    return add_months(day, 1) - timedelta(days=1)
