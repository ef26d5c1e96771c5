"""dbt builds on two threads; a DuckDB write-write conflict between them is run again on one.

The conflict itself cannot be provoked on demand (it depends on two threads' timing), so
dbt's runner is replaced by one that answers as dbt does when a node hits it.
"""

from __future__ import annotations

from types import SimpleNamespace

import dbt.cli.main
import pytest

from roi_pipeline import transform

CONFLICT = 'TransactionContext Error: Catalog write-write conflict on create with "fct_automation_runs__dbt_tmp"'


def _node(status: str, message: str) -> SimpleNamespace:
    return SimpleNamespace(
        status=status, message=message, node=SimpleNamespace(unique_id="model.roi.fct_automation_runs")
    )


def _run(success: bool, *nodes: SimpleNamespace, exception: Exception | None = None) -> SimpleNamespace:
    return SimpleNamespace(success=success, exception=exception, result=SimpleNamespace(results=list(nodes)))


@pytest.fixture
def dbt_answers(monkeypatch):
    """dbt's runner answering with the given runs in turn; returns the argument lists it got."""
    calls: list[list[str]] = []
    answers: list[SimpleNamespace] = []

    class Runner:
        def __init__(self, callbacks=None):
            pass

        def invoke(self, args):
            calls.append(list(args))
            return answers.pop(0)

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)

    def answer(*runs: SimpleNamespace) -> list[list[str]]:
        answers.extend(runs)
        return calls

    return answer


def test_a_conflict_is_built_again_on_one_thread(dbt_answers, tmp_path):
    calls = dbt_answers(_run(False, _node("error", CONFLICT)), _run(True, _node("success", "OK")))
    result = transform.run_dbt(["build"], tmp_path / "w.duckdb")
    assert result.success and result.failures == []
    assert len(calls) == 2
    assert "--threads" not in calls[0]
    assert calls[1][-2:] == ["--threads", "1"] and calls[1][:-2] == calls[0]


def test_a_conflict_that_dbt_itself_raises_is_built_again(dbt_answers, tmp_path):
    calls = dbt_answers(_run(False, exception=RuntimeError(CONFLICT)), _run(True))
    assert transform.run_dbt(["build"], tmp_path / "w.duckdb").success
    assert len(calls) == 2


def test_a_failure_of_the_data_is_not_run_again(dbt_answers, tmp_path):
    calls = dbt_answers(_run(False, _node("error", "Conversion Error: could not convert string 'x' to INT32")))
    result = transform.run_dbt(["build"], tmp_path / "w.duckdb")
    assert not result.success
    assert result.failures == [
        "model.roi.fct_automation_runs: error: Conversion Error: could not convert string 'x' to INT32"
    ]
    assert len(calls) == 1


def test_another_transaction_error_is_not_run_again(dbt_answers, tmp_path):
    disk = "TransactionContext Error: Failed to commit: could not write to file: No space left on device"
    calls = dbt_answers(_run(False, _node("error", disk)))
    assert not transform.run_dbt(["build"], tmp_path / "w.duckdb").success
    assert len(calls) == 1


def test_a_second_conflict_fails_the_build(dbt_answers, tmp_path):
    calls = dbt_answers(_run(False, _node("error", CONFLICT)), _run(False, _node("error", CONFLICT)))
    result = transform.run_dbt(["build"], tmp_path / "w.duckdb")
    assert not result.success
    assert result.failures == [f"model.roi.fct_automation_runs: error: {CONFLICT}"]
    assert len(calls) == 2  # once on one thread, no more


def test_the_profile_reads_the_deployments_threads_with_the_same_default():
    import re

    from roi_pipeline import settings

    profile = (settings.PROJECT_DIR / "dbt_project" / "profiles.yml").read_text()
    found = re.search(r"threads: \"\{\{ env_var\('ROI_DBT_THREADS', '(\d+)'\) \| as_number \}\}\"", profile)
    assert found, "profiles.yml no longer reads ROI_DBT_THREADS"
    assert (settings.DBT_THREADS[0], found.group(1)) == ("ROI_DBT_THREADS", settings.DBT_THREADS[1])


def test_the_threads_setting_is_checked_and_reaches_dbt(tmp_path, monkeypatch):
    import os

    from roi_pipeline.settings import dbt_threads

    assert dbt_threads({}) == dbt_threads({"ROI_DBT_THREADS": " "}) == "2"
    assert dbt_threads({"ROI_DBT_THREADS": "1"}) == "1"
    for bad in ("two", "0", "-1", "1.5"):
        with pytest.raises(ValueError, match=f"ROI_DBT_THREADS must be .*not '?{bad}'?$"):
            dbt_threads({"ROI_DBT_THREADS": bad})
    seen = []

    class Runner:
        def __init__(self, callbacks=None):
            pass

        def invoke(self, args):
            seen.append(os.environ["ROI_DBT_THREADS"])
            return _run(True)

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.setenv("ROI_DBT_THREADS", "")  # set but empty: the default, not an error in dbt
    assert transform.run_dbt(["build"], tmp_path / "w.duckdb").success
    assert seen == ["2"]
