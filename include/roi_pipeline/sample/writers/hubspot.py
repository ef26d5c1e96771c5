"""HubSpot CRM exports: one ``{"results": [...]}`` page per object type and month (CRM v3 objects API)."""

from __future__ import annotations

from datetime import date

from roi_pipeline.sample.common import CRM_FOLDERS, dumps
from roi_pipeline.sample.landing import ClientLanding


def write_month(landing: ClientLanding, month: date, records: dict[str, list[dict]]) -> None:
    """Write ``<folder>/YYYY-MM.json`` for every CRM folder, one record a line."""
    name = f"{month:%Y-%m}.json"
    for folder in CRM_FOLDERS:
        with landing.path(folder, name).open("w", encoding="utf-8", newline="\n") as fh:
            fh.write('{"results":[')
            fh.write(",".join("\n" + dumps(rec) for rec in records[folder]))
            fh.write("\n]}\n")
        landing.count(folder, len(records[folder]))
