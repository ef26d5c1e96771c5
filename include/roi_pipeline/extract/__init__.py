"""Extract landing files from the platforms' own APIs: n8n, HubSpot, Harvest, Toggl, Make.

One module per source (:mod:`.n8n`, :mod:`.hubspot`, :mod:`.harvest`, :mod:`.toggl`, :mod:`.make`), each an
:class:`~roi_pipeline.extract.base.Extractor`; :func:`extract_clients` runs them per client.
Credentials come only from Airflow connections (:mod:`.connections`); which client uses
which API is in ``$ROI_CLIENTS_DIR/extract/<client_id>.yaml`` (:mod:`.settings`). See
docs/connecting.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Where each public name lives. They are imported on first use (PEP 562), so a command that
#: only registers ``roi extract`` (every ``roi`` command builds the full parser) does not pay
#: for the HTTP client and the extractors.
_WHERE = {
    "Extractor": "base", "Job": "base", "LandedFile": "base", "PagingError": "base", "Window": "base",
    "Credentials": "connections", "default_connection_id": "connections", "resolve_connection": "connections",
    "ApiError": "http", "AuthError": "http", "HttpPolicy": "http",
    "EXTRACTORS": "runner", "ExtractReport": "runner", "SourceOutcome": "runner", "extract_clients": "runner",
    "SOURCES": "settings", "ExtractSettings": "settings", "load_extract_settings": "settings",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_WHERE)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
