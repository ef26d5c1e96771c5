"""What the sample generator's modules share: names, time units, random streams and clocks.

- the consultancy's name and the landing folder names;
- :func:`seeded_random`: a ``random.Random`` seeded from ``(seed, *parts)`` with SHA-256 (never
  ``hash()``), so the same arguments always give the same draws;
- :func:`poisson`, :func:`add_months`, :func:`iso_time` (epoch milliseconds as ISO-8601 text),
  :func:`dumps` (compact JSON);
- :class:`Clock`: local-time arithmetic for one client's zone;
- :func:`live_on` and :func:`months_since_go_live`: a sample workflow's calendar.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CONSULTANCY = "Northbeam AI Ops"

N8N = "n8n_executions"
GENERIC = "generic_runs"
MAKE = "make_scenario_logs"
ZAPIER = "zapier_zap_runs"
RUN_FOLDERS = (N8N, GENERIC, MAKE, ZAPIER)
CONTACTS = "hubspot_contacts"
CALLS = "hubspot_calls"
EMAILS = "hubspot_emails"
MEETINGS = "hubspot_meetings"
DEALS = "hubspot_deals"
CRM_FOLDERS = (CONTACTS, CALLS, EMAILS, MEETINGS, DEALS)
HARVEST = "harvest_time_entries"
TOGGL = "toggl_time_entries"

HOUR = 3600
DAY = 86400
EPOCH = date(1970, 1, 1)


def seeded_random(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def poisson(rng: random.Random, lam: float) -> int:
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


def iso_time(ms: int, *, millis: bool = True, offset_s: int | None = None) -> str:
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


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Clock:
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


def live_on(wf: dict, day: date) -> bool:
    """Whether a workflow is live on ``day`` (gone live, not yet retired)."""
    return wf["go_live"] <= day and (not wf.get("retired_on") or day < wf["retired_on"])


def months_since_go_live(wf: dict, month: date) -> int:
    """Months since the workflow's go-live month (0 = go-live month)."""
    g = wf["go_live"]
    return (month.year - g.year) * 12 + month.month - g.month
