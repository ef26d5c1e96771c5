"""Names and defaults shared by the DAG files and the tests (cheap to import at parse time)."""

from __future__ import annotations

import os
from datetime import timedelta

#: The pool every task that writes the DuckDB warehouse runs in (one slot: DuckDB has one writer).
WAREHOUSE_POOL = "duckdb_writer"

MONTHLY_DAG_ID = "roi_monthly"
WATCH_DAG_ID = "roi_guarantee_watch"
ONBOARD_DAG_ID = "roi_onboard_client"

OWNER = "data-platform"
TAGS = ["roi"]

#: How long after a month ends its data is considered settled (late runs, timesheets, CRM
#: edits): 3 days 6 hours, i.e. the report month is processed on the 4th at 06:00 UTC.
#: ``ROI_SETTLE_MINUTES`` changes the default; a run's ``settle_minutes`` parameter overrides it.
SETTLE_MINUTES = int(os.environ.get("ROI_SETTLE_MINUTES", str(3 * 24 * 60 + 6 * 60)))

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}
