"""The quality gates' expectation suites: defined here as data, written by GX into ``expectations/``.

Every check is one GX Core expectation on one pandas DataFrame (a *frame*) that
:mod:`roi_pipeline.quality.frames` queries out of DuckDB for one client-month. Each
expectation carries ``meta = {"severity", "defect", "description"}``:

- ``blocking``: the client's report for the month is held back (not published) until fixed;
- ``warning``: the report is published and carries a data-quality note;
- ``info``: recorded in the quality results for the consultancy only; the report neither
  waits for it nor mentions it (runs of unregistered workflows, docs/method.md).

:func:`generate_suites` (re)writes the committed GX file data context rooted at
``expectations/`` through the GX API: one pandas data source with one dataframe asset per
frame, one suite + validation definition + checkpoint per frame. The written files are
committed as GX writes them; the gates write their results and Data Docs beside the
warehouse, not here (``expectations/uncommitted/`` stays git-ignored for GX's own use).
Run ``python -m roi_pipeline.quality.suites`` after changing a definition below; a unit
test fails while the committed files and these definitions disagree.

GX is imported inside functions only: it takes seconds to import.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_pipeline.formats.plausibility import FOREIGN_CURRENCY, FUTURE, IMPLAUSIBLE
from roi_pipeline.settings import PROJECT_DIR

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DATASOURCE = "roi_frames"
BATCH_DEFINITION = "whole_frame"

BLOCKING = "blocking"
WARNING = "warning"
INFO = "info"

#: Paths of the context GX manages (everything else in ``expectations/`` is ours or uncommitted).
GX_MANAGED = ("great_expectations.yml", ".gitignore", "expectations", "validation_definitions", "checkpoints")

#: Reason patterns of ``raw._quarantine`` (the text ingestion writes, prefixed with the format).
RUN_FORMATS = "(?:n8n_executions|generic_runs|make_scenario_logs|zapier_zap_runs)"
TIMESHEET_FORMATS = "(?:harvest_time_entries|toggl_time_entries)"
TIMESTAMP_FIELDS = (
    "startedAt|stoppedAt|started_at|finished_at|hs_timestamp|hs_meeting_start_time|hs_meeting_end_time"
    "|createdate|closedate|createdAt|updatedAt|Date|Start date|Start time"
)
QUARANTINE_PATTERNS = {
    "run_ends_before_start": rf"^{RUN_FORMATS}: negative duration",
    "negative_hours": rf"^{TIMESHEET_FORMATS}: negative (?:Hours|Duration)",
    "bad_timestamp": rf"^[a-z0-9_]+: (?:bad|missing) (?:{TIMESTAMP_FIELDS})\b",
    # The reasons of roi_pipeline.formats.plausibility (a negative run item count or cost is
    # implausible too). A future record belongs to the months of its file (frames.py).
    "future_record": rf"^[a-z0-9_]+: {FUTURE}\b",
    "implausible_value": (
        rf"^(?:[a-z0-9_]+: {IMPLAUSIBLE} |{RUN_FORMATS}: negative (?:customData\.)?(?:items|llm_cost)\b)"
    ),
    "foreign_currency": rf"^{RUN_FORMATS}: {FOREIGN_CURRENCY}\b",
}
#: Non-capturing groups only: pandas warns about capturing groups in ``str.contains``.
KNOWN_QUARANTINE = "|".join(f"(?:{p})" for p in QUARANTINE_PATTERNS.values())

#: A file for month M may overlap the neighbouring months (extract windows); further out is a defect.
OUTSIDE_MONTH_TOLERANCE_DAYS = 31
#: A timesheet file that speaks for its first to last entry date with no entry for longer than
#: this between two of them is held (a mistyped year would erase the timesheets in between).
COVERAGE_GAP_DAYS = 31
#: Row-count collapse: fewer than this share of the previous month's volume.
COLLAPSE_RATIO = 0.5
#: The previous month needs at least this volume for the ratio to mean anything.
COLLAPSE_MIN_PREVIOUS = 20
#: Share collapse of a reported run field (items, cost): a workflow's runs of the previous month
#: reported it at least this often (both months with ``COLLAPSE_MIN_PREVIOUS`` runs); then a share
#: below ``COLLAPSE_RATIO`` of that one is a note naming the field.
FIELD_SHARE_MIN_PREVIOUS = 0.8
#: A registered workflow live for at least this many days of the month (to as-of) and without a
#: single run holds the report (docs/method.md); live fewer days, it is a note. The same
#: length makes a workflow that normally runs "silent" without a production run.
SILENT_MIN_LIVE_DAYS = 7
#: A workflow normally runs: daily per the register, or at least this many runs the month before.
SILENT_MIN_PREVIOUS_RUNS = 10
#: Tasks per successful production run (the runs that count tasks) against the workflow's usual
#: (the median over its last ``TASKS_PER_RUN_MONTHS`` months before M with
#: ``TASKS_PER_RUN_MIN_RUNS`` such runs; M needs as many): more than this many times it, or less
#: than its inverse, is a note. For a workflow triggered by each event, a busy month (more runs)
#: leaves it alone, and more tasks from each run is what a unit error looks like (an item count
#: ten times too high, a wrong field mapped to items); for one that polls on a schedule, a month
#: of five times the usual volume moves it too.
TASKS_PER_RUN_FACTOR = 5.0
TASKS_PER_RUN_MONTHS = 3
TASKS_PER_RUN_MIN_RUNS = 20


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation class (``gx.expectations.<expectation>``) + its meaning."""

    defect: str
    severity: str
    expectation: str
    kwargs: dict[str, Any]
    description: str

    def meta(self) -> dict[str, str]:
        return {"severity": self.severity, "defect": self.defect, "description": self.description}

    @property
    def gx_severity(self) -> str:
        """GX's own failure severity, kept in step with ours (shown in Data Docs)."""
        return {BLOCKING: "critical", WARNING: "warning", INFO: "info"}[self.severity]


@dataclass(frozen=True)
class Suite:
    """A suite validates one frame (dataframe asset of the same name) at one gate."""

    name: str
    gate: str  # raw / mart
    description: str
    #: Columns that identify a row: reported with every unexpected row.
    id_columns: tuple[str, ...]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def asset(self) -> str:
        return self.name


def _p(name: str) -> dict[str, str]:
    """A runtime expectation parameter (GX ``$PARAMETER``), supplied per client-month."""
    return {"$PARAMETER": name}


SUITES: tuple[Suite, ...] = (
    # ------------------------------------------------------------------ raw gate
    Suite(
        "raw_landed_files",
        "raw",
        "every landing file of the client as ingestion recorded it (raw._landed_files)",
        ("source_file",),
        (
            Check(
                "schema_drift",
                BLOCKING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "failure", "regex": "^schema drift"},
                "a landing file was not loaded because a column it needs is missing (a vendor renamed it)",
            ),
            Check(
                "unreadable_file",
                BLOCKING,
                "ExpectColumnValuesToBeNull",
                {"column": "other_failure"},
                "a landing file could not be read at all (bad JSON/CSV, encoding), so its data is missing",
            ),
        ),
    ),
    Suite(
        "raw_quarantine",
        "raw",
        "records of the month that ingestion refused (raw._quarantine), reason prefixed with the format",
        ("source_file", "row_number"),
        (
            Check(
                "run_ends_before_start",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["run_ends_before_start"]},
                "runs that stop before they start were left out",
            ),
            Check(
                "negative_hours",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["negative_hours"]},
                "timesheet entries with negative hours were left out",
            ),
            Check(
                "bad_timestamp",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["bad_timestamp"]},
                "records with a missing or unreadable timestamp were left out",
            ),
            Check(
                "future_record",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["future_record"]},
                "records timestamped after their file's extraction (or far after ingestion) were left out",
            ),
            Check(
                "implausible_value",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["implausible_value"]},
                "records beyond a physical limit (run duration, hours per entry, items or cost per run) were left out",
            ),
            Check(
                "foreign_currency",
                WARNING,
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "reason_tagged", "regex": QUARANTINE_PATTERNS["foreign_currency"]},
                "runs whose cost is stated in another currency than the client's were left out (never converted)",
            ),
            Check(
                "other_quarantined",
                WARNING,
                "ExpectColumnValuesToMatchRegex",
                {"column": "reason_tagged", "regex": KNOWN_QUARANTINE},
                "records that could not be parsed for another reason were left out",
            ),
        ),
    ),
    Suite(
        "raw_runs",
        "raw",
        "run-log records started in the month (n8n + generic), one row per distinct content of a run id",
        ("run_key", "source_file", "row_number"),
        (
            Check(
                "copies_undecided",
                BLOCKING,
                "ExpectColumnValuesToBeNull",
                {"column": "undecided_key"},
                "the same run id was landed with different content and nothing tells which copy is later "
                "(the same export time, or none recorded): no copy is counted until the files' export times "
                "are stated (roi landed) or the wrong copy is removed",
            ),
            Check(
                "duplicate_run_id",
                WARNING,
                "ExpectColumnValuesToBeNull",
                {"column": "conflicting_key"},
                "the same run id was landed with different content; the copy from the later export is counted",
            ),
            Check(
                "run_ends_before_start",
                WARNING,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "stopped_at",
                    "column_B": "started_at",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                "a loaded run stops before it starts",
            ),
            Check(
                "future_timestamp",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "stopped_at", "max_value": _p("as_of")},
                "a run stops after the data's as-of (latest extraction time): the source clock or zone is wrong",
            ),
        ),
    ),
    Suite(
        "raw_month_files",
        "raw",
        "every record of the landing files that carry data for the month, with its local time",
        ("source_file", "row_number"),
        (
            Check(
                "future_timestamp",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "past_local_at", "max_value": _p("as_of_local")},
                "a record is timestamped after the data's as-of (latest extraction time)",
            ),
            Check(
                "outside_month",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {"column": "days_outside_month", "max_value": OUTSIDE_MONTH_TOLERANCE_DAYS},
                f"a file with data for the month holds records more than {OUTSIDE_MONTH_TOLERANCE_DAYS} days "
                "outside it (a date or zone error): they count in another month",
            ),
            Check(
                "timesheet_coverage_gap",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "days_to_next_entry", "max_value": COVERAGE_GAP_DAYS},
                "a timesheet file without a stated date range has no entry for more than "
                f"{COVERAGE_GAP_DAYS} days between two of its entries: it covers its first to last entry date, "
                "so it would replace every other file's timesheet rows in that gap (a mistyped date?); fix the "
                "date, or state the file's range (covers_from / covers_to in _extracts.json, docs/landing.md)",
            ),
        ),
    ),
    Suite(
        "raw_volume",
        "raw",
        "volume of the month against the previous month, per source (landed runs, leads, timesheet entries)",
        ("source",),
        (
            Check(
                "row_count_collapse",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "ratio_to_previous", "min_value": COLLAPSE_RATIO},
                f"the month has less than {COLLAPSE_RATIO:.0%} of the previous month's volume: an extract is "
                "probably truncated",
            ),
        ),
    ),
    Suite(
        "raw_fields",
        "raw",
        "per source with files for the month: every field the client's earlier files of that source carried "
        "(raw._landed_files.fields_present), and whether the month's files still carry it",
        ("format", "field"),
        (
            Check(
                "dropped_figure_field",
                BLOCKING,
                "ExpectColumnValuesToBeNull",
                {"column": "figure_field_missing"},
                "a field that feeds a figure (items, cost, status, retries, CRM properties) was in the client's "
                "earlier files of the source and is in none of the month's records: a vendor renamed or dropped "
                "it, and the figure would silently change",
            ),
            Check(
                "dropped_field",
                WARNING,
                "ExpectColumnValuesToBeNull",
                {"column": "field_missing"},
                "a field that no figure reads was in the client's earlier files of the source and is in none of "
                "the month's records",
            ),
        ),
    ),
    Suite(
        "raw_field_shares",
        "raw",
        "per workflow of the run logs and reported field (items, cost): the share of its landed runs reporting it, "
        "this month against the month before",
        ("format", "workflow_ref", "field", "share_previous_month", "share_this_month"),
        (
            Check(
                "field_share_collapse",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {"column": "share_ratio", "min_value": COLLAPSE_RATIO},
                f"a workflow's runs report the field less than {COLLAPSE_RATIO:.0%} as often as the month before "
                f"(when >= {FIELD_SHARE_MIN_PREVIOUS:.0%} of them did): runs without it count 1 task or cost nothing",
            ),
        ),
    ),
    Suite(
        "raw_timesheets",
        "raw",
        "timesheet hours per person per local day of the month (entries deduplicated by entry_key)",
        ("person", "work_date"),
        (
            Check(
                "timesheet_day_over_24h",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "hours", "max_value": 24},
                "a person logged more than 24 hours on one day",
            ),
            Check(
                "negative_hours",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {"column": "min_entry_hours", "min_value": 0},
                "a loaded timesheet entry has negative hours",
            ),
        ),
    ),
    Suite(
        "raw_crm",
        "raw",
        "CRM activities (calls, emails, meetings) of the month with the creation time of their lead",
        ("activity", "contact_id"),
        (
            Check(
                "activity_before_lead",
                WARNING,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "activity_at",
                    "column_B": "lead_created_at",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                "a CRM activity happened before its lead was created: lead response times are unreliable",
            ),
        ),
    ),
    # ------------------------------------------------------------------ mart gate
    Suite(
        "mart_workflow_months",
        "mart",
        "marts.fct_workflow_months rows of the client-month",
        ("workflow_key",),
        (
            Check(
                "implausible_hours_saved",
                BLOCKING,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "max_plausible_hours",
                    "column_B": "abs_hours_saved",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                "|hours saved| of a workflow exceeds 24 h per live day",
            ),
            Check(
                "missing_live_workflow",
                BLOCKING,
                "ExpectColumnDistinctValuesToContainSet",
                {"column": "workflow_key", "value_set": _p("live_workflow_keys")},
                "a workflow live in the month (per the register) has no row in fct_workflow_months",
            ),
            Check(
                "workflow_not_live",
                BLOCKING,
                "ExpectColumnValuesToBeInSet",
                {"column": "workflow_key", "value_set": _p("live_workflow_keys")},
                "fct_workflow_months has a row for a workflow that is not live in the month",
            ),
            Check(
                "duplicate_workflow_month",
                BLOCKING,
                "ExpectColumnValuesToBeUnique",
                {"column": "workflow_key"},
                "a workflow appears twice in the month",
            ),
            Check(
                "tasks_per_run_jump",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "tasks_per_run_vs_usual",
                    "min_value": 1 / TASKS_PER_RUN_FACTOR,
                    "max_value": TASKS_PER_RUN_FACTOR,
                },
                f"a workflow's tasks per successful production run are more than {TASKS_PER_RUN_FACTOR:g}x its usual "
                f"(or less than 1/{TASKS_PER_RUN_FACTOR:g} of it; usual: the median of its last {TASKS_PER_RUN_MONTHS} "
                f"months with >= {TASKS_PER_RUN_MIN_RUNS} such runs, this month too): an item count too high or a "
                "wrong field mapped to items, or, for a workflow that polls on a schedule, five times its usual volume",
            ),
        ),
    ),
    Suite(
        "mart_client_totals",
        "mart",
        "each total of marts.fct_client_months against the sum of its parts in fct_workflow_months",
        ("measure",),
        (
            Check(
                "missing_client_month",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "client_month_rows", "min_value": 1, "max_value": 1},
                "fct_client_months does not have exactly one row for the client-month",
            ),
            Check(
                "totals_mismatch",
                BLOCKING,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "tolerance", "column_B": "abs_difference", "or_equal": True},
                "a client-month total differs from the sum of its workflow-months",
            ),
        ),
    ),
    Suite(
        "mart_workflow_activity",
        "mart",
        "one row per workflow live in the month: live days (to as-of), its runs and production runs from the marts",
        ("workflow_key",),
        (
            Check(
                "no_runs",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "runs_expected", "min_value": 1},
                f"a registered workflow live for >= {SILENT_MIN_LIVE_DAYS} days of the month, neither paused nor "
                "on demand, has no run at all: a wrong platform workflow id or a broken export",
            ),
            Check(
                "no_runs_noted",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {"column": "runs_not_expected", "min_value": 1},
                f"a registered workflow that is paused, on demand or live for fewer than {SILENT_MIN_LIVE_DAYS} days "
                "of the month had no run",
            ),
            Check(
                "silent_workflow",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "production_runs_active", "min_value": 1},
                f"an active workflow that normally runs (daily per the register, or >= {SILENT_MIN_PREVIOUS_RUNS} "
                f"production runs the month before) ran all month (>= {SILENT_MIN_LIVE_DAYS} live days) without a "
                "production run: its triggers are broken or the export misses them",
            ),
            Check(
                "silent_paused_workflow",
                WARNING,
                "ExpectColumnValuesToBeBetween",
                {"column": "production_runs_paused", "min_value": 1},
                "a workflow the register marks paused, which normally runs, had runs but no production run all month",
            ),
        ),
    ),
    Suite(
        "mart_data_tests",
        "mart",
        "one row per client-scoped dbt data test of the last build: the client's failing rows it stored",
        ("test_name",),
        (
            Check(
                "failed_data_test",
                BLOCKING,
                "ExpectColumnValuesToBeBetween",
                {"column": "failing_rows", "max_value": 0},
                "a dbt data test of the marts failed on this client's rows (they are in schema test_failures, "
                "table = test name): its figures contradict a rule of the marts",
            ),
        ),
    ),
    Suite(
        "mart_timesheet_files",
        "mart",
        "timesheet files without an extraction time that a later file replaces on some dates of the month",
        ("source_file",),
        (
            Check(
                "timesheet_file_replaced",
                WARNING,
                "ExpectColumnValuesToBeNull",
                {"column": "replaced"},
                "a timesheet file without an export time (dropped by hand) sorts before every file with one, "
                "so a later file's rows count on the dates both cover: if it is a correction, state its "
                "export time (roi landed CLIENT SOURCE FILE --exported-at ...) and run the month again",
            ),
        ),
    ),
    Suite(
        "mart_unregistered_workflows",
        "mart",
        "platform workflow ids with runs in the month that no register entry lists and the client does not ignore",
        ("platform", "platform_workflow_id", "production_runs"),
        (
            Check(
                "unregistered_workflow",
                INFO,
                "ExpectColumnValuesToBeNull",
                {"column": "unregistered_id"},
                "runs of a workflow in no register entry were counted nowhere: register it or add it to "
                "ignored_workflow_ids",
            ),
        ),
    ),
)


def suites_for(gate: str) -> tuple[Suite, ...]:
    return tuple(s for s in SUITES if s.gate == gate)


def check_table() -> list[dict[str, str]]:
    """Every check as a row (gate, suite, defect, severity, expectation, description): the README table."""
    return [
        {
            "gate": s.gate,
            "suite": s.name,
            "defect": c.defect,
            "severity": c.severity,
            "expectation": c.expectation,
            "description": c.description,
        }
        for s in SUITES
        for c in s.checks
    ]


# --------------------------------------------------------------------------- writing the context


def _build_context(root: Path) -> None:
    """Create a GX file data context at ``root`` holding every suite, validation definition, checkpoint."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", context_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.analytics_enabled = False
    context.variables.save()
    source = context.data_sources.add_pandas(DATASOURCE)
    for spec in SUITES:
        batch_definition = source.add_dataframe_asset(spec.asset).add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        suite = gx.ExpectationSuite(
            name=spec.name,
            meta={"gate": spec.gate, "frame": spec.description, "generated_by": "roi_pipeline.quality.suites"},
        )
        for check in spec.checks:
            expectation_class = getattr(gxe, check.expectation)
            suite.add_expectation(expectation_class(**check.kwargs, meta=check.meta(), severity=check.gx_severity))
        suite = context.suites.add(suite)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
        )
        context.checkpoints.add(
            gx.Checkpoint(
                name=spec.name,
                validation_definitions=[validation],
                actions=[],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(spec.id_columns)},
            )
        )


_VOLATILE_KEYS = {"id", "data_context_id", "great_expectations_version"}


def _normalise(value: Any) -> Any:
    """Content without the ids GX generates afresh on every write (uuid4s) and its version stamp."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in sorted(value.items()) if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _snapshot(root: Path) -> dict[str, Any]:
    """The committed definitions of a context, normalised for comparison."""
    import yaml

    out: dict[str, Any] = {}
    for sub in ("expectations", "validation_definitions", "checkpoints"):
        for path in sorted((root / sub).glob("*.json")):
            out[f"{sub}/{path.name}"] = _normalise(json.loads(path.read_text(encoding="utf-8")))
    config = root / "great_expectations.yml"
    if config.is_file():
        out["great_expectations.yml"] = _normalise(yaml.safe_load(config.read_text(encoding="utf-8")))
    return out


def suites_up_to_date(root: Path = EXPECTATIONS_DIR) -> bool:
    """Whether the committed context at ``root`` holds exactly the definitions in :data:`SUITES`."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "ctx"
        _build_context(fresh)
        return _snapshot(fresh) == _snapshot(Path(root))


def generate_suites(root: Path = EXPECTATIONS_DIR, *, force: bool = False) -> bool:
    """(Re)write the GX context at ``root`` from :data:`SUITES`; returns whether anything changed.

    The context is built afresh through the GX API in a temporary directory; when its
    content (ids aside) equals what ``root`` holds, nothing is written, so regenerating
    never churns the committed ids. Our README and ``uncommitted/`` are left alone.
    """
    root = Path(root)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "ctx"
        _build_context(fresh)
        if not force and _snapshot(fresh) == _snapshot(root):
            return False
        root.mkdir(parents=True, exist_ok=True)
        for name in GX_MANAGED:
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            source = fresh / name
            if source.is_dir():
                shutil.copytree(source, target)
            elif source.exists():
                shutil.copy2(source, target)
    return True


def main() -> int:
    changed = generate_suites()
    print(f"{EXPECTATIONS_DIR}: {'suites regenerated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
