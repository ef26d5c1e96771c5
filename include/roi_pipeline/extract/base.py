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

Paging: every paged call goes through :meth:`Extractor.paginate` (checkpointed, resumable) or,
for paging that is not a plain cursor chain, straight through :class:`PageGuard`. The guard
stops a run with :class:`PagingError` when a vendor repeats a cursor or a page (its paging
does not advance) or when the run's page budget (``max_pages``) is spent, so no vendor can
make an extract loop forever.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

from roi_pipeline.config import ClientConfig
from roi_pipeline.extract.connections import Credentials
from roi_pipeline.extract.http import ApiClient, ApiError, HttpPolicy
from roi_pipeline.extract.landing import SourceState, atomic_write, dumps, json_page
from roi_pipeline.extract.settings import DEFAULT_BASE_URLS, SourceSettings
from roi_pipeline.formats.base import UnreadableFile, iter_json_objects
from roi_pipeline.timeutil import add_months, month_start, zone


class ExtractConfigError(ValueError):
    """The client's extraction settings or connection lack something the source needs."""


class PagingError(ApiError):
    """A vendor's paging did not advance (a cursor or page came back) or ran past the page budget."""


_NOT_LANDED = "nothing of this run is stamped as extracted and the watermark stays where it was"


def _shown(cursor: Any) -> str:
    text = cursor if isinstance(cursor, str) else dumps(cursor)
    return repr(text if len(text) <= 80 else text[:77] + "...")


class PageGuard:
    """The one rule every paged call of a run obeys: paging must advance, within a page budget.

    ``max_pages`` counts every page fetched in this run (all queries together; pages resumed
    from a checkpoint were fetched by an earlier run). One :meth:`query` per paged query.
    """

    def __init__(self, vendor: str, label: str, max_pages: int, setting: str):
        self.vendor, self.label, self.max_pages, self.setting = vendor, label, max_pages, setting
        self.pages = 0

    def query(self, what: str, cursor: Any = None) -> PagedQuery:
        """Start watching one paged query; ``cursor``: where a resumed query starts."""
        return PagedQuery(self, what, cursor)


class PagedQuery:
    def __init__(self, guard: PageGuard, what: str, cursor: Any = None):
        self.guard, self.what = guard, what
        self.cursors: set[str] = set() if cursor is None else {dumps(cursor)}
        self.digests: set[bytes] = set()
        self.pages = 0

    def page(self, records: list[Any], cursor: Any) -> None:
        """Account for a page just fetched and the next ``cursor`` it gave (``None``: the last page).

        Raises :class:`PagingError` when the cursor or a non-empty page was seen before in this
        query, or when another page is due and the run already fetched ``max_pages``.
        """
        guard = self.guard
        guard.pages += 1
        self.pages += 1
        where = f"{guard.label}: {guard.vendor}"
        if cursor is not None:
            key = dumps(cursor)
            if key in self.cursors:
                raise PagingError(
                    f"{where} returned the paging cursor {_shown(cursor)} of {self.what} twice (page {self.pages}): "
                    f"its paging does not advance, so stopping; {_NOT_LANDED}"
                )
            self.cursors.add(key)
        if records:
            digest = hashlib.sha256(dumps(records).encode()).digest()
            if digest in self.digests:
                raise PagingError(
                    f"{where} returned the same page of {len(records)} record(s) of {self.what} again "
                    f"(page {self.pages}): its paging does not advance, so stopping; {_NOT_LANDED}"
                )
            self.digests.add(digest)
        if cursor is not None and guard.pages >= guard.max_pages:
            raise PagingError(
                f"{where} still had more pages of {self.what} after the run's page budget of {guard.max_pages} "
                f"pages: stopping; {_NOT_LANDED}. If the export really is this large, raise {guard.setting} "
                "and rerun (it resumes after the pages already fetched)"
            )


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
    #: The vendor's name, as messages show it.
    vendor: ClassVar[str]
    folders: ClassVar[tuple[str, ...]]

    def __init__(self, job: Job):
        self.job = job
        self.pager = PageGuard(
            self.vendor,
            f"{job.client.client_id}/{self.source}",
            job.settings.max_pages,
            f"{self.source}.max_pages in extract/{job.client.client_id}.yaml",
        )

    @abstractmethod
    def api(self) -> ApiClient:
        """An HTTP client for the vendor, authenticated from the job's credentials."""

    @abstractmethod
    def extract(self) -> list[LandedFile]:
        """Fetch the job's window, then write the files; raise on any failure.

        Every page is fetched before the first file is written, so a run that fails (an API
        error, paging that does not advance) writes no file; each file is written atomically.
        """

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

    def paginate(
        self, what: str, fetch: Callable[[Any], tuple[list[Any], Any]], query: dict[str, Any] | None = None
    ) -> list[Any]:
        """Every record of a paged query, through the run's :class:`PageGuard`.

        ``fetch(cursor)`` returns ``(records, next_cursor)``; the first call gets ``None`` and a
        ``None`` next cursor ends the query. ``what`` names the query in errors. With ``query``
        (what identifies it) each complete page is checkpointed, and a rerun after a failure
        resumes after the last of them.
        """
        checkpoint = self.job.state.checkpoint(query) if query is not None else None
        records, cursor, done, _pages = checkpoint.load() if checkpoint else ([], None, False, 0)
        paged = self.pager.query(what, cursor)
        while not done:
            page, cursor = fetch(cursor)
            paged.page(page, cursor)  # raises before a page that repeats is saved
            done = cursor is None
            if checkpoint:
                checkpoint.append(page, cursor, done)
            records.extend(page)
        return records

    def path(self, folder: str, month: date, suffix: str) -> Path:
        return self.job.client_dir / folder / f"{month:%Y-%m}{suffix}"

    def write_merged_months(
        self,
        folder: str,
        envelope: str,
        by_month: dict[date, list[dict[str, Any]]],
        trailer: dict[str, Any] | None = None,
        key: str = "id",
    ) -> list[LandedFile]:
        """Merge each month's records into its JSON file by ``key`` (the fetched version wins)."""
        out = []
        for month in sorted(by_month):
            path = self.path(folder, month, ".json")
            merged: dict[str, dict[str, Any]] = {}
            if path.is_file():
                try:
                    for _n, record in iter_json_objects(path, envelope):
                        if isinstance(record, dict) and record.get(key) is not None:
                            merged[str(record[key])] = record
                except UnreadableFile as exc:
                    raise UnreadableFile(f"cannot merge into {path.name}: {exc}; move it aside and rerun") from exc
            for record in by_month[month]:
                merged[str(record[key])] = record
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
