"""Before a backfill: `roi_onboard_client` / `python -m roi_pipeline.orchestration.onboarding`
says exactly what is missing for a new client, or prints the backfill command."""

from __future__ import annotations

import shutil

import duckdb
import pendulum
import pytest

from roi_pipeline.orchestration.onboarding import check_client, describe, main
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
    assert result["problems"] == []
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


# -- backfilling into a populated warehouse ----------------------------------------------------


@pytest.mark.slow
def test_the_monthly_dag_builds_a_newcomers_earlier_months_in_a_populated_warehouse(landing, tmp_path):
    """No full build first and no backfill from the engagement start: the monthly run of
    October alone builds the newcomer's July to September as a full build would."""
    from datetime import date

    from roi_pipeline.cli import main as roi
    from roi_pipeline.config import load_clients
    from tests.integration.roi_reference import compute_client, month_range

    sample = Sample(tmp_path, tmp_path / "landing", tmp_path / "clients", tmp_path / "wh" / "warehouse.duckdb",
                    tmp_path / "reports")  # fmt: skip
    shutil.copytree(landing.landing, sample.landing, ignore=shutil.ignore_patterns(CLIENT))
    shutil.copytree(landing.clients, sample.clients, ignore=shutil.ignore_patterns(f"{CLIENT}.yaml"))
    with environment(sample.env()):
        roi(["run"])  # the clients already served: a populated warehouse
    shutil.copytree(landing.landing / CLIENT, sample.landing / CLIENT)
    shutil.copy(landing.clients / f"{CLIENT}.yaml", sample.clients)

    run, states, _ = run_dag("roi_monthly", sample, logical_date=pendulum.datetime(2026, 11, 1, tz="UTC"))
    assert states["dbt_build"] == ["success"], states

    client = next(c for c in load_clients(sample.clients).clients if c.client_id == CLIENT)
    months = month_range(date(2026, 5, 1), date(2026, 10, 1))
    ref = compute_client(client, sample.landing, months)
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        rows = con.execute(
            "select report_month, tasks_automated, hours_saved, fee_charged, guarantee_verdict "
            "from marts.fct_client_months where client_id = ? order by report_month",
            [CLIENT],
        ).fetchall()
    assert [r[0] for r in rows] == months
    for month, tasks, hours, fee, verdict in rows:
        expected = ref.client_months[month]
        assert tasks == sum(w.tasks_automated for (_, m), w in ref.workflow_months.items() if m == month), month
        assert hours == pytest.approx(expected.hours_saved, abs=1e-9), month
        assert (fee, verdict) == (pytest.approx(expected.fee_charged), expected.guarantee_verdict), month
    assert any(r[1] > 0 for r in rows[:-1]), "the earlier months have their runs"
