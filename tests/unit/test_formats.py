"""Landing-format parsers (roi_pipeline.formats), driven by vendor-shaped files.

Every input is a literal file written into ``tmp_path`` in the vendor's own shape (an n8n
``GET /api/v1/executions`` page, a HubSpot CRM v3 list page, a Harvest / Toggl CSV export,
...), read through the public interface ``records(path, ctx)`` / ``parse(record, ctx)``,
and checked against values worked out by hand in the test.

The example client (examples/clients/northwind-dental.yaml) is the context: time zone
Europe/London (GMT in winter, BST = UTC+1 from the last Sunday of March to the last Sunday
of October), register ids n8n "1012", zapier "zap_88231", make "scn_4410", Harvest
timesheets with ``process_field: task`` and consultancy rows ``client = Northbeam AI Ops``.
"""

from __future__ import annotations

import csv
import inspect
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import roi_pipeline.formats as formats_pkg
from roi_pipeline.config import load_client_file
from roi_pipeline.formats import FORMATS, LandingFormat, ParseContext, Parsed, Rejected, UnreadableFile
from roi_pipeline.formats.hubspot import (
    HubSpotCalls,
    HubSpotContacts,
    HubSpotDeals,
    HubSpotEmails,
    HubSpotMeetings,
)
from roi_pipeline.formats.runs import GenericRuns, N8nExecutions
from roi_pipeline.formats.timesheets import HarvestTimeEntries, TogglTimeEntries
from roi_pipeline.timeutil import BadTimestamp, localize, parse_epoch_millis, parse_instant

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CLIENT = REPO / "examples" / "clients" / "northwind-dental.yaml"
BOM = "\ufeff"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def client():
    return load_client_file(EXAMPLE_CLIENT)


@pytest.fixture
def ctx(client):
    return ParseContext(client=client, source_file="northwind-dental/test/file")


@pytest.fixture(scope="module")
def toggl_client(tmp_path_factory):
    """The example client, switched to Toggl timesheets (process in Project, phase in Tags)."""
    text = EXAMPLE_CLIENT.read_text(encoding="utf-8")
    for old, new in (
        ("format: harvest", "format: toggl"),
        ("process_field: task", "process_field: project"),
        ("phase_field: task", "phase_field: tags"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("toggl-client") / "northwind-dental.yaml"
    path.write_text(text, encoding="utf-8")
    return load_client_file(path)


@pytest.fixture
def toggl_ctx(toggl_client):
    return ParseContext(client=toggl_client, source_file="northwind-dental/toggl_time_entries/x.csv")


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` byte-for-byte (no newline translation), UTF-8."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def load(fmt: LandingFormat, path: Path, ctx: ParseContext) -> list[tuple[int, Parsed | Rejected]]:
    """What ingestion does with one file: records, then parse each (Rejected kept)."""
    out: list[tuple[int, Parsed | Rejected]] = []
    for number, record in fmt.records(path, ctx):
        try:
            out.append((number, fmt.parse(record, ctx)))
        except Rejected as exc:
            out.append((number, exc))
    return out


def rows(results) -> list[dict]:
    assert all(isinstance(r, Parsed) for _, r in results), [str(r) for _, r in results if isinstance(r, Rejected)]
    return [r.row for _, r in results]


def only(results) -> Parsed | Rejected:
    assert len(results) == 1, results
    return results[0][1]


def assert_rejected(result, *fragments: str) -> None:
    assert isinstance(result, Rejected), f"expected Rejected, got {result!r}"
    message = str(result)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in reason {message!r}"


def assert_row_shape(fmt: type[LandingFormat], row: dict) -> None:
    """A parsed row fills exactly the declared columns (+ _record), nothing silently dropped."""
    assert set(row) == {c.name for c in fmt.columns} | {"_record"}
    json.loads(row["_record"])


def n8n_execution(**overrides) -> dict:
    """One execution as GET /api/v1/executions returns it (newest spec: ids are strings)."""
    execution = {
        "id": "5001",
        "finished": True,
        "mode": "trigger",
        "retryOf": None,
        "retrySuccessId": None,
        "status": "success",
        "startedAt": "2025-11-12T09:15:00.000Z",
        "stoppedAt": "2025-11-12T09:15:42.500Z",
        "workflowId": "1012",
        "waitTill": None,
        "storedAt": "db",
        "customData": {"items": "3", "llm_tokens": "1840", "llm_cost": "0.0042"},
    }
    execution.update(overrides)
    return execution


# --------------------------------------------------------------------------- n8n executions


N8N_PAGE = """{
  "data": [
    {
      "id": "5001",
      "finished": true,
      "mode": "trigger",
      "retryOf": null,
      "retrySuccessId": null,
      "status": "success",
      "startedAt": "2025-11-12T09:15:00.000Z",
      "stoppedAt": "2025-11-12T09:15:42.500Z",
      "workflowId": "1012",
      "waitTill": null,
      "customData": {"items": "3", "llm_tokens": "1840", "llm_cost": "0.0042"}
    },
    {
      "id": 5002,
      "finished": false,
      "mode": "webhook",
      "retryOf": 4990,
      "retrySuccessId": null,
      "status": "running",
      "startedAt": "2025-11-12T10:00:00.000+01:00",
      "stoppedAt": null,
      "workflowId": 1012,
      "waitTill": null
    }
  ],
  "nextCursor": "MTIzZTQ1NjdlODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTA"
}
"""


def test_n8n_page_with_next_cursor(tmp_path, ctx):
    results = load(N8nExecutions(), write(tmp_path, "2025-11.json", N8N_PAGE), ctx)
    assert [n for n, _ in results] == [1, 2]
    first, second = rows(results)

    assert first["id"] == "5001"
    assert first["workflow_id"] == "1012"
    assert first["status"] == "success"
    assert first["mode"] == "trigger"
    assert first["finished"] is True
    assert first["started_at"] == datetime(2025, 11, 12, 9, 15, 0)
    assert first["stopped_at"] == datetime(2025, 11, 12, 9, 15, 42, 500000)
    assert first["started_tz_assumed"] is False
    # customData values are strings, as n8n stores them
    assert first["items"] == 3 and isinstance(first["items"], int)
    assert first["llm_tokens"] == 1840
    assert first["llm_cost"] == pytest.approx(0.0042)
    assert first["retry_of"] is None and first["retry_success_id"] is None

    # numeric ids (the old hand-written spec) are the same ids as strings
    assert second["id"] == "5002"
    assert second["workflow_id"] == "1012"
    assert second["retry_of"] == "4990"
    # +01:00 is an instant: 10:00 at UTC+1 is 09:00 UTC
    assert second["started_at"] == datetime(2025, 11, 12, 9, 0, 0)
    assert second["stopped_at"] is None  # still running
    assert second["finished"] is False
    assert second["items"] is None and second["llm_tokens"] is None and second["llm_cost"] is None

    for row in (first, second):
        assert_row_shape(N8nExecutions, row)


def test_n8n_json_array_of_pages(tmp_path, ctx):
    text = (
        '[{"data": [{"id": "7003", "finished": true, "mode": "trigger", "retryOf": null, "retrySuccessId": null,'
        ' "status": "success", "startedAt": "2025-12-01T08:00:00.000Z", "stoppedAt": "2025-12-01T08:00:05.000Z",'
        ' "workflowId": "1012", "waitTill": null},'
        ' {"id": "7002", "finished": true, "mode": "trigger", "retryOf": null, "retrySuccessId": null,'
        ' "status": "success", "startedAt": "2025-12-01T07:00:00.000Z", "stoppedAt": "2025-12-01T07:00:09.000Z",'
        ' "workflowId": "1012", "waitTill": null}], "nextCursor": "Y3Vyc29yLTE="},'
        ' {"data": [{"id": "7001", "finished": false, "mode": "trigger", "retryOf": null, "retrySuccessId": "7004",'
        ' "status": "error", "startedAt": "2025-12-01T06:00:00.000Z", "stoppedAt": "2025-12-01T06:00:01.000Z",'
        ' "workflowId": "1012", "waitTill": null}], "nextCursor": null},'
        ' {"data": [], "nextCursor": null}]'
    )
    results = load(N8nExecutions(), write(tmp_path, "pages.json", text), ctx)
    assert [n for n, _ in results] == [1, 2, 3]
    got = rows(results)
    assert [r["id"] for r in got] == ["7003", "7002", "7001"]
    assert got[2]["status"] == "error"
    assert got[2]["retry_success_id"] == "7004"
    assert got[1]["stopped_at"] - got[1]["started_at"] == datetime(2025, 12, 1, 7, 0, 9) - datetime(2025, 12, 1, 7)


def test_n8n_bare_array_of_executions(tmp_path, ctx):
    text = json.dumps([n8n_execution(id="8001"), n8n_execution(id="8002", status="canceled", mode="manual")])
    got = rows(load(N8nExecutions(), write(tmp_path, "executions_0001.json", text), ctx))
    assert [(r["id"], r["status"], r["mode"]) for r in got] == [
        ("8001", "success", "trigger"),
        ("8002", "canceled", "manual"),
    ]


def test_n8n_json_lines(tmp_path, ctx):
    text = (
        '{"id":"9001","finished":true,"mode":"trigger","retryOf":null,"retrySuccessId":null,"status":"success",'
        '"startedAt":"2026-01-05T12:00:00.000Z","stoppedAt":"2026-01-05T12:00:30.000Z","workflowId":"1012","waitTill":null}\n'
        "\n"
        '{"id":"9002","finished":true,"mode":"retry","retryOf":"9000","retrySuccessId":null,"status":"success",'
        '"startedAt":"2026-01-05T12:01:00.000Z","stoppedAt":"2026-01-05T12:01:02.000Z","workflowId":"1012","waitTill":null}\n'
    )
    got = rows(load(N8nExecutions(), write(tmp_path, "lines.jsonl", text), ctx))
    assert [(r["id"], r["mode"], r["retry_of"]) for r in got] == [("9001", "trigger", None), ("9002", "retry", "9000")]
    assert got[0]["stopped_at"] == datetime(2026, 1, 5, 12, 0, 30)


def test_n8n_json_lines_with_unescaped_line_separator_inside_a_string(tmp_path, ctx):
    # JSON allows U+2028 / U+0085 unescaped in strings (json.dumps(ensure_ascii=False) writes
    # them raw); they are not line breaks of a JSON Lines file.
    first = json.dumps(
        n8n_execution(id="9101", customData={"note": "line\u2028sep\x85nel", "items": "2"}), ensure_ascii=False
    )
    second = json.dumps(n8n_execution(id="9102"), ensure_ascii=False)
    assert "\u2028" in first
    got = rows(load(N8nExecutions(), write(tmp_path, "sep.jsonl", first + "\n" + second + "\n"), ctx))
    assert [r["id"] for r in got] == ["9101", "9102"]
    assert got[0]["items"] == 2


def test_n8n_ids_as_numbers_and_strings_compare_equal(tmp_path, ctx):
    as_numbers = (
        '{"data": [{"id": 1000, "workflowId": 1012, "status": "success", "mode": "trigger", "retryOf": 999,'
        ' "startedAt": "2025-11-20T10:00:00.000Z", "stoppedAt": "2025-11-20T10:00:01.000Z"}], "nextCursor": null}'
    )
    as_strings = (
        '{"data": [{"id": "1000", "workflowId": "1012", "status": "success", "mode": "trigger", "retryOf": "999",'
        ' "startedAt": "2025-11-20T10:00:00.000Z", "stoppedAt": "2025-11-20T10:00:01.000Z"}], "nextCursor": null}'
    )
    a = only(load(N8nExecutions(), write(tmp_path, "a.json", as_numbers), ctx)).row
    b = only(load(N8nExecutions(), write(tmp_path, "b.json", as_strings), ctx)).row
    for key in ("id", "workflow_id", "retry_of"):
        assert a[key] == b[key]
        assert isinstance(a[key], str)
    assert (a["id"], a["workflow_id"], a["retry_of"]) == ("1000", "1012", "999")


def test_n8n_custom_data_as_numbers_or_strings(tmp_path, ctx):
    text = json.dumps(
        {
            "data": [
                n8n_execution(id="1", customData={"items": "12", "llm_tokens": "2500", "llm_cost": "0.75"}),
                n8n_execution(id="2", customData={"items": 12, "llm_tokens": 2500, "llm_cost": 0.75}),
                n8n_execution(id="3", customData={}),
                n8n_execution(id="4", customData={"items": "12.0"}),
            ],
            "nextCursor": None,
        }
    )
    got = rows(load(N8nExecutions(), write(tmp_path, "c.json", text), ctx))
    assert [(r["items"], r["llm_tokens"], r["llm_cost"]) for r in got] == [
        (12, 2500, 0.75),
        (12, 2500, 0.75),
        (None, None, None),  # absent = not reported (counts 1 task downstream)
        (12, None, None),
    ]


@pytest.mark.parametrize(
    "custom, reason",
    [
        ({"items": "-1"}, "negative customData.items"),
        ({"items": "2.5"}, "not a whole number"),
        ({"items": "lots"}, "customData.items"),
        # a decimal comma must not silently become 42 (or 0.42 in one locale, 42 in another)
        ({"llm_cost": "0,42"}, "customData.llm_cost"),
        ({"llm_cost": "1_000"}, "customData.llm_cost"),
        ({"llm_cost": "NaN"}, "customData.llm_cost"),
    ],
)
def test_n8n_bad_custom_data_rejects(tmp_path, ctx, custom, reason):
    text = json.dumps({"data": [n8n_execution(customData=custom)], "nextCursor": None})
    assert_rejected(only(load(N8nExecutions(), write(tmp_path, "bad.json", text), ctx)), reason)


@pytest.mark.parametrize("status", ["success", "error", "crashed", "canceled", "waiting", "running", "new", "unknown"])
def test_n8n_every_status_is_accepted(tmp_path, ctx, status):
    text = json.dumps({"data": [n8n_execution(status=status)], "nextCursor": None})
    assert only(load(N8nExecutions(), write(tmp_path, "s.json", text), ctx)).row["status"] == status


@pytest.mark.parametrize(
    "mode",
    ["trigger", "webhook", "retry", "manual", "error", "integrated", "internal", "cli", "evaluation", "chat", "agent"],
)
def test_n8n_every_mode_is_accepted_including_chat(tmp_path, ctx, mode):
    text = json.dumps({"data": [n8n_execution(mode=mode)], "nextCursor": None})
    assert only(load(N8nExecutions(), write(tmp_path, "m.json", text), ctx)).row["mode"] == mode


def test_n8n_unknown_status_or_mode_rejects(tmp_path, ctx):
    text = json.dumps(
        {
            "data": [n8n_execution(id="1", status="exploded"), n8n_execution(id="2", mode="telepathy")],
            "nextCursor": None,
        }
    )
    first, second = load(N8nExecutions(), write(tmp_path, "x.json", text), ctx)
    assert_rejected(first[1], "status", "exploded")
    assert_rejected(second[1], "mode", "telepathy")


def test_n8n_run_of_an_unregistered_workflow_is_loaded(tmp_path, ctx):
    """docs/method.md: such runs count nowhere (the models' rule) but are kept and listed."""
    text = json.dumps({"data": [n8n_execution(workflowId="2tUt1wbLX592XDdX")], "nextCursor": None})
    parsed = only(load(N8nExecutions(), write(tmp_path, "u.json", text), ctx))
    assert isinstance(parsed, Parsed) and parsed.row["workflow_id"] == "2tUt1wbLX592XDdX"
    # an id the register knows on another platform (a Zapier zap) is unregistered for n8n too
    text = json.dumps({"data": [n8n_execution(workflowId="zap_88231")], "nextCursor": None})
    parsed = only(load(N8nExecutions(), write(tmp_path, "z.json", text), ctx))
    assert isinstance(parsed, Parsed) and parsed.row["workflow_id"] == "zap_88231"


def test_n8n_stopped_before_started_is_negative_duration(tmp_path, ctx):
    text = json.dumps(
        {
            "data": [n8n_execution(startedAt="2025-11-12T09:15:00.000Z", stoppedAt="2025-11-12T09:14:59.000Z")],
            "nextCursor": None,
        }
    )
    assert_rejected(only(load(N8nExecutions(), write(tmp_path, "n.json", text), ctx)), "negative duration")


@pytest.mark.parametrize("started", ["yesterday", "2025-13-01T00:00:00Z", "", None, "0001-01-01T00:00:00+05:00"])
def test_n8n_bad_started_at_rejects(tmp_path, ctx, started):
    text = json.dumps({"data": [n8n_execution(startedAt=started)], "nextCursor": None})
    assert_rejected(only(load(N8nExecutions(), write(tmp_path, "b.json", text), ctx)), "startedAt")


def test_n8n_missing_ids_reject(tmp_path, ctx):
    no_id = n8n_execution()
    del no_id["id"]
    text = json.dumps([no_id, n8n_execution(workflowId=None), "not an execution"])
    a, b, c = (r for _, r in load(N8nExecutions(), write(tmp_path, "m.json", text), ctx))
    assert_rejected(a, "execution id")
    assert_rejected(b, "workflowId")
    assert_rejected(c, "expected an object")


def test_n8n_naive_timestamp_is_read_in_client_zone(tmp_path, ctx):
    # 31 July is BST (UTC+1): 23:30 local is 22:30 UTC
    text = json.dumps(
        {
            "data": [n8n_execution(startedAt="2025-07-31 23:30:00", stoppedAt="2025-07-31T23:31:00+01:00")],
            "nextCursor": None,
        }
    )
    row = only(load(N8nExecutions(), write(tmp_path, "naive.json", text), ctx)).row
    assert row["started_at"] == datetime(2025, 7, 31, 22, 30)
    assert row["started_tz_assumed"] is True
    assert row["stopped_at"] == datetime(2025, 7, 31, 22, 31)


@pytest.mark.parametrize(
    "text",
    [
        '{"data": [{"id": "1", "workflowId": "1012",',  # truncated download
        "{'data': []}",  # not JSON
        '{"data": []}\n{"id": "2", oops}\n',  # second JSON Lines record broken
        "<html><body>502 Bad Gateway</body></html>",
    ],
)
def test_n8n_malformed_json_file_is_unreadable(tmp_path, ctx, text):
    path = write(tmp_path, "broken.json", text)
    with pytest.raises(UnreadableFile, match="malformed JSON"):
        list(N8nExecutions().records(path, ctx))


def test_n8n_not_utf8_is_unreadable(tmp_path, ctx):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"data": [{"id": "caf\xe9"}]}'.encode("latin-1"))
    with pytest.raises(UnreadableFile, match="UTF-8"):
        list(N8nExecutions().records(path, ctx))


@pytest.mark.parametrize("text", ["", "\n\n  \n", BOM, '{"data": [], "nextCursor": null}', "[]"])
def test_n8n_empty_file_or_page_holds_no_records(tmp_path, ctx, text):
    assert list(N8nExecutions().records(write(tmp_path, "empty.json", text), ctx)) == []


def test_n8n_bom_and_crlf_are_accepted(tmp_path, ctx):
    text = BOM + json.dumps({"data": [n8n_execution()], "nextCursor": None}, indent=2).replace("\n", "\r\n")
    assert only(load(N8nExecutions(), write(tmp_path, "bom.json", text), ctx)).row["id"] == "5001"


# --------------------------------------------------------------------------- generic run log

GENERIC_HEADER = (
    "run_id,platform,workflow_id,started_at,finished_at,status,triggered_by,items,"
    "llm_tokens_in,llm_tokens_out,llm_cost,retry_of,error_message"
)


def test_generic_csv_with_bom_and_rfc4180_quoting(tmp_path, ctx):
    text = (
        BOM + GENERIC_HEADER + "\r\n"
        "zr_1,zapier,zap_88231,2025-12-03 09:00:00,2025-12-03 09:00:20,success,schedule,4,1200,300,0.10,,\r\n"
        "zr_2,Zapier,zap_88231,2025-12-03T09:05:00Z,2025-12-03T09:05:31Z,error,retry,,,,,zr_1,"
        '"Timeout, retrying: ""Xero"" said\r\n503 Service Unavailable"\r\n'
        "zr_3,zapier,zap_88231,2025-12-03 10:00:00,,running,webhook,,,,,,\r\n"
    )
    results = load(GenericRuns(), write(tmp_path, "zapier-2025-12.csv", text), ctx)
    assert [n for n, _ in results] == [1, 2, 3]
    r1, r2, r3 = rows(results)

    # December is GMT: naive 09:00 local = 09:00 UTC, flagged as assumed
    assert r1["run_id"] == "zr_1"  # the BOM did not leak into the first header
    assert r1["platform"] == "zapier"
    assert r1["workflow_id"] == "zap_88231"
    assert r1["started_at"] == datetime(2025, 12, 3, 9, 0, 0)
    assert r1["finished_at"] == datetime(2025, 12, 3, 9, 0, 20)
    assert r1["started_tz_assumed"] is True and r1["finished_tz_assumed"] is True
    assert (r1["status"], r1["triggered_by"]) == ("success", "schedule")
    assert (r1["items"], r1["llm_tokens_in"], r1["llm_tokens_out"]) == (4, 1200, 300)
    assert r1["llm_cost"] == pytest.approx(0.10)
    assert r1["retry_of"] is None and r1["error_message"] is None

    assert r2["platform"] == "zapier"
    assert r2["started_tz_assumed"] is False
    assert r2["finished_at"] - r2["started_at"] == datetime(2025, 12, 3, 9, 5, 31) - datetime(2025, 12, 3, 9, 5)
    assert r2["retry_of"] == "zr_1"
    assert r2["items"] is None and r2["llm_cost"] is None
    # comma, doubled quotes and a line break inside one quoted field
    assert r2["error_message"] in (
        'Timeout, retrying: "Xero" said\r\n503 Service Unavailable',
        'Timeout, retrying: "Xero" said\n503 Service Unavailable',
    )

    assert r3["finished_at"] is None and r3["finished_tz_assumed"] is None
    assert r3["status"] == "running"

    for row in (r1, r2, r3):
        assert_row_shape(GenericRuns, row)


@pytest.mark.parametrize(
    "started, expected_utc, assumed",
    [
        # BST (UTC+1) in July
        ("2025-07-01 10:00:00", datetime(2025, 7, 1, 9, 0), True),
        ("2025-07-01T10:00:00", datetime(2025, 7, 1, 9, 0), True),
        # GMT in January
        ("2026-01-15 10:00:00", datetime(2026, 1, 15, 10, 0), True),
        # clocks go back at 02:00 BST on 26 Oct 2025: 01:30 happens twice; the first is BST = 00:30 UTC
        ("2025-10-26 01:30:00", datetime(2025, 10, 26, 0, 30), True),
        # the second 01:00-02:00 hour is GMT; 02:30 exists once
        ("2025-10-26 02:30:00", datetime(2025, 10, 26, 2, 30), True),
        # offsets are instants, whatever the client's zone
        ("2025-07-01T10:00:00+02:00", datetime(2025, 7, 1, 8, 0), False),
        ("2025-07-01T10:00:00Z", datetime(2025, 7, 1, 10, 0), False),
        ("2025-07-01T10:00:00.250-04:00", datetime(2025, 7, 1, 14, 0, 0, 250000), False),
    ],
)
def test_generic_timestamps(tmp_path, ctx, started, expected_utc, assumed):
    text = f"{GENERIC_HEADER}\nmk_1,make,scn_4410,{started},,success,schedule,1,,,,,\n"
    row = only(load(GenericRuns(), write(tmp_path, "make.csv", text), ctx)).row
    assert row["started_at"] == expected_utc
    assert row["started_tz_assumed"] is assumed


def test_generic_dst_gap_time_is_rejected(tmp_path, ctx):
    # clocks go forward at 01:00 GMT on 29 Mar 2026: 01:30 local never happens
    text = f"{GENERIC_HEADER}\nmk_1,make,scn_4410,2026-03-29 01:30:00,,success,schedule,1,,,,,\n"
    assert_rejected(only(load(GenericRuns(), write(tmp_path, "gap.csv", text), ctx)), "started_at", "DST gap")


def test_generic_finished_before_started_is_negative_duration(tmp_path, ctx):
    # 10:00+02:00 = 08:00 UTC; 08:30 naive in July = 07:30 UTC, before the start
    text = (
        f"{GENERIC_HEADER}\nmk_1,make,scn_4410,2025-07-01T10:00:00+02:00,2025-07-01 08:30:00,success,schedule,,,,,,\n"
    )
    assert_rejected(only(load(GenericRuns(), write(tmp_path, "neg.csv", text), ctx)), "negative duration")


def test_generic_missing_required_column_is_schema_drift(tmp_path, ctx):
    header = GENERIC_HEADER.replace("triggered_by,", "trigger,")
    text = f"{header}\nmk_1,make,scn_4410,2025-07-01 10:00:00,,success,schedule,1,,,,,\n"
    path = write(tmp_path, "drift.csv", text)
    with pytest.raises(UnreadableFile, match="triggered_by") as info:
        list(GenericRuns().records(path, ctx))
    assert "schema drift" in str(info.value)


def test_generic_row_with_wrong_field_count_is_rejected_alone(tmp_path, ctx):
    text = (
        f"{GENERIC_HEADER}\n"
        "mk_1,make,scn_4410,2025-07-01 10:00:00,,success,schedule,1,,,,,\n"
        "mk_2,make,scn_4410,2025-07-01 11:00:00,,success,schedule,1,,,,,,extra\n"
        "mk_3,make,scn_4410,2025-07-01 12:00:00,success\n"
        "mk_4,make,scn_4410,2025-07-01 13:00:00,,success,schedule,2,,,,,\n"
    )
    results = load(GenericRuns(), write(tmp_path, "ragged.csv", text), ctx)
    assert [n for n, _ in results] == [1, 2, 3, 4]
    assert results[0][1].row["run_id"] == "mk_1"
    assert_rejected(results[1][1], "14 fields", "13")
    assert_rejected(results[2][1], "5 fields", "13")
    assert results[3][1].row["items"] == 2


def test_generic_unterminated_quote_makes_the_file_unreadable(tmp_path, ctx):
    # without this the open quote swallows every later row into one field and, when the
    # field count happens to fit, those rows vanish without a trace
    text = (
        "run_id,platform,workflow_id,started_at,status,triggered_by,error_message\n"
        'zr_1,zapier,zap_88231,2025-12-03 09:00:00,error,schedule,"Timeout\n'
        "zr_2,zapier,zap_88231,2025-12-03 10:00:00,success,schedule,\n"
        "zr_3,zapier,zap_88231,2025-12-03 11:00:00,success,schedule,\n"
    )
    path = write(tmp_path, "open-quote.csv", text)
    with pytest.raises(UnreadableFile, match="malformed CSV"):
        list(GenericRuns().records(path, ctx))


@pytest.mark.parametrize("text", [GENERIC_HEADER + "\n", BOM + GENERIC_HEADER + "\r\n", GENERIC_HEADER, "", "\n\n"])
def test_generic_header_only_or_empty_file_holds_no_rows(tmp_path, ctx, text):
    assert list(GenericRuns().records(write(tmp_path, "h.csv", text), ctx)) == []


def test_generic_blank_lines_are_not_records(tmp_path, ctx):
    text = f"{GENERIC_HEADER}\n\nmk_1,make,scn_4410,2025-07-01 10:00:00,,success,schedule,1,,,,,\n\n"
    results = load(GenericRuns(), write(tmp_path, "blank.csv", text), ctx)
    assert len(results) == 1 and results[0][1].row["run_id"] == "mk_1"


def test_generic_columns_in_any_order_and_optional_columns_absent(tmp_path, ctx):
    text = "status,triggered_by,started_at,workflow_id,platform,run_id\nsuccess,event,2025-12-02T08:00:00Z,zap_88231,zapier,zr_9\n"
    row = only(load(GenericRuns(), write(tmp_path, "min.csv", text), ctx)).row
    assert (row["run_id"], row["triggered_by"], row["started_at"]) == ("zr_9", "event", datetime(2025, 12, 2, 8))
    assert row["items"] is None and row["finished_at"] is None and row["error_message"] is None


def test_generic_upper_case_csv_suffix_is_read_as_csv(tmp_path, ctx):
    # ingestion selects files by suffix case-insensitively, so RUNS.CSV arrives here too
    text = f"{GENERIC_HEADER}\nmk_1,make,scn_4410,2025-07-01 10:00:00,,success,schedule,1,,,,,\n"
    row = only(load(GenericRuns(), write(tmp_path, "RUNS.CSV", text), ctx)).row
    assert row["run_id"] == "mk_1"


def test_generic_jsonl_bad_line_is_rejected_others_parsed(tmp_path, ctx):
    text = (
        '{"run_id": "ag_1", "platform": "make", "workflow_id": "scn_4410", "started_at": "2025-11-03T08:00:00Z",'
        ' "finished_at": "2025-11-03T08:00:04Z", "status": "success", "triggered_by": "event", "items": 5,'
        ' "llm_tokens_in": 900, "llm_tokens_out": 120, "llm_cost": 0.012}\n'
        '{"run_id": "ag_2", "platform": "make", "workflow_id": "scn_4410", "started_at": \n'
        "\n"
        '{"run_id": "ag_3", "platform": "make", "workflow_id": "scn_4410", "started_at": "2025-11-03 09:00:00",'
        ' "status": "timeout", "triggered_by": "schedule", "items": "7", "error_message": "gave up after 30 s"}\n'
    )
    results = load(GenericRuns(), write(tmp_path, "agent.jsonl", text), ctx)
    assert [n for n, _ in results] == [1, 2, 4]
    first, bad, third = (r for _, r in results)
    assert first.row["run_id"] == "ag_1"
    assert first.row["finished_at"] == datetime(2025, 11, 3, 8, 0, 4)
    assert (first.row["items"], first.row["llm_tokens_in"], first.row["llm_tokens_out"]) == (5, 900, 120)
    assert first.row["llm_cost"] == pytest.approx(0.012)
    assert_rejected(bad, "line 2", "not JSON")
    # November is GMT: naive 09:00 = 09:00 UTC
    assert third.row["started_at"] == datetime(2025, 11, 3, 9, 0)
    assert third.row["started_tz_assumed"] is True
    assert third.row["status"] == "timeout"
    assert third.row["items"] == 7


def test_generic_jsonl_line_that_is_not_an_object_is_rejected(tmp_path, ctx):
    text = '["ag_1", "make"]\nnull\n'
    results = load(GenericRuns(), write(tmp_path, "arr.jsonl", text), ctx)
    assert len(results) == 2
    for _, result in results:
        assert_rejected(result, "expected an object")


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("items", "-3", "negative items"),
        ("llm_cost", "-0.01", "negative llm_cost"),
        ("llm_tokens_in", "1.5", "not a whole number"),
        ("items", "1,234", "items"),
        ("status", "exploded", "unknown status"),
        ("triggered_by", "cron", "unknown triggered_by"),
        ("run_id", "", "missing run_id"),
        ("started_at", "03/12/2025 09:00", "started_at"),
        ("platform", "n8n", "platform"),  # n8n runs land in n8n_executions, never here too
    ],
)
def test_generic_bad_fields_reject(tmp_path, ctx, field, value, reason):
    record = {
        "run_id": "zr_1",
        "platform": "zapier",
        "workflow_id": "zap_88231",
        "started_at": "2025-12-03 09:00:00",
        "finished_at": "",
        "status": "success",
        "triggered_by": "schedule",
        "items": "4",
        "llm_tokens_in": "",
        "llm_tokens_out": "",
        "llm_cost": "",
        "retry_of": "",
        "error_message": "",
    }
    record[field] = value
    line = ",".join(f'"{record[k]}"' if "," in record[k] else record[k] for k in GENERIC_HEADER.split(","))
    result = only(load(GenericRuns(), write(tmp_path, "bad.csv", f"{GENERIC_HEADER}\n{line}\n"), ctx))
    assert_rejected(result, reason)


def test_generic_n8n_workflow_id_with_n8n_platform_is_rejected(tmp_path, ctx):
    # "1012" is a registered n8n workflow; counting it from the generic log too would double it
    text = f"{GENERIC_HEADER}\nx_1,n8n,1012,2025-12-03 09:00:00,,success,schedule,1,,,,,\n"
    assert_rejected(only(load(GenericRuns(), write(tmp_path, "n8n.csv", text), ctx)), "n8n")


# --------------------------------------------------------------------------- HubSpot

# 1736587800 s = 2025-01-11 09:30:00 UTC (2025-01-01T00:00Z = 1735689600, + 10 days 9.5 h)
EPOCH_MS_2025_01_11_0930 = "1736587800000"


HUBSPOT_CONTACTS_PAGE = (
    """{
  "results": [
    {
      "id": "501",
      "properties": {
        "createdate": "2025-11-12T08:59:10.123Z",
        "email": "jo.bloggs@example.com",
        "firstname": "Jo",
        "lastname": "Bloggs",
        "hs_object_id": "501",
        "hubspot_owner_id": "90001",
        "lastmodifieddate": "2025-11-12T09:05:00.000Z",
        "lifecyclestage": "lead",
        "hs_lead_source": "web_form"
      },
      "createdAt": "2025-11-12T08:59:10.123Z",
      "updatedAt": "2025-11-12T09:05:00.000Z",
      "archived": false
    },
    {
      "id": "502",
      "properties": {"email": "no.createdate@example.com", "hs_object_id": "502", "lifecyclestage": null},
      "createdAt": "2025-11-13T14:00:00Z",
      "updatedAt": "2025-11-13T14:00:00Z",
      "archived": false
    },
    {
      "id": "503",
      "properties": {"createdate": "%s", "hs_object_id": "503"},
      "createdAt": "2025-01-11T09:30:00.000Z",
      "updatedAt": "2025-01-11T09:30:00.000Z",
      "archived": true
    }
  ],
  "paging": {"next": {"after": "NTI1Cg%%3D%%3D", "link": "?after=NTI1Cg%%3D%%3D"}}
}
"""
    % EPOCH_MS_2025_01_11_0930
)


def test_hubspot_contacts_page(tmp_path, ctx):
    results = load(HubSpotContacts(), write(tmp_path, "contacts.json", HUBSPOT_CONTACTS_PAGE), ctx)
    c1, c2, c3 = rows(results)

    assert c1["id"] == "501"
    assert c1["createdate"] == datetime(2025, 11, 12, 8, 59, 10, 123000)
    assert c1["created_at"] == datetime(2025, 11, 12, 8, 59, 10, 123000)
    assert c1["updated_at"] == datetime(2025, 11, 12, 9, 5)
    assert c1["owner_id"] == "90001"
    assert c1["lifecyclestage"] == "lead"
    assert c1["archived"] is False
    assert json.loads(c1["properties_json"])["hs_lead_source"] == "web_form"  # lead filters read from here

    # no createdate property: createdAt stands in
    assert c2["createdate"] == datetime(2025, 11, 13, 14, 0)
    assert c2["lifecyclestage"] is None and c2["owner_id"] is None

    # createdate as epoch milliseconds
    assert c3["createdate"] == datetime(2025, 1, 11, 9, 30)
    assert c3["archived"] is True

    for row in (c1, c2, c3):
        assert_row_shape(HubSpotContacts, row)
    assert all(r.children == {"hubspot_associations": []} for _, r in results)


def test_hubspot_contact_without_any_creation_time_is_rejected(tmp_path, ctx):
    text = json.dumps({"results": [{"id": "504", "properties": {"email": "x@example.com"}, "archived": False}]})
    assert_rejected(only(load(HubSpotContacts(), write(tmp_path, "c.json", text), ctx)), "createdate")


HUBSPOT_CALLS_PAGE = (
    """{
  "results": [
    {
      "id": "7001",
      "properties": {
        "hs_timestamp": "%s",
        "hs_call_direction": "inbound",
        "hs_call_status": "COMPLETED",
        "hs_call_duration": "3800",
        "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
        "hs_call_title": "Call with Jo",
        "hubspot_owner_id": "90001"
      },
      "createdAt": "2025-01-11T09:31:00.000Z",
      "updatedAt": "2025-01-11T09:32:00.000Z",
      "archived": false,
      "associations": {
        "contacts": {"results": [{"id": "501", "type": "call_to_contact"}]},
        "deals": {"results": [{"id": 9001, "type": "call_to_deal"}]}
      }
    },
    {
      "id": "7002",
      "properties": {"hs_timestamp": "2025-11-12T09:10:00.000Z", "hs_call_direction": "OUTBOUND",
                     "hs_call_status": "NO_ANSWER", "hs_call_duration": "0", "hubspot_owner_id": "12"},
      "createdAt": "2025-11-12T09:10:00.000Z",
      "updatedAt": "2025-11-12T09:10:00.000Z",
      "archived": false
    }
  ],
  "paging": {"next": {"after": "7003", "link": "?after=7003"}}
}
"""
    % EPOCH_MS_2025_01_11_0930
)


def test_hubspot_calls_with_associations_and_epoch_millis(tmp_path, ctx):
    results = load(HubSpotCalls(), write(tmp_path, "calls.json", HUBSPOT_CALLS_PAGE), ctx)
    (_, first), (_, second) = results
    row = first.row
    assert row["id"] == "7001"
    assert row["hs_timestamp"] == datetime(2025, 1, 11, 9, 30)
    assert row["hs_call_direction"] == "INBOUND"  # upper-cased
    assert row["hs_call_status"] == "COMPLETED"
    assert row["hs_call_duration_ms"] == 3800
    assert row["owner_id"] == "90001"
    assert row["created_at"] == datetime(2025, 1, 11, 9, 31)
    assert_row_shape(HubSpotCalls, row)
    assert sorted(first.children["hubspot_associations"], key=lambda r: r["to_object_type"]) == [
        {
            "object_type": "calls",
            "object_id": "7001",
            "to_object_type": "contacts",
            "to_object_id": "501",
            "association_type": "call_to_contact",
        },
        {
            "object_type": "calls",
            "object_id": "7001",
            "to_object_type": "deals",
            "to_object_id": "9001",
            "association_type": "call_to_deal",
        },
    ]

    assert second.row["hs_timestamp"] == datetime(2025, 11, 12, 9, 10)
    assert second.row["hs_call_direction"] == "OUTBOUND"
    assert second.row["hs_call_duration_ms"] == 0
    assert second.children["hubspot_associations"] == []


def test_hubspot_call_without_hs_timestamp_is_rejected(tmp_path, ctx):
    text = json.dumps(
        {
            "results": [
                {"id": "7009", "properties": {"hs_call_direction": "INBOUND"}, "createdAt": "2025-11-12T09:10:00Z"}
            ]
        }
    )
    assert_rejected(only(load(HubSpotCalls(), write(tmp_path, "c.json", text), ctx)), "hs_timestamp")


@pytest.mark.parametrize(
    "props, reason",
    [
        ({"hs_timestamp": "2025-11-12T09:10:00Z", "hs_call_duration": "-5"}, "hs_call_duration"),
        ({"hs_timestamp": "not a date"}, "hs_timestamp"),
        # far outside datetime's range: a quarantine reason, not a crash of the whole load
        ({"hs_timestamp": "99999999999999999999"}, "hs_timestamp"),
    ],
)
def test_hubspot_call_bad_properties_reject(tmp_path, ctx, props, reason):
    text = json.dumps({"results": [{"id": "7010", "properties": props}]})
    assert_rejected(only(load(HubSpotCalls(), write(tmp_path, "c.json", text), ctx)), reason)


def test_hubspot_emails_bare_array_with_associations(tmp_path, ctx):
    text = """[
      {"id": "8801",
       "properties": {"hs_timestamp": "2025-11-12T09:02:00.000Z", "hs_email_direction": "incoming_email",
                      "hs_email_status": "SENT", "hs_email_subject": "Re: appointment", "hubspot_owner_id": "90001"},
       "createdAt": "2025-11-12T09:02:01.000Z", "updatedAt": "2025-11-12T09:02:01.000Z", "archived": false,
       "associations": {"contacts": {"results": [{"id": 501, "type": "email_to_contact"},
                                                 {"id": "502", "type": "email_to_contact"}]}}},
      {"id": "8802",
       "properties": {"hs_timestamp": "2025-11-12T09:20:00.000Z", "hs_email_direction": "EMAIL",
                      "hs_email_status": "SENT"},
       "createdAt": "2025-11-12T09:20:00.000Z", "updatedAt": "2025-11-12T09:20:00.000Z", "archived": false,
       "associations": {"contacts": {"results": null}}}
    ]"""
    (_, a), (_, b) = load(HubSpotEmails(), write(tmp_path, "emails.json", text), ctx)
    assert a.row["hs_email_direction"] == "INCOMING_EMAIL"
    assert a.row["hs_timestamp"] == datetime(2025, 11, 12, 9, 2)
    assert a.row["hs_email_status"] == "SENT"
    assert [
        (r["to_object_type"], r["to_object_id"], r["association_type"]) for r in a.children["hubspot_associations"]
    ] == [
        ("contacts", "501", "email_to_contact"),
        ("contacts", "502", "email_to_contact"),
    ]
    assert all(r["object_type"] == "emails" and r["object_id"] == "8801" for r in a.children["hubspot_associations"])
    assert_row_shape(HubSpotEmails, a.row)
    assert b.row["hs_email_direction"] == "EMAIL"
    assert b.children["hubspot_associations"] == []


def test_hubspot_meetings_json_lines(tmp_path, ctx):
    text = (
        '{"id": "6601", "properties": {"hs_timestamp": "2025-11-14T10:00:00.000Z", "hs_meeting_outcome": "COMPLETED",'
        ' "hs_meeting_start_time": "2025-11-14T10:00:00.000Z", "hs_meeting_end_time": "2025-11-14T10:30:00.000Z",'
        ' "hubspot_owner_id": "90001"}, "createdAt": "2025-11-10T12:00:00.000Z", "updatedAt": "2025-11-14T10:31:00.000Z",'
        ' "archived": false, "associations": {"contacts": {"results": [{"id": "501", "type": "meeting_event_to_contact"}]}}}\n'
        '{"id": "6602", "properties": {"hs_timestamp": "2025-11-15T10:00:00.000Z",'
        ' "hs_meeting_start_time": "2025-11-15T10:00:00.000Z", "hs_meeting_end_time": "2025-11-15T09:30:00.000Z"}}\n'
    )
    (_, ok), (_, bad) = load(HubSpotMeetings(), write(tmp_path, "meetings.jsonl", text), ctx)
    assert ok.row["hs_meeting_outcome"] == "COMPLETED"
    assert ok.row["hs_meeting_end_time"] - ok.row["hs_meeting_start_time"] == datetime(2025, 1, 1, 0, 30) - datetime(
        2025, 1, 1
    )
    assert ok.row["hs_timestamp"] == datetime(2025, 11, 14, 10, 0)
    assert ok.children["hubspot_associations"][0]["to_object_id"] == "501"
    assert ok.children["hubspot_associations"][0]["object_type"] == "meetings"
    assert_row_shape(HubSpotMeetings, ok.row)
    assert_rejected(bad, "negative duration")


def test_hubspot_deals_search_page(tmp_path, ctx):
    text = (
        """{
      "total": 3,
      "results": [
        {"id": "9001", "properties": {"dealname": "Implant consult", "amount": "1500.00", "dealstage": "closedwon",
           "pipeline": "default", "createdate": "2025-11-20T10:00:00.000Z", "closedate": "2025-12-07T16:50:06.678Z",
           "hs_is_closed_won": "true", "hubspot_owner_id": "910901"},
         "createdAt": "2025-11-20T10:00:00.000Z", "updatedAt": "2025-12-07T16:50:07.000Z", "archived": false},
        {"id": "9002", "properties": {"dealname": "Whitening", "amount": "", "dealstage": "1093847",
           "pipeline": "default", "createdate": "%s", "closedate": null, "hs_is_closed_won": "false"},
         "createdAt": "2025-01-11T09:30:00.000Z", "updatedAt": "2025-01-11T09:30:00.000Z", "archived": false},
        {"id": "9003", "properties": {"dealname": "Refund", "amount": "-120.5", "hs_is_closed_won": "maybe"},
         "createdAt": "2025-12-01T00:00:00Z", "archived": false}
      ]
    }"""
        % EPOCH_MS_2025_01_11_0930
    )
    d1, d2, d3 = rows(load(HubSpotDeals(), write(tmp_path, "deals.json", text), ctx))
    assert d1["amount"] == 1500.0
    assert d1["hs_is_closed_won"] is True
    assert d1["dealstage"] == "closedwon" and d1["pipeline"] == "default"
    assert d1["closedate"] == datetime(2025, 12, 7, 16, 50, 6, 678000)
    assert d1["createdate"] == datetime(2025, 11, 20, 10, 0)
    assert d1["owner_id"] == "910901"
    assert d2["amount"] is None
    assert d2["hs_is_closed_won"] is False
    assert d2["dealstage"] == "1093847"  # custom pipelines use numeric stage ids
    assert d2["createdate"] == datetime(2025, 1, 11, 9, 30)
    assert d2["closedate"] is None
    assert d3["amount"] == -120.5  # amounts may be negative
    assert d3["hs_is_closed_won"] is None
    for row in (d1, d2, d3):
        assert_row_shape(HubSpotDeals, row)


def test_hubspot_array_of_pages_and_empty_last_page(tmp_path, ctx):
    text = json.dumps(
        [
            {
                "results": [{"id": "1", "properties": {"createdate": "2025-11-01T00:00:00Z"}}],
                "paging": {"next": {"after": "2"}},
            },
            {"results": [{"id": "2", "properties": {"createdate": "2025-11-02T00:00:00Z"}}]},
            {"results": []},
        ]
    )
    got = rows(load(HubSpotContacts(), write(tmp_path, "pages.json", text), ctx))
    assert [(r["id"], r["createdate"]) for r in got] == [("1", datetime(2025, 11, 1)), ("2", datetime(2025, 11, 2))]


def test_hubspot_json_lines_of_pages(tmp_path, ctx):
    text = (
        '{"results": [{"id": "11", "properties": {"createdate": "2025-11-01T10:00:00.000Z"}}], "paging": {"next": {"after": "12"}}}\n'
        '{"results": [{"id": "12", "properties": {"createdate": "2025-11-01T11:00:00.000Z"}}]}\n'
    )
    got = rows(load(HubSpotContacts(), write(tmp_path, "pages.jsonl", text), ctx))
    assert [(r["id"], r["createdate"]) for r in got] == [
        ("11", datetime(2025, 11, 1, 10)),
        ("12", datetime(2025, 11, 1, 11)),
    ]


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"properties": {"hs_timestamp": "2025-11-12T09:10:00Z"}}, "object id"),
        ({"id": "1", "properties": ["hs_timestamp"]}, "properties"),
        (
            {"id": "1", "properties": {"hs_timestamp": "2025-11-12T09:10:00Z"}, "associations": ["contacts"]},
            "associations",
        ),
        (
            {"id": "1", "properties": {"hs_timestamp": "2025-11-12T09:10:00Z"}, "associations": {"contacts": ["501"]}},
            "associations.contacts",
        ),
        (
            {
                "id": "1",
                "properties": {"hs_timestamp": "2025-11-12T09:10:00Z"},
                "associations": {"contacts": {"results": [{"type": "call_to_contact"}]}},
            },
            "without an id",
        ),
        (
            {
                "id": "1",
                "properties": {"hs_timestamp": "2025-11-12T09:10:00Z"},
                "associations": {"contacts": {"results": {"id": "501"}}},
            },
            "associations.contacts",
        ),
    ],
)
def test_hubspot_malformed_objects_reject(tmp_path, ctx, record, reason):
    text = json.dumps({"results": [record]})
    assert_rejected(only(load(HubSpotCalls(), write(tmp_path, "bad.json", text), ctx)), reason)


def test_hubspot_malformed_file_is_unreadable(tmp_path, ctx):
    path = write(tmp_path, "bad.json", '{"results": [{"id": "1", "properties": {}}')
    with pytest.raises(UnreadableFile):
        list(HubSpotDeals().records(path, ctx))


# --------------------------------------------------------------------------- Harvest

HARVEST_HEADER = (
    "Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,"
    "First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,"
    "External Reference URL"
)
HARVEST_AMY = (
    '2025-11-03,Northwind Dental Group,Front desk,,Lead triage,"Called back web leads, logged in CRM",'
    "1.25,1.5,No,No,Yes,Amy,Pond,Reception,Yes,0,0,32,40,British Pound - GBP,"
)
HARVEST_SAM = (
    "2025-11-03,Northbeam AI Ops,Automation programme,NB-01,build,Lead triage agent v1,"
    "1:30,2.0,Yes,No,No,Sam,Lee,Consultant,No,95,142.5,40,60,British Pound - GBP,https://example.atlassian.net/x"
)


def test_harvest_full_export(tmp_path, ctx):
    text = f"{HARVEST_HEADER}\r\n{HARVEST_AMY}\r\n{HARVEST_SAM}\r\n"
    results = load(HarvestTimeEntries(), write(tmp_path, "harvest-2025-11.csv", text), ctx)
    amy, sam = rows(results)

    assert amy["spent_date"] == date(2025, 11, 3)
    assert amy["client"] == "Northwind Dental Group"
    assert amy["project"] == "Front desk"
    assert amy["project_code"] is None
    assert amy["task"] == "Lead triage"
    assert amy["notes"] == "Called back web leads, logged in CRM"
    assert amy["hours"] == 1.25  # Hours, not Hours Rounded (1.5)
    assert amy["billable"] is False
    assert (amy["first_name"], amy["last_name"], amy["person"]) == ("Amy", "Pond", "Amy Pond")
    assert amy["roles"] == "Reception"
    assert amy["is_employee"] is True

    assert sam["hours"] == 1.5  # 1:30 clock form, not Hours Rounded (2.0)
    assert sam["client"] == "Northbeam AI Ops"
    assert sam["project_code"] == "NB-01"
    assert sam["task"] == "build"
    assert sam["billable"] is True and sam["is_employee"] is False

    assert amy["entry_key"] != sam["entry_key"]
    for row in (amy, sam):
        assert_row_shape(HarvestTimeEntries, row)
        assert json.loads(row["_record"])["approved"] in ("Yes", "No")  # every column kept


@pytest.mark.parametrize(
    "hours, expected",
    [("1.5", 1.5), ("1:30", 1.5), ("0:45", 0.75), ("2", 2.0), ("0.25", 0.25), ("10:06", 10.1), ("0", 0.0)],
)
def test_harvest_hours_forms(tmp_path, ctx, hours, expected):
    line = HARVEST_AMY.replace(",1.25,1.5,", f",{hours},9.99,")
    row = only(load(HarvestTimeEntries(), write(tmp_path, "h.csv", f"{HARVEST_HEADER}\n{line}\n"), ctx)).row
    assert row["hours"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "hours, reason",
    [
        ("-0.5", "negative Hours"),
        ("-0:30", "negative Hours"),
        ("", "missing Hours"),
        ("1:75", "Hours"),
        ("abc", "Hours"),
        ("7,5", "Hours"),  # decimal-comma export: quarantined, never read as 75 hours
    ],
)
def test_harvest_bad_hours_reject(tmp_path, ctx, hours, reason):
    line = HARVEST_AMY.replace(",1.25,1.5,", f',"{hours}",1.5,')
    result = only(load(HarvestTimeEntries(), write(tmp_path, "h.csv", f"{HARVEST_HEADER}\n{line}\n"), ctx))
    assert_rejected(result, reason)


@pytest.mark.parametrize(
    "replace, reason",
    [
        (("2025-11-03,", "03/11/2025,"), "Date"),
        (("2025-11-03,", ","), "missing Date"),
        ((",Amy,Pond,", ",,,"), "missing person"),
    ],
)
def test_harvest_bad_rows_reject(tmp_path, ctx, replace, reason):
    line = HARVEST_AMY.replace(*replace)
    result = only(load(HarvestTimeEntries(), write(tmp_path, "h.csv", f"{HARVEST_HEADER}\n{line}\n"), ctx))
    assert_rejected(result, reason)


def test_harvest_entry_keys_identical_rows_and_overlapping_files(tmp_path, ctx):
    july = f"{HARVEST_HEADER}\n{HARVEST_AMY}\n{HARVEST_SAM}\n{HARVEST_AMY}\n"
    # the same entries exported again (another period, overlapping), with Amy's first block
    # approved differently since, and in a different row order
    amy_unapproved = HARVEST_AMY.replace(",No,No,Yes,Amy,", ",No,No,No,Amy,")
    assert amy_unapproved != HARVEST_AMY
    overlap = f"{HARVEST_HEADER}\n{HARVEST_SAM}\n{amy_unapproved}\n{HARVEST_AMY}\n"

    first = rows(load(HarvestTimeEntries(), write(tmp_path, "2025-11a.csv", july), ctx))
    second = rows(load(HarvestTimeEntries(), write(tmp_path, "2025-11b.csv", overlap), ctx))  # new instance per file

    amy_1, sam, amy_2 = (r["entry_key"] for r in first)
    # two identical 1.25 h blocks in one file are two entries
    assert amy_1 != amy_2
    assert len({amy_1, sam, amy_2}) == 3
    # the same rows in the second file get the same keys; Approved? is not identity
    assert [r["entry_key"] for r in second] == [sam, amy_1, amy_2]


def test_harvest_entry_key_does_not_depend_on_hours_display_format(tmp_path, ctx):
    # Harvest shows time as decimal or hh:mm per user preference: 1:30 = 1.5 = 1.50, 0:20 = 0.33
    decimal = HARVEST_SAM.replace(",1:30,", ",1.50,")
    a = rows(load(HarvestTimeEntries(), write(tmp_path, "a.csv", f"{HARVEST_HEADER}\n{HARVEST_SAM}\n"), ctx))[0]
    b = rows(load(HarvestTimeEntries(), write(tmp_path, "b.csv", f"{HARVEST_HEADER}\n{decimal}\n"), ctx))[0]
    assert a["entry_key"] == b["entry_key"]
    c = rows(
        load(
            HarvestTimeEntries(),
            write(tmp_path, "c.csv", f"{HARVEST_HEADER}\n{HARVEST_SAM.replace(',1:30,', ',0:20,')}\n"),
            ctx,
        )
    )[0]
    d = rows(
        load(
            HarvestTimeEntries(),
            write(tmp_path, "d.csv", f"{HARVEST_HEADER}\n{HARVEST_SAM.replace(',1:30,', ',0.33,')}\n"),
            ctx,
        )
    )[0]
    assert c["entry_key"] == d["entry_key"]
    # different content is a different entry
    assert a["entry_key"] != c["entry_key"]


def test_harvest_entry_key_changes_with_content(tmp_path, ctx):
    other_notes = HARVEST_AMY.replace("Called back web leads", "Called back phone leads")
    a = rows(load(HarvestTimeEntries(), write(tmp_path, "a.csv", f"{HARVEST_HEADER}\n{HARVEST_AMY}\n"), ctx))[0]
    b = rows(load(HarvestTimeEntries(), write(tmp_path, "b.csv", f"{HARVEST_HEADER}\n{other_notes}\n"), ctx))[0]
    assert a["entry_key"] != b["entry_key"]


def test_harvest_configured_process_column_missing_is_unreadable(tmp_path, ctx):
    # the client reads the process from Task (process_field: task); an export without it
    # would classify every row wrongly
    assert ctx.client.timesheets.process_field == "task"
    header = HARVEST_HEADER.replace(",Task,", ",")
    line = HARVEST_AMY.replace(",Lead triage,", ",")
    path = write(tmp_path, "no-task.csv", f"{header}\n{line}\n")
    with pytest.raises(UnreadableFile, match="task"):
        list(HarvestTimeEntries().records(path, ctx))


def test_harvest_missing_hours_column_is_unreadable(tmp_path, ctx):
    header = HARVEST_HEADER.replace(",Hours,", ",Time,")
    path = write(tmp_path, "drift.csv", f"{header}\n{HARVEST_AMY}\n")
    with pytest.raises(UnreadableFile, match="hours"):
        list(HarvestTimeEntries().records(path, ctx))


def test_harvest_minimal_export_variant(tmp_path, ctx):
    # approvals off (no Approved?), older export (no Hours Rounded), extra Employee Id column
    header = "Date,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name,Employee Id"
    line = '2025-11-04,Northwind Dental Group,Front desk,Invoice chasing,"",0:15,No,Bo,Peep,E-7'
    row = only(load(HarvestTimeEntries(), write(tmp_path, "min.csv", f"{BOM}{header}\n{line}\n"), ctx)).row
    assert row["hours"] == 0.25
    assert row["task"] == "Invoice chasing"
    assert row["notes"] is None and row["roles"] is None and row["is_employee"] is None
    assert row["person"] == "Bo Peep"


def test_harvest_unterminated_quote_in_notes_makes_the_file_unreadable(tmp_path, ctx):
    broken = HARVEST_AMY.replace('"Called back web leads, logged in CRM"', '"Called back web leads, logged in CRM')
    # the open quote would swallow Sam's row into Amy's Notes: one quarantined row, Sam gone
    path = write(tmp_path, "h.csv", f"{HARVEST_HEADER}\n{broken}\n{HARVEST_SAM}\n")
    with pytest.raises(UnreadableFile, match="malformed CSV"):
        list(HarvestTimeEntries().records(path, ctx))


def test_harvest_header_only_holds_no_rows(tmp_path, ctx):
    assert list(HarvestTimeEntries().records(write(tmp_path, "h.csv", HARVEST_HEADER + "\n"), ctx)) == []


# --------------------------------------------------------------------------- Toggl

TOGGL_HEADER = (
    '"User","Email","Client","Project","Task","Description","Billable","Start date","Start time",'
    '"End date","End time","Duration","Tags","Amount (GBP)"'
)


def toggl_line(
    start_date="2025-07-01",
    start_time="09:00:00",
    duration="01:32:15",
    tags='"admin, phones"',
    end=("2025-07-01", "11:00:00"),
    description="Inbound web leads",
) -> str:
    return (
        f'"Amy Pond","amy@northwind-dental.example","Northwind Dental Group","Lead triage","","{description}","No",'
        f'"{start_date}","{start_time}","{end[0]}","{end[1]}","{duration}",{tags},"0.00"'
    )


def test_toggl_export_with_bom_and_quoted_header(tmp_path, toggl_ctx):
    text = (
        BOM
        + TOGGL_HEADER
        + "\r\n"
        + toggl_line()
        + "\r\n"
        + toggl_line(
            start_date="2025-12-01",
            start_time="17:45:00",
            duration="00:20:00",
            tags='""',
            end=("2025-12-01", "18:05:00"),
            description='Chasing ""urgent"" recalls, part 2',
        )
        + "\r\n"
    )
    summer, winter = rows(load(TogglTimeEntries(), write(tmp_path, "toggl.csv", text), toggl_ctx))

    assert summer["user_name"] == "Amy Pond"  # the BOM did not leak into "User"
    assert summer["client"] == "Northwind Dental Group"
    assert summer["project"] == "Lead triage"
    assert summer["task"] is None
    assert summer["billable"] is False
    assert summer["start_date"] == date(2025, 7, 1)
    # 09:00 BST (UTC+1) = 08:00 UTC
    assert summer["start_at"] == datetime(2025, 7, 1, 8, 0)
    # Duration 01:32:15 = 3600 + 32*60 + 15 = 5535 s, although End - Start is 2 h
    assert summer["duration_seconds"] == 5535
    assert summer["tags"] == "admin, phones"

    # 17:45 GMT = 17:45 UTC
    assert winter["start_at"] == datetime(2025, 12, 1, 17, 45)
    assert winter["duration_seconds"] == 20 * 60
    assert winter["tags"] is None
    assert winter["description"] == 'Chasing "urgent" recalls, part 2'

    for row in (summer, winter):
        assert_row_shape(TogglTimeEntries, row)


@pytest.mark.parametrize(
    "start_date, start_time, expected",
    [
        ("2025-10-26", "01:30:00", datetime(2025, 10, 26, 0, 30)),  # DST overlap: first occurrence (BST)
        ("2025-10-26", "00:59:59", datetime(2025, 10, 25, 23, 59, 59)),  # BST, day before in UTC
        ("2026-03-29", "02:00:00", datetime(2026, 3, 29, 1, 0)),  # first BST minute
        ("2026-01-10", "08:05", datetime(2026, 1, 10, 8, 5)),  # HH:MM accepted
    ],
)
def test_toggl_start_in_client_zone(tmp_path, toggl_ctx, start_date, start_time, expected):
    text = f"{TOGGL_HEADER}\n{toggl_line(start_date=start_date, start_time=start_time)}\n"
    row = only(load(TogglTimeEntries(), write(tmp_path, "t.csv", text), toggl_ctx)).row
    assert row["start_at"] == expected
    assert row["start_date"] == date.fromisoformat(start_date)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"start_date": "2026-03-29", "start_time": "01:30:00"}, "DST gap"),
        ({"start_time": "9am"}, "Start time"),
        ({"start_time": ""}, "missing Start time"),
        ({"start_date": "01/07/2025"}, "Start date"),
        ({"duration": "-00:10:00"}, "negative Duration"),
        ({"duration": ""}, "missing Duration"),
    ],
)
def test_toggl_bad_rows_reject(tmp_path, toggl_ctx, overrides, reason):
    text = f"{TOGGL_HEADER}\n{toggl_line(**overrides)}\n"
    assert_rejected(only(load(TogglTimeEntries(), write(tmp_path, "t.csv", text), toggl_ctx)), reason)


def test_toggl_entry_keys(tmp_path, toggl_ctx):
    same_twice = f"{TOGGL_HEADER}\n{toggl_line()}\n{toggl_line()}\n"
    a = [r["entry_key"] for r in rows(load(TogglTimeEntries(), write(tmp_path, "a.csv", same_twice), toggl_ctx))]
    b = [r["entry_key"] for r in rows(load(TogglTimeEntries(), write(tmp_path, "b.csv", same_twice), toggl_ctx))]
    assert a[0] != a[1]
    assert a == b
    # the same entry with a zero-padded vs unpadded duration is the same entry
    unpadded = f"{TOGGL_HEADER}\n{toggl_line(duration='1:32:15')}\n"
    c = [r["entry_key"] for r in rows(load(TogglTimeEntries(), write(tmp_path, "c.csv", unpadded), toggl_ctx))]
    assert c == a[:1]


def test_toggl_configured_columns_are_required(tmp_path, toggl_ctx):
    # this client reads the phase from Tags
    header = TOGGL_HEADER.replace(',"Tags"', "")
    line = toggl_line().replace(',"admin, phones"', "")
    path = write(tmp_path, "no-tags.csv", f"{header}\n{line}\n")
    with pytest.raises(UnreadableFile, match="tags"):
        list(TogglTimeEntries().records(path, toggl_ctx))


def test_toggl_amount_header_without_currency(tmp_path, toggl_ctx):
    header = TOGGL_HEADER.replace("Amount (GBP)", "Amount ()")
    row = only(load(TogglTimeEntries(), write(tmp_path, "t.csv", f"{header}\n{toggl_line()}\n"), toggl_ctx)).row
    assert row["duration_seconds"] == 5535


# --------------------------------------------------------------------------- row defects, dialect, encoding
# A defect of one row (bytes that are not UTF-8, a field over the csv module's 128 KiB, a
# wrong number of fields) costs that row, with its reason; the file's other rows load.

GENERIC_ROW = "mk_{n},make,scn_4410,2025-07-01 1{n}:00:00,,success,schedule,{n},,,,,{message}"


def generic_row(n: int, message: str = "") -> str:
    return GENERIC_ROW.format(n=n, message=message)


def test_csv_row_defects_cost_their_row_only(tmp_path, ctx):
    huge = "x" * (128 * 1024) + "\n" + "y" * 10  # over the limit, with a line break inside the quotes
    data = (
        f"{GENERIC_HEADER}\n{generic_row(1)}\n".encode()
        + generic_row(2, "caf\xe9 closed").encode("latin-1")  # one byte 0xE9 that is not UTF-8
        + f"\n{generic_row(3, chr(34) + huge + chr(34))}\n".encode()
        + b"mk_4,make,scn_4410,2025-07-01 14:00:00,success\n"  # ragged: 5 fields, the header has 13
        + (generic_row(5, "na\u00efve \u2014 fine") + "\n").encode()
    )
    path = tmp_path / "runs.csv"
    path.write_bytes(data)
    results = load(GenericRuns(), path, ctx)

    assert [n for n, _ in results] == [1, 2, 3, 4, 5]  # rows read = loaded + quarantined
    outcome = {n: r.row["run_id"] if isinstance(r, Parsed) else None for n, r in results}
    assert outcome == {1: "mk_1", 2: None, 3: None, 4: None, 5: "mk_5"}
    assert_rejected(results[1][1], "not UTF-8", "0xE9", "'error_message'", "line 3", "UTF-8")
    # the long field's row starts on line 4 and spans two lines
    assert_rejected(results[2][1], "too long", "'error_message'", f"{len(huge):,} characters", "line 4")
    assert_rejected(results[3][1], "5 fields", "13")
    assert results[4][1].row["error_message"] == "na\u00efve \u2014 fine"
    assert results[4][1].row["items"] == 5


def test_csv_reading_leaves_the_csv_modules_field_limit_alone(tmp_path, ctx):
    before = csv.field_size_limit()
    text = f"{GENERIC_HEADER}\n{generic_row(1, chr(34) + 'z' * 200_000 + chr(34))}\n{generic_row(2)}\n"
    results = load(GenericRuns(), write(tmp_path, "long.csv", text), ctx)
    assert isinstance(results[0][1], Rejected) and results[1][1].row["run_id"] == "mk_2"
    assert csv.field_size_limit() == before


def test_generic_jsonl_line_with_a_byte_not_utf8_is_rejected_alone(tmp_path, ctx):
    line = '{{"run_id": "{id}", "platform": "make", "workflow_id": "scn_4410", "started_at": "2025-11-03T08:00:00Z", "status": "success", "triggered_by": "event", "error_message": "{msg}"}}\n'
    path = tmp_path / "agent.jsonl"
    path.write_bytes(
        line.format(id="ag_1", msg="ok").encode()
        + line.format(id="ag_2", msg="r\xe9sum\xe9").encode("latin-1")
        + line.format(id="ag_3", msg="\u00fcber").encode()
    )
    results = load(GenericRuns(), path, ctx)
    assert [n for n, _ in results] == [1, 2, 3]
    assert results[0][1].row["run_id"] == "ag_1"
    assert_rejected(results[1][1], "not UTF-8", "0xE9", "line 2")
    assert results[2][1].row["error_message"] == "\u00fcber"


def harvest_year(notes_for) -> list[str]:
    """365 Harvest rows, one a day of 2025; ``notes_for(i)`` gives row i's Notes."""
    out = []
    for i in range(365):
        day = date(2025, 1, 1).toordinal() + i
        line = HARVEST_AMY.replace("2025-11-03", date.fromordinal(day).isoformat())
        out.append(line.replace("Called back web leads, logged in CRM", notes_for(i)))
    return out


def test_harvest_year_with_one_byte_not_utf8_loses_one_row(tmp_path, ctx):
    lines = harvest_year(lambda i: "Caf\xe9 meeting" if i == 99 else f"leads {i}")
    data = b"".join(
        (line.encode("latin-1") if i == 99 else line.encode()) + b"\r\n"
        for i, line in enumerate([HARVEST_HEADER, *lines], start=-1)
    )
    path = tmp_path / "harvest_time_report_from20250101_to20251231.csv"
    path.write_bytes(data)
    results = load(HarvestTimeEntries(), path, ctx)

    assert len(results) == 365
    rejected = [(n, r) for n, r in results if isinstance(r, Rejected)]
    assert [n for n, _ in rejected] == [100]
    # row 100 is on line 101 (the header is line 1)
    assert_rejected(rejected[0][1], "not UTF-8", "0xE9", "'Notes'", "line 101", "as UTF-8")
    loaded = [r.row for _, r in results if isinstance(r, Parsed)]
    assert len(loaded) == 364
    assert date(2025, 4, 10) not in {r["spent_date"] for r in loaded}  # day 100 of 2025


def test_utf8_export_with_some_lines_in_another_encoding_quarantines_those_lines(tmp_path, ctx):
    # the file is UTF-8 (Zoë decoded), so the two Latin-1 lines are damaged rows, not the file's encoding
    rows_ = [
        HARVEST_AMY.replace(",Amy,Pond,", ",Zo\u00eb,Pond,").encode(),
        HARVEST_AMY.replace(",Amy,Pond,", ",Jos\u00e9,Luis,").encode("latin-1"),
        HARVEST_SAM.encode(),
        HARVEST_SAM.replace(",Sam,Lee,", ",Ren\u00e9e,Lee,").encode("latin-1"),
    ]
    path = tmp_path / "h.csv"
    path.write_bytes(HARVEST_HEADER.encode() + b"\n" + b"\n".join(rows_) + b"\n")
    results = load(HarvestTimeEntries(), path, ctx)
    assert [n for n, _ in results] == [1, 2, 3, 4]
    assert results[0][1].row["person"] == "Zo\u00eb Pond"
    assert_rejected(results[1][1], "0xE9", "'First Name'", "line 3")
    assert results[2][1].row["person"] == "Sam Lee"
    assert_rejected(results[3][1], "0xE9", "'First Name'", "line 5")


def test_windows_1252_export_is_unreadable_with_what_to_do(tmp_path, ctx):
    text = "\r\n".join(
        [
            HARVEST_HEADER,
            HARVEST_AMY,
            HARVEST_AMY.replace(",Amy,Pond,", ",Jos\u00e9,Mart\u00ednez,"),
            HARVEST_SAM.replace("Lead triage agent v1", "Caf\u00e9 \u2013 r\u00e9sum\u00e9s"),
        ]
    )
    path = tmp_path / "h.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(UnreadableFile) as info:
        list(HarvestTimeEntries().records(path, ctx))
    message = str(info.value)
    for fragment in ("not UTF-8", "2 rows", "byte 0xE9", "line 3", "Windows-1252", "save the file as UTF-8"):
        assert fragment in message, (fragment, message)


def test_header_not_utf8_is_unreadable(tmp_path, toggl_ctx):
    header = TOGGL_HEADER.replace('"Duration"', '"Dur\u00e9e","Duration"')
    line = toggl_line().replace('"01:32:15"', '"x","01:32:15"')
    path = tmp_path / "t.csv"
    path.write_bytes(f"{header}\n{line}\n".encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"not UTF-8: byte 0xE9 .* in the header \(line 1\)"):
        list(TogglTimeEntries().records(path, toggl_ctx))


def test_n8n_json_not_utf8_names_the_byte_and_its_line(tmp_path, ctx):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"data": [\n  {"id": "caf\xe9"}\n]}'.encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"byte 0xE9 .* at line 2, column 14; re-export or save the file as UTF-8"):
        list(N8nExecutions().records(path, ctx))


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_generic_csv_delimiter_is_sniffed_from_the_header(tmp_path, ctx, delimiter):
    def line(text: str) -> str:
        return delimiter.join(text.split(","))

    rows_ = [generic_row(1), generic_row(2)]
    # a comma inside a field is text when the delimiter is another one
    text = "\n".join([line(GENERIC_HEADER), *map(line, rows_)]).replace("scn_4410", "scn_4410, eu")
    results = load(GenericRuns(), write(tmp_path, "semi.csv", text + "\n"), ctx)
    expected = rows(load(GenericRuns(), write(tmp_path, "comma.csv", f"{GENERIC_HEADER}\n" + "\n".join(rows_)), ctx))
    got = rows(results)
    assert [r["workflow_id"] for r in got] == ["scn_4410, eu", "scn_4410, eu"]
    for a, b in zip(got, expected, strict=True):
        assert {k: v for k, v in a.items() if k not in ("workflow_id", "_record")} == {
            k: v for k, v in b.items() if k not in ("workflow_id", "_record")
        }


def test_harvest_semicolon_export_with_quoted_header(tmp_path, ctx):
    header = ";".join(f'"{h}"' for h in HARVEST_HEADER.split(","))
    line = (
        '2025-11-03;Northwind Dental Group;Front desk;;Lead triage;"Called back web leads; logged in CRM";'
        "1.25;1.5;No;No;Yes;Amy;Pond;Reception;Yes;0;0;32;40;British Pound - GBP;"
    )
    row = only(load(HarvestTimeEntries(), write(tmp_path, "h.csv", f"{BOM}{header}\r\n{line}\r\n"), ctx)).row
    assert (row["hours"], row["person"], row["notes"]) == (1.25, "Amy Pond", "Called back web leads; logged in CRM")


@pytest.mark.parametrize(
    "first, second, key",
    [("Hours", "Hours (decimal)", "hours"), ("Notes", "notes", "notes"), ("Billable?", "Billable", "billable")],
)
def test_columns_that_read_as_one_name_make_the_file_unreadable(tmp_path, ctx, first, second, key):
    # without this the later column silently replaced the earlier one (Hours read from "Hours (decimal)")
    assert first in HARVEST_HEADER.split(",")
    path = write(tmp_path, "h.csv", f"{HARVEST_HEADER},{second}\n{HARVEST_AMY},9.99\n")
    with pytest.raises(UnreadableFile) as info:
        list(HarvestTimeEntries().records(path, ctx))
    assert f"columns {first!r} and {second!r} both read as {key!r}" in str(info.value)


# --------------------------------------------------------------------------- timeutil


def test_localize_overlap_gap_and_ordinary_times():
    assert localize(datetime(2025, 10, 26, 1, 30), "Europe/London").replace(tzinfo=None) == datetime(
        2025, 10, 26, 0, 30
    )
    assert localize(datetime(2025, 7, 1, 12, 0), "Europe/London").replace(tzinfo=None) == datetime(2025, 7, 1, 11, 0)
    # New York: EDT = UTC-4 in July
    assert localize(datetime(2025, 7, 1, 12, 0), "America/New_York").replace(tzinfo=None) == datetime(2025, 7, 1, 16, 0)
    with pytest.raises(BadTimestamp, match="DST gap"):
        localize(datetime(2026, 3, 29, 1, 30), "Europe/London")
    # 2026-03-08 02:30 does not exist in New York (clocks jump 02:00 -> 03:00)
    with pytest.raises(BadTimestamp, match="DST gap"):
        localize(datetime(2026, 3, 8, 2, 30), "America/New_York")


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"],
)
def test_parse_instant_out_of_range_is_bad_timestamp(text):
    # Europe/Berlin is east of UTC: 0001-01-01 local is before datetime.min in UTC
    with pytest.raises(BadTimestamp):
        parse_instant(text, "Europe/Berlin")


def _general_utc_reading(text: str, tz_name: str):
    """How a ``Z`` timestamp was read before its fast path: ``Z`` as ``+00:00``, through the zone."""
    raw = text.strip()
    candidate = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return "bad"
    if parsed.tzinfo is None:  # a date alone: "+" was read as its separator (a local midnight)
        return localize(parsed, tz_name).replace(tzinfo=None), True
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None), False
    except OverflowError:
        return "bad"


ZULU_SHAPES = [
    "2026-05-31T22:30:00.312Z",
    "2026-05-31T22:30:00Z",
    "2026-05-31t22:30:00z",
    "2026-05-31 22:30:00Z",
    "2026-05-31T22:30Z",
    "2026-05-31T22Z",
    "2026-05-31T22:30:00.123456789Z",
    "2026-05-31T22:30:00,5Z",
    "20260531T223000Z",
    "2026-W22-7T10:00Z",
    "2026-05-31Z",
    "2026-W22-7Z",
    "20260531Z",
    "2026-05-31TZ",
    "2026-05-31 Z",
    "2026-05-31T22:30:00+01:00Z",
    "2026-05-31T22:30:00 Z",
    "2026-05-31T24:00:00Z",
    "2026-02-30T10:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "  2026-05-31T22:30:00Z  ",
    "2026-03-29T01:30:00Z",
    "2026-10-25T01:30:00Z",
    "Z",
    "zz",
    "2026-05-31T22:30:00ZZ",
    "2026-05-31x22:30:00Z",
]


@pytest.mark.parametrize("text", ZULU_SHAPES)
def test_parse_instant_utc_fast_path_reads_as_the_general_path(text):
    # Every "Z" spelling -- dates alone, week dates, basic format, odd separators, invalid
    # times -- reads as it did through "+00:00" (value, assumed flag, or refusal); in a zone
    # with DST so a date alone read as local midnight would show.
    for tz_name in ("Europe/London", "Australia/Sydney"):
        try:
            got = parse_instant(text, tz_name)
        except BadTimestamp:
            got = "bad"
        assert got == _general_utc_reading(text, tz_name), (text, tz_name)


def test_parse_epoch_millis():
    assert parse_epoch_millis(EPOCH_MS_2025_01_11_0930) == datetime(2025, 1, 11, 9, 30)
    assert parse_epoch_millis(1735689600000) == datetime(2025, 1, 1)
    with pytest.raises(BadTimestamp):
        parse_epoch_millis("soon")
    with pytest.raises(BadTimestamp):
        parse_epoch_millis("99999999999999999999")


# --------------------------------------------------------------------------- registry


def _concrete_formats(cls=LandingFormat) -> set[type[LandingFormat]]:
    found = set()
    for sub in cls.__subclasses__():
        if "folder" in vars(sub) or any("folder" in vars(b) for b in sub.__mro__[1:-1] if b is not LandingFormat):
            if not inspect.isabstract(sub) and getattr(sub, "folder", None):
                found.add(sub)
        found |= _concrete_formats(sub)
    return found


def test_registry_folders_are_unique_and_every_format_is_registered():
    classes = list(FORMATS.values())
    folders = [cls.folder for cls in classes]
    assert len(folders) == len(set(folders))
    assert all(FORMATS[cls.folder] is cls for cls in classes)
    # a second class with an existing folder would silently replace the first in the dict
    assert _concrete_formats() == set(classes)
    assert set(FORMATS) == {
        "n8n_executions",
        "generic_runs",
        "make_scenario_logs",
        "zapier_zap_runs",
        "hubspot_contacts",
        "hubspot_calls",
        "hubspot_emails",
        "hubspot_meetings",
        "hubspot_deals",
        "harvest_time_entries",
        "toggl_time_entries",
    }
    assert formats_pkg.FORMATS is FORMATS


def test_registry_tables_and_columns():
    main_tables = [cls.table for cls in FORMATS.values()]
    # one table per format, except the run histories translated into the generic run log,
    # which share its table and therefore its exact columns
    shared = {cls.folder for cls in FORMATS.values() if cls.table == "generic_runs"}
    assert shared == {"generic_runs", "make_scenario_logs", "zapier_zap_runs"}
    assert all(FORMATS[f].columns == FORMATS["generic_runs"].columns for f in shared)
    assert len(main_tables) - len(shared) + 1 == len(set(main_tables))
    child_defs: dict[str, tuple] = {}
    for cls in FORMATS.values():
        fmt = cls()
        for table, columns in fmt.tables().items():
            names = [c.name for c in columns]
            assert len(names) == len(set(names)), f"{table}: duplicate columns"
            # lineage columns (_client_id, _record, ...) are added by ingestion
            assert not any(n.startswith("_") for n in names), table
            assert all(c.type for c in columns)
        for child, columns in cls.child_tables.items():
            assert child not in main_tables
            # a child table shared by several formats must have one definition
            assert child_defs.setdefault(child, columns) == columns
        assert cls.suffixes and all(s.startswith(".") and s == s.lower() for s in cls.suffixes)


# The standard library's canonical JSON, spelled out here: the reference `_record` must match.
def _canonical(record):
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


@pytest.mark.parametrize(
    "value",
    [
        1e-05,  # orjson: 0.00001
        0.0001,
        1.5e-07,
        1e16,  # orjson: 1e16, Python: 1e+16
        9999999999999998.0,
        123.456,
        -0.0,
        10**30,  # beyond 64 bits: orjson refuses it
        "é \u2028 \x1f \x08 v2e 1e5",
        "\udce9",  # a byte that was not UTF-8 (surrogateescape)
        None,
        True,
        [1, 2.5, {"b": 1, "a": 2}],
    ],
)
def test_record_json_is_the_standard_librarys_canonical_json(value):
    from roi_pipeline.formats.base import record_json

    record = {"z": value, "a": {"nested": value}, "m": [value]}
    assert record_json(record) == _canonical(record)


def test_record_json_keeps_non_finite_numbers_a_json_file_held():
    from roi_pipeline.formats.base import load_json, record_json

    record = load_json('{"b": NaN, "a": Infinity, "c": -Infinity, "d": 1.0}')
    assert record_json(record) == '{"a":Infinity,"b":NaN,"c":-Infinity,"d":1.0}'
    assert record["b"] != record["b"]  # still a float NaN for the parsers


def _by_strptime(text, formats):
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def test_dates_read_as_strptime_reads_them():
    """local_date's fast path for ``YYYY-MM-DD`` gives strptime's date, or the same rejection."""
    from datetime import timedelta

    from roi_pipeline.formats.base import local_date

    texts = [(date(1999, 12, 25) + timedelta(days=n)).isoformat() for n in range(0, 12000, 7)]
    # months and days beyond the calendar
    texts += [f"2026-{m:02d}-{d:02d}" for m in range(0, 14) for d in range(0, 33)]
    texts += [
        "0000-01-01",
        "9999-12-31",
        "2026-1-5",
        "2026/03/05",
        "20260305",
        "2026-03-05 ",
        " 2026-03-05",
        "٢٠٢٦-03-05",
    ]
    for text in texts:
        expected = _by_strptime(text.strip(), ("%Y-%m-%d", "%Y/%m/%d"))
        try:
            got = local_date(text, "Date")
        except Rejected as exc:
            assert expected is None, (text, exc)
            assert str(exc) == f"bad Date: {text.strip()!r} is not a YYYY-MM-DD date"
        else:
            assert expected is not None and got == expected.date(), text


def test_start_times_read_as_strptime_reads_them():
    from roi_pipeline.formats.timesheets import clock_time

    texts = [f"{h:02d}:{m:02d}" for h in range(0, 26) for m in range(0, 62, 3)]
    texts += [f"{h:02d}:{m:02d}:{s:02d}" for h in (0, 9, 23, 24) for m in (0, 59, 60) for s in (0, 30, 59, 60, 61)]
    texts += ["9:05", "9:05:00", "09:5", "0930", "09:30:00.5", "09:30Z", "٠٩:٣٠"]
    for text in texts:
        expected = _by_strptime(text, ("%H:%M:%S" if text.count(":") == 2 else "%H:%M",))
        try:
            got = clock_time(text)
        except ValueError:
            assert expected is None, text
        else:
            assert expected is not None and got == expected.time(), text
