"""HubSpot CRM v3 objects: contacts, calls, emails, meetings, deals (+ their associations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.formats import plausibility
from roi_pipeline.formats.base import (
    Column,
    LandingFormat,
    ParseContext,
    Parsed,
    Rejected,
    boolean,
    instant,
    iter_json_objects,
    number,
    optional_str,
    record_json,
    reject_malformed,
    require,
)
from roi_pipeline.timeutil import BadTimestamp, parse_epoch_millis

ASSOCIATIONS_TABLE = "hubspot_associations"
ASSOCIATION_COLUMNS = (
    Column("object_type", "varchar", "contacts / calls / emails / meetings / deals"),
    Column("object_id", "varchar"),
    Column("to_object_type", "varchar"),
    Column("to_object_id", "varchar"),
    Column("association_type", "varchar", "HubSpot association type label, e.g. call_to_contact"),
)

_COMMON = (
    Column("id", "varchar", "HubSpot object id"),
    Column("created_at", "timestamp", "createdAt, UTC"),
    Column("updated_at", "timestamp", "updatedAt, UTC"),
    Column("archived", "boolean"),
    Column("owner_id", "varchar", "hubspot_owner_id: the CRM user who owns / performed it"),
)


def hubspot_instant(value: Any, ctx: ParseContext, what: str, *, required: bool = False):
    """HubSpot sends ISO-8601 strings, and epoch milliseconds in some older properties."""
    text = optional_str(value)
    if text is not None and text.isdigit():
        try:
            return parse_epoch_millis(text)
        except BadTimestamp as exc:
            raise Rejected(f"bad {what}: {exc}") from exc
    return instant(text, ctx, what, required=required)[0]


class HubSpotObjects(LandingFormat):
    """Shared shape of the five object folders; subclasses name their properties."""

    object_type: ClassVar[str]
    suffixes = (".json", ".jsonl")
    child_tables: ClassVar[dict[str, tuple[Column, ...]]] = {ASSOCIATIONS_TABLE: ASSOCIATION_COLUMNS}
    # HubSpot's own record times only: hs_timestamp / closedate may lie in the future.
    record_time_columns = ("created_at", "updated_at")
    version = 2  # 2: records with a time after the export (past_properties) are quarantined
    #: Properties (row columns) that had happened by the export, besides createdAt / updatedAt:
    #: one after the file's extraction time quarantines the record (formats/plausibility.py).
    past_properties: ClassVar[tuple[str, ...]] = ()
    nested_fields = ("properties",)

    def records(self, path: Path, ctx: ParseContext) -> Iterator[tuple[int, Any]]:
        return iter_json_objects(path, "results")

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        reject_malformed(record)
        object_id = require(record, "id", "object id")
        props = record.get("properties") or {}
        if not isinstance(props, dict):
            raise Rejected("properties is not an object")
        row = {
            "id": object_id,
            "created_at": hubspot_instant(record.get("createdAt"), ctx, "createdAt"),
            "updated_at": hubspot_instant(record.get("updatedAt"), ctx, "updatedAt"),
            "archived": record.get("archived") if isinstance(record.get("archived"), bool) else None,
            "owner_id": optional_str(props.get("hubspot_owner_id")),
            **self.extra(props, ctx),
            "_record": record_json(record),
        }
        plausibility.not_future(
            ctx,
            ("createdAt", row["created_at"]),
            ("updatedAt", row["updated_at"]),
            *((name, row[name]) for name in self.past_properties),
        )
        return Parsed(row, {ASSOCIATIONS_TABLE: self._associations(object_id, record)})

    def _associations(self, object_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        associations = record.get("associations") or {}
        if not isinstance(associations, dict):
            raise Rejected("associations is not an object")
        for to_type in sorted(associations):
            block = associations[to_type] or {}
            if not isinstance(block, dict):
                raise Rejected(f"associations.{to_type} is not an object")
            results = block.get("results") or []
            if not isinstance(results, list):
                raise Rejected(f"associations.{to_type}.results is not a list")
            for item in results:
                to_id = optional_str(item.get("id") if isinstance(item, dict) else None)
                if to_id is None:
                    raise Rejected(f"association to {to_type} without an id")
                rows.append(
                    {
                        "object_type": self.object_type,
                        "object_id": object_id,
                        "to_object_type": to_type,
                        "to_object_id": to_id,
                        "association_type": optional_str(item.get("type")),
                    }
                )
        return rows


class HubSpotContacts(HubSpotObjects):
    folder = table = "hubspot_contacts"
    figure_fields = ("properties.createdate", "properties.lifecyclestage")  # read by the CRM KPIs (int_crm_*)
    object_type = "contacts"
    description = "HubSpot contacts (leads)"
    past_properties = ("createdate",)
    columns = (
        *_COMMON,
        Column("createdate", "timestamp", "createdate property (else createdAt), UTC: when the lead was created"),
        Column("lifecyclestage", "varchar"),
        Column("properties_json", "varchar", "every property as landed (lead filters read from it)"),
    )

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        import json

        return {
            "createdate": hubspot_instant(props.get("createdate"), ctx, "createdate"),
            "lifecyclestage": optional_str(props.get("lifecyclestage")),
            "properties_json": json.dumps(props, sort_keys=True, ensure_ascii=False),
        }

    def parse(self, record: Any, ctx: ParseContext) -> Parsed:
        parsed = super().parse(record, ctx)
        row = parsed.row
        if row["createdate"] is None:
            row["createdate"] = row["created_at"]
        if row["createdate"] is None:
            raise Rejected("missing createdate (and createdAt)")
        return parsed


class HubSpotCalls(HubSpotObjects):
    folder = table = "hubspot_calls"
    figure_fields = ("properties.hs_call_direction",)  # read by the CRM KPIs (int_crm_*)
    object_type = "calls"
    description = "HubSpot call engagements"
    past_properties = ("hs_timestamp",)
    columns = (
        *_COMMON,
        Column("hs_timestamp", "timestamp", "when the call happened, UTC"),
        Column("hs_call_direction", "varchar", "INBOUND / OUTBOUND"),
        Column("hs_call_status", "varchar"),
        Column("hs_call_duration_ms", "bigint"),
    )

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        return {
            "hs_timestamp": hubspot_instant(props.get("hs_timestamp"), ctx, "hs_timestamp", required=True),
            "hs_call_direction": (optional_str(props.get("hs_call_direction")) or "").upper() or None,
            "hs_call_status": optional_str(props.get("hs_call_status")),
            "hs_call_duration_ms": number(props.get("hs_call_duration"), "hs_call_duration", integer=True),
        }


class HubSpotEmails(HubSpotObjects):
    folder = table = "hubspot_emails"
    figure_fields = ("properties.hs_email_direction",)  # read by the CRM KPIs (int_crm_*)
    object_type = "emails"
    description = "HubSpot email engagements"
    past_properties = ("hs_timestamp",)
    columns = (
        *_COMMON,
        Column("hs_timestamp", "timestamp", "when the email was sent/received, UTC"),
        Column("hs_email_direction", "varchar", "EMAIL (outbound) / INCOMING_EMAIL / FORWARDED_EMAIL"),
        Column("hs_email_status", "varchar"),
    )

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        return {
            "hs_timestamp": hubspot_instant(props.get("hs_timestamp"), ctx, "hs_timestamp", required=True),
            "hs_email_direction": (optional_str(props.get("hs_email_direction")) or "").upper() or None,
            "hs_email_status": optional_str(props.get("hs_email_status")),
        }


class HubSpotMeetings(HubSpotObjects):
    folder = table = "hubspot_meetings"
    figure_fields = ("properties.hs_meeting_outcome",)  # read by the CRM KPIs (int_crm_*)
    object_type = "meetings"
    description = "HubSpot meeting engagements"
    columns = (
        *_COMMON,
        Column("hs_timestamp", "timestamp", "the meeting's timestamp, UTC"),
        Column("hs_meeting_outcome", "varchar"),
        Column("hs_meeting_start_time", "timestamp"),
        Column("hs_meeting_end_time", "timestamp"),
    )

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        start = hubspot_instant(props.get("hs_meeting_start_time"), ctx, "hs_meeting_start_time")
        end = hubspot_instant(props.get("hs_meeting_end_time"), ctx, "hs_meeting_end_time")
        if start is not None and end is not None and end < start:
            raise Rejected("negative duration: meeting ends before it starts")
        return {
            "hs_timestamp": hubspot_instant(props.get("hs_timestamp"), ctx, "hs_timestamp", required=True),
            "hs_meeting_outcome": optional_str(props.get("hs_meeting_outcome")),
            "hs_meeting_start_time": start,
            "hs_meeting_end_time": end,
        }


class HubSpotDeals(HubSpotObjects):
    folder = table = "hubspot_deals"
    figure_fields = ("properties.createdate",)  # read by the CRM KPIs (int_crm_*)
    object_type = "deals"
    description = "HubSpot deals"
    past_properties = ("createdate",)
    columns = (
        *_COMMON,
        Column("dealname", "varchar"),
        Column("amount", "double"),
        Column("dealstage", "varchar"),
        Column("pipeline", "varchar"),
        Column("createdate", "timestamp"),
        Column("closedate", "timestamp"),
        Column("hs_is_closed_won", "boolean"),
    )

    def extra(self, props: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
        return {
            "dealname": optional_str(props.get("dealname")),
            "amount": number(props.get("amount"), "amount", minimum=None),
            "dealstage": optional_str(props.get("dealstage")),
            "pipeline": optional_str(props.get("pipeline")),
            "createdate": hubspot_instant(props.get("createdate"), ctx, "createdate"),
            "closedate": hubspot_instant(props.get("closedate"), ctx, "closedate"),
            "hs_is_closed_won": boolean(props.get("hs_is_closed_won")),
        }
