"""The committed GX context, its generator, the severity table and the package's import cost."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from roi_pipeline.quality.suites import EXPECTATIONS_DIR, SUITES, check_table, generate_suites, suites_up_to_date

README = EXPECTATIONS_DIR / "README.md"


def test_package_imports_without_great_expectations_or_pandas():
    code = (
        "import sys, roi_pipeline.quality as q; "
        "assert callable(q.gate_status) and q.GateResult; "
        "heavy = [m for m in ('great_expectations', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing roi_pipeline.quality loaded {out.stdout.strip()}"


def test_committed_context_is_what_the_generator_writes():
    assert (EXPECTATIONS_DIR / "great_expectations.yml").is_file()
    assert suites_up_to_date(EXPECTATIONS_DIR), (
        "expectations/ differs from roi_pipeline.quality.suites: run `python -m roi_pipeline.quality.suites`"
    )


def test_generation_is_idempotent_and_keeps_ids(tmp_path):
    root = tmp_path / "expectations"
    assert generate_suites(root) is True
    before = {p.name: p.read_text() for p in (root / "expectations").glob("*.json")}
    assert generate_suites(root) is False  # nothing changed: nothing rewritten, ids stay
    assert before == {p.name: p.read_text() for p in (root / "expectations").glob("*.json")}
    assert (root / ".gitignore").read_text().strip() == "uncommitted/"


def _committed_suites() -> dict[str, dict]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((EXPECTATIONS_DIR / "expectations").glob("*.json"))
    }


def test_every_committed_expectation_says_its_severity_and_defect():
    suites = _committed_suites()
    assert set(suites) == {s.name for s in SUITES}
    for name, suite in suites.items():
        assert suite["expectations"], name
        for expectation in suite["expectations"]:
            meta = expectation["meta"]
            assert meta["severity"] in {"blocking", "warning", "info"}, (name, expectation["type"])
            assert re.fullmatch(r"[a-z_0-9]+", meta["defect"]), (name, meta)
            assert meta["description"]
            # GX's own severity says the same (Data Docs shows it)
            gx_severity = {"blocking": "critical", "warning": "warning", "info": "info"}[meta["severity"]]
            assert expectation["severity"] == gx_severity
    for name in suites:  # every suite has its validation definition and checkpoint
        assert (EXPECTATIONS_DIR / "validation_definitions" / f"{name}.json").is_file()
        checkpoint = json.loads((EXPECTATIONS_DIR / "checkpoints" / f"{name}.json").read_text())
        assert [v["name"] for v in checkpoint["validation_definitions"]] == [name]


def _readme_rows() -> set[tuple[str, str, str, str, str]]:
    rows = set()
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0] in {"raw", "mart"}:
            rows.add(tuple(cells[:5]))
    return rows


def test_readme_severity_table_matches_the_definitions():
    expected = {(r["gate"], r["suite"], r["defect"], r["severity"], r["expectation"]) for r in check_table()}
    assert _readme_rows() == expected


@pytest.mark.parametrize(
    "defect",
    [
        "schema_drift",
        "duplicate_run_id",
        "run_ends_before_start",
        "future_timestamp",
        "outside_month",
        "unregistered_workflow",
        "no_runs",
        "silent_workflow",
        "timesheet_day_over_24h",
        "negative_hours",
        "activity_before_lead",
        "row_count_collapse",
        "implausible_hours_saved",
        "missing_live_workflow",
        "totals_mismatch",
        "bad_timestamp",
    ],
)
def test_every_defect_of_the_issue_has_a_check(defect):
    assert defect in {r["defect"] for r in check_table()}


def test_no_committed_results_or_docs():
    ignored = Path(EXPECTATIONS_DIR.parent / ".gitignore").read_text()
    assert "expectations/uncommitted/" in ignored
