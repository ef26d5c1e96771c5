"""Make scenario logs, Zapier Zap runs and a client's mapped run log, read as generic run rows.

Inputs are literal files in each vendor's shape; expectations are worked out by hand. The
example client (examples/clients/northwind-dental.yaml) is the context: Europe/London, GBP.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from roi_pipeline.config import ConfigFileError, load_client_file
from roi_pipeline.formats import FORMATS, ParseContext, Rejected, UnreadableFile
from roi_pipeline.formats.platforms import MakeScenarioLogs, ZapierZapRuns
from roi_pipeline.formats.runs import GenericRuns

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "clients" / "northwind-dental.yaml"


@pytest.fixture(scope="module")
def client():
    return load_client_file(EXAMPLE)


def ctx_for(client, ingested_at=datetime(2026, 1, 10)):
    return ParseContext(client=client, source_file="northwind-dental/x/file", ingested_at=ingested_at)


def parse_all(fmt, path, ctx):
    rows, rejected = [], []
    for n, record in fmt.records(path, ctx):
        try:
            rows.append(fmt.parse(record, ctx).row)
        except Rejected as exc:
            rejected.append((n, str(exc)))
    return rows, rejected


def test_make_and_zapier_land_in_the_generic_table_with_its_columns():
    for folder in ("make_scenario_logs", "zapier_zap_runs"):
        assert FORMATS[folder].table == "generic_runs"
        assert FORMATS[folder].columns == GenericRuns.columns


def test_make_scenario_logs(client, tmp_path):
    page = {
        "scenarioLogs": [
            {"imtId": "b2", "scenarioId": 4410, "type": "auto", "instant": True, "status": 1,
             "timestamp": "2025-12-02T09:00:00.000Z", "duration": 2500, "operations": 7},
            {"imtId": "b1", "scenarioId": 4410, "type": "auto", "instant": False, "status": 2,
             "timestamp": 1764666000000, "duration": 1000},
            {"imtId": "b0", "scenarioId": 4410, "type": "manual", "instant": False, "status": 3,
             "timestamp": "2025-12-02T07:00:00Z"},
            {"imtId": "x1", "scenarioId": 4410, "status": 7, "timestamp": "2025-12-02T07:00:00Z"},
            {"imtId": "x2", "status": 1, "timestamp": "2025-12-02T07:00:00Z"},
            {"imtId": "x3", "scenarioId": 4410, "status": 1, "timestamp": "2026-02-01T00:00:00Z"},
            {"imtId": "x4", "scenarioId": 4410, "status": 1, "timestamp": "yesterday"},
            {"scenarioId": 4410, "status": 1, "timestamp": "2025-12-02T07:00:00Z"},
        ],
        "pg": {"sortDir": "desc"},
    }  # fmt: skip
    path = tmp_path / "2025-12.json"
    path.write_text(json.dumps(page))
    rows, rejected = parse_all(MakeScenarioLogs(), path, ctx_for(client))
    got = [(r["run_id"], r["platform"], r["workflow_id"], r["status"], r["triggered_by"], r["started_at"],
            r["finished_at"], r["items"]) for r in rows]  # fmt: skip
    assert got == [
        ("b2", "make", "4410", "success", "webhook", datetime(2025, 12, 2, 9), datetime(2025, 12, 2, 9, 0, 2, 500000), None),
        # 1764666000000 ms = 2025-12-02T09:00:00Z; a warning (2) is no success
        ("b1", "make", "4410", "error", "schedule", datetime(2025, 12, 2, 9), datetime(2025, 12, 2, 9, 0, 1), None),
        ("b0", "make", "4410", "error", "manual", datetime(2025, 12, 2, 7), None, None),
    ]  # fmt: skip
    reasons = dict(rejected)
    assert reasons[4].startswith("unknown Make status 7")
    assert reasons[5] == "missing scenarioId"
    assert "future" in reasons[6]  # after the ingestion bound (2026-01-10)
    assert reasons[7].startswith("bad started_at")
    assert reasons[8] == "missing imtId (execution id)"
    assert (
        json.loads(MakeScenarioLogs().parse(page["scenarioLogs"][0], ctx_for(client)).row["_record"])["operations"] == 7
    )


def test_zapier_zap_runs(client, tmp_path):
    lines = [
        {"id": "r1", "zap_id": 88231, "start_time": "2025-12-02T09:00:00Z", "end_time": "2025-12-02T09:00:04Z",
         "status": "success", "zap_title": "Intake", "steps": []},
        {"id": "r2", "zap_id": 88231, "start_time": "2025-12-02T10:00:00Z", "end_time": None, "status": "filtered"},
        {"id": "r3", "zap_id": 88231, "start_time": "2025-12-02T11:00:00Z", "status": "errored"},
        {"id": "r4", "zap_id": 88231, "start_time": "2025-12-02T11:00:00Z", "status": "exploded"},
        {"id": "r5", "zap_id": 88231, "start_time": "2025-12-02T11:00:00Z", "end_time": "2025-12-02T10:00:00Z",
         "status": "success"},
        {"zap_id": 88231, "start_time": "2025-12-02T11:00:00Z", "status": "success"},
    ]  # fmt: skip
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    rows, rejected = parse_all(ZapierZapRuns(), path, ctx_for(client))
    assert [(r["run_id"], r["workflow_id"], r["status"], r["triggered_by"]) for r in rows] == [
        ("r1", "88231", "success", "event"),
        ("r2", "88231", "canceled", "event"),
        ("r3", "88231", "error", "event"),
    ]
    assert dict(rejected) == {
        4: "unknown Zapier status 'exploded'",
        5: "negative duration: stopped before it started",
        6: "missing id (Zap run id)",
    }


MAPPED_CSV = (
    "Execution ID,Flow,Began,Ended,Outcome,Cause,item_count\n"
    "e1,flow-7,2025-12-02 09:00:00,2025-12-02 09:00:05,OK,Cron,4\n"
    "e2,flow-7,2025-12-02 10:00:00,,Failed,hook,\n"
    "e3,flow-7,2025-12-02 11:00:00,,Exploded,hook,1\n"
)
MAPPING = {
    "columns": {"run_id": "Execution ID", "workflow_id": "Flow", "started_at": "Began", "finished_at": "Ended",
                "status": "Outcome", "triggered_by": "Cause", "items": "item_count"},
    "statuses": {"ok": "success", "FAILED": "error"},
    "triggers": {"cron": "schedule", "Hook": "webhook"},
    "platform": "other",
}  # fmt: skip


def mapped_client(tmp_path: Path, mapping) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["run_log"] = mapping
    path = tmp_path / "northwind-dental.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_mapped_run_log_reads_its_own_names_and_values(tmp_path):
    client = load_client_file(mapped_client(tmp_path, MAPPING))
    path = tmp_path / "runs.csv"
    path.write_text(MAPPED_CSV)
    rows, rejected = parse_all(GenericRuns(), path, ctx_for(client))
    # Europe/London in December is UTC+0: naive times are the same instants
    assert [(r["run_id"], r["platform"], r["workflow_id"], r["status"], r["triggered_by"], r["items"],
             r["started_at"], r["started_tz_assumed"]) for r in rows] == [
        ("e1", "other", "flow-7", "success", "schedule", 4, datetime(2025, 12, 2, 9), True),
        ("e2", "other", "flow-7", "error", "webhook", None, datetime(2025, 12, 2, 10), True),
    ]  # fmt: skip
    assert rejected == [(3, "unknown status 'exploded' (not in the client's run_log.statuses)")]
    # the field tally sees generic names: drift checks compare like with like
    assert "items" in GenericRuns().fields_of(r for _n, r in GenericRuns().records(path, ctx_for(client)))


def test_a_mapped_run_log_missing_its_mapped_column_fails_the_file(tmp_path):
    client = load_client_file(mapped_client(tmp_path, MAPPING))
    path = tmp_path / "runs.csv"
    path.write_text(MAPPED_CSV.replace("Execution ID", "Run"))
    with pytest.raises(UnreadableFile, match="schema drift: column\\(s\\) execution_id missing"):
        list(GenericRuns().records(path, ctx_for(client)))


def test_without_a_mapping_the_own_names_are_drift(client, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(MAPPED_CSV)
    with pytest.raises(UnreadableFile, match="schema drift"):
        list(GenericRuns().records(path, ctx_for(client)))


@pytest.mark.parametrize(
    ("mapping", "field", "message"),
    [
        (
            {"columns": {"item_count": "x"}},
            "run_log.columns.item_count",
            "'item_count' is not a generic run-log column",
        ),
        (
            {"columns": {"run_id": "Id", "workflow_id": "ID"}},
            "run_log.columns.workflow_id",
            "already mapped to 'run_id'",
        ),
        ({"statuses": {"ok": "fine"}}, "run_log.statuses.ok", "Input should be"),
        ({"triggers": {"Cron": "schedule", "cron": "schedule"}}, "run_log.triggers.cron", "the same value"),
        ({"platform": "n8n"}, "run_log.platform", "Input should be"),
        ({"colums": {}}, "run_log.colums", "unknown field"),
    ],
)
def test_mapping_errors_name_the_file_and_field(tmp_path, mapping, field, message):
    path = mapped_client(tmp_path, mapping)
    with pytest.raises(ConfigFileError) as info:
        load_client_file(path)
    text = str(info.value)
    # the line of the mapping's field in the written file
    lines = path.read_text().splitlines()
    key = field.split(".")[-1]
    start = lines.index("run_log:")
    line = next(i for i, ln in enumerate(lines, 1) if i > start and ln.strip().startswith((f"{key}:", f"'{key}':")))
    assert f"{path}: line {line}: field {field}: " in text and message in text, text
