"""The pure logic the DAGs call: report month derivation, planning, summaries, e-mail."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roi_pipeline.orchestration.months import (
    MonthError,
    last_complete_month,
    month_bounds_utc,
    month_in_progress,
    months_between,
    report_month,
)
from roi_pipeline.orchestration.steps import ClientStepFailed, email_enabled, summarize

ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Auckland", "Australia/Sydney", "Europe/Berlin",
         "America/New_York", "America/Los_Angeles", "Pacific/Pago_Pago"]  # fmt: skip


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def interval(year: int, month: int) -> tuple[datetime, datetime]:
    start = utc(year, month, 1)
    end = utc(year + (month == 12), month % 12 + 1, 1)
    return start, end


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize(("year", "month"), [(2026, 2), (2026, 3), (2026, 10), (2026, 11), (2026, 12), (2027, 1)])
def test_a_scheduled_runs_month_is_the_interval_month_in_every_zone(tz, year, month):
    start, end = interval(year, month)
    assert report_month(tz, data_interval_start=start, data_interval_end=end) == f"{year}-{month:02d}"


def test_the_interval_start_alone_would_be_wrong_west_of_utc_and_the_end_east_of_it():
    start, end = interval(2026, 10)
    # why the middle of the interval: its edges are in other local months
    assert month_in_progress(start, "America/New_York") == "2026-09"
    assert month_in_progress(end - timedelta(microseconds=1), "Pacific/Auckland") == "2026-11"
    assert report_month("America/New_York", data_interval_start=start, data_interval_end=end) == "2026-10"
    assert report_month("Pacific/Auckland", data_interval_start=start, data_interval_end=end) == "2026-10"


@pytest.mark.parametrize(
    ("tz", "month"),
    [("Europe/Berlin", "2026-03"), ("Europe/Berlin", "2026-10"), ("America/New_York", "2026-03"),
     ("America/New_York", "2026-11"), ("Australia/Sydney", "2026-04"), ("Australia/Sydney", "2026-10")],
)  # fmt: skip
def test_dst_months_keep_their_local_bounds(tz, month):
    """Months with a DST change: 23- or 25-hour days move the UTC bounds, not the month."""
    start, end = month_bounds_utc(month, tz)
    assert month_in_progress(start, tz) == month
    assert month_in_progress(end - timedelta(seconds=1), tz) == month
    assert month_in_progress(end, tz) != month


def test_month_in_progress_flips_at_local_midnight():
    assert month_in_progress(utc(2026, 10, 31, 10, 59), "Pacific/Auckland") == "2026-10"
    assert month_in_progress(utc(2026, 10, 31, 11, 0), "Pacific/Auckland") == "2026-11"  # NZDT, +13
    assert month_in_progress(utc(2026, 11, 1, 3, 59), "America/New_York") == "2026-10"
    assert month_in_progress(utc(2026, 11, 1, 4, 0), "America/New_York") == "2026-11"  # EDT, -4


def test_an_explicit_month_wins_and_is_validated():
    start, end = interval(2026, 10)
    assert report_month("UTC", data_interval_start=start, data_interval_end=end, requested="2026-07") == "2026-07"
    with pytest.raises(MonthError):
        report_month("UTC", requested="2026-13")


def test_a_run_without_data_interval_takes_the_last_month_ended_before_it_ran():
    assert report_month("UTC", run_after=utc(2026, 11, 23, 10)) == "2026-10"
    assert report_month("UTC", run_after=utc(2027, 1, 4, 6)) == "2026-12"
    # 1 Nov 02:00 UTC is still 31 Oct in New York: October has not ended there
    assert last_complete_month(utc(2026, 11, 1, 2), "America/New_York") == "2026-09"


def test_an_interval_that_is_not_a_month_is_refused():
    with pytest.raises(MonthError, match="not one month"):
        report_month("UTC", data_interval_start=utc(2026, 10, 1), data_interval_end=utc(2026, 10, 2))
    with pytest.raises(MonthError, match="timezone-aware"):
        report_month("UTC", data_interval_start=datetime(2026, 10, 1), data_interval_end=datetime(2026, 11, 1))


def test_months_between():
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert months_between("2026-11", "2026-10") == []


def _client_file(folder: Path, client_id: str, *, start: str = "2025-08-01", tz: str = "Europe/Berlin") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{client_id}.yaml").write_text(
        textwrap.dedent(f"""
        client_id: {client_id}
        name: {client_id.title()}
        currency: EUR
        timezone: {tz}
        engagement_start: {start}
        monthly_fee: [{{effective_from: {start}, value: 1000}}]
        hourly_cost: [{{effective_from: {start}, value: 40}}]
        timesheets: {{format: harvest, consultancy_rows: {{field: client, values: [Northbeam]}}}}
        report_contacts: [ops@{client_id}.example]
        workflows:
          - key: triage
            name: Triage
            platform: n8n
            platform_workflow_ids: ["1"]
            owner: ops
            risk_class: low
            process: triage
            go_live: {start}
            baseline: {{method: declared, declared_minutes: [{{effective_from: {start}, value: 5}}]}}
            tooling_cost: [{{effective_from: {start}, value: 10}}]
    """)
    )


def _locations(tmp_path):
    from roi_pipeline.settings import Locations

    return Locations(tmp_path / "landing", tmp_path / "clients", tmp_path / "wh.duckdb", tmp_path / "reports")


def test_plan_takes_active_clients_and_lists_broken_files(tmp_path):
    from roi_pipeline.config import load_clients
    from roi_pipeline.orchestration.steps import plan_month

    loc = _locations(tmp_path)
    _client_file(loc.clients_dir, "alpha")
    _client_file(loc.clients_dir, "later", start="2026-12-01")
    (loc.clients_dir / "broken.yaml").write_text("client_id: broken\nname: [unclosed\n")
    assert load_clients(loc.clients_dir, only=["alpha"]).errors == []
    start, end = interval(2026, 10)
    plan = plan_month(data_interval_start=start, data_interval_end=end, run_after=end, locations=loc)
    assert plan["report_month"] == "2026-10"
    assert plan["runs"] == [{"client_id": "alpha", "month": "2026-10"}]
    assert plan["inactive"] == ["later"]
    assert len(plan["config_errors"]) == 1 and "broken.yaml" in plan["config_errors"][0]

    subset = plan_month(data_interval_start=None, data_interval_end=None, run_after=end,
                        month="2026-09", clients=["alpha", "nobody"], locations=loc)  # fmt: skip
    assert subset["runs"] == [{"client_id": "alpha", "month": "2026-09"}]
    assert any("nobody" in e for e in subset["config_errors"])


def test_summary_separates_published_held_and_failed():
    plan = {"report_month": "2026-10", "runs": [{"client_id": c} for c in "abc"], "config_errors": []}
    outcomes = [
        {"client_id": "a", "report": "published"},
        {"client_id": "b", "report": "held_back", "reasons": ["b 2026-10: no runs"]},
        None,
    ]
    with pytest.raises(ClientStepFailed, match="c: a step failed"):
        summarize(plan, outcomes)
    ok = summarize({**plan, "runs": plan["runs"][:2]}, outcomes)
    assert ok["published"] == ["a"] and ok["held_back"] == {"b": ["b 2026-10: no runs"]} and ok["failed"] == []


def test_email_switch():
    assert email_enabled(None, {}) is False
    assert email_enabled(None, {"ROI_EMAIL_REPORTS": "true"}) is True
    assert email_enabled(False, {"ROI_EMAIL_REPORTS": "true"}) is False


def test_backfill_command_names_the_months_by_their_first_day():
    from roi_pipeline.orchestration.onboarding import backfill_command

    line = backfill_command("acme", "2026-08", "2026-10")
    assert "--dag-id roi_monthly --from-date 2026-08-01 --to-date 2026-10-01" in line
    assert '"clients": ["acme"]' in line
