"""Harvest API v2 time entries -> ``harvest_time_entries/<YYYY-MM>.csv`` (Detailed time report CSV).

- ``Authorization: Bearer <token>``, ``Harvest-Account-Id``, and a ``User-Agent`` naming the
  app (Harvest asks for one); ``GET /v2/time_entries`` with ``from`` / ``to`` (the entry's
  ``spent_date``, inclusive), ``updated_since``, ``per_page``; paging follows ``links.next``
  (cursor or page) and else ``next_page``;
- every month file is a complete export of that month (its extraction record says it covers
  the month), so an edited or deleted entry disappears from the file rather than being
  merged; each row also carries the entry's id (an ``Entry ID`` column after Harvest's own),
  which identifies it from staging on (an entry moved to another month counts once, from the
  newer file). Incremental runs ask
  ``updated_since`` (watermark minus overlap) which months changed, and re-export those plus
  every month overlapping the overlap window (deletions are not reported by updated_since);
- names come from ``GET /v2/users`` (first / last name, roles, contractor flag); a token
  without permission to list users falls back to splitting ``user.name`` (and says so).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from roi_pipeline.extract.base import ExtractConfigError, Extractor, LandedFile
from roi_pipeline.extract.http import ApiClient, ApiError, AuthError
from roi_pipeline.extract.landing import csv_bytes
from roi_pipeline.extract.settings import HarvestSettings
from roi_pipeline.timeutil import add_months

HEADER = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded", "Billable?",
    "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?", "Billable Rate",
    "Billable Amount", "Cost Rate", "Cost Amount", "Currency", "External Reference URL", "Entry ID",
]  # fmt: skip


def decimal_text(value: Any) -> str:
    """A JSON number as plain decimal text (``1.5``, ``0.33``); empty for null."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def money(value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"


def yes_no(value: Any) -> str:
    return "" if value is None else ("Yes" if value else "No")


class HarvestExtractor(Extractor):
    source = "harvest"
    vendor = "Harvest"
    folders = ("harvest_time_entries",)

    @property
    def settings(self) -> HarvestSettings:
        assert isinstance(self.job.settings, HarvestSettings)
        return self.job.settings

    def api(self) -> ApiClient:
        creds = self.job.credentials
        account = self.settings.account_id or creds.extra.get("account_id") or creds.login
        if not account:
            raise ExtractConfigError(
                f"no Harvest account id: set account_id in the client's extract settings or on connection "
                f"{creds.conn_id!r} (extra account_id)"
            )
        headers = {"Authorization": f"Bearer {self.token()}", "Harvest-Account-Id": str(account)}
        agent = self.settings.user_agent or creds.extra.get("user_agent")
        if agent:
            headers["User-Agent"] = str(agent)
        return self.client(headers)

    def extract(self) -> list[LandedFile]:
        window = self.job.window
        per_page = self.settings.page_size or 2000
        exports: list[tuple[date, bytes, int]] = []  # written once every month was fetched
        with self.api() as api:
            users = self._users(api, per_page)
            if window.since is None:
                months = window.months()
            else:
                first, last = window.months()[0], window.months()[-1]
                since = {
                    "updated_since": _z(window.since),
                    "from": first.isoformat(),
                    "to": _last_day(last).isoformat(),
                }
                changed = self._entries(api, per_page, since)
                months = sorted(
                    set(window.months(window.since))
                    | {date.fromisoformat(e["spent_date"]).replace(day=1) for e in changed if e.get("spent_date")}
                )
            for month in months:
                entries = self._entries(api, per_page, {"from": month.isoformat(), "to": _last_day(month).isoformat()})
                entries = [e for e in entries if str(e.get("spent_date", ""))[:7] == f"{month:%Y-%m}"]
                entries.sort(key=lambda e: (str(e.get("spent_date")), int(e.get("id") or 0)))
                rows = [self._row(e, users) for e in entries]
                data = csv_bytes(HEADER, rows)
                exports.append((month, data, len(rows)))
            self.job.requests += api.requests
        return [self.write_file("harvest_time_entries", m, ".csv", d, n, whole_month=True) for m, d, n in exports]

    def _pages(self, api: ApiClient, path: str, key: str, params: dict[str, Any]):
        def fetch(cursor: dict[str, Any] | None):
            body, _ = api.request_json("GET", path, params=cursor or params)
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                raise ApiError(f"{api.label}: GET {path} returned no {key!r} list (unexpected response shape)")
            nxt = (body.get("links") or {}).get("next")
            if nxt:
                return body[key], dict(parse_qsl(urlsplit(nxt).query))
            if body.get("next_page"):
                return body[key], {**(cursor or params), "page": body["next_page"]}
            return body[key], None

        return fetch

    def _entries(self, api: ApiClient, per_page: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        params = {**params, "per_page": per_page}
        query = {"endpoint": "time_entries", **params}
        fetch = self._pages(api, "/v2/time_entries", "time_entries", params)
        records = self.paginate("GET /v2/time_entries", fetch, query)
        unique = {str(r.get("id")): r for r in records if isinstance(r, dict)}
        return list(unique.values())

    def _users(self, api: ApiClient, per_page: int) -> dict[str, dict[str, Any]] | None:
        fetch = self._pages(api, "/v2/users", "users", {"per_page": per_page})
        try:
            users = self.paginate("GET /v2/users", fetch)
        except AuthError as exc:
            if exc.status != 403:
                raise
            self.job.warnings.append(
                "the Harvest token may not list users (403): First / Last Name are split from the user's name "
                "and Roles / Employee? are left empty"
            )
            return None
        return {str(u.get("id")): u for u in users if isinstance(u, dict)}

    @staticmethod
    def _row(entry: dict[str, Any], users: dict[str, dict[str, Any]] | None) -> list[str]:
        def name(key: str) -> str:
            return str(((entry.get(key) or {}).get("name")) or "")

        user_ref = entry.get("user") or {}
        user = (users or {}).get(str(user_ref.get("id")))
        if user is not None:
            first, last = str(user.get("first_name") or ""), str(user.get("last_name") or "")
            roles = ", ".join(str(r) for r in user.get("roles") or [])
            employee = yes_no(not user.get("is_contractor")) if "is_contractor" in user else ""
        else:
            first, _, last = str(user_ref.get("name") or "").partition(" ")
            roles, employee = "", ""
        hours = entry.get("hours")
        billable = bool(entry.get("billable"))
        rate, cost = entry.get("billable_rate"), entry.get("cost_rate")
        amount = Decimal(str(hours)) * Decimal(str(rate)) if billable and rate is not None and hours is not None else 0
        cost_amount = Decimal(str(hours)) * Decimal(str(cost)) if cost is not None and hours is not None else None
        return [
            str(entry.get("spent_date") or ""),
            name("client"),
            name("project"),
            str((entry.get("project") or {}).get("code") or ""),
            name("task"),
            str(entry.get("notes") or ""),
            decimal_text(hours),
            decimal_text(entry.get("rounded_hours")),
            yes_no(entry.get("billable")),
            yes_no(entry.get("is_billed")),
            yes_no(entry.get("is_closed")),
            first,
            last,
            roles,
            employee,
            money(rate),
            money(amount),
            money(cost),
            money(cost_amount),
            str((entry.get("client") or {}).get("currency") or ""),
            str((entry.get("external_reference") or {}).get("permalink") or ""),
            str(entry.get("id") or ""),
        ]


def _last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _z(moment) -> str:
    from roi_pipeline.extract.landing import iso_z

    return iso_z(moment)
