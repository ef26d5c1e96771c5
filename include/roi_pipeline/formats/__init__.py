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
from roi_pipeline.formats.runs import GenericRuns, N8nExecutions
from roi_pipeline.formats.timesheets import HarvestTimeEntries, TogglTimeEntries

FORMATS: dict[str, type[LandingFormat]] = {
    cls.folder: cls
    for cls in (
        N8nExecutions,
        GenericRuns,
        HubSpotContacts,
        HubSpotCalls,
        HubSpotEmails,
        HubSpotMeetings,
        HubSpotDeals,
        HarvestTimeEntries,
        TogglTimeEntries,
    )
}

__all__ = ["FORMATS", "Column", "LandingFormat", "ParseContext", "Parsed", "Rejected", "UnreadableFile"]
