"""The per-client steps the DAGs call: plain functions with plain (JSON-able) results.

Each step takes the client id and the month it owns and returns a small dict the next step
(and a person reading the XCom) can use. Two kinds of "not OK" are kept apart on purpose:

- a **hold** is an outcome, not an error: a blocking quality finding holds the client's
  report back. The step succeeds; the reasons are recorded in the warehouse
  (``quality.gate_status``), in the step's result and on the portfolio page;
- a **failure** is an exception (:class:`ClientStepFailed` or anything unexpected): the
  task goes red, Airflow retries it, and only that client's downstream steps stop.

Locations come from the environment at run time (:class:`~roi_pipeline.settings.Locations`),
never from the DAG file. Heavy imports (GX, dbt, WeasyPrint) happen inside the steps.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from roi_pipeline.config import ClientConfig, load_clients
from roi_pipeline.orchestration.months import format_month, parse_month, report_month
from roi_pipeline.settings import Locations
from roi_pipeline.timeutil import add_months

log = logging.getLogger("roi_pipeline.orchestration")

T = TypeVar("T")

#: Airflow connection used to e-mail reports (``AIRFLOW_CONN_ROI_SMTP``).
SMTP_CONN_ID = "roi_smtp"


class ClientStepFailed(RuntimeError):
    """A client's step could not do its work; the message names the client, month and cause."""


# --------------------------------------------------------------------------- planning


def _locations(locations: Locations | None) -> Locations:
    return locations or Locations.from_env()


def load_client(client_id: str, locations: Locations | None = None) -> ClientConfig:
    """The client's validated configuration (raises :class:`ClientStepFailed` with every error)."""
    loc = _locations(locations)
    loaded = load_clients(loc.clients_dir, only=[client_id])
    if loaded.errors or not loaded.clients:
        problems = "; ".join(str(e) for e in loaded.errors) or "no such client"
        raise ClientStepFailed(f"{client_id}: configuration cannot be used: {problems}")
    return loaded.clients[0]


def is_active(client: ClientConfig, month: str) -> bool:
    """A client is processed for ``month`` once its engagement has started by the month's end."""
    return client.engagement_start < add_months(parse_month(month), 1)


def plan_month(
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_after: datetime | None,
    month: str | None = None,
    clients: Sequence[str] | None = None,
    locations: Locations | None = None,
) -> dict[str, Any]:
    """Who is processed for which month in one monthly run.

    ``month`` and ``clients`` are the run's parameters (a manual run for one month and a
    subset of clients); by default every client whose file loads and whose engagement has
    started. Returns ``{"report_month", "runs": [{"client_id", "month"}], "config_errors",
    "inactive", "warehouse", "reports_dir"}``. A client file that does not load is listed in
    ``config_errors`` (it never stops the others); the run's summary fails on it.
    """
    loc = _locations(locations)
    loaded = load_clients(loc.clients_dir, only=list(clients) if clients else None)
    months: dict[str, str] = {}
    for client in loaded.clients:
        months[client.client_id] = report_month(
            client.timezone,
            data_interval_start=data_interval_start,
            data_interval_end=data_interval_end,
            run_after=run_after,
            requested=month,
        )
    distinct = sorted(set(months.values()))
    if len(distinct) > 1:  # impossible for a calendar-month interval; refuse rather than mix
        raise ClientStepFailed(f"clients' local months differ for this run: {months}; pass params.month")
    if distinct:
        the_month = distinct[0]
    else:  # no loadable client: still name the month the run was for
        the_month = report_month(
            "UTC", data_interval_start=data_interval_start, data_interval_end=data_interval_end,
            run_after=run_after, requested=month,
        )  # fmt: skip
    runs, inactive = [], []
    for client in sorted(loaded.clients, key=lambda c: c.client_id):
        if is_active(client, the_month):
            runs.append({"client_id": client.client_id, "month": the_month})
        else:
            inactive.append(client.client_id)
    return {
        "report_month": the_month,
        "runs": runs,
        "config_errors": [str(e) for e in loaded.errors],
        "inactive": inactive,
        "warehouse": str(loc.warehouse),
        "reports_dir": str(loc.reports_dir),
    }


def plan_watch(*, at: datetime, clients: Sequence[str] | None = None, locations: Locations | None = None) -> dict:
    """Clients and the month in progress (their local month at instant ``at``) for the daily watch."""
    from roi_pipeline.orchestration.months import month_in_progress

    loc = _locations(locations)
    loaded = load_clients(loc.clients_dir, only=list(clients) if clients else None)
    months = {c.client_id: month_in_progress(at, c.timezone) for c in loaded.clients}
    # Zones disagree for a few hours around midnight on the 1st; dbt builds one month, the
    # one most clients are in (ties: the later month, the one that has just started).
    counts: dict[str, int] = {}
    for m in months.values():
        counts[m] = counts.get(m, 0) + 1
    the_month = max(counts, key=lambda m: (counts[m], m)) if counts else format_month(at.date())
    runs = [
        {"client_id": cid, "month": m}
        for cid, m in sorted(months.items())
        if m == the_month and is_active(next(c for c in loaded.clients if c.client_id == cid), m)
    ]
    return {
        "report_month": the_month,
        "runs": runs,
        "config_errors": [str(e) for e in loaded.errors],
        "warehouse": str(loc.warehouse),
    }


# --------------------------------------------------------------------------- per-client steps


def extract_client(client_id: str, month: str, locations: Locations | None = None) -> dict[str, Any]:
    """Pull the month from the client's APIs (sources in ``mode: api``); drop-folder sources are skipped.

    The run owns its month: the whole local month is extracted again (``full``), so a
    re-run or a backfill lands the same files. Raises :class:`ClientStepFailed` when a
    source fails (the message names client, source and connection, never a secret).
    """
    from roi_pipeline.extract.runner import extract_clients

    loc = _locations(locations)
    client = load_client(client_id, loc)
    report = extract_clients(
        loc.landing_dir, [client], month=month, full=True, clients_dir=loc.clients_dir, progress=log.info
    )
    sources = [
        {"source": o.source, "status": o.status, "files": len(o.files), "records": o.records, "error": o.error}
        for o in report.outcomes
    ]
    failed = [o for o in report.outcomes if o.status == "failed"]
    if failed:
        raise ClientStepFailed("; ".join(o.error or f"{client_id}/{o.source}: failed" for o in failed))
    api = [s["source"] for s in sources if s["status"] == "extracted"]
    return {"client_id": client_id, "month": month, "api_sources": api, "sources": sources}


def ingest_client(client_id: str, month: str, locations: Locations | None = None) -> dict[str, Any]:
    """Load the client's landing files into ``raw`` (writes the warehouse: one writer at a time).

    A file that cannot be read is recorded (``raw._landed_files`` status ``failed``) and left
    to the raw gate to judge; a client with no landing folder at all fails the step.
    """
    from roi_pipeline.ingest import ingest

    loc = _locations(locations)
    client = load_client(client_id, loc)
    loc.warehouse.parent.mkdir(parents=True, exist_ok=True)
    report = ingest(loc.landing_dir, loc.warehouse, [client], progress=log.info)
    if report.client_errors:
        raise ClientStepFailed(f"{client_id} {month}: {report.client_errors[client_id]}")
    mine = report.for_client(client_id)
    return {
        "client_id": client_id,
        "month": month,
        "files": len(mine),
        "files_changed": sum(f.action in ("loaded", "replaced") for f in mine),
        "rows_loaded": sum(f.rows_loaded for f in mine if f.action in ("loaded", "replaced")),
        "failed_files": [f"{f.source_file}: {f.error}" for f in mine if f.action == "failed"],
    }


def _gate(kind: str, client_id: str, month: str, locations: Locations | None) -> dict[str, Any]:
    from roi_pipeline import quality

    loc = _locations(locations)
    client = load_client(client_id, loc)
    run = quality.run_raw_gate if kind == "raw" else quality.run_mart_gate
    (result,) = run(loc.warehouse, [client], month)
    return {
        "client_id": client_id,
        "month": month,
        "gate": kind,
        "publishable": result.publishable,
        "blocking": list(result.reasons),
        "warnings": list(result.notes),
        "evaluated": result.evaluated,
    }


def raw_gate_client(client_id: str, month: str, locations: Locations | None = None) -> dict[str, Any]:
    """Quality gate on the raw inputs of the client-month (records results in ``quality``)."""
    return _gate("raw", client_id, month, locations)


def mart_gate_client(client_id: str, month: str, locations: Locations | None = None) -> dict[str, Any]:
    """Quality gate on the marts of the client-month, before its report is rendered."""
    return _gate("mart", client_id, month, locations)


def render_client(client_id: str, month: str, locations: Locations | None = None) -> dict[str, Any]:
    """Render and publish the client's report, or hold it back on the recorded gate status.

    Only reads the warehouse, so it takes no writer slot; while another process writes,
    DuckDB refuses to open the file, and the read is retried (:func:`retry_while_locked`).
    """
    from roi_pipeline.quality import gate_status
    from roi_pipeline.report.render import render_client_month
    from roi_pipeline.report.status import QualityStatus

    loc = _locations(locations)

    def render() -> dict[str, Any]:
        status = gate_status(loc.warehouse, client_id, month)
        quality = QualityStatus.from_gate(status)
        result = render_client_month(loc.warehouse, client_id, month, loc.reports_dir, quality=quality)
        return {
            "client_id": client_id,
            "month": month,
            "status": result.status,
            "directory": str(result.directory) if result.directory else None,
            "pdf": str(result.files["report.pdf"]) if "report.pdf" in result.files else None,
            "no_data": result.no_data,
            "restated": result.restated,
            "reasons": list(result.reasons),
            "warnings": list(quality.warnings),
            "earlier_report_kept": result.earlier_report_kept,
        }

    return retry_while_locked(render)


def email_enabled(requested: bool | None, environ: dict[str, str] | None = None) -> bool:
    """The run's ``email_reports`` parameter, else ``ROI_EMAIL_REPORTS`` (default off)."""
    if requested is not None:
        return bool(requested)
    env = os.environ if environ is None else environ
    return env.get("ROI_EMAIL_REPORTS", "").strip().lower() in {"1", "true", "yes", "on"}


def email_client(
    rendered: dict[str, Any],
    *,
    enabled: bool,
    smtp_conn_id: str = SMTP_CONN_ID,
    locations: Locations | None = None,
    now: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """E-mail the published PDF to the client's ``report_contacts`` through Airflow's SMTP hook.

    Nothing is sent for a held-back report, a client without contacts, or when e-mail is
    off; the result says which. Each send is recorded in ``<reports>/_sent/<client>/<month>.jsonl``
    (:mod:`roi_pipeline.report.sent`) after the server accepted it: a retry or a re-run of
    the report sent last sends nothing and says when it went and to whom; a report whose
    figures changed since (a restated month) is sent again, marked "restated". The same
    figures in other PDF bytes (a re-run after a deployment: the PDF names the code version;
    another machine's fonts) are not sent again (:func:`~roi_pipeline.report.sent.says_the_same`).
    A refused or unreachable server fails the step (retried) and records nothing.
    """
    client_id, month = rendered["client_id"], rendered["month"]
    out = {"client_id": client_id, "month": month, "report": rendered["status"], "emailed_to": [], "email": "off"}
    if rendered["status"] != "published":
        out["email"] = "not sent: report held back"
        return out
    if not enabled:
        return out
    loc = _locations(locations)
    client = load_client(client_id, loc)
    if not client.report_contacts:
        out["email"] = "not sent: no report_contacts in the client file"
        return out
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from roi_pipeline.report.publish import locked
    from roi_pipeline.report.sent import file_sha256, published_figures, read_sent, record_sent, says_the_same, sent_log

    pdf = Path(rendered["pdf"])
    ledger = sent_log(loc.reports_dir, client_id, month)
    # Check, send and record as one: two runs of the month never both send. The report's own
    # lock too (the renderer's), so the PDF hashed, the figures compared and the file attached
    # are one publication, not a re-render's half.
    with locked(ledger), locked(pdf.parent):
        digest = file_sha256(pdf)
        figures = published_figures(pdf.parent)
        try:
            earlier = read_sent(ledger)
        except ValueError as exc:
            raise ClientStepFailed(f"{client_id} {month}: {exc}") from None
        last = earlier[-1] if earlier else None
        if last is not None and says_the_same(last, digest, figures):
            same = "" if last["report_sha256"] == digest else " (the same figures; this PDF was rendered again)"
            out["email"] = f"already sent {last['sent_at']} to {', '.join(last['recipients'])}{same}"
            return out
        restated = last is not None
        label = parse_month(month).strftime("%B %Y")
        subject = f"{client.name}: automation ROI report for {label}" + (" (restated)" if restated else "")
        if restated:
            body = (
                f"<p>Hello,</p><p>attached is the restated automation ROI report of <b>{_escape(client.name)}</b> "
                f"for {label}. It replaces the report e-mailed on {_escape(last['sent_at'])}.</p>"
            )
        else:
            body = f"<p>Hello,</p><p>attached is the automation ROI report of <b>{_escape(client.name)}</b> for {label}.</p>"
        recipients = list(client.report_contacts)
        try:
            with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
                hook.send_email_smtp(to=recipients, subject=subject, html_content=body, files=[str(pdf)])
        except Exception as exc:  # refused, unreachable, rejected: nothing recorded, the retry sends
            raise ClientStepFailed(
                f"{client_id} {month}: report not e-mailed through the connection {smtp_conn_id!r}: {exc}"
            ) from exc
        sent_at = (now or _utc_now)().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record_sent(
            ledger,
            {"client_id": client_id, "month": month, "report_sha256": digest, "sent_at": sent_at,
             "recipients": recipients, "restated": restated, "figures": figures},
        )  # fmt: skip
    out.update(emailed_to=recipients, email="sent (restated)" if restated else "sent")
    return out


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def render_portfolio_page(
    month: str,
    planned: Iterable[str],
    outcomes: Iterable[dict[str, Any] | None],
    locations: Locations | None = None,
) -> str:
    """The consultancy's portfolio page for the month; returns the path of its HTML.

    Clients whose reports were rendered (published or held back) carry their recorded gate
    status; a planned client whose steps failed before that is listed as held back, with
    the reason, so the page never shows a stale "published" for it. A client this run did
    not plan (a backfill of one client) is shown as ``roi report CLIENT`` shows the others
    (report.portfolio.standing_statuses): the status an earlier run of the month recorded,
    held where its month would be held now or its published report is out of date.
    """
    from roi_pipeline.config import load_clients
    from roi_pipeline.quality import gate_statuses
    from roi_pipeline.report import QualityStatus, render_portfolio
    from roi_pipeline.report.portfolio import standing_statuses

    loc = _locations(locations)
    outcomes = [o for o in outcomes if o]
    reached = {o["client_id"] for o in outcomes}
    held_at_render = {o["client_id"]: o.get("reasons") or [] for o in outcomes if o.get("status") == "held_back"}
    loaded = load_clients(loc.clients_dir)
    others = sorted({c.client_id for c in loaded.clients} - set(planned))
    broken = loaded.failed()  # a client file that does not load: listed as held, with why

    def render() -> str:
        recorded = gate_statuses(loc.warehouse, sorted(reached & set(planned)), month)
        statuses = standing_statuses(loc.warehouse, month, loc.reports_dir, others)
        statuses |= {cid: QualityStatus(publishable=False, checked=True, blocking=why) for cid, why in broken.items()}
        for cid in sorted(set(planned)):
            if cid in reached:
                statuses[cid] = QualityStatus.from_gate(recorded[cid]).held_at_render(held_at_render.get(cid))
            else:
                statuses[cid] = QualityStatus(
                    publishable=False, checked=True,
                    blocking=[f"{cid} {month}: the pipeline failed before the report (see the run's task logs)"],
                )  # fmt: skip
        return str(render_portfolio(loc.warehouse, month, loc.reports_dir, statuses))

    return retry_while_locked(render)


# --------------------------------------------------------------------------- after the build


def publish_marts_snapshot(locations: Locations | None = None) -> dict[str, Any]:
    """The readers' read-only copy of the marts, once the month's dbt build has succeeded.

    What ``roi build`` does after its build (:mod:`roi_pipeline.snapshot`): the DAG's
    ``marts_snapshot`` task calls it in the one-slot writer pool, right after ``dbt_build``.
    Raises :class:`~roi_pipeline.snapshot.SnapshotFailed` (the previous snapshot stays).
    """
    from roi_pipeline.snapshot import publish_marts_snapshot as publish

    loc = _locations(locations)
    published = publish(loc.warehouse, loc.marts_snapshot)
    log.info("marts snapshot %s: %s", published.path, published.summary())
    return {"snapshot": str(published.path), "tables": published.tables}


# --------------------------------------------------------------------------- run summary


def summarize(plan: dict[str, Any], outcomes: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """Who was published, held back (and why) or failed in a run; the run fails on failures.

    ``outcomes`` are the last step results the run produced per client (a client whose
    chain stopped on an exception has none). Raises :class:`ClientStepFailed` listing every
    failed client after everything else has run, so the run is red but the others are out.
    """
    by_client = {o["client_id"]: o for o in outcomes if o}
    published, held, failed = [], {}, []
    for run in plan["runs"]:
        cid = run["client_id"]
        outcome = by_client.get(cid)
        if outcome is None:
            failed.append(cid)
        elif outcome.get("report", outcome.get("status")) == "published":
            published.append(cid)
        else:
            held[cid] = outcome.get("reasons") or ["held back"]
    summary = {
        "month": plan["report_month"],
        "published": published,
        "held_back": held,
        "failed": failed,
        "config_errors": list(plan.get("config_errors", [])),
        "inactive": list(plan.get("inactive", [])),
    }
    log.info("run summary: %s", summary)
    if failed or summary["config_errors"]:
        problems = [f"{cid}: a step failed (see its task log)" for cid in failed] + summary["config_errors"]
        raise ClientStepFailed(f"month {plan['report_month']}: " + "; ".join(problems))
    return summary


# --------------------------------------------------------------------------- helpers


def retry_while_locked(fn: Callable[[], T], *, attempts: int = 30, delay: float = 2.0) -> T:
    """Call ``fn``; while DuckDB says another process holds the warehouse, wait and retry.

    Writers are serialised by the ``duckdb_writer`` pool; readers take no slot, so a reader
    can meet a writer of another DAG (the daily watch) and waits here for at most
    ``attempts * delay`` seconds.
    """
    import duckdb

    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == attempts:
                raise
            log.info("warehouse locked by another process; retrying in %.0fs (%d/%d)", delay, attempt, attempts)
            time.sleep(delay)
    raise AssertionError("unreachable")
