"""Every committed expectation, run through GX on small frames: clean passes, each defect fails.

The frames have the shape :mod:`roi_pipeline.quality.frames` gives them; the integration
tests (tests/integration/test_quality_gates.py) inject the same defects into real landing
data. Here every check is shown to fail on its own defect with the right severity and a
message naming the client, the month and the defect, and to pass on clean data.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from roi_pipeline.quality.frames import _record_local_month, _runs_frame
from roi_pipeline.quality.gate import check_frame
from roi_pipeline.quality.suites import EXPECTATIONS_DIR, SUITES, check_table

CLIENT, MONTH = "acme-dental", "2026-03"
AS_OF = datetime(2026, 4, 4, 3, 0)


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory):
    """A copy of the committed context: the tests' results and docs stay out of the repository."""
    root = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    return root


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- clean frames


def landed_files(**change):
    row = {
        "format": "generic_runs",
        "source_file": "acme-dental/generic_runs/2026-03.csv",
        "status": "loaded",
        "failure": None,
        "other_failure": None,
    }
    return pd.DataFrame([row, {**row, "source_file": "acme-dental/generic_runs/2026-02.csv", **change}])


def quarantine(*rows):
    frame = pd.DataFrame(
        [
            {
                "format": f,
                "source_file": f"acme-dental/{f}/2026-03",
                "row_number": i + 1,
                "reason": r,
                "reason_tagged": f"{f}: {r}",
            }
            for i, (f, r) in enumerate(rows)
        ],
        columns=["format", "source_file", "row_number", "reason", "reason_tagged"],
    )
    return frame.astype({"format": object, "source_file": object, "reason": object, "reason_tagged": object})


def runs(**last):
    rows = [
        {
            "run_key": "n8n:1",
            "workflow_ref": "n8n:wf1",
            "started_at": ts("2026-03-02 10:00"),
            "stopped_at": ts("2026-03-02 10:01"),
            "status": "success",
            "source_file": "f.json",
            "row_number": 1,
        },
        {
            "run_key": "n8n:2",
            "workflow_ref": "n8n:wf1",
            "started_at": ts("2026-03-03 10:00"),
            "stopped_at": None,
            "status": "running",
            "source_file": "f.json",
            "row_number": 2,
        },
    ]
    for row in rows:
        row.update(undecided_key=None, conflicting_key=None)
    rows.append({**rows[0], "run_key": "zapier:z9", "workflow_ref": "zapier:zap_1", "row_number": 3, **last})
    frame = pd.DataFrame(rows)
    frame["stopped_at"] = pd.to_datetime(frame["stopped_at"])
    return frame.astype({"undecided_key": object, "conflicting_key": object})


RUN_PARAMS = {"as_of": AS_OF}


def month_files(local_at="2026-03-31 23:00", past=True, days=0.0, gap=None):
    frame = pd.DataFrame(
        [
            {
                "format": "hubspot_calls",
                "source_file": "c.json",
                "row_number": 1,
                "local_at": ts("2026-03-01 09:00"),
                "days_outside_month": 0.0,
            },
            {
                "format": "hubspot_meetings",
                "source_file": "m.json",
                "row_number": 1,
                "local_at": ts("2026-06-01 09:00"),
                "days_outside_month": 62.0,
            },  # see below: replaced
            {
                "format": "hubspot_calls",
                "source_file": "c.json",
                "row_number": 2,
                "local_at": ts(local_at),
                "days_outside_month": days,
            },
        ]
    )
    # a meeting booked ahead is neither future nor outside the month of its file
    frame.loc[1, "local_at"] = ts("2026-04-20 09:00")
    frame.loc[1, "days_outside_month"] = 20.0
    frame["past_local_at"] = frame["local_at"].where([True, False, past])
    # a timesheet file covered by its entries: days from each entry to its file's next date
    frame["days_to_next_entry"] = [None, None, gap]
    return frame


def activity(expected=(120.0, None), not_expected=(None, None), active=(120.0, None), paused=(None, None)):
    return pd.DataFrame(
        {
            "workflow_key": ["lead-triage", "intake"],
            "runs_expected": pd.array(list(expected), dtype="Float64"),
            "runs_not_expected": pd.array(list(not_expected), dtype="Float64"),
            "production_runs_active": pd.array(list(active), dtype="Float64"),
            "production_runs_paused": pd.array(list(paused), dtype="Float64"),
        }
    )


def timesheet_files(replaced=None):
    """A hand-dropped timesheet file (no export time); ``replaced``: what replaces it in the month."""
    return pd.DataFrame({"source_file": [f"{CLIENT}/harvest_time_entries/corrected.csv"], "replaced": [replaced]})


def data_tests(failing=0):
    return pd.DataFrame(
        {
            "test_name": ["assert_roi_client_month_cost_identities", "assert_roi_workflows_in_register"],
            "failing_rows": [0, failing],
        }
    )


def unregistered(ids=()):
    return pd.DataFrame(
        {
            "platform": ["n8n"] * len(ids),
            "platform_workflow_id": list(ids),
            "production_runs": [4] * len(ids),
            "unregistered_id": pd.Series([f"n8n:{i}" for i in ids], dtype=object),
        }
    )


def volume(ratio=1.02):
    return pd.DataFrame(
        {
            "source": ["runs", "leads_created", "timesheet_entries"],
            "ratio_to_previous": pd.array([ratio, 0.9, None], dtype="Float64"),
        }
    )


def timesheets(hours=7.5, min_entry=0.5):
    return pd.DataFrame(
        {
            "person": ["Alex Example", "Sam Sample"],
            "work_date": [ts("2026-03-02"), ts("2026-03-02")],
            "hours": [8.0, hours],
            "min_entry_hours": [1.0, min_entry],
        }
    )


def crm(activity_at="2026-03-05 10:00"):
    return pd.DataFrame(
        {
            "activity": ["calls:1", "emails:2"],
            "contact_id": ["10", "11"],
            "activity_at": [ts("2026-03-05 09:10"), ts(activity_at)],
            "lead_created_at": [ts("2026-03-05 09:00"), ts("2026-03-05 09:30")],
        }
    )


def fields(figure=None, other=None):
    """raw_fields: the fields earlier generic_runs files carried; a message where one is gone."""
    return pd.DataFrame(
        {
            "format": ["generic_runs"] * 3,
            "field": ["error_message", "items", "run_id"],
            "feeds_figure": [False, True, False],
            "last_seen_in": [f"{CLIENT}/generic_runs/2026-02.csv"] * 3,
            "missing_since": [None, None, None],
            "figure_field_missing": [None, figure, None],
            "field_missing": [other, None, None],
        }
    ).astype({"figure_field_missing": object, "field_missing": object, "missing_since": object})


def field_shares(share_now=0.96):
    """raw_field_shares: one workflow's share of runs reporting items, this month and the one before."""
    eligible = share_now is not None
    return pd.DataFrame(
        {
            "format": ["generic_runs", "generic_runs"],
            "workflow_ref": ["zapier:zap_1", "zapier:zap_2"],
            "field": ["items", "items"],
            "runs_previous_month": [40, 3],
            "share_previous_month": pd.Series([1.0, 0.0], dtype="Float64"),
            "runs_this_month": [50, 30],
            "share_this_month": pd.Series([share_now, 0.0], dtype="Float64"),
            "share_ratio": pd.Series([share_now if eligible else None, None], dtype="Float64"),
        }
    )


LIVE = {"live_workflow_keys": ["intake", "lead-triage"]}


def workflow_months(keys=("intake", "lead-triage"), hours=(12.0, -3.0), live_days=(31, 31), vs_usual=None):
    """``vs_usual``: tasks per production run against the usual, per row (default: 1.0, then a
    workflow with too few runs to say, None)."""
    vs_usual = vs_usual or [1.0, None, 1.0][: len(keys)]
    return pd.DataFrame(
        {
            "workflow_key": list(keys),
            "hours_saved": list(hours),
            "abs_hours_saved": [abs(h) for h in hours],
            "max_plausible_hours": [d * 24.0 for d in live_days],
            "tasks_per_run_vs_usual": pd.array(list(vs_usual), dtype="Float64"),
        }
    )


def totals(difference=0.0, rows=1):
    measures = ["tasks_automated", "hours_saved", "run_cost"]
    return pd.DataFrame(
        {
            "measure": measures,
            "client_total": [100.0, 9.0 + difference, 55.0],
            "sum_of_parts": [100.0, 9.0, 55.0],
            "abs_difference": [0.0, abs(difference), 0.0],
            "tolerance": [1e-7, 1e-8, 1e-7],
            "client_month_rows": [rows] * 3,
        }
    )


CLEAN = {
    "raw_landed_files": (landed_files(), {}),
    "raw_quarantine": (quarantine(), {}),
    "raw_runs": (runs(), RUN_PARAMS),
    "raw_month_files": (month_files(), {"as_of_local": AS_OF}),
    "raw_volume": (volume(), {}),
    "raw_fields": (fields(), {}),
    "raw_field_shares": (field_shares(), {}),
    "raw_timesheets": (timesheets(), {}),
    "raw_crm": (crm(), {}),
    "mart_workflow_months": (workflow_months(), LIVE),
    "mart_client_totals": (totals(), {}),
    "mart_workflow_activity": (activity(), {}),
    "mart_unregistered_workflows": (unregistered(), {}),
    "mart_data_tests": (data_tests(), {}),
    "mart_timesheet_files": (timesheet_files(), {}),
}

DEFECTS = [
    # suite, defect, frame, parameters
    (
        "raw_landed_files",
        "schema_drift",
        landed_files(status="failed", failure="schema drift: column(s) hours missing from the header (Date, Time)"),
        {},
    ),
    (
        "raw_landed_files",
        "unreadable_file",
        landed_files(
            status="failed",
            failure="malformed JSON: Expecting value at line 1 column 2",
            other_failure="malformed JSON: Expecting value at line 1 column 2",
        ),
        {},
    ),
    (
        "raw_quarantine",
        "run_ends_before_start",
        quarantine(("generic_runs", "negative duration: stopped before it started")),
        {},
    ),
    ("raw_quarantine", "negative_hours", quarantine(("toggl_time_entries", "negative Duration: '-1:00:00'")), {}),
    (
        "raw_quarantine",
        "bad_timestamp",
        quarantine(("n8n_executions", "bad startedAt: not an ISO-8601 timestamp: 'yesterday'")),
        {},
    ),
    (
        "raw_quarantine",
        "future_record",
        quarantine(
            (
                "n8n_executions",
                "future timestamp: startedAt 2099-03-01T10:00:00Z is after the file's extraction time "
                "2026-04-04T03:00:00Z",
            )
        ),
        {},
    ),
    (
        "raw_quarantine",
        "future_record",
        quarantine(("harvest_time_entries", "future timestamp: Date 2099-03-02 is more than 1 day after ingestion")),
        {},
    ),
    (
        "raw_quarantine",
        "implausible_value",
        quarantine(("generic_runs", "implausible items: 2,000,000 is above the cap of 100,000 per run")),
        {},
    ),
    ("raw_quarantine", "implausible_value", quarantine(("n8n_executions", "negative customData.llm_cost: -0.5")), {}),
    (
        "raw_quarantine",
        "implausible_value",
        quarantine(("toggl_time_entries", "implausible Duration: 49.50 h in one entry, a day has 24")),
        {},
    ),
    (
        "raw_quarantine",
        "foreign_currency",
        quarantine(
            (
                "generic_runs",
                "foreign currency: cost_currency 'USD' is not the client's currency EUR (costs are never converted)",
            )
        ),
        {},
    ),
    ("raw_quarantine", "other_quarantined", quarantine(("n8n_executions", "unknown n8n status 'exploded'")), {}),
    ("raw_runs", "copies_undecided", runs(undecided_key="zapier:z9"), RUN_PARAMS),
    ("raw_runs", "duplicate_run_id", runs(conflicting_key="zapier:z9"), RUN_PARAMS),
    ("raw_runs", "run_ends_before_start", runs(stopped_at=ts("2026-03-02 09:59")), RUN_PARAMS),
    ("raw_runs", "future_timestamp", runs(stopped_at=ts("2026-04-05 00:00")), RUN_PARAMS),
    ("raw_month_files", "future_timestamp", month_files("2026-04-04 03:00:01"), {"as_of_local": AS_OF}),
    ("raw_month_files", "outside_month", month_files("2016-03-02 10:00", days=3652.0), {"as_of_local": AS_OF}),
    ("raw_month_files", "timesheet_coverage_gap", month_files(gap=365.0), {"as_of_local": AS_OF}),
    ("mart_workflow_activity", "no_runs", activity(expected=(0.0, None), active=(None, None)), {}),
    ("mart_workflow_activity", "no_runs_noted", activity(not_expected=(None, 0.0)), {}),
    ("mart_workflow_activity", "silent_workflow", activity(active=(0.0, None)), {}),
    ("mart_workflow_activity", "silent_paused_workflow", activity(paused=(None, 0.0)), {}),
    ("mart_unregistered_workflows", "unregistered_workflow", unregistered(["scratch1"]), {}),
    ("mart_data_tests", "failed_data_test", data_tests(failing=2), {}),
    ("raw_volume", "row_count_collapse", volume(0.31), {}),
    ("raw_timesheets", "timesheet_day_over_24h", timesheets(hours=24.5), {}),
    ("raw_timesheets", "negative_hours", timesheets(min_entry=-2.0), {}),
    ("raw_crm", "activity_before_lead", crm("2026-03-05 09:29:59"), {}),
    ("mart_workflow_months", "implausible_hours_saved", workflow_months(hours=(12.0, -745.0)), LIVE),
    # 10 items a run where the workflow's usual is 1 (an item count ten times too high): 10x
    ("mart_workflow_months", "tasks_per_run_jump", workflow_months(vs_usual=(10.0, None)), LIVE),
    (
        "mart_workflow_months",
        "missing_live_workflow",
        workflow_months(keys=("lead-triage",), hours=(1.0,), live_days=(31,)),
        LIVE,
    ),
    (
        "mart_workflow_months",
        "workflow_not_live",
        workflow_months(keys=("intake", "lead-triage", "old-bot"), hours=(1.0, 2.0, 3.0), live_days=(31, 31, 31)),
        LIVE,
    ),
    (
        "mart_workflow_months",
        "duplicate_workflow_month",
        workflow_months(keys=("intake", "lead-triage", "intake"), hours=(1.0, 2.0, 1.0), live_days=(31, 31, 31)),
        LIVE,
    ),
    (
        "raw_fields",
        "dropped_figure_field",
        fields(
            figure=f"items is missing since {CLIENT}/generic_runs/2026-03.csv; the file has a new column item_count"
        ),
        {},
    ),
    (
        "raw_fields",
        "dropped_field",
        fields(other=f"error_message is missing since {CLIENT}/generic_runs/2026-03.csv"),
        {},
    ),
    ("raw_field_shares", "field_share_collapse", field_shares(share_now=0.2), {}),
    (
        "mart_timesheet_files",
        "timesheet_file_replaced",
        timesheet_files(
            f"2026-03-01 to 2026-03-31 by {CLIENT}/harvest_time_entries/2026-03.csv (exported 2026-04-02 02:00 UTC)"
        ),
        {},
    ),
    ("mart_client_totals", "missing_client_month", totals(rows=0), {}),
    ("mart_client_totals", "totals_mismatch", totals(difference=0.5), {}),
]


def test_every_check_has_a_defect_case():
    assert {(s, d) for s, d, _f, _p in DEFECTS} == {(r["suite"], r["defect"]) for r in check_table()}
    assert set(CLEAN) == {s.name for s in SUITES}


@pytest.mark.parametrize("suite", sorted(CLEAN))
def test_clean_frame_passes(gx_root, suite):
    frame, params = CLEAN[suite]
    assert check_frame(suite, frame, params, client_id=CLIENT, month=MONTH, context_root=gx_root) == []


@pytest.mark.parametrize(("suite", "defect", "frame", "params"), DEFECTS, ids=[f"{s}-{d}" for s, d, _f, _p in DEFECTS])
def test_defect_fails_its_check(gx_root, suite, defect, frame, params):
    findings = check_frame(suite, frame, params, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert [f.defect for f in findings] == [defect], [f.message for f in findings]
    finding = findings[0]
    expected = next(r["severity"] for r in check_table() if (r["suite"], r["defect"]) == (suite, defect))
    assert finding.severity == expected
    assert finding.message.startswith(f"{CLIENT} {MONTH}: {defect} ({expected}")
    assert finding.observed not in ("", "{}")


def test_message_quotes_the_offending_rows(gx_root):
    frame = quarantine(("n8n_executions", "negative duration: stopped before it started"))
    (finding,) = check_frame("raw_quarantine", frame, {}, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert "1 of 1 row(s)" in finding.message and "stopped before it started" in finding.message
    assert "source_file=acme-dental/n8n_executions/2026-03" in finding.message


@pytest.mark.parametrize(("vs_usual", "noted"), [(5.0, False), (0.2, False), (5.01, True), (0.19, True), (0.0, True)])
def test_tasks_per_run_jump_is_beyond_five_times_either_way(gx_root, vs_usual, noted):
    frame = workflow_months(vs_usual=(vs_usual, None))
    findings = check_frame("mart_workflow_months", frame, LIVE, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert [f.defect for f in findings] == (["tasks_per_run_jump"] if noted else [])


def test_missing_workflow_message_names_it(gx_root):
    frame = workflow_months(keys=("lead-triage",), hours=(1.0,), live_days=(31,))
    (finding,) = check_frame("mart_workflow_months", frame, LIVE, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert finding.message.endswith("missing: intake")


def test_meeting_that_ends_before_it_starts_is_not_a_run_defect(gx_root):
    frame = quarantine(("hubspot_meetings", "negative duration: meeting ends before it starts"))
    findings = check_frame("raw_quarantine", frame, {}, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert [f.defect for f in findings] == ["other_quarantined"]


# --------------------------------------------------------------------------- frame building blocks


def _copies(*rows: dict) -> pd.DataFrame:
    base = {
        "run_key": "n8n:5",
        "workflow_ref": "n8n:wf1",
        "started_at": ts("2026-03-02 10:00"),
        "stopped_at": ts("2026-03-02 10:01"),
        "status": "success",
        "run_trigger": "trigger",
        "items": None,
        "llm_cost": None,
        "source_file": "a.json",
        "extracted_at": ts("2026-04-04 12:00"),
    }
    return pd.DataFrame([{**base, "row_number": n, **row} for n, row in enumerate(rows, start=1)])


def _decided(copies: pd.DataFrame) -> tuple[list[tuple[str, int]], bool, bool]:
    """(the copies listed, as (file, row)), whether a copy is counted, whether it is a conflict note."""
    frame = _runs_frame(copies)
    listed = list(zip(frame["source_file"], frame["row_number"], strict=True))
    counted = [(f, r) for f, r, c in zip(frame["source_file"], frame["row_number"], frame["counted"], strict=True) if c]
    assert frame["undecided_key"].isna().all() == bool(counted)  # undecided exactly when none is counted
    return listed, counted, frame["conflicting_key"].notna().any()


def test_a_running_copy_followed_by_its_finished_state_is_progress_not_a_conflict():
    running = {"stopped_at": None, "status": "running"}
    listed, counted, note = _decided(_copies(running, {}, {}))  # the third: the same content as the second
    assert listed == [("a.json", 1), ("a.json", 2)] and counted == [("a.json", 2)] and not note
    # the same with no export time recorded: the finished state is still the later one
    listed, counted, note = _decided(_copies({**running, "extracted_at": None}, {"extracted_at": None}))
    assert counted == [("a.json", 2)] and not note


def test_the_copy_from_the_later_export_counts_whatever_was_loaded_last():
    later = {"source_file": "b.json", "extracted_at": ts("2026-04-05 09:00")}
    listed, counted, note = _decided(_copies({**later, "status": "error"}, {}))
    assert counted == [("b.json", 1)] and note  # two finished states: counted, with a note
    # an older export still running: the later export's finished state counts, no note
    older = {"source_file": "z.json", "extracted_at": ts("2026-03-20 12:00"), "status": "running", "stopped_at": None}
    listed, counted, note = _decided(_copies(older, {}))
    assert counted == [("a.json", 2)] and not note
    # ... and a later export still running counts over an earlier finished state (the vendor's later state)
    listed, counted, note = _decided(_copies({**older, "extracted_at": ts("2026-04-06 12:00")}, {}))
    assert counted == [("z.json", 1)] and not note


@pytest.mark.parametrize(
    "other",
    [
        {"status": "error"},  # the same export time (the same file, or another of that export)
        {"status": "error", "source_file": "b.json", "extracted_at": None},  # no export time recorded
        {"status": "error", "source_file": "b.json", "extracted_at": ts("2026-04-05 09:00"), "first": None},
    ],
)
def test_copies_that_nothing_orders_are_undecided_and_each_is_listed(other):
    first = {"extracted_at": None} if "first" in other else {}
    other = {k: v for k, v in other.items() if k != "first"}
    listed, counted, _note = _decided(_copies(first, other))
    assert counted == [] and len(listed) == 2


@pytest.mark.parametrize(
    ("record", "month"),
    [
        ({"startedAt": "2026-07-31T23:30:00Z", "workflowId": "x"}, date(2026, 8, 1)),  # London summer: August
        ({"startedAt": "yesterday", "stoppedAt": "2026-03-01T00:10:00Z"}, date(2026, 3, 1)),
        ({"properties": {"hs_timestamp": "1772323200000"}}, date(2026, 3, 1)),  # epoch millis
        ({"date": "2026-03-31", "hours": "-2"}, date(2026, 3, 1)),
        ({"start_date": "2026/02/28"}, date(2026, 2, 1)),
        ({"startedAt": "garbage"}, None),
        (["not", "an", "object"], None),
    ],
)
def test_quarantined_record_month(record, month):
    assert _record_local_month(record, "Europe/London") == month


def test_observed_values_are_put_in_a_fixed_order():
    from roi_pipeline.quality.gate import _observed

    observed, phrase = _observed({"observed_value": None, "missing_count": 2, "partial_missing_list": ["b", "a"]})
    assert phrase == "missing: a, b" and observed == {"missing": ["a", "b"]}
    result = {
        "unexpected_count": 1,
        "element_count": 3,
        "unexpected_index_list": [{"zeta": 1, "run_key": "n8n:1", "alpha": 2}],
    }
    observed, phrase = _observed(result, ("run_key",))
    assert phrase == "1 of 3 row(s), e.g. run_key=n8n:1, alpha=2, zeta=1"
    assert list(observed["unexpected"][0]) == ["run_key", "alpha", "zeta"]


def test_failed_data_test_rows_hold_only_the_client_they_name(gx_root):
    """A production dbt build stores a client-scoped test's failing rows; only their client is held."""
    import duckdb

    from roi_pipeline.config import load_clients
    from roi_pipeline.quality.frames import _data_tests_frame
    from roi_pipeline.settings import PROJECT_DIR

    (client,) = load_clients(PROJECT_DIR / "examples" / "clients", only=["northwind-dental"]).clients
    other = client.model_copy(update={"client_id": "other-co"})
    con = duckdb.connect()
    con.execute("create schema test_failures")
    con.execute(
        "create table test_failures.assert_roi_client_month_cost_identities as "
        "select * from (values ('northwind-dental', 1), ('northwind-dental', 2)) t(client_id, n)"
    )
    con.execute("create table test_failures.assert_roi_workflows_in_register (client_id varchar, workflow_key varchar)")
    con.execute("create table test_failures.not_attributable (source_file varchar)")
    held = _data_tests_frame(con, client)
    assert held.to_dict("records") == [
        {"test_name": "assert_roi_client_month_cost_identities", "failing_rows": 2},
        {"test_name": "assert_roi_workflows_in_register", "failing_rows": 0},
    ]
    (finding,) = check_frame("mart_data_tests", held, {}, client_id=CLIENT, month=MONTH, context_root=gx_root)
    assert finding.severity == "blocking" and "assert_roi_client_month_cost_identities" in finding.message
    assert check_frame("mart_data_tests", _data_tests_frame(con, other), {}, context_root=gx_root) == []
