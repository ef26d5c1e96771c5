"""HubSpot CRM v3: contacts, calls, emails, meetings, deals -> ``hubspot_<object>/<YYYY-MM>.json``.

- Private-app token as ``Authorization: Bearer``; ``POST /crm/v3/objects/<object>/search``
  with ``after`` paging, sorted by ``hs_object_id`` so paging is stable.
- The search API returns at most 10,000 results per query (asking past that is refused):
  every query is bounded by a date range and first probed (``limit=1``) for its ``total``;
  a range over the cap is halved until each part is under it, so a large month is never
  silently truncated.
- Full extract: records *created* in the window (``createdate`` for contacts and deals,
  ``hs_createdate`` for engagements). Incremental: records *modified* since the watermark
  minus the overlap (``lastmodifieddate`` / ``hs_lastmodifieddate``).
- A one-month run (the monthly DAG's) also fetches what month M's figures read beyond the
  records created in M: calls, emails and meetings by ``hs_timestamp`` and deals by
  ``closedate`` from the start of M to the later of the settle cutoff and the end of the
  cohort windows (responses up to the cutoff, meetings and deals closed within 30 days of
  each lead, deals closed after M included), and every object modified since the last
  extract minus the overlap, whatever month it was created in. Each is one more bounded
  search; records are merged by id, so one found by two searches lands once.
- Search results carry no associations, so they are read with the v4 batch endpoint
  ``POST /crm/v4/associations/<from>/<to>/batch/read`` and landed in the list endpoint's
  shape (``associations.<to>.results[] = {id, type}``; ``type`` = the label, or
  ``<from>_to_<to>`` for the unlabeled default, e.g. ``call_to_contact``).
- Files are by local month of ``createdAt`` and merged by id. Only the properties the
  pipeline reads are requested (plus the lead-filter property and ``extra_properties``):
  no names, e-mail addresses or phone numbers are downloaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from roi_pipeline.extract.base import Extractor, LandedFile, iso_ms, parse_iso
from roi_pipeline.extract.http import ApiClient, ApiError
from roi_pipeline.extract.settings import HubSpotSettings

PROPERTIES = {
    "contacts": ["createdate", "lastmodifieddate", "hubspot_owner_id", "lifecyclestage"],
    "calls": ["hs_timestamp", "hs_call_direction", "hs_call_status", "hs_call_duration", "hubspot_owner_id"],
    "emails": ["hs_timestamp", "hs_email_direction", "hs_email_status", "hubspot_owner_id"],
    "meetings": [
        "hs_timestamp",
        "hs_meeting_outcome",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hubspot_owner_id",
    ],
    "deals": [
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "createdate",
        "closedate",
        "hs_is_closed_won",
        "hubspot_owner_id",
    ],
}
CREATED = {"contacts": "createdate", "deals": "createdate"}  # engagements: hs_createdate
MODIFIED = {"contacts": "lastmodifieddate"}  # everything else: hs_lastmodifieddate
# The event time M's figures read after M: a response / meeting at its hs_timestamp, a deal by
# its close date (contacts: the leads are the contacts created in M, nothing more to follow).
DATED = {"calls": "hs_timestamp", "emails": "hs_timestamp", "meetings": "hs_timestamp", "deals": "closedate"}
ASSOCIATED = {"contacts": (), "calls": ("contacts", "deals"), "emails": ("contacts", "deals"),
              "meetings": ("contacts", "deals"), "deals": ("contacts",)}  # fmt: skip
SINGULAR = {"contacts": "contact", "calls": "call", "emails": "email", "meetings": "meeting", "deals": "deal"}
ASSOCIATION_BATCH = 100


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


class HubSpotExtractor(Extractor):
    source = "hubspot"
    vendor = "HubSpot"
    folders = tuple(f"hubspot_{o}" for o in PROPERTIES)

    @property
    def settings(self) -> HubSpotSettings:
        assert isinstance(self.job.settings, HubSpotSettings)
        return self.job.settings

    def api(self) -> ApiClient:
        return self.client({"Authorization": f"Bearer {self.token()}"})

    def properties(self, obj: str) -> list[str]:
        props = [*PROPERTIES[obj], CREATED.get(obj, "hs_createdate"), MODIFIED.get(obj, "hs_lastmodifieddate")]
        lead_filter = self.job.client.crm.lead_filter
        if obj == "contacts" and lead_filter is not None:
            props.append(lead_filter.property)
        props.extend(self.settings.extra_properties.get(obj, []))
        return sorted(set(props))

    def extract(self) -> list[LandedFile]:
        window = self.job.window
        fetched: dict[str, dict[Any, list[dict[str, Any]]]] = {}  # written once every object was fetched
        with self.api() as api:
            for obj in self.settings.objects:
                ranges = [r for search in self._searches(obj) for r in self._split(api, obj, *search)]
                records: dict[str, dict[str, Any]] = {}
                for prop, lo, hi, fixed in ranges:
                    for record in self._collect(api, obj, prop, lo, hi, fixed):
                        records[str(record["id"])] = record
                self._associate(api, obj, records)
                by_month = self.by_month(records.values(), lambda r: parse_iso(r.get("createdAt")))
                if window.since is None:
                    for month in window.months():
                        by_month.setdefault(month, [])
                fetched[obj] = by_month
            self.job.requests += api.requests
        return [
            f for obj, months in fetched.items() for f in self.write_merged_months(f"hubspot_{obj}", "results", months)
        ]

    # ----------------------------------------------------------------- search

    def _searches(self, obj: str) -> list[tuple[str, int, int, list[dict[str, str]]]]:
        """``(property, lo, hi, fixed filters)`` of every search the window needs for ``obj``."""
        window = self.job.window
        created = CREATED.get(obj, "hs_createdate")
        modified = MODIFIED.get(obj, "hs_lastmodifieddate")
        if window.since is None:
            out = [(created, _ms(window.start), _ms(window.end), [])]
        else:
            fixed = self._range(created, _ms(window.start), _ms(window.end))
            out = [(modified, _ms(window.since), _ms(window.end), fixed)]
        if window.follow_up is not None and obj in DATED:
            out.append((DATED[obj], _ms(window.start), _ms(window.follow_up), []))
        if window.refresh is not None:
            out.append((modified, _ms(window.refresh[0]), _ms(window.refresh[1]), []))
        return out

    @staticmethod
    def _range(prop: str, lo: int, hi: int) -> list[dict[str, str]]:
        return [
            {"propertyName": prop, "operator": "GTE", "value": str(lo)},
            {"propertyName": prop, "operator": "LT", "value": str(hi)},
        ]

    def _body(self, obj: str, filters: list[dict[str, str]], limit: int, after: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.properties(obj),
            "limit": limit,
        }
        if after is not None:
            body["after"] = after
        return body

    def _search(self, api: ApiClient, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        data, _ = api.request_json("POST", f"/crm/v3/objects/{obj}/search", json=body)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ApiError(f"{api.label}: search of {obj} returned no 'results' list (unexpected response shape)")
        return data

    def _split(self, api: ApiClient, obj: str, prop: str, lo: int, hi: int, fixed: list) -> list[tuple]:
        """Date ranges of ``prop`` covering ``[lo, hi)``, each holding at most ``search_cap`` results."""
        if hi <= lo:
            return []
        cap = self.settings.search_cap
        query = {"endpoint": f"{obj}/search", "prop": prop, "lo": lo, "hi": hi, "fixed": fixed}
        if self.job.state.checkpoint(query).path.is_file():
            return [(prop, lo, hi, fixed)]  # a query already under way was under the cap
        total = self._search(api, obj, self._body(obj, [*fixed, *self._range(prop, lo, hi)], 1, None)).get("total")
        if not isinstance(total, int) or total <= cap:
            return [(prop, lo, hi, fixed)]
        if hi - lo <= 1:
            raise ApiError(
                f"{api.label}: {total} {obj} share one {prop} millisecond; more than the search API's "
                f"{cap}-result cap, they cannot be windowed further"
            )
        mid = lo + (hi - lo) // 2
        self.job.say(f"    {obj}: {total} results between {iso_ms(_dt(lo))} and {iso_ms(_dt(hi))}: splitting")
        return self._split(api, obj, prop, lo, mid, fixed) + self._split(api, obj, prop, mid, hi, fixed)

    def _collect(self, api: ApiClient, obj: str, prop: str, lo: int, hi: int, fixed: list) -> list[dict[str, Any]]:
        limit = self.settings.page_size or 100
        filters = [*fixed, *self._range(prop, lo, hi)]
        query = {"endpoint": f"{obj}/search", "prop": prop, "lo": lo, "hi": hi, "fixed": fixed}

        def fetch(after: str | None):
            data = self._search(api, obj, self._body(obj, filters, limit, after))
            for record in data["results"]:
                if not isinstance(record, dict) or record.get("id") is None:
                    raise ApiError(f"{api.label}: search of {obj} returned a result without an id")
            nxt = ((data.get("paging") or {}).get("next") or {}).get("after")
            return data["results"], (str(nxt) if nxt else None)

        return self.paginate(f"the {obj} search", fetch, query)

    # ----------------------------------------------------------------- associations

    def _associate(self, api: ApiClient, obj: str, records: dict[str, dict[str, Any]]) -> None:
        ids = sorted(records, key=lambda i: (len(i), i))
        for record in records.values():
            record.pop("associations", None)
        for to in ASSOCIATED[obj]:
            found: dict[str, dict[tuple[str, str], dict[str, str]]] = {}
            for start in range(0, len(ids), ASSOCIATION_BATCH):
                inputs: list[dict[str, str]] = [{"id": i} for i in ids[start : start + ASSOCIATION_BATCH]]
                paged = self.pager.query(f"the {obj}->{to} associations")
                while inputs:
                    data, _ = api.request_json(
                        "POST", f"/crm/v4/associations/{obj}/{to}/batch/read", json={"inputs": inputs}
                    )
                    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                        raise ApiError(f"{api.label}: association read {obj}->{to} returned no 'results' list")
                    inputs = []
                    for result in data["results"]:
                        from_id = str((result.get("from") or {}).get("id"))
                        bucket = found.setdefault(from_id, {})
                        for target in result.get("to") or []:
                            to_id = str(target.get("toObjectId"))
                            for kind in target.get("associationTypes") or [{}]:
                                label = kind.get("label") or f"{SINGULAR[obj]}_to_{SINGULAR[to]}"
                                bucket[(to_id, label)] = {"id": to_id, "type": label}
                        after = ((result.get("paging") or {}).get("next") or {}).get("after")
                        if after:
                            inputs.append({"id": from_id, "after": str(after)})
                    paged.page(data["results"], [[i["id"], i["after"]] for i in inputs] or None)
            for from_id, bucket in found.items():
                if from_id in records and bucket:
                    ordered = [bucket[k] for k in sorted(bucket, key=lambda k: ((len(k[0]), k[0]), k[1]))]
                    records[from_id].setdefault("associations", {})[to] = {"results": ordered}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
