"""Only closed months are published: the hold, and its reason in words (docs/method.md).

The rule itself lives in the models: a source's "as of" in ``int_source_as_of``, the
client's (the earliest of its sources') in ``int_client_as_of``, the month's cutoff and
``is_month_closed`` in ``int_client_months_spined`` (carried by ``marts.fct_client_months``).
This module only reads that verdict at the mart gate, for ``roi run`` and the monthly DAG
alike, and turns a month that is not closed into a blocking finding (defect
``month_not_closed``) that says, in the client's zone, how far the data goes, when the month
settles and which source is behind, e.g.::

    harbour-legal 2026-10: month_not_closed (blocking, mart gate) - ...: data as of 29 Oct 2026
    15:30, the month settles on 4 Nov 2026 00:00 (Europe/London); behind: hubspot_deals (latest
    record 29 Oct 2026 15:30, no extraction record); ...: land a newer export, or state when a
    file dropped by hand was exported: roi landed harbour-legal <source> --exported-at ...

Every source whose "as of" is before the cutoff is named, earliest first.

A held month can still be rendered on request as a draft (``roi report --draft``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from roi_pipeline.config import ClientConfig
from roi_pipeline.quality.frames import parse_month
from roi_pipeline.quality.results import Finding
from roi_pipeline.timeutil import to_local

DEFECT = "month_not_closed"
DESCRIPTION = "the month has not settled as of the data: only closed months are published"


def _when(moment: datetime, tz: str) -> str:
    local = to_local(moment, tz)
    return f"{local.day} {local:%b %Y %H:%M}"


def _behind(client: ClientConfig, source: str, as_of: datetime | None, basis: str) -> str:
    if basis == "nothing landed":
        return f"{source} (no file landed yet, though the client's configuration reads it)"
    if basis == "unknown" or as_of is None:
        return f"{source} (no extraction record, no dated record)"
    if basis == "records":
        return f"{source} (latest record {_when(as_of, client.timezone)}, no extraction record)"
    return f"{source} (extracted {_when(as_of, client.timezone)})"


def month_not_closed(con: duckdb.DuckDBPyConnection, client: ClientConfig, month: str) -> tuple[str, bool] | None:
    """``(reason, closed)`` for the client-month as the marts have it; None without a month row."""
    rows = con.execute(
        "select is_month_closed, settle_cutoff_at, as_of_at from marts.fct_client_months "
        "where client_id = ? and report_month = ?",
        [client.client_id, parse_month(month)],
    ).fetchall()
    if not rows:
        return None
    closed, cutoff, as_of = rows[0]
    tz = client.timezone
    data = "no data as of any time yet" if as_of is None else f"data as of {_when(as_of, tz)}"
    reason = f"{data}, the month settles on {_when(cutoff, tz)} ({tz})"
    if closed:
        return reason, True
    sources = con.execute(
        "select source_name, as_of_at, as_of_basis from marts.dim_client_sources "
        "where client_id = ? and (as_of_at is null or as_of_at < ?) order by as_of_at nulls first, source_name",
        [client.client_id, cutoff],
    ).fetchall()
    behind = "; ".join(_behind(client, *row) for row in sources)
    advice = "land a newer export"
    if any(basis != "extraction" for _s, _a, basis in sources):  # a quiet hand-dropped source needs its time stated
        advice += (
            f", or state when a file dropped by hand was exported: "
            f"roi landed {client.client_id} <source> --exported-at YYYY-MM-DDTHH:MM"
        )
    return f"{reason}; behind: {behind or 'no landed source'}: {advice}", False


def settlement_finding(con: duckdb.DuckDBPyConnection, client: ClientConfig, month: str) -> tuple[Finding, bool] | None:
    """The mart gate's closed-month check as a finding and whether it passed."""
    from roi_pipeline.quality.gate import _finding  # one message format for every finding
    from roi_pipeline.quality.suites import BLOCKING

    verdict = month_not_closed(con, client, month)
    if verdict is None:
        return None
    reason, closed = verdict
    observed = {"closed": closed, "reason": reason}
    return _finding(
        client.client_id, month, "mart", "-", "month_closed", DEFECT, BLOCKING, DESCRIPTION, observed, reason,
        passed=closed,
    ), closed  # fmt: skip
