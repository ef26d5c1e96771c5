"""Unregistered workflows never hold a report; registered ones without runs do (docs/method.md).

Through ``roi run`` on a small generated sample (2 clients, 3 months to 2026-10):

- harbour-legal's n8n export carries runs of a scratch-pad workflow nobody registered: its
  report is published with exactly the figures of a run without those runs, and the
  portfolio page lists the id with its production runs (counted here from the injected
  records); once the client lists the id in ``ignored_workflow_ids`` it is not listed;
- hudson-roofing registers a live workflow whose id never ran in October: the report is
  held with a reason naming it; paused, on demand, or live fewer than 7 days of the month,
  the same silence is a note and the report is published.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.cli import main
from roi_pipeline.sample.generator import generate

MONTH = "2026-10"
HARBOUR, HUDSON = "harbour-legal", "hudson-roofing"
SCRATCH = "scratchPad0001"

#: The injected scratch-pad executions: (mode, status). Production modes are trigger, webhook and
#: retry (of a production run); manual and error-workflow runs are not (docs/method.md).
SCRATCH_RUNS = [
    ("trigger", "success"),
    ("trigger", "error"),
    ("webhook", "success"),
    ("trigger", "success"),
    ("manual", "success"),
    ("manual", "error"),
    ("error", "success"),
]
SCRATCH_PRODUCTION = 4  # the three trigger runs and the webhook run, whatever their status


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("unregistered-source")
    generate(base / "landing", base / "clients", clients=2, months=3, end_month=MONTH)
    return base


def roi_run(base: Path, monkeypatch) -> int:
    monkeypatch.setenv("ROI_LANDING_DIR", str(base / "landing"))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(base / "clients"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(base / "warehouse.duckdb"))
    monkeypatch.setenv("ROI_REPORTS_DIR", str(base / "reports"))
    return main(["run", "--month", MONTH])


def copy_of(generated: Path, base: Path) -> Path:
    shutil.copytree(generated / "landing", base / "landing")
    shutil.copytree(generated / "clients", base / "clients")
    return base


def add_scratch_pad_runs(base: Path) -> None:
    path = base / "landing" / HARBOUR / "n8n_executions" / f"{MONTH}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for n, (mode, status) in enumerate(SCRATCH_RUNS, start=1):
        doc["data"].append(
            {
                "id": f"scratch-{n}",
                "finished": True,
                "mode": mode,
                "retryOf": None,
                "retrySuccessId": None,
                "status": status,
                "startedAt": f"2026-10-{10 + n:02d}T12:00:00.000Z",
                "stoppedAt": f"2026-10-{10 + n:02d}T12:00:05.000Z",
                "workflowId": SCRATCH,
                "waitTill": None,
                "customData": {"items": "50", "llm_cost": "3.5"},
            }
        )
    path.write_text(json.dumps(doc), encoding="utf-8")


def edit_client(base: Path, client_id: str, change) -> None:
    path = base / "clients" / f"{client_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def ghost(key: str, go_live: str, **extra) -> dict:
    """A register entry whose platform id never ran (a wrong id, a broken export)."""
    return {
        "key": key,
        "name": f"Ghost {key}",
        "platform": "zapier",
        "platform_workflow_ids": [f"zap-{key}"],
        "owner": "Ops",
        "risk_class": "low",
        "process": f"ghost process {key}",
        "go_live": go_live,
        "tooling_cost": [{"effective_from": go_live, "value": 0}],
        "baseline": {"method": "declared", "declared_minutes": [{"effective_from": go_live, "value": 5}]},
        **extra,
    }


def add_workflows(*entries: dict):
    def change(data):
        data["workflows"].extend(entries)

    return change


def report(base: Path, client_id: str) -> dict | None:
    path = base / "reports" / client_id / MONTH / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def figures(doc: dict) -> dict:
    """Everything a client reads; the lineage (landed files' checksums, snapshot hash) aside."""
    return {k: v for k, v in doc.items() if k != "lineage"}


def portfolio(base: Path) -> dict:
    return json.loads((base / "reports" / "_portfolio" / MONTH / "portfolio.json").read_text(encoding="utf-8"))


def status(base: Path, client_id: str) -> tuple[bool, list[str], list[str]]:
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(
            "select publishable, reasons, notes from quality.gate_status where client_id = ? and month = ?",
            [client_id, MONTH],
        ).fetchall()[0]
    return bool(row[0]), list(row[1]), list(row[2])


@pytest.fixture(scope="module")
def baseline(generated, tmp_path_factory):
    base = copy_of(generated, tmp_path_factory.mktemp("baseline"))
    with pytest.MonkeyPatch.context() as mp:
        assert roi_run(base, mp) == 0
    return base


def test_scratch_pad_runs_change_nothing_and_are_listed_for_the_consultancy(generated, baseline, tmp_path):
    base = copy_of(generated, tmp_path)
    add_scratch_pad_runs(base)
    # hudson-roofing registers a workflow live all October whose id never ran
    edit_client(base, HUDSON, add_workflows(ghost("ghost-intake", "2026-09-01")))
    with pytest.MonkeyPatch.context() as mp:
        code = roi_run(base, mp)
    assert code == 1  # hudson-roofing is held

    published, reasons, notes = status(base, HARBOUR)
    assert published and reasons == [] and notes == []
    assert figures(report(base, HARBOUR)) == figures(report(baseline, HARBOUR))
    tasks = (base / "reports" / HARBOUR / MONTH / "tasks.csv").read_text(encoding="utf-8")
    assert SCRATCH not in tasks

    held, reasons, _notes = status(base, HUDSON)
    assert not held
    assert len(reasons) == 1
    assert reasons[0].startswith(f"{HUDSON} {MONTH}: no_runs (blocking, mart gate)")
    assert "ghost-intake" in reasons[0]

    page = portfolio(base)
    assert page["unregistered_workflows"] == [
        {
            "client_id": HARBOUR,
            "client_name": page["unregistered_workflows"][0]["client_name"],
            "platform": "n8n",
            "platform_workflow_id": SCRATCH,
            "workflow_name": None,
            "runs": len(SCRATCH_RUNS),
            "production_runs": SCRATCH_PRODUCTION,
        }
    ]
    assert page["summary"]["unregistered_workflows"] == 1
    assert SCRATCH in (base / "reports" / "_portfolio" / MONTH / "portfolio.html").read_text(encoding="utf-8")
    held_ids = [h["client_id"] for h in page["held_back"]]
    assert held_ids == [HUDSON]
    # ... and in the quality results, for the consultancy only
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        infos = con.execute(
            "select message from quality.validation_results where client_id = ? and month = ? "
            "and defect = 'unregistered_workflow' and not success",
            [HARBOUR, MONTH],
        ).fetchall()
    assert infos and SCRATCH in infos[-1][0] and f"production_runs={SCRATCH_PRODUCTION}" in infos[-1][0]


def test_ignored_ids_are_not_listed_and_quiet_workflows_that_may_be_quiet_are_notes(generated, baseline, tmp_path):
    base = copy_of(generated, tmp_path)
    add_scratch_pad_runs(base)
    edit_client(base, HARBOUR, lambda data: data.update(ignored_workflow_ids=[SCRATCH]))
    edit_client(
        base,
        HUDSON,
        add_workflows(
            ghost("ghost-paused", "2026-09-01", status="paused"),
            ghost("ghost-on-demand", "2026-09-01", on_demand=True),
            ghost("ghost-late", "2026-10-26"),  # live 6 days of October
        ),
    )
    with pytest.MonkeyPatch.context() as mp:
        assert roi_run(base, mp) == 0

    assert portfolio(base)["unregistered_workflows"] == []
    assert figures(report(base, HARBOUR)) == figures(report(baseline, HARBOUR))

    published, reasons, notes = status(base, HUDSON)
    assert published and reasons == []
    noted = sorted(key for key in ("ghost-paused", "ghost-on-demand", "ghost-late") if any(key in n for n in notes))
    assert noted == ["ghost-late", "ghost-on-demand", "ghost-paused"]
    assert all(n.startswith(f"{HUDSON} {MONTH}: no_runs_noted (warning, mart gate)") for n in notes)
    assert report(base, HUDSON) is not None
