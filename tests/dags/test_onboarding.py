"""Before a backfill: `roi_onboard_client` / `python -m roi_pipeline.orchestration.onboarding`
says exactly what is missing for a new client, or prints the backfill command."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pendulum
import pytest

from roi_pipeline.orchestration.onboarding import check_client, describe, main, unbuilt_earlier_months
from roi_pipeline.settings import Locations
from tests.dags.harness import Sample, environment, make_sample, run_dag

CLIENT = "hudson-roofing"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """Generated client files and landing data, shared read-only by the tests (each copies it)."""
    return make_sample(tmp_path_factory.mktemp("onboarding-sample"), clients=2, months=6)


@pytest.fixture
def sample(landing, tmp_path):
    """A private copy: tests break their own client files and landing folders."""
    shutil.copytree(landing.landing, tmp_path / "landing")
    shutil.copytree(landing.clients, tmp_path / "clients")
    return Sample(tmp_path, tmp_path / "landing", tmp_path / "clients", tmp_path / "wh" / "warehouse.duckdb",
                  tmp_path / "reports")  # fmt: skip


def check(sample, first: str, last: str) -> dict:
    with environment(sample.env()):
        return check_client(CLIENT, first, last, locations=Locations.from_env())


def test_a_complete_client_is_ready_and_gets_the_backfill_command(sample):
    result = check(sample, "2026-08", "2026-10")
    assert result["ok"], result["problems"]
    assert result["problems"] == [] and result["notes"] == []  # empty warehouse: the first run builds all
    assert set(result["months"]) == {"2026-08", "2026-09", "2026-10"}
    assert "--from-date 2026-08-01 --to-date 2026-10-01" in result["backfill_command"]
    text = describe(result, CLIENT)
    assert "ready to backfill" in text and result["backfill_command"] in text


def test_a_missing_source_folder_is_named(sample):
    shutil.rmtree(sample.landing / CLIENT / "toggl_time_entries")
    result = check(sample, "2026-08", "2026-10")
    assert not result["ok"] and result["backfill_command"] is None
    assert any(p.startswith("MISSING toggl_time_entries") for p in result["problems"]), result["problems"]
    assert "NOT ready to backfill" in describe(result, CLIENT)


def test_a_broken_client_file_is_reported_with_its_field(sample):
    path = sample.clients / f"{CLIENT}.yaml"
    path.write_text(path.read_text().replace("currency: USD", "currency: DOLLARS"))
    result = check(sample, "2026-08", "2026-10")
    assert not result["ok"]
    assert any(p.startswith("CONFIG ERROR") and "currency" in p for p in result["problems"]), result["problems"]


def test_months_before_the_engagement_are_refused(sample):
    result = check(sample, "2024-01", "2026-10")
    assert not result["ok"]
    assert any("before the engagement starts" in p for p in result["problems"]), result["problems"]


def test_a_month_without_its_run_log_is_listed_under_that_month(sample):
    # remove September's n8n executions: the raw gate must block September, not its neighbours
    removed = [p for p in (sample.landing / CLIENT / "n8n_executions").iterdir() if "2026-09" in p.name]
    assert removed, sorted(p.name for p in (sample.landing / CLIENT / "n8n_executions").iterdir())
    for p in removed:
        p.unlink()
    result = check(sample, "2026-08", "2026-10")
    assert not result["ok"]
    assert result["months"]["2026-09"], result["months"]
    assert result["months"]["2026-08"] == [] and result["months"]["2026-10"] == []


def test_the_command_line_exits_1_with_the_list(sample, capsys):
    shutil.rmtree(sample.landing / CLIENT / "toggl_time_entries")
    with environment(sample.env()):
        status = main([CLIENT, "--from", "2026-08", "--to", "2026-10"])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{CLIENT}: NOT ready to backfill" in out and "MISSING toggl_time_entries" in out


# -- the note about earlier months ------------------------------------------------------------


def _warehouse_with_runs(path: Path, rows: list[tuple[str, str]]) -> Locations:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_automation_runs (client_id varchar, run_month date)")
        for client_id, month in rows:
            con.execute("insert into marts.fct_automation_runs values (?, ?)", [client_id, month])
    return Locations(path.parent, path.parent, path, path.parent)


def test_earlier_months_a_backfill_would_leave_empty_are_named(tmp_path):
    other_client_only = _warehouse_with_runs(tmp_path / "a.duckdb", [("acme", "2026-05-01")])
    assert unbuilt_earlier_months(other_client_only, CLIENT, "2026-05", "2026-08") == ["2026-05", "2026-06", "2026-07"]
    # the client's earlier runs are already built: nothing to say
    built = _warehouse_with_runs(tmp_path / "b.duckdb", [(CLIENT, "2026-06-01")])
    assert unbuilt_earlier_months(built, CLIENT, "2026-05", "2026-08") == []
    # no warehouse, or no runs fact yet: the first monthly build takes all history
    assert unbuilt_earlier_months(Locations(tmp_path, tmp_path, tmp_path / "none.duckdb", tmp_path), CLIENT,
                                  "2026-05", "2026-08") == []  # fmt: skip
    # backfilling from the engagement's first month: nothing earlier
    assert unbuilt_earlier_months(other_client_only, CLIENT, "2026-08", "2026-08") == []


# -- the DAG ------------------------------------------------------------------------------------


def test_the_onboarding_dag_fails_with_the_list_or_passes_with_the_command(sample):
    ready, states, _ = run_dag(
        "roi_onboard_client", sample, logical_date=pendulum.datetime(2026, 11, 2, tz="UTC"),
        conf={"client": CLIENT, "from_month": "2026-09", "to_month": "2026-10"},
    )  # fmt: skip
    assert str(ready.state) == "success", states
    shutil.rmtree(sample.landing / CLIENT / "toggl_time_entries")
    broken, states, _ = run_dag(
        "roi_onboard_client", sample, logical_date=pendulum.datetime(2026, 11, 3, tz="UTC"),
        conf={"client": CLIENT, "from_month": "2026-09", "to_month": "2026-10"},
    )  # fmt: skip
    assert str(broken.state) == "failed" and states["check"] == ["failed"], states
