"""The configuration tables carry the volume source, window lengths and KPI baseline length."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from roi_pipeline.config import load_client_file
from roi_pipeline.config_tables import write_config_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients"


def _client(tmp_path: Path):
    data = yaml.safe_load((EXAMPLES / "northwind-dental.yaml").read_text())
    data["kpi_baseline_days"] = 45
    data["workflows"][0]["baseline"]["window_days"] = 60
    data["workflows"][0]["baseline"]["volume"] = {
        "object": "meetings",
        "filters": [
            {"property": "hs_meeting_outcome", "values": ["COMPLETED"]},
            {"property": "hs_activity_type", "values": ["Demo", "Intro"]},
        ],
        "timestamp_property": "hs_meeting_start_time",
    }
    path = tmp_path / "northwind-dental.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_client_file(path)


def test_volume_source_and_lengths_reach_the_config_tables(tmp_path):
    client = _client(tmp_path)
    con = duckdb.connect()
    # a warehouse written before these columns existed gains them instead of failing
    con.execute("create schema raw")
    con.execute("create table raw.config_clients (client_id varchar, baseline_days integer)")
    con.execute("create table raw.config_workflows (client_id varchar, workflow_key varchar)")
    write_config_tables(con, [client])
    assert con.execute("select baseline_days, kpi_baseline_days from raw.config_clients").fetchall() == [(90, 45)]
    rows = con.execute(
        "select workflow_key, volume_timestamp_property, baseline_days from raw.config_workflows order by 1"
    ).fetchall()
    by_key = {key: (prop, days) for key, prop, days in rows}
    assert by_key["lead-triage"] == ("hs_meeting_start_time", 60)
    assert by_key["invoice-chasing"] == (None, 90)  # the client's baseline_days
    lists = con.execute(
        "select list_name, value from raw.config_lists where list_name like 'volume_filter:%' order by 1, 2"
    ).fetchall()
    assert lists == [
        ("volume_filter:lead-triage:hs_activity_type", "Demo"),
        ("volume_filter:lead-triage:hs_activity_type", "Intro"),
        ("volume_filter:lead-triage:hs_meeting_outcome", "COMPLETED"),
    ]


def test_backfill_reaches_the_longest_baseline_window(tmp_path):
    from datetime import date

    from roi_pipeline.extract.runner import backfill_start

    client = _client(tmp_path)  # engagement 2025-08-01; lead triage live 2025-11-10, its window 60 days
    assert backfill_start(client, None) == date(2025, 8, 1)
    data = client.model_dump()
    data["workflows"][1]["baseline"]["window_days"] = 200  # invoice chasing, live 2025-12-01
    wide = type(client).model_validate(data)
    assert backfill_start(wide, None) == date(2025, 5, 1)  # 2025-12-01 - 200 days = 2025-05-15
    data["workflows"][1]["baseline"]["window_days"] = None
    data["kpi_baseline_days"] = 366  # first go-live 2025-11-01 (recall reminders) - 366 days = 2024-10-31
    assert backfill_start(type(client).model_validate(data), None) == date(2024, 10, 1)
