"""Locale-aware display formatting of report figures (Babel), one formatter per client.

Figures are stored unrounded (marts, report.json); they are rounded only here, for display:
money to cents, hours to one decimal, rates to whole or tenth percents (docs/method.md,
Precision). Numbers, dates and currency follow the client's ``locale``; the currency
symbol is made unambiguous (``A$`` rather than a bare ``$`` for Australian dollars), so a
reader of several reports never mistakes one dollar for another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

#: Shown for a figure that does not exist (null in the marts), never a zero.
MISSING = "–"


def currency_symbol(currency: str, locale: str) -> str:
    """The locale's symbol for ``currency``, unless it is a bare ``$`` for a non-US dollar."""
    symbol = get_currency_symbol(currency, locale=locale)
    if symbol == "$" and currency != "USD":
        symbol = get_currency_symbol(currency, locale="en")  # A$, CA$, NZ$, ...
        if symbol == "$":
            symbol = currency
    return symbol


@dataclass(frozen=True)
class Formatter:
    """Formats one client's figures; every method returns ``MISSING`` for ``None``."""

    locale: str
    currency: str
    timezone: str = "UTC"

    @cached_property
    def _locale(self) -> Locale:
        return Locale.parse(self.locale)

    @cached_property
    def symbol(self) -> str:
        return currency_symbol(self.currency, self.locale)

    @cached_property
    def _money_pattern(self) -> str:
        pattern = self._locale.currency_formats["standard"].pattern.split(";")[0]
        quoted = "'" + self.symbol.replace("'", "''") + "'"
        return pattern.replace("¤", quoted)

    @cached_property
    def _percent_patterns(self) -> tuple[str, str]:
        whole = self._locale.percent_formats[None].pattern.split(";")[0]
        return whole, whole.replace("#,##0", "#,##0.0", 1)

    # -- numbers -------------------------------------------------------------------------
    def money(self, value: float | None, *, cents: bool = True, signed: bool = False) -> str:
        if value is None:
            return MISSING
        pattern = self._money_pattern if cents else self._money_pattern.replace("#,##0.00", "#,##0")
        text = format_currency(value, self.currency, format=pattern, locale=self.locale, currency_digits=False)
        if signed and value > 0:
            text = "+" + text
        return text

    def number(self, value: float | int | None, digits: int = 0, *, signed: bool = False) -> str:
        if value is None:
            return MISSING
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        text = format_decimal(value, pattern, locale=self.locale)
        if signed and round(value, digits) > 0:
            text = "+" + text
        return text

    def hours(self, value: float | None, *, signed: bool = False, unit: bool = True) -> str:
        if value is None:
            return MISSING
        text = self.number(value, 1, signed=signed)
        return f"{text} h" if unit else text

    def hours_whole(self, value: float | None) -> str:
        """Hours without decimals when whole (a guarantee of 40 h), else one decimal."""
        if value is None:
            return MISSING
        return f"{self.number(value)} h" if float(value).is_integer() else self.hours(value)

    def percent(self, value: float | None, digits: int = 0, *, signed: bool = False) -> str:
        if value is None:
            return MISSING
        whole, tenth = self._percent_patterns
        text = format_percent(value, tenth if digits else whole, locale=self.locale)
        if signed and round(value * 100, digits) > 0:
            text = "+" + text
        return text

    def counts(self, numerator: int | None, denominator: int | None, noun: str) -> str:
        """The counts a rate was computed from, shown beside it: '41 of 50 leads'."""
        if numerator is None or denominator is None:
            return MISSING
        return f"{self.number(numerator)} of {self.number(denominator)} {noun}"

    def points(self, value: float | None) -> str:
        """A difference of two rates, in percentage points."""
        if value is None:
            return MISSING
        return self.number(value * 100, 1, signed=True) + " pts"

    def minutes(self, value: float | None) -> str:
        """A duration given in minutes: '45 min', '3 h 05 min', '2 d 4 h'."""
        if value is None:
            return MISSING
        total = round(value)
        if abs(total) < 60:
            return f"{self.number(total)} min"
        days, rest = divmod(total, 1440)
        hours, mins = divmod(rest, 60)
        if days:
            return f"{self.number(days)} d {hours} h"
        return f"{hours} h {mins:02d} min"

    def seconds(self, value: float | None) -> str:
        if value is None:
            return MISSING
        if value < 60:
            return f"{self.number(value, 1)} s"
        return self.minutes(value / 60)

    # -- dates ---------------------------------------------------------------------------
    def month(self, value: dt.date | None) -> str:
        return MISSING if value is None else format_skeleton("yMMMM", value, locale=self.locale)

    def month_short(self, value: dt.date) -> str:
        return format_skeleton("MMM", value, locale=self.locale)

    def date(self, value: dt.date | None) -> str:
        return MISSING if value is None else format_date(value, "medium", locale=self.locale)

    def day_month(self, value: dt.date) -> str:
        return format_skeleton("MMMd", value, locale=self.locale)

    def as_of(self, value: dt.datetime | None) -> str:
        """A naive-UTC instant shown in the client's zone, e.g. '4 Nov 2026, 03:00 GMT'."""
        if value is None:
            return MISSING
        local = value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(self.timezone))
        day = format_date(local.date(), "medium", locale=self.locale)
        clock = format_time(local, "HH:mm", locale=self.locale)
        return f"{day}, {clock} ({self.timezone})"
