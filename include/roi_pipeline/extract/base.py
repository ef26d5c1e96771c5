"""The interface every source's extractor implements, and what they share.

An extractor reads one vendor API for one client and writes that client's landing files
for its folder(s), in the vendor's own format (docs/landing.md). It is built with a
:class:`Job` (client, settings, credentials, HTTP policy, state, window) and does one thing,
:meth:`Extractor.extract`, returning the files it wrote. The runner
(:mod:`roi_pipeline.extract.runner`) owns everything around it: which window, watermark,
resume, error isolation and the report.

File unit: **one file per landing folder and local calendar month** (``2026-01.json`` /
``2026-01.csv``), months in the client's time zone. Sources with stable ids (n8n, HubSpot)
*merge* fetched records into the month's file by id (a later version of a record replaces
the earlier one; a record the vendor has since pruned stays: the landed files are the
system of record). A Harvest / Toggl month file is always a complete re-export of that month
(an edited or deleted entry must not survive): its extraction record states that it covers
the whole month, and its rows carry the vendor's entry id (``Entry ID`` column).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.config import ClientConfig
from roi_pipeline.extract.connections import Credentials
from roi_pipeline.extract.http import ApiClient, HttpPolicy
from roi_pipeline.extract.landing import SourceState, atomic_write, json_page
from roi_pipeline.extract.settings import DEFAULT_BASE_URLS, SourceSettings
from roi_pipeline.formats.base import UnreadableFile, iter_json_objects
from roi_pipeline.timeutil import add_months, month_start, zone


class ExtractConfigError(ValueError):
    """The client's extraction settings or connection lack something the source needs."""


def month_bounds(month: date, tz: str) -> tuple[datetime, datetime]:
    """First instant of the local month and of the next one, as aware UTC datetimes."""
    first = month_start(month)
    start = datetime.combine(first, time(), tzinfo=zone(tz)).astimezone(UTC)
    end = datetime.combine(add_months(first, 1), time(), tzinfo=zone(tz)).astimezone(UTC)
    return start, end


def local_month(moment: datetime, tz: str) -> date:
    return month_start(moment.astimezone(zone(tz)).date())


def parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Window:
    """What to extract: records of local months overlapping ``[start, end)``.

    ``since`` None = every record of those months (first run, ``full``); otherwise only what
    changed at or after ``since`` (the watermark minus the overlap window).

    A one-month run also reads what that month's figures need beyond the records created in
    it (sources that can filter by it: HubSpot). ``follow_up``: records dated (by their own
    event time: an activity's ``hs_timestamp``, a deal's ``closedate``) from ``start`` up to
    here: responses up to the settle cutoff, meetings and closed deals in the cohort windows.
    ``refresh``: ``[lo, hi)`` of modification time: every record changed since the last
    extract (minus the overlap), whatever month it was created in.
    """

    start: datetime
    end: datetime
    since: datetime | None
    tz: str
    follow_up: datetime | None = None
    refresh: tuple[datetime, datetime] | None = None

    def months(self, moment: datetime | None = None) -> list[date]:
        """Local months overlapping ``[max(moment, start), end)``."""
        lower = max(moment, self.start) if moment else self.start
        first, last = local_month(lower, self.tz), local_month(self.end - _TICK, self.tz)
        out = []
        while first <= last:
            out.append(first)
            first = add_months(first, 1)
        return out

    def lower(self) -> datetime:
        return max(self.since, self.start) if self.since else self.start


_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class LandedFile:
    folder: str
    name: str
    records: int
    written: bool  # False: the file already held exactly these bytes
    covers: tuple[date, date] | None = None  # timesheets: the local dates the file is complete for


@dataclass
class Job:
    client: ClientConfig
    source: str
    settings: SourceSettings
    credentials: Credentials
    client_dir: Path
    state: SourceState
    policy: HttpPolicy
    window: Window
    say: Callable[[str], None] = lambda _line: None
    warnings: list[str] = field(default_factory=list)
    requests: int = 0


class Extractor(ABC):
    """One vendor API -> one client's landing folder(s)."""

    source: ClassVar[str]
    folders: ClassVar[tuple[str, ...]]

    def __init__(self, job: Job):
        self.job = job

    @abstractmethod
    def api(self) -> ApiClient:
        """An HTTP client for the vendor, authenticated from the job's credentials."""

    @abstractmethod
    def extract(self) -> list[LandedFile]:
        """Fetch the job's window and write the files; raise on any failure (nothing half-written)."""

    # ----------------------------------------------------------------- shared helpers

    def base_url(self) -> str:
        url = self.job.settings.base_url or self.job.credentials.base_url() or DEFAULT_BASE_URLS.get(self.source)
        if not url:
            raise ExtractConfigError(
                f"no base URL: set base_url in the client's extract settings or a host on connection "
                f"{self.job.credentials.conn_id!r}"
            )
        return url.rstrip("/")

    def token(self) -> str:
        token = self.job.credentials.token()
        if not token:
            raise ExtractConfigError(f"connection {self.job.credentials.conn_id!r} has no password / token")
        return token

    def client(self, headers: dict[str, str], *, auth: Any = None, base_url: str | None = None) -> ApiClient:
        return ApiClient(
            base_url or self.base_url(),
            headers=headers,
            secrets=self.job.credentials.secrets(),
            policy=self.job.policy,
            label=f"{self.job.client.client_id}/{self.source}",
            auth=auth,
        )

    def path(self, folder: str, month: date, suffix: str) -> Path:
        return self.job.client_dir / folder / f"{month:%Y-%m}{suffix}"

    def write_merged_months(
        self,
        folder: str,
        envelope: str,
        by_month: dict[date, list[dict[str, Any]]],
        trailer: dict[str, Any] | None = None,
    ) -> list[LandedFile]:
        """Merge each month's records into its JSON file by id (the fetched version wins)."""
        out = []
        for month in sorted(by_month):
            path = self.path(folder, month, ".json")
            merged: dict[str, dict[str, Any]] = {}
            if path.is_file():
                try:
                    for _n, record in iter_json_objects(path, envelope):
                        if isinstance(record, dict) and record.get("id") is not None:
                            merged[str(record["id"])] = record
                except UnreadableFile as exc:
                    raise UnreadableFile(f"cannot merge into {path.name}: {exc}; move it aside and rerun") from exc
            for record in by_month[month]:
                merged[str(record["id"])] = record
            written = atomic_write(path, json_page(envelope, list(merged.values()), trailer))
            out.append(LandedFile(folder, path.name, len(merged), written))
        return out

    def write_file(
        self, folder: str, month: date, suffix: str, data: bytes, records: int, *, whole_month: bool = False
    ) -> LandedFile:
        """Write one month's file; ``whole_month``: it is complete for every local date of the month."""
        path = self.path(folder, month, suffix)
        covers = (month, add_months(month, 1) - timedelta(days=1)) if whole_month else None
        return LandedFile(folder, path.name, records, atomic_write(path, data), covers)

    def by_month(self, records: Iterable[dict[str, Any]], moment: Callable[[dict[str, Any]], datetime | None]):
        out: dict[date, list[dict[str, Any]]] = {}
        for record in records:
            when = moment(record)
            if when is None:
                continue
            out.setdefault(local_month(when, self.job.window.tz), []).append(record)
        return out
