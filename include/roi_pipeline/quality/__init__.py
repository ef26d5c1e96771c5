"""Data-quality gates (Great Expectations): bad data never reaches a client silently.

Two gates run per client-month: :func:`run_raw_gate` on the raw inputs before the models,
:func:`run_mart_gate` on the marts before any report is rendered. Expectations are either
*blocking* (the report is held back, the reason recorded) or *warnings* (the report is
published with a data-quality note); :func:`gate_status` is the decision a report reads.
Results go to the warehouse (schema ``quality``); GX's validation results and Data Docs to
``gx/`` beside the warehouse (:func:`roi_pipeline.settings.gx_output_dir`). See
``expectations/README.md``.

Importing this package is cheap: GX and pandas are imported only when a gate runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roi_pipeline.quality.results import Finding, GateResult, GateStatus
from roi_pipeline.quality.store import gate_status, gate_statuses

if TYPE_CHECKING:
    from roi_pipeline.quality.gate import gate_workers, run_mart_gate, run_raw_gate
    from roi_pipeline.quality.suites import generate_suites, suites_up_to_date

__all__ = [
    "Finding",
    "GateResult",
    "GateStatus",
    "gate_status",
    "gate_statuses",
    "gate_workers",
    "generate_suites",
    "run_mart_gate",
    "run_raw_gate",
    "suites_up_to_date",
]

_LAZY = {
    "gate_workers": "roi_pipeline.quality.gate",
    "run_raw_gate": "roi_pipeline.quality.gate",
    "run_mart_gate": "roi_pipeline.quality.gate",
    "generate_suites": "roi_pipeline.quality.suites",
    "suites_up_to_date": "roi_pipeline.quality.suites",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
