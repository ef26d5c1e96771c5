"""Atomic publication of a report directory, and the small inputs of the renderer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roi_pipeline.report import publish
from roi_pipeline.report.document import restatement_changes
from roi_pipeline.report.status import (
    Consultancy,
    ConsultancyConfigError,
    QualityStatus,
    load_consultancy,
)


def _contents(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_publish_replaces_the_directory_as_a_whole(tmp_path):
    final = tmp_path / "client" / "2026-10"
    publish.publish_dir(final, {"a.txt": b"one", "b.txt": b"two"})
    assert _contents(final) == {"a.txt": b"one", "b.txt": b"two"}
    publish.publish_dir(final, {"a.txt": b"three"})
    assert _contents(final) == {"a.txt": b"three"}  # stale files never survive
    assert sorted(p.name for p in final.parent.iterdir()) == ["2026-10"]


def test_a_failed_write_keeps_the_previous_directory(tmp_path, monkeypatch):
    final = tmp_path / "2026-10"
    publish.publish_dir(final, {"report.json": b"{}", "report.html": b"<p>old</p>"})
    real = publish.write_synced

    def failing(path, content):
        if path.name == "report.html":
            real(path, content[:3])
            raise OSError("no space left on device")
        real(path, content)

    monkeypatch.setattr(publish, "write_synced", failing)
    with pytest.raises(OSError):
        publish.publish_dir(final, {"report.json": b'{"new": 1}', "report.html": b"<p>new</p>"})
    assert _contents(final) == {"report.json": b"{}", "report.html": b"<p>old</p>"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]  # no temporary left


def test_the_fallback_swap_and_recovery(tmp_path, monkeypatch):
    final = tmp_path / "2026-10"
    publish.publish_dir(final, {"x": b"old"})
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    publish.publish_dir(final, {"x": b"new"})
    assert _contents(final) == {"x": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]
    # a crash between the two renames: the old report is aside, nothing at the final path
    aside = tmp_path / ".2026-10.old-abc"
    os.rename(final, aside)
    (tmp_path / ".2026-10.tmp-def").mkdir()
    publish.recover(final)
    assert _contents(final) == {"x": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]


def test_restatement_compares_figures_only():
    base = {
        "schema_version": "1.0",
        "status": "ok",
        "headline": {"hours_saved": 41.0, "roi": 0.1},
        "workflows": [{"key": "a", "hours_saved": 10.0}],
        "kpis": None,
        "reliability": None,
        "delivery": None,
        "lineage": {"code": {"git_commit": "abc"}},
        "consultancy": {"name": "A"},
    }
    same = {**base, "lineage": {"code": {"git_commit": "def"}}, "consultancy": {"name": "B"}}
    assert restatement_changes(base, same) == []
    changed = {**base, "headline": {"hours_saved": 39.5, "roi": 0.1}, "workflows": [{"key": "a", "hours_saved": 8.5}]}
    assert restatement_changes(base, changed) == [
        {"field": "headline.hours_saved", "previous": 41.0, "current": 39.5},
        {"field": "workflows[a].hours_saved", "previous": 10.0, "current": 8.5},
    ]
    newer_schema = {**base, "schema_version": "2.0", "headline": {**base["headline"], "new_field": 1}}
    assert restatement_changes(base, newer_schema) == []


def test_consultancy_file(tmp_path):
    assert load_consultancy(tmp_path) == Consultancy()
    assert load_consultancy(None) == Consultancy()
    (tmp_path / "_consultancy.yaml").write_text("name: Northbeam AI Ops\nemail: hello@northbeam.example\n")
    assert load_consultancy(tmp_path) == Consultancy("Northbeam AI Ops", "hello@northbeam.example")
    for bad in ("name: ''\n", "email: not-an-address\n", "colour: teal\n", "- a list\n", "name: [unclosed\n"):
        (tmp_path / "_consultancy.yaml").write_text(bad)
        with pytest.raises(ConsultancyConfigError, match="_consultancy.yaml"):
            load_consultancy(tmp_path)


def test_quality_status():
    assert QualityStatus().label == "not run" and QualityStatus().publishable

    class Gate:  # the shape of roi_pipeline.quality's status, without importing it
        publishable = False
        reasons = ["runs file failed"]
        notes = ["late data"]

    status = QualityStatus.from_gate(Gate())
    assert status == QualityStatus(
        publishable=False, checked=True, blocking=["runs file failed"], warnings=["late data"]
    )
    assert status.label == "failed"
