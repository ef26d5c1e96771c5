"""A client's holiday calendar (working_hours.holidays) reaches the models as dates."""

from __future__ import annotations

import pytest

from roi_pipeline.config import ConfigFileError
from roi_pipeline.config_tables import config_rows
from tests.fakes.clients import make_client


def holidays_listed(client) -> set[str]:
    return {r["value"] for r in config_rows(client)["config_lists"] if r["list_name"] == "holidays"}


def test_a_holiday_calendar_is_written_to_the_config_lists_for_the_engagement_years(tmp_path):
    hours = {"start": "09:00", "end": "17:30", "holidays": "GB-ENG"}
    client = make_client(tmp_path, "acme", working_hours=hours)
    year = client.engagement_start.year
    listed = holidays_listed(client)
    # England's bank holidays, by hand: Christmas and Boxing Day; Easter Monday 2025 and 2026
    assert {f"{year}-12-25", f"{year}-12-26", "2025-04-21", "2026-04-06"} <= listed
    assert f"{year}-12-24" not in listed and "2025-10-27" not in listed
    # from the year before the engagement to ten after it: from the file alone, never today
    assert min(listed)[:4] == str(year - 1) and max(listed)[:4] == str(year + 10)


def test_no_calendar_no_holidays_and_an_unknown_one_is_a_config_error(tmp_path):
    assert not holidays_listed(make_client(tmp_path, "acme", working_hours={"start": "09:00", "end": "17:30"}))
    with pytest.raises(ConfigFileError, match="unknown holiday calendar 'XX-YY'"):
        make_client(tmp_path, "bravo", working_hours={"start": "09:00", "end": "17:30", "holidays": "XX-YY"})
