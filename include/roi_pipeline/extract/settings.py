"""Per-client extraction settings: ``$ROI_CLIENTS_DIR/extract/<client_id>.yaml``.

The client file (``config.py``) says *what* a client's engagement is; this optional file says
*where its data comes from*. It lives in the ``extract/`` sub-folder so that
:func:`roi_pipeline.config.client_files` (which globs the top level only) never reads it as a
client file. No file = every source is ``files`` (a person drops exports; nothing to extract).

Example (every key optional; docs/connecting.md describes each)::

    n8n:     {mode: api, base_url: "https://n8n.acme.example"}
    hubspot: {mode: api}
    harvest: {mode: api, account_id: "123456"}
    toggl:   {mode: files}
    make:    {mode: api, base_url: "https://eu1.make.com"}   # the organization's zone
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SOURCES = ("n8n", "hubspot", "harvest", "toggl", "make")
Source = Literal["n8n", "hubspot", "harvest", "toggl", "make"]
HUBSPOT_OBJECTS = ("contacts", "calls", "emails", "meetings", "deals")

#: Fixed vendor hosts; overridable per client (tests point them at 127.0.0.1).
DEFAULT_BASE_URLS = {
    "hubspot": "https://api.hubapi.com",
    "harvest": "https://api.harvestapp.com",
    "toggl": "https://api.track.toggl.com",
}
#: Overlap window re-read before the watermark, per source (hours): late updates are picked up.
DEFAULT_OVERLAP_HOURS = {"n8n": 48, "make": 48, "hubspot": 72, "harvest": 72, "toggl": 24 * 35}
#: Pages one extraction run of one client's source may fetch (every paged query together)
#: before it stops with an error: a vendor whose paging never ends cannot hold a run forever.
#: A large backfill can raise it per source (``max_pages``).
DEFAULT_MAX_PAGES = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSettings(_Strict):
    mode: Literal["api", "files"] = "files"
    #: Airflow connection id; default ``roi_<client_id>_<source>`` (hyphens -> underscores).
    connection_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,250}$")] | None = None
    #: API base URL (scheme + host [+ port] [+ path prefix]); default: the vendor's host, or the
    #: connection's host. Required for n8n (self-hosted) unless the connection has a host.
    base_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    overlap_hours: Annotated[int, Field(ge=0, le=24 * 366)] | None = None
    page_size: Annotated[int, Field(ge=1, le=2000)] | None = None
    #: Page budget of one run (:data:`DEFAULT_MAX_PAGES`); more pages fail the source.
    max_pages: Annotated[int, Field(ge=1)] = DEFAULT_MAX_PAGES
    #: First month extracted when there is no watermark yet (YYYY-MM); default: the client's
    #: engagement start or first go-live minus the baseline window, whichever is earlier.
    backfill_from: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None


class N8nSettings(SourceSettings):
    page_size: Annotated[int, Field(ge=1, le=250)] | None = None  # n8n caps limit at 250
    #: ``registered``: only executions of the register's n8n workflows (one ``workflowId``
    #: query each; others would be quarantined as unknown); ``all``: every execution.
    workflows: Literal["registered", "all"] = "registered"


class HubSpotSettings(SourceSettings):
    objects: list[Literal["contacts", "calls", "emails", "meetings", "deals"]] = Field(
        default_factory=lambda: list(HUBSPOT_OBJECTS)
    )
    page_size: Annotated[int, Field(ge=1, le=200)] | None = None
    #: Extra properties to request (e.g. a custom lead-source property).
    extra_properties: dict[str, list[str]] = Field(default_factory=dict)
    #: Results one search query may return before it must be split (HubSpot: 10,000).
    search_cap: Annotated[int, Field(ge=1, le=10_000)] = 10_000


class HarvestSettings(SourceSettings):
    #: Harvest-Account-Id; else the connection's extra ``account_id`` (or its login).
    account_id: Annotated[str, Field(pattern=r"^\d+$")] | None = None
    #: Harvest asks for a User-Agent naming the app and a contact.
    user_agent: str | None = None

    @field_validator("account_id", mode="before")
    @classmethod
    def _str(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class TogglSettings(SourceSettings):
    #: Toggl Track workspace id; else the connection's extra ``workspace_id``.
    workspace_id: Annotated[int, Field(ge=1)] | None = None


class MakeSettings(SourceSettings):
    #: ``pg[limit]`` of the scenario-log pages (Make's maximum is not documented: keep it modest).
    page_size: Annotated[int, Field(ge=1, le=1000)] | None = None


class ExtractSettings(_Strict):
    n8n: N8nSettings = Field(default_factory=N8nSettings)
    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)
    harvest: HarvestSettings = Field(default_factory=HarvestSettings)
    toggl: TogglSettings = Field(default_factory=TogglSettings)
    make: MakeSettings = Field(default_factory=MakeSettings)

    def source(self, name: str) -> SourceSettings:
        return getattr(self, name)


class ExtractSettingsError(ValueError):
    pass


def settings_path(clients_dir: Path, client_id: str) -> Path:
    return Path(clients_dir) / "extract" / f"{client_id}.yaml"


def load_extract_settings(clients_dir: Path | None, client_id: str) -> ExtractSettings:
    """The client's extraction settings; all-``files`` defaults when the file is absent."""
    if clients_dir is None:
        return ExtractSettings()
    path = settings_path(clients_dir, client_id)
    if not path.is_file():
        return ExtractSettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ExtractSettingsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise ExtractSettingsError(f"{path}: expected a mapping of sources at the top level")
    try:
        return ExtractSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: "
            + ("unknown field" if err["type"] == "extra_forbidden" else err["msg"])
            for err in exc.errors(include_url=False)
        )
        raise ExtractSettingsError(f"{path}: {problems}") from exc
