"""Extract landing files from the platforms' own APIs: n8n, HubSpot, Harvest, Toggl, Make.

One module per source (:mod:`.n8n`, :mod:`.hubspot`, :mod:`.harvest`, :mod:`.toggl`, :mod:`.make`), each an
:class:`~roi_pipeline.extract.base.Extractor`; :func:`extract_clients` runs them per client.
Credentials come only from Airflow connections (:mod:`.connections`); which client uses
which API is in ``$ROI_CLIENTS_DIR/extract/<client_id>.yaml`` (:mod:`.settings`). See
docs/connecting.md.
"""

from __future__ import annotations

from roi_pipeline.extract.base import Extractor, Job, LandedFile, PagingError, Window
from roi_pipeline.extract.connections import Credentials, default_connection_id, resolve_connection
from roi_pipeline.extract.http import ApiError, AuthError, HttpPolicy
from roi_pipeline.extract.runner import EXTRACTORS, ExtractReport, SourceOutcome, extract_clients
from roi_pipeline.extract.settings import SOURCES, ExtractSettings, load_extract_settings

__all__ = [
    "EXTRACTORS", "SOURCES", "ApiError", "AuthError", "Credentials", "ExtractReport", "ExtractSettings",
    "Extractor", "HttpPolicy", "Job", "LandedFile", "PagingError", "SourceOutcome", "Window", "default_connection_id",
    "extract_clients", "load_extract_settings", "resolve_connection",
]  # fmt: skip
