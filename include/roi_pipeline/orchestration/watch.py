"""The daily guarantee watch: which clients' guaranteed hours are at risk this month.

After the month in progress has been ingested and built (dbt ``report_month`` = that month),
``marts.fct_client_months`` holds, for the month still open, the hours saved so far, the
projection to month end (``projected_month_hours``) and ``is_guarantee_at_risk``. This
module reads them (read-only) and writes a small JSON the consultancy can look at:
``<reports dir>/_watch/<YYYY-MM>/<YYYY-MM-DD>.json`` (one file per day, replaced by a re-run).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from roi_pipeline.orchestration.months import parse_month
from roi_pipeline.settings import Locations

log = logging.getLogger("roi_pipeline.orchestration.watch")

WATCH_DIR = "_watch"

_QUERY = """
select
    client_id,
    guarantee_hours,
    hours_saved,
    projected_month_hours,
    is_guarantee_at_risk,
    guarantee_verdict
from marts.fct_client_months
where report_month = ? and client_id in ({ids})
order by client_id
"""


def guarantee_watch(
    month: str,
    client_ids: Sequence[str],
    *,
    day: date,
    locations: Locations | None = None,
) -> dict[str, Any]:
    """Month-to-date hours and the projection for each client; the ones at risk first.

    ``day`` names the output file (the run's logical date), never the wall clock.
    """
    import duckdb

    from roi_pipeline.orchestration.steps import retry_while_locked

    loc = locations or Locations.from_env()
    first = parse_month(month)
    ids = sorted(set(client_ids))
    if not ids:
        rows: list[dict[str, Any]] = []
    else:

        def read() -> list[dict[str, Any]]:
            con = duckdb.connect(str(loc.warehouse), read_only=True)
            try:
                cur = con.execute(_QUERY.format(ids=", ".join("?" for _ in ids)), [first, *ids])
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            finally:
                con.close()

        rows = retry_while_locked(read)
    found = {r["client_id"] for r in rows}
    clients = [
        {
            "client_id": r["client_id"],
            "guarantee_hours": _num(r["guarantee_hours"]),
            "hours_saved_to_date": _num(r["hours_saved"]),
            "projected_month_hours": _num(r["projected_month_hours"]),
            "at_risk": bool(r["is_guarantee_at_risk"]),
            "verdict": r["guarantee_verdict"],
        }
        for r in rows
    ]
    at_risk = [c["client_id"] for c in clients if c["at_risk"]]
    result = {
        "month": month,
        "day": day.isoformat(),
        "at_risk": at_risk,
        "clients": clients,
        "no_data": sorted(set(ids) - found),
    }
    out = Path(loc.reports_dir) / WATCH_DIR / month / f"{day.isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out)
    result["path"] = str(out)
    for c in clients:
        if c["at_risk"]:
            log.warning(
                "GUARANTEE AT RISK %s %s: %.1f h so far, projected %.1f h of %.1f h guaranteed",
                c["client_id"], month, c["hours_saved_to_date"] or 0, c["projected_month_hours"] or 0,
                c["guarantee_hours"] or 0,
            )  # fmt: skip
    return result


def latest_watch(reports_dir: Path, month: str, day: date) -> dict[str, Any] | None:
    """The watch's latest result for ``month`` written on or before ``day`` (``None``: none yet).

    The alerts DAG reads it to tell a person who is at risk (``roi_pipeline.alerts``).
    """
    folder = Path(reports_dir) / WATCH_DIR / month
    days = sorted(
        p for p in (folder.glob("*.json") if folder.is_dir() else []) if p.stem <= day.isoformat() and len(p.stem) == 10
    )
    if not days:
        return None
    return json.loads(days[-1].read_text(encoding="utf-8"))


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
