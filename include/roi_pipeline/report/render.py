"""Render one client's monthly report: report.html, report.pdf, report.json, tasks.csv, inventory.csv.

    render_client_month(warehouse, "harbour-legal", "2026-10", reports_dir, quality=status)

writes ``<reports_dir>/harbour-legal/2026-10/`` atomically (see :mod:`.publish`). A report
whose quality status is not publishable is held back: nothing is written and the month's
directory, if one was published earlier, is left as it was (the earlier report stays the
record of what the client was shown; the portfolio says it is held back and why).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import jsonschema

from roi_pipeline.report import charts as chart_module
from roi_pipeline.report.data import ClientMonthData, add_months, load_client_month, month_start
from roi_pipeline.report.document import build_document, code_version, restatement_changes
from roi_pipeline.report.fmt import Formatter
from roi_pipeline.report.publish import locked, publish_dir, recover
from roi_pipeline.report.status import Consultancy, QualityStatus, load_consultancy

FILES = ("report.html", "report.pdf", "report.json", "tasks.csv", "inventory.csv")
PREVIOUS = "report.previous.json"
#: Drafts live apart from the published tree: <reports>/_drafts/<client>/<month>/report.draft.*
DRAFTS_DIR = "_drafts"
DRAFT_FILES = ("report.draft.html", "report.draft.pdf", "report.draft.json")

TASKS_COLUMNS = (
    "run_id",
    "workflow_key",
    "workflow_name",
    "platform",
    "platform_workflow_id",
    "started_at_local",
    "started_local_date",
    "trigger",
    "is_production",
    "status",
    "status_class",
    "items_processed",
    "tasks_counted",
    "is_recovered",
    "retry_of_run_id",
    "duration_seconds",
    "llm_tokens",
    "llm_cost",
    "counted_in_run_cost",
    "source_file",
    "source_row_number",
)


def templates_dir() -> Path:
    from roi_pipeline.settings import PROJECT_DIR

    return PROJECT_DIR / "report_templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Environment: autoescaped, StrictUndefined, templates from report_templates/."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=4)
def schema(name: str = "report.schema.json") -> dict[str, Any]:
    return json.loads((templates_dir() / name).read_text(encoding="utf-8"))


def validate(document: dict[str, Any], name: str = "report.schema.json") -> None:
    """Raise ``jsonschema.ValidationError`` when the document does not match the schema."""
    jsonschema.Draft202012Validator(
        schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)


def dump_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


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


# -- tasks.csv -------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """CSV cell text; user-controlled text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def tasks_csv(data: ClientMonthData) -> tuple[bytes, int]:
    """Every run of the client started in the month, with the flags that say how it counts.

    ``sum(tasks_counted)`` = tasks automated; ``llm_cost`` where ``counted_in_run_cost`` adds
    up to the LLM part of run cost. No customer data: free-text error messages are left out.
    """
    zone = ZoneInfo(data.client["timezone"])
    names = {w["workflow_key"]: w["workflow_name"] for w in data.workflows}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TASKS_COLUMNS)
    for run in data.runs:
        started = run["started_at"]
        local = started.replace(tzinfo=dt.UTC).astimezone(zone).isoformat(timespec="milliseconds") if started else None
        local_date = run["started_local_date"]
        if isinstance(local_date, dt.datetime):
            local_date = local_date.date()
        writer.writerow(
            [
                _cell(v)
                for v in (
                    run["run_id"],
                    run["workflow_key"],
                    names.get(run["workflow_key"]),
                    run["platform"],
                    run["platform_workflow_id"],
                    local,
                    local_date,
                    run["run_trigger"],
                    run["is_production"],
                    run["run_status"],
                    run["status_class"],
                    run["items_processed"],
                    run["tasks_counted"],
                    run["is_recovered"],
                    run["retry_of_run_id"],
                    run["duration_seconds"],
                    run["llm_tokens"],
                    run["llm_cost"],
                    run["is_on_live_day"],
                    run["source_file"],
                    run["source_row_number"],
                )
            ]
        )
    return out.getvalue().encode("utf-8"), len(data.runs)


# -- inventory.csv ---------------------------------------------------------------------------

INVENTORY_COLUMNS = (
    "month",
    "workflow_key",
    "workflow_name",
    "platform",
    "owner",
    "risk_class",
    "process_replaced",
    "data_touched",
    "human_approval",
    "llm_vendor",
    "llm_model",
    "state_at_month_end",
    "live_in_month",
    "changed_this_month",
    "go_live_date",
    "retired_on",
    "paused_on",
    "run_cost_this_month",
    "currency",
    "last_review_date",
    "review_due_date",
    "review_overdue",
    "high_risk_without_human_checkpoint",
)


def inventory_csv(doc: dict[str, Any]) -> tuple[bytes, int]:
    """The AI inventory of the month (report.json ``inventory``) as a CSV for an auditor.

    One row per workflow in the register; values as in report.json (money unrounded, in the
    client's currency); ``human_approval`` is ``yes`` / ``no`` / ``not stated``; lists are
    joined with ``; ``. Text a spreadsheet would run as a formula is quoted, as in tasks.csv.
    """
    approval = {True: "yes", False: "no", None: "not stated"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INVENTORY_COLUMNS)
    rows = doc["inventory"]["workflows"]
    for w in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    doc["month"],
                    w["key"],
                    w["name"],
                    w["platform"],
                    w["owner"],
                    w["risk_class"],
                    w["process"],
                    "; ".join(w["data_touched"]),
                    approval[w["human_approval"]],
                    w["llm_vendor"],
                    w["llm_model"],
                    w["lifecycle"],
                    w["live_in_month"],
                    "; ".join(w["changes"]),
                    w["go_live_date"],
                    w["retired_on"],
                    w["paused_on"],
                    w["run_cost"],
                    doc["client"]["currency"],
                    w["last_review_date"],
                    w["review_due_date"],
                    w["is_review_overdue"],
                    w["is_high_risk_without_checkpoint"],
                )
            ]
        )
    return out.getvalue().encode("utf-8"), len(rows)


# -- HTML ------------------------------------------------------------------------------------


def _parse_month(iso: str | None) -> dt.date | None:
    return None if iso is None else dt.date.fromisoformat(iso + "-01")


def _parse_date(iso: str | None) -> dt.date | None:
    return None if iso is None else dt.date.fromisoformat(iso)


def _parse_utc(iso: str | None) -> dt.datetime | None:
    return None if iso is None else dt.datetime.fromisoformat(iso.rstrip("Z"))


_MONEY_FIELDS = {
    "value_created",
    "run_cost",
    "total_cost",
    "fee_charged",
    "monthly_fee_in_effect",
    "net_month",
    "net_value",
    "previous_net_value",
    "credit_amount",
    "cumulative_net",
    "build_fee",
    "llm_cost",
    "tooling_cost",
    "hourly_cost",
}
_LABELS = {
    "hours_saved": "hours saved",
    "gross_hours_saved": "hours automated (gross)",
    "tasks_automated": "tasks automated",
    "value_created": "value",
    "total_cost": "total cost",
    "run_cost": "running cost",
    "roi": "ROI",
    "guarantee_verdict": "guarantee verdict",
    "fee_charged": "fee charged",
    "net_value": "net value",
    "response_minutes_median": "lead response, median",
    "response_minutes_p90": "lead response, 90th percentile",
    "meeting_rate": "meeting rate",
    "conversion_rate": "conversion",
    "leads_unanswered": "leads never answered",
}


def describe_change(change: dict[str, Any], f: Formatter, names: dict[str, str]) -> dict[str, str]:
    """One restated figure as display text: label, earlier value, new value."""
    path = change["field"]
    section, _, rest = path.partition(".")
    leaf = path.rsplit(".", 1)[-1]
    label = _LABELS.get(leaf, leaf.replace("_", " "))
    if path.startswith("workflows["):
        key = path[len("workflows[") : path.index("]")]
        label = f"{names.get(key, key)}: {label}"
    elif section in ("kpis", "reliability", "delivery") or "." in rest:
        label = f"{section}: {label}" if section != "headline" else label

    def show(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool | str):
            return str(value).lower() if isinstance(value, bool) else value
        if leaf in _MONEY_FIELDS:
            return f.money(value)
        if "hours" in leaf:
            return f.hours(value)
        if leaf.endswith("_rate") or leaf == "roi":
            return f.percent(value, 1)
        if "minutes" in leaf:
            return f.minutes(value)
        if leaf == "roi_multiple":
            return f.number(value, 2) + "×"
        return f.number(value, 0 if float(value).is_integer() else 2)

    return {
        "label": label[:1].upper() + label[1:],
        "previous": show(change["previous"]),
        "current": show(change["current"]),
    }


_RESTATED_SHOWN = 12


def restated_rows(doc: dict[str, Any], f: Formatter, names: dict[str, str]) -> list[dict[str, str]]:
    if not doc.get("restatement"):
        return []
    order = {"status": 0, "headline": 1, "workflows": 2, "kpis": 3}
    changes = sorted(doc["restatement"]["changes"], key=lambda c: order.get(c["field"].split(".")[0].split("[")[0], 9))
    return [describe_change(c, f, names) for c in changes[:_RESTATED_SHOWN]]


def _day_ranges(days: list[int]) -> str:
    parts, start, prev = [], None, None
    for d in sorted(days) + [None]:
        if start is None:
            start = prev = d
        elif d is not None and d == prev + 1:
            prev = d
        else:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
            start = prev = d
    return ", ".join(parts)


def incident_lines(doc: dict[str, Any], names: dict[str, str], month_label: str) -> list[dict[str, Any]]:
    by_wf: dict[str, list[dict[str, Any]]] = {}
    for inc in (doc.get("reliability") or {}).get("incidents", []):
        by_wf.setdefault(inc["workflow_key"], []).append(inc)
    lines = []
    for key, items in sorted(by_wf.items(), key=lambda kv: names.get(kv[0], kv[0])):
        days = [int(i["date"][8:10]) for i in items]
        lines.append(
            {
                "name": names.get(key, key),
                "days": f"{'day' if len(days) == 1 else 'days'} {_day_ranges(days)} of {month_label}",
                "failed": sum(i["failed_runs"] for i in items),
                "recovered": sum(i["recovered_runs"] for i in items),
            }
        )
    return lines


def _reason_text(w: dict[str, Any]) -> str:
    reason = w.get("recommendation_reason") or ""
    return "working as intended" if reason == "no rule applies" else reason


def template_context(doc: dict[str, Any]) -> dict[str, Any]:
    client = doc["client"]
    f = Formatter(client["locale"], client["currency"], client["timezone"])
    month = _parse_month(doc["month"])
    as_of = _parse_utc(doc["as_of"])
    names = {w["key"]: w["name"] for w in doc["methodology"]["workflows"]}
    return {
        "doc": doc,
        "f": f,
        "charts": {c.key: c for c in chart_module.client_charts(doc, f)},
        "month_label": f.month(month),
        "prev_month_label": f.month(add_months(month, -1)),
        "prev_short": f.month_short(add_months(month, -1)),
        "next_month_label": f.month(add_months(month, 1)),
        "as_of_label": f.as_of(as_of),
        "created": doc["as_of"],
        "m": lambda iso: f.month(_parse_month(iso)),
        "day": lambda iso: f.date(_parse_date(iso)),
        "day_month": lambda iso: f.day_month(_parse_date(iso)),
        "parse_utc": _parse_utc,
        "restated_rows": restated_rows(doc, f, names),
        "incident_lines": incident_lines(doc, names, f.month(month)),
        "reason_text": _reason_text,
        "change_minutes": lambda now, base: _change_minutes(f, now, base),
        "change_rate": lambda now, base: f.points(now - base) if now is not None and base is not None else "–",
    }


def _change_minutes(f: Formatter, now: float | None, base: float | None) -> str:
    if now is None or base is None or base == 0:
        return "–"
    ratio = now / base - 1
    if abs(ratio) < 0.005:
        return "no change"
    return f"{f.percent(abs(ratio))} {'faster' if ratio < 0 else 'slower'}"


def render_html(doc: dict[str, Any]) -> str:
    return environment().get_template("client_report.html.j2").render(template_context(doc))


#: The screen-only stylesheet (report_templates/report.screen.css: phones) as the templates
#: include it; the PDF is rendered without it, so its bytes never depend on screen layout.
_SCREEN_STYLE = re.compile(r'<style media="screen">\n.*?</style>\n', flags=re.S)
_CREATED_META = re.compile(r'<meta name="dcterms\.created" content="([^"]+)"')
_PDF_LOCK = threading.Lock()


def _source_date_epoch(html: str) -> str:
    """Seconds since 1970 of the document's "as of" (``dcterms.created``), or 0 without one."""
    found = _CREATED_META.search(html)
    if not found:
        return "0"
    try:
        return str(int(_parse_utc(found.group(1)).replace(tzinfo=dt.UTC).timestamp()))
    except ValueError:
        return "0"


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint, made as deterministic as it allows.

    - creation/modification dates come from the document's "as of" (``dcterms.created`` /
      ``dcterms.modified`` meta);
    - the screen-only stylesheet (``<style media="screen">``) is left out: print never applies
      it, and the PDF's bytes then do not change with the screen layout;
    - the PDF file identifier is derived from the HTML instead of being generated;
    - the embedded font subsets: fontTools stamps each font it rewrites with the wall-clock
      time (the ``head.modified`` field) unless ``SOURCE_DATE_EPOCH`` is set, so the same
      report rendered a second later differed in those bytes. The variable is set to the
      "as of" for the duration of the render (under a lock: the environment is process-wide).
    """
    import weasyprint

    html = _SCREEN_STYLE.sub("", html)
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _PDF_LOCK:
        saved = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = _source_date_epoch(html)
        try:
            return weasyprint.HTML(string=html, base_url=None).write_pdf(pdf_identifier=identifier)
        finally:
            if saved is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = saved


# -- the public function ---------------------------------------------------------------------


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
        if keep_previous is not None:
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
