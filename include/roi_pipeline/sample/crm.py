"""The CRM simulation: leads and their HubSpot activities, meetings and deals, month by month.

:class:`CrmSimulation` draws from the client's ``crm`` random stream. Each lead becomes a
contact; most get a first response (an email or call, by a person or, after its go-live,
by the client's automation user); some get a meeting and, after it, a deal. Clients with a
follow-up profile also get follow-up calls on earlier leads. Records are kept by the local
month an incremental extract would pick them up in (a deal: the month it was last
modified) until :meth:`CrmSimulation.take` hands a month's records to the HubSpot writer.
:func:`measured_volumes` counts the records a measured baseline's volume rule selects.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from roi_pipeline.sample.common import (
    CALLS,
    CONTACTS,
    CRM_FOLDERS,
    DAY,
    DEALS,
    EMAILS,
    EPOCH,
    HOUR,
    MEETINGS,
    Clock,
    iso_time,
    live_on,
    poisson,
)


class CrmSimulation:
    """One client's CRM records; :meth:`month` generates a month, :meth:`take` hands it over."""

    def __init__(self, spec: dict, r: random.Random, clock: Clock, months: list[date]):
        self.spec = spec
        self.r_crm = r
        self.clock = clock
        self.by_key = {wf["key"]: wf for wf in spec["workflows"]}
        self.ym_set = {(m.year, m.month) for m in months}
        self.pending: dict[tuple[int, int], dict[str, list]] = {}
        self.next_id = {"contact": 100001, "email": 5000001, "call": 6000001, "meeting": 7000001, "deal": 8000001}
        self.answered_prev: list[tuple[str, int]] = []  # (contact id, first response ms) of last month

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
        iso = iso_time(ts)
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

    def month(self, month: date, days: list[date]) -> list[int]:
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
            for _ in range(poisson(r, lam)):
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
            iso = iso_time(t)
            modified = iso_time(t + r.randint(60_000, 3 * HOUR * 1000))
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
            automated = auto_wf is not None and live_on(auto_wf, day)
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
                        "hs_timestamp": iso_time(start),
                        "hs_meeting_title": "Intro meeting",
                        "hs_meeting_start_time": iso_time(start),
                        "hs_meeting_end_time": iso_time(start + 30 * 60_000),
                        "hs_meeting_outcome": outcome,
                        "hubspot_owner_id": owner,
                        "hs_object_id": oid,
                        "hs_createdate": iso_time(booked),
                    },
                    "createdAt": iso_time(booked),
                    "updatedAt": iso_time(max(booked, start)),
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
                live = live_on(fwf, day)
                for owner_kind, lam in (("staff", fu["staff_post"] if live else fu["staff_pre"]),
                                        ("auto", fu["auto_post"] if live else 0.0)):  # fmt: skip
                    for _ in range(poisson(r, lam * season)):
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
                "closedate": iso_time(close_prop),
                "createdate": iso_time(created),
                "dealname": f"Sample deal {oid}",
                "dealstage": stage,
                "hs_is_closed_won": "true" if stage == "closedwon" else "false",
                "hs_object_id": oid,
                "hubspot_owner_id": owner,
                "pipeline": "default",
            },
            "createdAt": iso_time(created),
            "updatedAt": iso_time(modified),
            "archived": False,
            "associations": self._assoc(cid, "deal"),
        }
        # An incremental extract picks a deal up in the month it was last modified.
        self._put(DEALS, created, deal, bucket_ms=modified)

    def take(self, month: date) -> dict[str, list[dict]]:
        """The records of ``month`` per CRM folder, in time order (then id); forgets them."""
        bucket = self.pending.pop((month.year, month.month), {})
        return {
            folder: [rec[2] for rec in sorted(bucket.get(folder, []), key=lambda x: (x[0], x[1]))]
            for folder in CRM_FOLDERS
        }


def measured_volumes(workflows: list[dict], records: dict[str, list[dict]]) -> dict[str, int]:
    """Per measured workflow, how many of a month's CRM records its baseline volume rule counts."""
    volumes = {wf["key"]: 0 for wf in workflows if wf["baseline"]["method"] == "measured"}
    for folder in CRM_FOLDERS:
        for wf in workflows:
            vol = wf["baseline"].get("volume")
            if wf["baseline"]["method"] != "measured" or f"hubspot_{vol['object']}" != folder:
                continue
            direction = vol.get("direction")
            owners = set(vol.get("owner_ids") or [])
            key = {"calls": "hs_call_direction", "emails": "hs_email_direction"}.get(vol["object"])
            for obj in records[folder]:
                p = obj["properties"]
                if direction and key and p.get(key) != direction:
                    continue
                if owners and p.get("hubspot_owner_id") not in owners:
                    continue
                volumes[wf["key"]] += 1
    return volumes
