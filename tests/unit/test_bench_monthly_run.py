"""The monthly-run benchmark's client cloning (benchmarks/bench_monthly_run.py): clones are valid
clients with their base's data, and the measured month is held aside with its extraction record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from roi_pipeline.config import load_clients
from roi_pipeline.sample.generator import generate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_monthly_run as bench  # noqa: E402


@pytest.fixture(scope="module")
def cloned(tmp_path_factory):
    work = tmp_path_factory.mktemp("clone")
    summary = generate(work / "base" / "landing", work / "base" / "clients", clients=2, months=3, end_month="2026-03")
    made = bench.clone_clients(
        work / "base" / "landing", work / "base" / "clients", work / "landing", work / "clients", work / "held",
        5, "2026-03",
    )  # fmt: skip
    return work, summary.clients, made


def test_clones_are_valid_clients_named_after_their_base(cloned):
    work, bases, made = cloned
    first, second = sorted(bases)
    assert made == {
        f"{first}-c000": first, f"{second}-c001": second, f"{first}-c002": first,
        f"{second}-c003": second, f"{first}-c004": first,
    }  # fmt: skip
    loaded = load_clients(work / "clients")
    assert loaded.ok, loaded.errors
    assert sorted(c.client_id for c in loaded.clients) == sorted(made)
    assert (work / "clients" / "_consultancy.yaml").is_file()


def test_a_clone_differs_from_its_base_only_in_id_name_and_contacts(cloned):
    work, _bases, made = cloned
    for clone, base in made.items():
        ours = yaml.safe_load((work / "clients" / f"{clone}.yaml").read_text(encoding="utf-8"))
        theirs = yaml.safe_load((work / "base" / "clients" / f"{base}.yaml").read_text(encoding="utf-8"))
        assert ours.pop("client_id") == clone
        assert ours.pop("name") == f"{theirs.pop('name')} ({clone.rsplit('-', 1)[1]})"
        assert ours.pop("report_contacts") == [f"ops@{clone}.example"]
        theirs.pop("client_id"), theirs.pop("report_contacts")
        assert ours == theirs


def test_the_month_is_held_aside_and_earlier_months_landed_as_they_are(cloned):
    work, _bases, made = cloned
    for clone, base in made.items():
        source = work / "base" / "landing" / base
        for path in source.rglob("[0-9]*"):
            rel = path.relative_to(source)
            where = work / ("held" if path.name.startswith("2026-03") else "landing") / clone / rel
            elsewhere = work / ("landing" if path.name.startswith("2026-03") else "held") / clone / rel
            assert where.read_bytes() == path.read_bytes()
            assert not elsewhere.exists()
        for record in source.glob("*/_extracts.json"):
            full = json.loads(record.read_text(encoding="utf-8"))
            folder = record.parent.name
            landed = json.loads((work / "landing" / clone / folder / "_extracts.json").read_text(encoding="utf-8"))
            held = json.loads((work / "held" / clone / folder / "_extracts.json").read_text(encoding="utf-8"))
            assert landed == {name: v for name, v in full.items() if not name.startswith("2026-03")}
            assert held == full


def test_landing_the_held_month_replaces_the_record_without_writing_through_a_link(tmp_path):
    kept, run = tmp_path / "kept", tmp_path / "run"
    (kept / "c" / "f").mkdir(parents=True)
    (kept / "c" / "f" / "_extracts.json").write_text("{}", encoding="utf-8")
    (run / "c" / "f").mkdir(parents=True)
    (run / "c" / "f" / "_extracts.json").hardlink_to(kept / "c" / "f" / "_extracts.json")
    held = tmp_path / "held"
    (held / "c" / "f").mkdir(parents=True)
    (held / "c" / "f" / "_extracts.json").write_text('{"2026-03.json": {}}', encoding="utf-8")
    (held / "c" / "f" / "2026-03.json").write_text("[]", encoding="utf-8")
    assert bench.land(held, run) == 2
    assert (run / "c" / "f" / "_extracts.json").read_text(encoding="utf-8") == '{"2026-03.json": {}}'
    assert (run / "c" / "f" / "2026-03.json").is_file()
    assert (kept / "c" / "f" / "_extracts.json").read_text(encoding="utf-8") == "{}"


def test_previous_month():
    assert bench.previous_month("2026-10") == "2026-09"
    assert bench.previous_month("2026-01") == "2025-12"


def test_step_lines_are_read_as_the_console_prints_them():
    output = "ingest ...\ningest: done in 2.5s (3 client(s))\nmart gate: FAILED after 1m05s (1 passed, 1 held)\n"
    assert bench.steps(output) == [("ingest", 2.5, True, "3 client(s)"), ("mart gate", 65.0, False, "1 passed, 1 held")]
