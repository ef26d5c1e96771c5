"""Landing formats: one class per vendor export, keyed by its landing folder name.

To add a format, write a :class:`~roi_pipeline.formats.base.LandingFormat` subclass in a
module of its own and add it to :data:`FORMATS`; ingestion, the raw tables and the docs
follow from its class attributes.
"""

from __future__ import annotations

from roi_pipeline.formats.base import Column, LandingFormat, ParseContext, Parsed, Rejected, UnreadableFile
from roi_pipeline.formats.hubspot import (
    HubSpotCalls,
    HubSpotContacts,
    HubSpotDeals,
    HubSpotEmails,
    HubSpotMeetings,
)
from roi_pipeline.formats.platforms import MakeScenarioLogs, ZapierZapRuns
from roi_pipeline.formats.runs import GenericRuns, N8nExecutions
from roi_pipeline.formats.timesheets import HarvestTimeEntries, TogglTimeEntries

FORMATS: dict[str, type[LandingFormat]] = {
    cls.folder: cls
    for cls in (
        N8nExecutions,
        GenericRuns,
        MakeScenarioLogs,
        ZapierZapRuns,
        HubSpotContacts,
        HubSpotCalls,
        HubSpotEmails,
        HubSpotMeetings,
        HubSpotDeals,
        HarvestTimeEntries,
        TogglTimeEntries,
    )
}

#: The folders whose files are automation run logs (n8n's own table, or ``raw.generic_runs``).
RUN_FOLDERS = tuple(folder for folder, fmt in FORMATS.items() if fmt.table in ("n8n_executions", "generic_runs"))

__all__ = ["FORMATS", "RUN_FOLDERS", "Column", "LandingFormat", "ParseContext", "Parsed", "Rejected", "UnreadableFile"]
