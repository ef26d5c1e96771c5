"""The month of a build reaches dbt in the environment and does not invalidate its partial parse.

A changed ``--vars`` value makes dbt re-parse the whole project (12-15 s) on every monthly
build; the month settings (settings.DBT_ENV_VARS) are read only while executing.
"""

from __future__ import annotations

import pytest

from roi_pipeline.settings import DBT_ENV_VARS
from roi_pipeline.transform import DBT_DIR, dbt_env, run_dbt


def test_the_dbt_macro_reads_the_names_settings_gives():
    macro = (DBT_DIR / "macros" / "cross_db.sql").read_text()
    for name, env_name in DBT_ENV_VARS.items():
        assert f"'{name}': '{env_name}'" in macro, (name, env_name)


def test_every_month_variable_is_named_set_or_empty():
    assert dbt_env(report_month="2026-10") == {"ROI_REPORT_MONTH": "2026-10", "ROI_THROUGH_MONTH": ""}
    assert dbt_env() == {"ROI_REPORT_MONTH": "", "ROI_THROUGH_MONTH": ""}


def test_a_month_passed_as_a_var_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="report_month"):
        run_dbt(["parse"], tmp_path / "wh.duckdb", variables={"report_month": "2026-10"})


@pytest.mark.slow
def test_a_new_month_keeps_dbts_partial_parse(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    log = tmp_path / "dbt" / "logs" / "dbt.log"
    assert run_dbt(["parse"], warehouse, report_month="2026-09", quiet=True).success
    first = log.read_text()
    assert "Starting full parse" in first
    assert run_dbt(["parse"], warehouse, report_month="2026-10", quiet=True).success
    second = log.read_text()[len(first) :]
    assert "Unable to do partial parsing" not in second and "Starting full parse" not in second
    assert "Nothing changed, skipping partial parsing" in second
