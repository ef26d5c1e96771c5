"""Build one client's monthly report and publish it: report.html, report.pdf, report.json, tasks.csv, inventory.csv.

    render_client_month(warehouse, "harbour-legal", "2026-10", reports_dir, quality=status)

writes ``<reports_dir>/harbour-legal/2026-10/`` atomically (see :mod:`.publish`). A report
whose quality status is not publishable is held back: nothing is written and the month's
directory, if one was published earlier, is left as it was (the earlier report stays the
record of what the client was shown; the portfolio says it is held back and why).
``render_draft`` renders a month as a DRAFT under ``<reports_dir>/_drafts/`` instead.

The pieces are in their own modules: the document (:mod:`.document`), the CSV files
(:mod:`.csv_files`), the HTML (:mod:`.client_html`), the PDF (:mod:`.pdf`) and the JSON
schema (:mod:`.schema`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_pipeline.report.client_html import render_html
from roi_pipeline.report.csv_files import inventory_csv, tasks_csv
from roi_pipeline.report.data import ClientMonthData, load_client_month, month_start
from roi_pipeline.report.document import build_document, code_version, restatement_changes
from roi_pipeline.report.pdf import html_to_pdf
from roi_pipeline.report.publish import locked, publish_dir, recover
from roi_pipeline.report.schema import dump_json, validate
from roi_pipeline.report.status import Consultancy, QualityStatus, load_consultancy

FILES = ("report.html", "report.pdf", "report.json", "tasks.csv", "inventory.csv")
PREVIOUS = "report.previous.json"
#: Every report.json superseded before the one in PREVIOUS, oldest first (1 = the first
#: published): a restatement moves PREVIOUS here under the next number. The published
#: history is kept, never overwritten (docs/method.md, Restated).
EARLIER = "report.previous.{n}.json"
#: Drafts live apart from the published tree: <reports>/_drafts/<client>/<month>/report.draft.*
DRAFTS_DIR = "_drafts"


@dataclass
class ReportResult:
    """What happened to one client-month."""

    client_id: str
    month: str
    #: 'published', 'held_back' or 'draft' (render_draft).
    status: str
    directory: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    #: The month had no data: the report says so explicitly.
    no_data: bool = False
    #: The figures differ from the report published before for this month.
    restated: bool = False
    #: Held back: the quality reasons.
    reasons: list[str] = field(default_factory=list)
    #: Held back while an earlier report for the month exists (left untouched).
    earlier_report_kept: bool = False


@dataclass
class RenderedReport:
    """The rendered text outputs of one client-month, before the PDF and publication."""

    document: dict[str, Any]
    html: str
    tasks_csv: bytes
    json_bytes: bytes
    inventory_csv: bytes = b""


def build_report(
    warehouse: Path,
    client_id: str,
    month: str,
    *,
    quality: QualityStatus | None = None,
    consultancy: Consultancy | None = None,
    previous: bytes | None = None,
    data: ClientMonthData | None = None,
    draft: bool = False,
) -> tuple[RenderedReport, bytes | None]:
    """Everything but the PDF and the files: (rendered report, bytes of report.previous.json).

    ``previous`` is the report.json published before for the month, if any: a document whose
    figures differ from it carries a restatement block, and the previous document is kept
    as report.previous.json. Identical figures carry the earlier restatement forward, so a
    re-run is byte-identical.
    """
    quality = quality or QualityStatus()
    consultancy = consultancy or Consultancy()
    if data is None:
        data = load_client_month(Path(warehouse), client_id, month)
    doc = build_document(data, quality=quality, consultancy=consultancy, code=code_version())
    if draft:
        doc["draft"] = True
    csv_bytes, csv_rows = tasks_csv(data)
    doc["lineage"]["tasks_csv"] = {"sha256": hashlib.sha256(csv_bytes).hexdigest(), "rows": csv_rows}
    inventory_bytes, inventory_rows = inventory_csv(doc)
    doc["lineage"]["inventory_csv"] = {
        "sha256": hashlib.sha256(inventory_bytes).hexdigest(),
        "rows": inventory_rows,
    }
    keep_previous: bytes | None = None
    if previous is not None:
        try:
            earlier = json.loads(previous)
        except ValueError:
            earlier = None
        if isinstance(earlier, dict) and earlier.get("status") == "ok":
            changes = restatement_changes(earlier, doc)
            if changes:
                doc["restatement"] = {
                    "previous_as_of": earlier.get("as_of"),
                    "previous_report_sha256": hashlib.sha256(previous).hexdigest(),
                    "previous_mart_snapshot_sha256": (earlier.get("lineage") or {}).get("mart_snapshot_sha256"),
                    "previous_code": (earlier.get("lineage") or {}).get("code"),
                    "kept_as": PREVIOUS,
                    "changes": changes,
                }
                keep_previous = previous
            else:
                doc["restatement"] = earlier.get("restatement")
    validate(doc)
    html = render_html(doc)
    return RenderedReport(doc, html, csv_bytes, dump_json(doc), inventory_bytes), keep_previous


def render_client_month(
    warehouse: Path,
    client_id: str,
    month: str,
    reports_dir: Path,
    *,
    quality: QualityStatus | None = None,
    consultancy: Consultancy | None = None,
) -> ReportResult:
    """Render and publish one client's report for ``month`` ('YYYY-MM').

    ``quality`` defaults to "checks not run" (stated in the report). ``consultancy``
    defaults to ``$ROI_CLIENTS_DIR/_consultancy.yaml`` (or a neutral name without it).
    """
    month_start(month)  # validate before touching anything
    quality = quality or QualityStatus()
    if consultancy is None:
        from roi_pipeline.settings import Locations

        consultancy = load_consultancy(Locations.from_env().clients_dir)
    final = Path(reports_dir) / client_id / month
    if not quality.publishable:
        return ReportResult(
            client_id,
            month,
            "held_back",
            reasons=list(quality.blocking),
            earlier_report_kept=(final / "report.json").is_file(),
        )
    data = load_client_month(Path(warehouse), client_id, month)  # an unknown client fails here
    held = render_hold_reasons(Path(warehouse), client_id, month, Path(reports_dir))
    if held:
        return ReportResult(
            client_id, month, "held_back", reasons=held, earlier_report_kept=(final / "report.json").is_file()
        )
    with locked(final):
        recover(final)
        previous_path = final / "report.json"
        previous = previous_path.read_bytes() if previous_path.is_file() else None
        rendered, keep_previous = build_report(
            warehouse, client_id, month, quality=quality, consultancy=consultancy, previous=previous, data=data
        )
        files = {
            "report.html": rendered.html.encode("utf-8"),
            "report.pdf": html_to_pdf(rendered.html),
            "report.json": rendered.json_bytes,
            "tasks.csv": rendered.tasks_csv,
            "inventory.csv": rendered.inventory_csv,
        }
        earlier = _earlier_versions(final)
        files |= earlier
        if keep_previous is not None:
            if (final / PREVIOUS).is_file():  # restated again: the version before moves down
                files[EARLIER.format(n=len(earlier) + 1)] = (final / PREVIOUS).read_bytes()
            files[PREVIOUS] = keep_previous
        elif (final / PREVIOUS).is_file() and rendered.document["restatement"] is not None:
            files[PREVIOUS] = (final / PREVIOUS).read_bytes()
        publish_dir(final, files)
    return ReportResult(
        client_id,
        month,
        "published",
        directory=final,
        files={name: final / name for name in files},
        no_data=rendered.document["status"] == "no_data",
        restated=rendered.document["restatement"] is not None,
    )


#: What a month's report builds on from the months before it, as (marts.fct_client_months
#: column, report.json headline key): the fee credit reads the month before's verdict, and
#: the payback every earlier month's value and total cost.
CARRIED_FIGURES = (
    ("guarantee_verdict", "guarantee_verdict"),
    ("hours_saved", "hours_saved"),
    ("fee_charged", "fee_charged"),
    ("value_created", "value_created"),
    ("total_cost", "total_cost"),
)


def changed_since_published(
    warehouse: Path, client_ids: list[str], month: str, reports_dir: Path
) -> dict[str, tuple[list[str], list[str]]]:
    """Per client: (its months before ``month``, ``month`` itself) whose published report.json
    says other figures (:data:`CARRIED_FIGURES`) than the marts now, as
    ``'2026-09 (hours_saved 33.1 -> 25.6, ...)'``, read through one connection (a run of some
    clients among 200 asks it of the other 199).

    Late or corrected data for an earlier month is built into the marts by any later build,
    but its published report is only restated when that month is run again. Until then,
    ``month``'s own report would contradict it (a fee credited for a month published as met,
    a payback from other totals), so it is held back (:func:`render_hold_reasons`)."""
    import duckdb

    published: dict[str, dict[str, dict]] = {}
    #: ``month``'s published report without figures to compare: unreadable, or published
    #: without data; out of date once the marts hold the month
    without_figures: dict[str, str] = {}
    for client_id in client_ids:
        for path in sorted((Path(reports_dir) / client_id).glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/report.json")):
            if path.parent.name <= month:
                try:
                    doc = json.loads(path.read_bytes())
                except (ValueError, OSError):  # OSError: a publication replacing it right now
                    doc = None
                if isinstance(doc, dict) and doc.get("status") == "ok":
                    published.setdefault(client_id, {})[path.parent.name] = doc.get("headline") or {}
                elif path.parent.name == month:
                    no_data = isinstance(doc, dict) and doc.get("status") == "no_data"
                    without_figures[client_id] = "said there was no data" if no_data else "could not be read"
    out: dict[str, tuple[list[str], list[str]]] = {client_id: ([], []) for client_id in client_ids}
    if not published and not without_figures:
        return out
    columns = ", ".join(column for column, _key in CARRIED_FIGURES)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select client_id, strftime(report_month, '%Y-%m'), {columns} from marts.fct_client_months "
            "where list_contains(?, client_id) and report_month <= cast(? as date)",
            [sorted(set(published) | set(without_figures)), month_start(month)],
        ).fetchall()
    now = {(row[0], row[1]): row[2:] for row in rows}
    for client_id, why in without_figures.items():
        if (client_id, month) in now:
            out[client_id][1].append(f"{month} (its published report {why}; the marts now hold the month)")
    for client_id, months in published.items():
        for earlier, headline in sorted(months.items()):
            if (client_id, earlier) not in now:
                continue
            changed = [
                f"{key} {headline.get(key)} -> {value}"
                for (_column, key), value in zip(CARRIED_FIGURES, now[(client_id, earlier)], strict=True)
                if key in headline and not _same(headline[key], value)  # a report of an older schema: what it has
            ]
            if changed:
                out[client_id][earlier == month].append(f"{earlier} ({', '.join(changed)})")
    return out


def _same(published: Any, current: Any) -> bool:
    if isinstance(published, int | float) and isinstance(current, int | float):
        return math.isclose(published, current, rel_tol=1e-9, abs_tol=1e-9)
    return published == current


def render_hold_reasons(warehouse: Path, client_id: str, month: str, reports_dir: Path) -> list[str]:
    """Why the renderer holds back ``month`` of a client whose gates passed (empty: it does not).

    The one place of the render-time hold: :func:`render_client_month` applies it, ``roi status``
    reports it (the gates' recorded decision alone would say publishable).
    """
    return render_hold_reasons_of(warehouse, [client_id], month, reports_dir)[client_id]


def render_hold_reasons_of(
    warehouse: Path, client_ids: list[str], month: str, reports_dir: Path
) -> dict[str, list[str]]:
    """:func:`render_hold_reasons` of each client, read through one connection."""
    found = changed_since_published(Path(warehouse), list(client_ids), month, Path(reports_dir))
    return {client_id: _held(client_id, month, before) for client_id, (before, _) in found.items()}


def _held(client_id: str, month: str, before: list[str]) -> list[str]:
    """The render-time hold of a client whose months ``before`` changed since published (none: [])."""
    return [_stale_reason(client_id, month, before)] if before else []


def standing_hold_reasons(
    warehouse: Path, client_ids: list[str], month: str, reports_dir: Path
) -> dict[str, list[str]]:
    """Per client, why its ``month`` would not stand as published now (empty: it would): the
    render-time hold (:func:`render_hold_reasons`), then :func:`out_of_date_reason`'s, read for
    all of them through one connection. For the clients a run of some others leaves as they
    were (the portfolio page)."""
    found = changed_since_published(Path(warehouse), list(client_ids), month, Path(reports_dir))
    return {
        client_id: _held(client_id, month, before) or ([out_of_date_reason(client_id, month, itself)] if itself else [])
        for client_id, (before, itself) in found.items()
    }


def out_of_date_reason(client_id: str, month: str, changed: list[str]) -> str:
    """Why ``month``'s published report of a client no longer says what the marts say
    (``changed``: :func:`changed_since_published` of the month itself): its data changed in a
    build since, and the month was not run again for it."""
    return (
        f"{client_id} {month}: report_out_of_date (blocking, render) - the marts say other figures than its "
        f"published report: {'; '.join(changed)}. Run the month for it: roi run --month {month} {client_id}"
    )


def _stale_reason(client_id: str, month: str, stale: list[str]) -> str:
    first = stale[0].split(" ", 1)[0]
    return (
        f"{client_id} {month}: earlier_month_restated (blocking, render) - the data of an earlier month "
        f"changed since its report was published: {'; '.join(stale)}. This month's fee and payback build "
        f"on those figures: restate the earlier month(s) first, oldest first (roi run --month {first} "
        f"{client_id}), then run {month} again"
    )


def _earlier_versions(final: Path) -> dict[str, bytes]:
    """The published folder's :data:`EARLIER` files, carried into every publication of it."""
    found: dict[str, bytes] = {}
    n = 1
    while (final / EARLIER.format(n=n)).is_file():
        found[EARLIER.format(n=n)] = (final / EARLIER.format(n=n)).read_bytes()
        n += 1
    return found


def draft_dir(reports_dir: Path, client_id: str, month: str) -> Path:
    """Where a client-month's draft goes: never inside the published ``<client>/<month>/``."""
    return Path(reports_dir) / DRAFTS_DIR / client_id / month


def render_draft(
    warehouse: Path,
    client_id: str,
    month: str,
    reports_dir: Path,
    *,
    quality: QualityStatus | None = None,
    consultancy: Consultancy | None = None,
) -> ReportResult:
    """Render ``month`` as a DRAFT, whatever its quality status or whether it has closed.

    docs/method.md: a month that is not closed is held, and can be rendered on request
    "as a draft clearly marked as such": ``"draft": true`` in the JSON, DRAFT in the title, a
    banner and the head of every PDF page. It goes to ``<reports>/_drafts/<client>/<month>/``
    as ``report.draft.{html,pdf,json}``: the published directory is never touched, and
    nothing e-mails a draft (only the monthly DAG's published reports are sent). The data
    quality section lists the reasons the month is held.
    """
    month_start(month)
    quality = quality or QualityStatus()
    if consultancy is None:
        from roi_pipeline.settings import Locations

        consultancy = load_consultancy(Locations.from_env().clients_dir)
    data = load_client_month(Path(warehouse), client_id, month)  # an unknown client fails here
    rendered, _ = build_report(
        warehouse, client_id, month, quality=quality, consultancy=consultancy, data=data, draft=True
    )
    final = draft_dir(reports_dir, client_id, month)
    files = {
        "report.draft.html": rendered.html.encode("utf-8"),
        "report.draft.pdf": html_to_pdf(rendered.html),
        "report.draft.json": rendered.json_bytes,
    }
    with locked(final):
        recover(final)
        publish_dir(final, files)
    return ReportResult(
        client_id,
        month,
        "draft",
        directory=final,
        files={name: final / name for name in files},
        no_data=rendered.document["status"] == "no_data",
        reasons=list(quality.blocking),
    )
